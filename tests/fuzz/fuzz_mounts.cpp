/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Fuzzes the /proc/mounts and /proc/swaps parsers. Invariants:
 * - every failure is malformed_attribute;
 * - a parse gives one entry per non-blank line;
 * - entries written back with the kernel's octal escapes parse to the same
 *   entries.
 */

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "invariant.hpp"
#include "sysfs_parse.hpp"

using namespace pcipass;
using namespace pcipass::detail;

namespace {

/* What the kernel's seq_escape() does for mount paths: space, tab, newline and backslash as \ooo. */
std::string escape(std::string_view text)
{
	std::string escaped;
	for (char c : text) {
		switch (c) {
		case ' ':
			escaped += "\\040";
			break;
		case '\t':
			escaped += "\\011";
			break;
		case '\n':
			escaped += "\\012";
			break;
		case '\\':
			escaped += "\\134";
			break;
		default:
			escaped += c;
		}
	}
	return escaped;
}

size_t count_non_blank_lines(std::string_view text)
{
	size_t count = 0;
	for (size_t pos = 0; pos < text.size();) {
		size_t end = text.find('\n', pos);
		if (end == std::string_view::npos)
			end = text.size();
		if (text.substr(pos, end - pos).find_first_not_of(" \t") != std::string_view::npos)
			count++;
		pos = end + 1;
	}
	return count;
}

void check_mounts(std::string_view text)
{
	auto mounts = parse_proc_mounts(text);
	if (!mounts) {
		fuzz::require_error(mounts, errc::malformed_attribute,
				    "proc/mounts errors are malformed_attribute");
		return;
	}
	fuzz::require(mounts.value().size() == count_non_blank_lines(text), "one mount per line");

	std::string written;
	for (const Mount &mount : mounts.value()) {
		fuzz::require(!mount.source.empty() && !mount.target.empty() && !mount.fstype.empty(),
			      "mount fields are not empty");
		written += escape(mount.source) + " " + escape(mount.target) + " " + mount.fstype +
			   " rw,relatime 0 0\n";
	}

	auto again = parse_proc_mounts(written);
	fuzz::require(again && again.value() == mounts.value(), "mounts round-trip");
}

void check_swaps(std::string_view text)
{
	auto swaps = parse_proc_swaps(text);
	if (!swaps) {
		fuzz::require_error(swaps, errc::malformed_attribute,
				    "proc/swaps errors are malformed_attribute");
		return;
	}

	std::string written = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";
	for (const std::string &swap : swaps.value()) {
		fuzz::require(!swap.empty(), "swap names are not empty");
		written += escape(swap) + "\tpartition\t1048572\t\t0\t\t-2\n";
	}

	auto again = parse_proc_swaps(written);
	fuzz::require(again && again.value() == swaps.value(), "swaps round-trip");
}

} /* namespace */

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const std::string_view text(reinterpret_cast<const char *>(data), size);

	check_mounts(text);
	check_swaps(text);
	return 0;
}
