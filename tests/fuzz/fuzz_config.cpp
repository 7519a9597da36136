/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Fuzzes the config space header parser. Invariants:
 * - it fails with malformed_attribute exactly when fewer than 64 bytes are
 *   given;
 * - the result depends only on the first 64 bytes;
 * - the IDs, class and header type are the little-endian fields at their
 *   standard offsets.
 */

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "invariant.hpp"
#include "sysfs_parse.hpp"

using namespace pcipass;
using namespace pcipass::detail;

namespace {

uint32_t byte_at(std::string_view bytes, size_t offset)
{
	return static_cast<uint8_t>(bytes[offset]);
}

uint32_t word_at(std::string_view bytes, size_t offset)
{
	return byte_at(bytes, offset) | (byte_at(bytes, offset + 1) << 8);
}

bool same(const ConfigHeader &a, const ConfigHeader &b)
{
	return a.vendor == b.vendor && a.device == b.device && a.class_code == b.class_code &&
	       a.revision == b.revision && a.header_type == b.header_type &&
	       a.subsystem_vendor == b.subsystem_vendor && a.subsystem_device == b.subsystem_device &&
	       a.inaccessible == b.inaccessible && a.ids_hidden == b.ids_hidden;
}

} /* namespace */

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const std::string_view bytes(reinterpret_cast<const char *>(data), size);

	auto header = parse_config_header(bytes);
	if (size < 64) {
		fuzz::require_error(header, errc::malformed_attribute,
				    "a short config is malformed_attribute");
		return 0;
	}
	fuzz::require(header.has_value(), "64 bytes or more always parse");

	const ConfigHeader &parsed = header.value();
	fuzz::require(parsed.vendor.value() == word_at(bytes, 0) &&
			      parsed.device.value() == word_at(bytes, 2),
		      "IDs are the words at 0x00 and 0x02");
	fuzz::require(parsed.revision == byte_at(bytes, 8), "the revision is the byte at 0x08");
	fuzz::require(parsed.class_code.value() ==
			      (byte_at(bytes, 9) | (byte_at(bytes, 10) << 8) | (byte_at(bytes, 11) << 16)),
		      "the class is the three bytes at 0x09");
	fuzz::require(parsed.header_type == byte_at(bytes, 14), "the header type is the byte at 0x0e");
	fuzz::require(!(parsed.inaccessible && parsed.ids_hidden),
		      "a header is not both inaccessible and ID-hidden");
	if (parsed.inaccessible)
		fuzz::require(parsed.subsystem_vendor.value() == 0 && parsed.subsystem_device.value() == 0,
			      "an inaccessible header has no subsystem IDs");

	auto prefix = parse_config_header(bytes.substr(0, 64));
	fuzz::require(prefix && same(prefix.value(), parsed), "only the first 64 bytes count");
	return 0;
}
