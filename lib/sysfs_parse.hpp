/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Parsers for the text and binary files the kernel exposes in sysfs and
 * procfs. They are pure functions of the file content, so they can be fuzzed
 * and tested without a host; every malformed input is an error value
 * (malformed_attribute, quoting the content), never an exception.
 */

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <pcipass/address.hpp>
#include <pcipass/error.hpp>

namespace pcipass::detail {

/* A value of at most max_digits hex digits, as in "0x10de\n" (the "0x" and one newline optional). */
result<uint32_t> parse_hex_attribute(std::string_view text, unsigned max_digits = 8) noexcept;

/* A decimal integer such as "-1\n" (numa_node) or "4\n" (sriov_numvfs). */
result<long long> parse_int_attribute(std::string_view text) noexcept;

/* "0\n" or "1\n". */
result<bool> parse_bool_attribute(std::string_view text) noexcept;

/* The fields of the standard configuration header that the graph needs. */
struct ConfigHeader {
	VendorId vendor;
	DeviceId device;
	ClassCode class_code;
	uint8_t revision = 0;
	uint8_t header_type = 0;
	/* Only type 0 headers have them (offset 0x2c); zero otherwise. */
	VendorId subsystem_vendor;
	DeviceId subsystem_device;
	/* Every byte reads 0xff: the device is in D3cold or was removed. */
	bool inaccessible = false;
	/*
	 * Vendor and device read 0xffff while the rest of the header is valid:
	 * an SR-IOV VF, whose IDs live in the PF's SR-IOV capability.
	 */
	bool ids_hidden = false;
};

/* The first 64 bytes of a config file. Errors: malformed_attribute when fewer than 64 bytes. */
result<ConfigHeader> parse_config_header(std::string_view bytes) noexcept;

/* KEY=VALUE lines of a uevent file, in file order. Errors: a line without '='. */
result<std::vector<std::pair<std::string, std::string>>> parse_uevent(std::string_view text) noexcept;

/* The value of key in parsed uevent lines. */
std::optional<std::string_view>
uevent_value(const std::vector<std::pair<std::string, std::string>> &lines, std::string_view key);

/* What a PCI device's uevent states. */
struct PciUevent {
	std::optional<std::string> driver;
	VendorId vendor;
	DeviceId device;
	VendorId subsystem_vendor;
	DeviceId subsystem_device;
	ClassCode class_code;
};

/* Errors: malformed_attribute when PCI_ID or PCI_CLASS is missing or invalid. */
result<PciUevent> parse_pci_uevent(std::string_view text) noexcept;

/* What a USB device's uevent states (PRODUCT=46d/c52b/1201, TYPE=9/0/1). */
struct UsbUevent {
	uint16_t vendor = 0;
	uint16_t product = 0;
	uint8_t device_class = 0; /* 9 for a hub */
};

/* Errors: malformed_attribute when PRODUCT or TYPE is missing or invalid. */
result<UsbUevent> parse_usb_uevent(std::string_view text) noexcept;

/* One line of a resource file: a BAR, ROM or bridge window. */
struct Resource {
	uint64_t start = 0;
	uint64_t end = 0;
	uint64_t flags = 0;

	bool used() const { return flags != 0 || start != 0 || end != 0; }
	uint64_t size() const { return used() ? end - start + 1 : 0; }

