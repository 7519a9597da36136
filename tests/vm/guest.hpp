/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * What every guest test program shares: the check that it runs inside the
 * test guest, the console protocol, and plain sysfs access that does not go
 * through pcipass, so that pcipass can be compared with it.
 */

#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace guest {

/*
 * True only in a guest booted by tests/vm/run (its kernel command line
 * carries pcipass.boot=NAME). The guest programs write to sysfs, so each
 * refuses to run anywhere else.
 */
bool inside_test_guest();

/* NAME from pcipass.boot=NAME: "iommu" or "noiommu"; empty outside the guest. */
std::string boot_name();

/* Whether this boot has an IOMMU. */
bool iommu_boot();

/*
 * The console protocol that tests/vm/run reads. Each call prints one whole
 * line and flushes, so lines of different programs never mix.
 */
void print_start(std::string_view program, std::string_view test_case);
void print_result(std::string_view program, std::string_view status, std::string_view test_case);
void print_detail(std::string_view program, std::string_view text);
void print_observed(std::string_view json);

/* Plain reads and writes of /sys, independent of pcipass. */
namespace sysfs {

/* The file's content without the trailing newline; nullopt when it cannot be read. */
std::optional<std::string> read(const std::string &path);

/* The last component of a symlink's target ("e1000e" for a driver link); nullopt when absent. */
std::optional<std::string> link_name(const std::string &path);

/* The entry names of a directory, sorted; empty when it cannot be listed. */
std::vector<std::string> list(const std::string &path);

bool exists(const std::string &path);

/* The canonical path with every symlink resolved; empty when it does not exist. */
std::string real_path(const std::string &path);

/* Opens the file and writes value in one write(2); returns 0 or the errno of whichever failed. */
int write(const std::string &path, std::string_view value);

/* "/sys/bus/pci/devices/" + address + "/" + name */
std::string device_path(const std::string &address, std::string_view name = {});

/*
 * The address of the index-th PCI function (in address order) with this
 * vendor and device ID ("8086", "10d3"); empty when there are fewer.
 */
std::string find_device(std::string_view vendor, std::string_view device, unsigned index = 0);

/* The IOMMU group number of a device; nullopt when it has none. */
std::optional<unsigned> iommu_group(const std::string &address);

/* The members of an IOMMU group, sorted. */
std::vector<std::string> group_members(unsigned group);

} /* namespace sysfs */

/* The test machine's emulated PCI functions, by vendor and device ID (tests/vm/run sets them up). */
namespace machine {

std::string display();
std::string audio();
std::string xhci();
std::string nic();
std::string nvme();
std::string pci_bridge();
/* The index-th of the two e1000 NICs behind the PCIe-to-PCI bridge. */
std::string e1000(unsigned index);

/* The name of the driver a function is bound to, or "" when it has none. */
std::string driver_of(const std::string &address);

/*
 * Waits until no VF of pf is still being set up by nvme; false when one
 * still is after the timeout. QEMU's NVMe VFs stay offline, so nvme's probe
 * of each one fails half a second after the VF appears and unbinds it.
 * Removing the VFs inside that window can hang Linux 6.1 in sriov_disable()
 * (once in CI, and about once in 50 tries in a loop). Tests wait for this
 * before they remove VFs that nvme probed.
 */
bool wait_for_vf_probes(const std::string &pf,
			std::chrono::milliseconds timeout = std::chrono::seconds(10));

} /* namespace machine */

} /* namespace guest */
