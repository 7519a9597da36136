/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Small rules on names and numbers that the topology checks and
 * materialize() apply the same way.
 */

#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <pcipass/testing/topology.hpp>

namespace pcipass::detail {

/* Well-formed UTF-8: what the JSON of the journal and the ownership records can hold. */
bool is_valid_utf8(std::string_view text);

/*
 * A name that is safe as one path component: not empty, no '/', whitespace,
 * "." or "..", and valid UTF-8.
 */
bool is_plain_file_name(std::string_view name);

/* A BDF in the form sysfs names it ("0000:01:00.0"), so that it can be joined into a path. */
bool is_canonical_address(std::string_view text);

/* Room for a Kubernetes namespace and name, or a UID, with a prefix. */
constexpr size_t max_owner_size = 512;

/* A claim's owner: 1 to max_owner_size bytes of UTF-8 without control characters. */
bool is_valid_owner(std::string_view owner);

/* A kernel module name as /proc/modules shows it: letters, digits and '_'. */
bool is_module_name(std::string_view name);

/* The number of the VF at address among the PF's VFs, from its routing ID. */
std::optional<unsigned> vf_index(const testing::TopologyDevice &pf, PciAddress address);

/* A USB device name "3-1.2": its bus and the hub it sits behind ("3-1"; empty for a root port). */
struct UsbName {
	unsigned bus = 0;
	std::string parent;
};
std::optional<UsbName> parse_usb_name(std::string_view name);

/* A USB consumer's description "vvvv:pppp product name" split into its parts. */
struct UsbDescription {
	uint16_t vendor = 0;
	uint16_t product = 0;
	std::string product_name;
};
std::optional<UsbDescription> parse_usb_description(std::string_view description);

/* N from "dev/vfio/N", written as the kernel names group nodes (decimal, no leading zero). */
std::optional<unsigned> parse_vfio_group_node(std::string_view path);

} /* namespace pcipass::detail */
