/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Fuzzes the kernel command line parsers. Invariants:
 * - parse_cmdline drops at most one trailing newline;
 * - a parameter's value never contains a double quote;
 * - on a command line without quotes, cmdline_parameter agrees with a plain
 *   whitespace split that stops at "--" and keeps the last occurrence.
 */

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "invariant.hpp"
#include "sysfs_parse.hpp"

using namespace pcipass::detail;

namespace {

std::vector<std::string_view> split_words(std::string_view text)
{
	std::vector<std::string_view> words;
	size_t pos = 0;
	while (pos < text.size()) {
		const size_t start = text.find_first_not_of(" \t\n", pos);
		if (start == std::string_view::npos)
			break;
		size_t end = text.find_first_of(" \t\n", start);
		if (end == std::string_view::npos)
			end = text.size();
		words.push_back(text.substr(start, end - start));
		pos = end;
	}
	return words;
}

} /* namespace */

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const std::string_view text(reinterpret_cast<const char *>(data), size);

	const std::string cmdline = parse_cmdline(text);
	fuzz::require(cmdline == text || cmdline + "\n" == text,
		      "parse_cmdline drops at most one trailing newline");

	std::vector<std::string> names = {"intel_iommu", "amd_iommu", "iommu", "vfio-pci.ids"};
	std::map<std::string, std::string, std::less<>> expected;
	const bool quoted = text.find('"') != std::string_view::npos;
	for (std::string_view word : split_words(text)) {
		if (word == "--")
			break;
		const size_t equals = word.find('=');
		const std::string key(word.substr(0, equals));
		expected[key] = equals == std::string_view::npos ? std::string()
								 : std::string(word.substr(equals + 1));
		if (names.size() < 12)
			names.push_back(key);
	}

	for (const std::string &name : names) {
		const std::optional<std::string> value = cmdline_parameter(text, name);
		if (value)
			fuzz::require(value->find('"') == std::string::npos, "values hold no double quote");
		if (quoted)
			continue;

		const auto found = expected.find(name);
		fuzz::require(value.has_value() == (found != expected.end()),
			      "a parameter is found exactly when a word names it");
		if (value)
			fuzz::require(*value == found->second, "the last occurrence gives the value");
	}
	return 0;
}
