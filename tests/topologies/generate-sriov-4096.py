#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
#
# Writes the 4,096-function benchmark host: 16 root ports, each with an E810
# PF on ice and its 255 VFs on iavf, every function in its own IOMMU group.
# The output depends on nothing but this script, so every build gets the
# same file. Usage: generate-sriov-4096.py OUTPUT

import json
import sys

ROOT_PORTS = 16
VFS_PER_PF = 255


def device(address, vendor, device_id, class_code, group, **fields):
    entry = {
        "address": address,
        "vendor": vendor,
        "device": device_id,
        "subsystem_vendor": "8086",
        "subsystem_device": "0000",
        "class": class_code,
        "iommu_group": group,
    }
    entry.update(fields)
    return entry


def main():
    devices = [device("0000:00:00.0", "8086", "2020", "060000", 0, revision="04")]
    group = 1
    for port in range(ROOT_PORTS):
        devices.append(device(f"0000:00:{port + 1:02x}.0", "8086", "2030", "060400", group,
                              revision="04", header_type="01", driver="pcieport",
                              numa_node=port // 8))
        group += 1

    for port in range(ROOT_PORTS):
        bus = port + 1
        root_port = f"0000:00:{port + 1:02x}.0"
        pf = f"0000:{bus:02x}:00.0"
        pf_group = group
        devices.append(device(pf, "8086", "1592", "020000", pf_group, parent=root_port,
                              subsystem_device="0002", revision="02", driver="ice",
                              numa_node=port // 8, reset_methods=["flr", "bus"],
                              sriov={"total_vfs": 256, "num_vfs": VFS_PER_PF,
                                     "vf_device": "1889", "first_vf_group": pf_group + 1,
                                     "vf_driver": "iavf"}))
        # With ARI, VF n has routing ID PF + 1 + n: functions 00.1 to 1f.7 of the PF's bus.
        for vf in range(VFS_PER_PF):
            routing_id = 1 + vf
            address = f"0000:{bus:02x}:{routing_id >> 3:02x}.{routing_id & 7}"
            devices.append(device(address, "8086", "1889", "020000", pf_group + 1 + vf,
                                  parent=root_port, physfn=pf, revision="02",
                                  driver="iavf", numa_node=port // 8,
                                  reset_methods=["flr"]))
        group += 1 + VFS_PER_PF

    modules = ["iavf", "ice", "vfio", "vfio_iommu_type1", "vfio_pci", "vfio_pci_core"]
    topology = {
        "schema": "pcipass.topology/v1",
        "description": f"Benchmark host: {ROOT_PORTS} E810 PFs with {VFS_PER_PF} VFs each "
                       f"({ROOT_PORTS * (VFS_PER_PF + 1)} PFs and VFs) behind {ROOT_PORTS} "
                       "root ports, every function in its own IOMMU group",
        "kernel_cmdline": "BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 root=/dev/sda2 ro quiet "
                          "intel_iommu=on iommu=pt",
        "iommu_units": ["dmar0", "dmar1"],
        "modules": modules,
        "available_modules": modules,
        "drivers": [
            {"name": "iavf", "module": "iavf", "ids": ["8086:1889"]},
            {"name": "ice", "module": "ice", "ids": ["8086:1592"], "sriov": True},
            {"name": "pcieport", "ids": ["8086:2030"]},
            {"name": "vfio-pci", "module": "vfio_pci"},
        ],
        "devices": devices,
    }

    with open(sys.argv[1], "w", encoding="utf-8") as output:
        json.dump(topology, output, indent=1)
        output.write("\n")


if __name__ == "__main__":
    main()
