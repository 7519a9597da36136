/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Fuzzes the resolution of symlink targets read from a tree, which decides
 * whether pcipass follows a link at all. The input is the link's
 * directory, a newline, and its target. Invariants:
 * - every failure is escapes_root;
 * - a resolved path is relative, with no empty, "." or ".." component;
 * - it equals std::filesystem's lexical normalization of directory/target;
 * - resolution fails exactly when that normal form climbs above the root,
 *   or the target is absolute or empty.
 */

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "invariant.hpp"
#include "sysfs_parse.hpp"

using namespace pcipass;
using namespace pcipass::detail;

namespace {

bool plain_relative_path(std::string_view path)
{
	if (path.empty())
		return true;
	if (path.front() == '/' || path.back() == '/')
		return false;
	size_t pos = 0;
	while (pos <= path.size()) {
		size_t end = path.find('/', pos);
		if (end == std::string_view::npos)
			end = path.size();
		const std::string_view component = path.substr(pos, end - pos);
		if (component.empty() || component == "." || component == "..")
			return false;
		pos = end + 1;
	}
	return true;
}

/* The lexical normal form of base/target with base taken relative to the root; nullopt when it climbs out. */
std::optional<std::string> normalized(std::string_view base, std::string_view target)
{
	while (!base.empty() && base.front() == '/')
		base.remove_prefix(1);
	std::string path = std::filesystem::path(std::string(base))
				   .append(std::string(target))
				   .lexically_normal()
				   .generic_string();
	if (path == ".." || path.starts_with("../"))
		return std::nullopt;
	while (!path.empty() && path.back() == '/')
		path.pop_back();
	if (path == ".")
		path.clear();
	return path;
}

void check_iommu_group(std::string_view resolved)
{
	auto group = parse_iommu_group_path(resolved);
	if (!group) {
		fuzz::require_error(group, errc::malformed_attribute,
				    "iommu_group errors are malformed_attribute");
		return;
	}
	auto again = parse_iommu_group_path("sys/kernel/iommu_groups/" + std::to_string(group.value()));
	fuzz::require(again && again.value() == group.value(), "group numbers round-trip");
}

} /* namespace */

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const std::string_view input(reinterpret_cast<const char *>(data), size);
	const size_t newline = input.find('\n');
	const std::string_view base = input.substr(0, newline);
	const std::string_view target =
		newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

	auto resolved = resolve_link_target(base, target);
	if (resolved) {
		fuzz::require(plain_relative_path(resolved.value()),
			      "resolved paths are relative with plain components");
		check_iommu_group(resolved.value());
	} else {
		fuzz::require_error(resolved, errc::escapes_root, "link errors are escapes_root");
	}

	/* std::filesystem paths stop at NUL in system calls; compare only NUL-free names. */
	if (input.find('\0') != std::string_view::npos)
		return 0;
	const bool refused_target = target.empty() || target.front() == '/';
	const auto expected = refused_target ? std::nullopt : normalized(base, target);
	fuzz::require(resolved.has_value() == expected.has_value(),
		      "resolution fails exactly when the normal form leaves the root");
	if (expected)
		fuzz::require(resolved.value() == *expected, "resolution matches the normal form");

	check_iommu_group(input);
	return 0;
}
