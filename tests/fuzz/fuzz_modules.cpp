/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Fuzzes the /proc/modules parser. Invariants:
 * - every failure is malformed_attribute;
 * - names come out sorted, unique, non-empty and free of whitespace, each
 *   the first field of an input line;
 * - written back as /proc/modules lines, they parse to the same names.
 */

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "invariant.hpp"
#include "sysfs_parse.hpp"

using namespace pcipass;
using namespace pcipass::detail;

namespace {

bool starts_a_line(std::string_view text, std::string_view name)
{
	for (size_t pos = 0; pos <= text.size();) {
		size_t end = text.find('\n', pos);
		if (end == std::string_view::npos)
			end = text.size();
		std::string_view line = text.substr(pos, end - pos);
		while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
			line.remove_prefix(1);
		if (line.starts_with(name) &&
		    (line.size() == name.size() || line[name.size()] == ' ' || line[name.size()] == '\t'))
			return true;
		pos = end + 1;
	}
	return false;
}

} /* namespace */

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const std::string_view text(reinterpret_cast<const char *>(data), size);

	auto modules = parse_proc_modules(text);
	if (!modules) {
		fuzz::require_error(modules, errc::malformed_attribute,
				    "proc/modules errors are malformed_attribute");
		return 0;
	}

	const auto &names = modules.value();
	fuzz::require(std::is_sorted(names.begin(), names.end()) &&
			      std::adjacent_find(names.begin(), names.end()) == names.end(),
		      "module names are sorted and unique");

	std::string written;
	for (const std::string &name : names) {
		fuzz::require(!name.empty() && name.find_first_of(" \t\n") == std::string::npos,
			      "module names are non-empty and hold no whitespace");
		fuzz::require(starts_a_line(text, name), "each name is the first field of a line");
		written += name + " 16384 0 - Live 0x0000000000000000\n";
	}

	auto again = parse_proc_modules(written);
	fuzz::require(again && again.value() == names, "module names round-trip");
	return 0;
}
