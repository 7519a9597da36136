/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Fuzzes the sysfs and procfs parsers with the same bytes: each either
 * fails with malformed_attribute (escapes_root for link targets) or
 * returns a value, and never crashes or reads out of bounds.
 */

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sysfs_parse.hpp"

using namespace pcipass;
using namespace pcipass::detail;

namespace {

template<class T>
void expect_malformed_or_value(const result<T> &value)
{
	if (!value && value.error().code != errc::malformed_attribute)
		std::abort();
}

} /* namespace */

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const std::string_view text(reinterpret_cast<const char *>(data), size);

	expect_malformed_or_value(parse_hex_attribute(text, 4));
	expect_malformed_or_value(parse_int_attribute(text));
	expect_malformed_or_value(parse_bool_attribute(text));
	expect_malformed_or_value(parse_config_header(text));
	expect_malformed_or_value(parse_pci_uevent(text));
	expect_malformed_or_value(parse_usb_uevent(text));
	expect_malformed_or_value(parse_resource(text));
	expect_malformed_or_value(parse_driver_override(text));
	expect_malformed_or_value(parse_reset_methods(text));
	expect_malformed_or_value(parse_proc_modules(text));
	expect_malformed_or_value(parse_proc_mounts(text));
	expect_malformed_or_value(parse_proc_swaps(text));
	expect_malformed_or_value(parse_default_routes(text));
	expect_malformed_or_value(parse_default_routes_ipv6(text));
	expect_malformed_or_value(parse_proc_fb(text));
	expect_malformed_or_value(parse_iommu_group_path(text));
	(void)parse_cpuinfo(text);
	(void)cmdline_parameter(text, "intel_iommu");

	/* A resolved link stays beneath the root: no ".." and no leading '/'. */
	auto resolved = resolve_link_target("sys/devices/pci0000:00/0000:00:01.0", text);
	if (resolved) {
		const std::string &path = resolved.value();
		if (path.starts_with('/') || path == ".." || path.starts_with("../") ||
		    path.find("/../") != std::string::npos || path.ends_with("/.."))
			std::abort();
	} else if (resolved.error().code != errc::escapes_root) {
		std::abort();
	}

	return 0;
}