	bool operator==(const Resource &) const = default;
};

/* Lines "0x%016llx 0x%016llx 0x%016llx", one per region, in region order. */
result<std::vector<Resource>> parse_resource(std::string_view text) noexcept;

/*
 * The driver_override file: "(null)\n" means unset (nullopt); "\n" is an
 * empty override, which the kernels from 5.19 to 6.0 stored after a NUL
 * write and which matches no driver. Errors: malformed_attribute for an
 * empty file or a value that is not one line.
 */
result<std::optional<std::string>> parse_driver_override(std::string_view text) noexcept;

/* reset_method: "flr bus\n" gives {"flr", "bus"}; an empty line gives none. */
result<std::vector<std::string>> parse_reset_methods(std::string_view text) noexcept;

/* Module names from /proc/modules (first field of each line), sorted, exact. */
result<std::vector<std::string>> parse_proc_modules(std::string_view text) noexcept;

/* /proc/cmdline without its trailing newline. */
std::string parse_cmdline(std::string_view text);

/*
 * The value of the last occurrence of a kernel parameter ("intel_iommu" in
 * "quiet intel_iommu=on" gives "on"; a bare "iommu" gives an empty value),
 * honouring double quotes as the kernel does. The kernel stops parsing its
 * own parameters at "--".
 */
std::optional<std::string> cmdline_parameter(std::string_view cmdline, std::string_view name);

struct Mount {
	std::string source; /* "/dev/nvme0n1p2" */
	std::string target; /* "/" */
	std::string fstype;

	bool operator==(const Mount &) const = default;
};

/* /proc/mounts, with the octal escapes (\040 for a space) decoded. */
result<std::vector<Mount>> parse_proc_mounts(std::string_view text) noexcept;

/* Device names ("/dev/sda2", "/dev/zram0") of the swap areas in /proc/swaps. */
result<std::vector<std::string>> parse_proc_swaps(std::string_view text) noexcept;

/* Interfaces that carry an IPv4 default route (destination and mask 00000000) in /proc/net/route. */
result<std::vector<std::string>> parse_default_routes(std::string_view text) noexcept;

/* Interfaces that carry an IPv6 default route (::/0) in /proc/net/ipv6_route. */
result<std::vector<std::string>> parse_default_routes_ipv6(std::string_view text) noexcept;

struct FramebufferEntry {
	unsigned index = 0;
	std::string id; /* "EFI VGA", "simple", "nouveaudrmfb" */

	bool operator==(const FramebufferEntry &) const = default;
};

/* /proc/fb lines "0 EFI VGA". */
result<std::vector<FramebufferEntry>> parse_proc_fb(std::string_view text) noexcept;

/*
 * The driver name of a firmware-provided boot framebuffer ("efifb" for
 * "EFI VGA", "vesafb", "simplefb", "simpledrm"), or nothing for a
 * framebuffer that a GPU driver registered.
 */
std::optional<std::string> firmware_framebuffer_name(std::string_view fb_id);

/* From /proc/cpuinfo: the vendor_id of the first processor and whether the kernel runs under a hypervisor. */
struct CpuInfo {
	std::string vendor;
	bool hypervisor = false;
};

CpuInfo parse_cpuinfo(std::string_view text);

/*
 * The '/'-separated path that target (a symlink's content) names when the
 * link sits in directory base; both relative to the host root. Errors:
 * escapes_root for an absolute target or one that climbs above the root.
 */
result<std::string> resolve_link_target(std::string_view base, std::string_view target) noexcept;

/* The group number in an iommu_group link resolved to "sys/kernel/iommu_groups/N". */
result<unsigned> parse_iommu_group_path(std::string_view resolved) noexcept;

/* The last component of a path. */
std::string_view path_basename(std::string_view path);

/* The directory part of a path ("a/b/c" gives "a/b"; "a" gives ""). */
std::string_view path_dirname(std::string_view path);

/* Content as it appears in messages: quoted, control bytes and backslashes escaped, cut after 64 bytes. */
std::string quote_content(std::string_view text);

/* A path as it appears in messages: quoted and escaped like quote_content(), never cut. */
std::string quote_path(std::string_view path);

/*
 * A driver, module or device name as it appears in messages: as it is when
 * it contains only ASCII letters, digits and ".:_-+@", quoted by
 * quote_content() otherwise, so that an unusual name cannot pass for text
 * that pcipass wrote.
 */
std::string name_in_message(std::string_view name);

} /* namespace pcipass::detail */
