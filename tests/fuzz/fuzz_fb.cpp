/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Fuzzes the /proc/fb parser and the firmware framebuffer names. Invariants:
 * - every failure is malformed_attribute;
 * - a parse gives one entry per non-empty line;
 * - entries written back parse to the same entries;
 * - only the firmware framebuffers' IDs map to a driver name.
 */

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "invariant.hpp"
#include "sysfs_parse.hpp"

using namespace pcipass;
using namespace pcipass::detail;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const std::string_view text(reinterpret_cast<const char *>(data), size);

	auto entries = parse_proc_fb(text);
	if (!entries) {
		fuzz::require_error(entries, errc::malformed_attribute,
				    "proc/fb errors are malformed_attribute");
		return 0;
	}

	size_t lines = 0;
	for (size_t pos = 0; pos < text.size();) {
		size_t end = text.find('\n', pos);
		if (end == std::string_view::npos)
			end = text.size();
		lines += end > pos;
		pos = end + 1;
	}
	fuzz::require(entries.value().size() == lines, "one entry per non-empty line");

	std::string written;
	for (const FramebufferEntry &entry : entries.value()) {
		fuzz::require(entry.id.find('\n') == std::string::npos, "IDs hold no newline");
		written += std::to_string(entry.index) + " " + entry.id + "\n";

		const auto driver = firmware_framebuffer_name(entry.id);
		if (driver)
			fuzz::require(*driver == "efifb" || *driver == "vesafb" || *driver == "simplefb" ||
					      *driver == "vga16fb" || *driver == "simpledrm" ||
					      *driver == "efidrm" || *driver == "vesadrm",
				      "firmware framebuffer names are the known drivers");
	}

	auto again = parse_proc_fb(written);
	fuzz::require(again && again.value() == entries.value(), "framebuffer entries round-trip");
	return 0;
}
