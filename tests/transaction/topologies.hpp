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

/* A USB controller 0000:02:01.0 (8086:7ae0, xhci_hcd) in group 2; vfio-pci installed, not loaded. */
Builder usb_controller(bool vfio_loaded);

/* A NIC PF 0000:86:00.0 (ice, 8 VFs possible, 4 live on iavf) behind root port 85:02.0. */
Builder sriov_nic(bool vfs_on_vfio = false);

} /* namespace txntest */
