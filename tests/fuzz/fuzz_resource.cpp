/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Fuzzes the resource file parser. Invariants:
 * - every failure is malformed_attribute;
 * - a parse gives one region per line, and no used region ends below its
 *   start;
 * - the regions written back in the kernel's format parse to the same
 *   regions.
 */

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "invariant.hpp"
#include "sysfs_parse.hpp"

using namespace pcipass;
using namespace pcipass::detail;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const std::string_view text(reinterpret_cast<const char *>(data), size);

	auto resources = parse_resource(text);
	if (!resources) {
		fuzz::require_error(resources, errc::malformed_attribute,
				    "resource errors are malformed_attribute");
		return 0;
	}

	size_t lines = 0;
	for (size_t pos = 0; pos < text.size(); lines++) {
		const size_t end = text.find('\n', pos);
		pos = end == std::string_view::npos ? text.size() : end + 1;
	}
	fuzz::require(resources.value().size() == lines, "one region per line");

	std::string written;
	for (const Resource &resource : resources.value()) {
		fuzz::require(!resource.used() || resource.end >= resource.start,
			      "used regions end at or above their start");
		fuzz::require(!resource.used() || resource.size() == resource.end - resource.start + 1,
			      "a used region's size spans start to end");

		char line[80];
		std::snprintf(line, sizeof(line), "0x%016llx 0x%016llx 0x%016llx\n",
			      static_cast<unsigned long long>(resource.start),
			      static_cast<unsigned long long>(resource.end),
			      static_cast<unsigned long long>(resource.flags));
		written += line;
	}

	auto again = parse_resource(written);
	fuzz::require(again && again.value() == resources.value(), "regions round-trip");
	return 0;
}
