/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The hosts of the field scenarios.
 */

#include "topologies.hpp"

namespace txntest {

using pcipass::ConsumerKind;
using pcipass::testing::TopologyConsumer;

Builder gpu_desktop()
{
	Builder builder;
	builder.vfio();
	builder.driver("nouveau", "nouveau", {"10de:1f02"});
	builder.driver("snd_hda_intel", "snd_hda_intel", {"10de:10f9"});
	builder.driver("xhci_hcd", "xhci_pci", {"10de:1ada"});

	builder.device("0000:00:00.0", "8086:3e30", 0x060000, "", 0);
	builder.bridge("0000:00:01.0", 1);

	auto &vga = builder.device("0000:01:00.0", "10de:1f02", 0x030000, "nouveau", 7, "0000:00:01.0");
	vga.header_type = 0x80;
	vga.boot_vga = false;
	vga.reset_methods = {"bus"};
	vga.consumers.push_back(TopologyConsumer{ConsumerKind::drm_card, "card0", {}, false, {}, {}});

	builder.device("0000:01:00.1", "10de:10f9", 0x040300, "snd_hda_intel", 7, "0000:00:01.0")
		.header_type = 0x80;

	auto &xhci = builder.device("0000:01:00.2", "10de:1ada", 0x0c0330, "xhci_hcd", 7,
				    "0000:00:01.0");
	xhci.header_type = 0x80;
	xhci.reset_methods = {"bus"};
	xhci.consumers.push_back(TopologyConsumer{ConsumerKind::usb_hub, "3-1", {}, false, {}, {}});
	xhci.consumers.push_back(
		TopologyConsumer{ConsumerKind::usb_device, "3-1.2", "046d:c31c USB Keyboard", false, {}, {}});

	builder.device("0000:01:00.3", "10de:1adb", 0x0c8000, "", 7, "0000:00:01.0").header_type = 0x80;
	return builder;
}

Builder gpu_audio_on_pci_stub()
{
	Builder builder = gpu_desktop();
	builder.driver("pci-stub", "");
	for (const auto &function : {"0000:01:00.0", "0000:01:00.2", "0000:01:00.3"}) {
		builder.find(function).driver = "vfio-pci";
		builder.find(function).driver_override = "vfio-pci";
	}
	builder.find("0000:01:00.1").driver = "pci-stub";
	return builder;
}

Builder usb_controller(bool vfio_loaded)
{
	Builder builder;
	builder.vfio(vfio_loaded);
	builder.driver("xhci_hcd", "xhci_pci", {"8086:7ae0"});
	builder.device("0000:00:00.0", "8086:4660", 0x060000, "", 0);
	builder.bridge("0000:00:1c.0", 1);
	auto &xhci = builder.device("0000:02:01.0", "8086:7ae0", 0x0c0330, "xhci_hcd", 2,
				    "0000:00:1c.0");
	xhci.reset_methods = {"flr", "bus"};
	xhci.consumers.push_back(TopologyConsumer{ConsumerKind::usb_device, "3-2", {}, false, {}, {}});
	return builder;
}

Builder sriov_nic(bool vfs_on_vfio)
{
	Builder builder;
	builder.vfio();
	builder.driver("ice", "ice", {"8086:1592"});
	builder.topology().drivers.back().sriov = true;
	builder.driver("iavf", "iavf", {"8086:1889"});
	builder.device("0000:00:00.0", "8086:2020", 0x060000, "", 0);
	builder.bridge("0000:85:02.0", 30);

	auto &pf = builder.device("0000:86:00.0", "8086:1592", 0x020000, "ice", 31, "0000:85:02.0");
	pf.reset_methods = {"flr", "bus"};
	pcipass::testing::TopologySriov sriov;
	sriov.total_vfs = 8;
	sriov.num_vfs = 4;
	sriov.vf_device = pcipass::DeviceId(0x1889);
	sriov.first_vf_offset = 8;
	sriov.vf_stride = 1;
	sriov.first_vf_group = 32;
	sriov.vf_driver = "iavf";
	pf.sriov = sriov;
	pf.consumers.push_back(TopologyConsumer{ConsumerKind::net_interface, "ens2f0", {}, false, {}, {}});

	for (unsigned n = 0; n < 4; n++) {
		const std::string bdf = "0000:86:01." + std::to_string(n);
		auto &vf = builder.device(bdf, "8086:1889", 0x020000, vfs_on_vfio ? "vfio-pci" : "iavf",
					  32 + n, "0000:85:02.0");
		vf.physfn = txntest::address("0000:86:00.0");
		vf.reset_methods = {"flr"};
		if (vfs_on_vfio)
			vf.driver_override = "vfio-pci";
	}
	return builder;
}

Builder single_nic()
{
	Builder builder;
	builder.vfio();
	builder.driver("e1000e", "e1000e", {"8086:10d3"});
	builder.device("0000:00:00.0", "8086:3e30", 0x060000, "", 0);
	builder.device("0000:03:00.0", "8086:10d3", 0x020000, "e1000e", 3);
	return builder;
}

Builder bridge_in_group()
{
	Builder builder;
	builder.vfio();
	builder.driver("e1000e", "e1000e", {"8086:10d3"});
	builder.device("0000:00:00.0", "8086:3e30", 0x060000, "", 0);
	builder.bridge("0000:00:1c.0", 3);
	builder.bridge("0000:04:00.0", 12, "0000:00:1c.0");
	builder.device("0000:05:00.0", "8086:10d3", 0x020000, "e1000e", 12, "0000:04:00.0");
	return builder;
}

Builder iommu_off()
{
	Builder builder(false);
	builder.vfio();
	builder.driver("nouveau", "nouveau", {"10de:1f02"});
	builder.device("0000:00:00.0", "8086:2020", 0x060000, "", std::nullopt);
	builder.device("0000:65:00.0", "10de:1f02", 0x030000, "nouveau", std::nullopt);
	return builder;
}

Builder stale_override()
{
	Builder builder;
	builder.vfio(false);
	builder.driver("bnx2x", "bnx2x", {"14e4:168e"});
	builder.device("0000:00:00.0", "8086:3e30", 0x060000, "", 0);
	builder.device("0000:3b:00.0", "14e4:168e", 0x020000, "bnx2x", 5).driver_override = "vfio-pci";
	return builder;
}

Builder shifted_addresses()
{
	Builder builder;
	builder.vfio();
	builder.driver("nouveau", "nouveau", {"10de:1f02"});
	builder.driver("igb", "igb", {"8086:1533"});
	builder.device("0000:00:00.0", "8086:2020", 0x060000, "", 0);
	builder.device("0000:af:00.0", "8086:1533", 0x020000, "igb", 40);
	builder.device("0000:b0:00.0", "10de:1f02", 0x030000, "nouveau", 41);
	return builder;
}

} /* namespace txntest */
