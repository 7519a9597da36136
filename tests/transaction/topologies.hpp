/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The hosts of the field scenarios, built in code so that each test shows
 * what it starts from.
 */

#pragma once

#include "harness.hpp"

namespace txntest {

/*
 * A desktop GPU slot behind root port 0000:00:01.0 (group 1): VGA 01:00.0
 * (10de:1f02, nouveau), HDMI audio 01:00.1 (snd_hda_intel), xHCI 01:00.2
 * (xhci_hcd, a hub and a device behind it) and UCSI 01:00.3 (no driver),
 * all four in group 7; vfio-pci loaded.
 */
Builder gpu_desktop();

/* gpu_desktop with the audio function 01:00.1 on pci-stub and the rest of group 7 on vfio-pci. */
Builder gpu_audio_on_pci_stub();

/* A USB controller 0000:02:01.0 (8086:7ae0, xhci_hcd) in group 2; vfio-pci installed, not loaded. */
Builder usb_controller(bool vfio_loaded);

/* A NIC PF 0000:86:00.0 (ice, 8 VFs possible, 4 live on iavf) behind root port 85:02.0. */
Builder sriov_nic(bool vfs_on_vfio = false);

/* A NIC 0000:03:00.0 (8086:10d3, e1000e) alone in group 3. */
Builder single_nic();

/* A bridge 0000:04:00.0 on pcieport and a NIC 0000:05:00.0 behind it, both in group 12. */
Builder bridge_in_group();

/* The IOMMU off: a GPU 0000:65:00.0 on nouveau without a group. */
Builder iommu_off();

/* A bnx2x NIC 0000:3b:00.0 with driver_override vfio-pci left over; vfio-pci not loaded. */
Builder stale_override();

/* 0000:af:00.0 holds an igb NIC (8086:1533); the GPU 10de:1f02 is now at 0000:b0:00.0. */
Builder shifted_addresses();

} /* namespace txntest */
