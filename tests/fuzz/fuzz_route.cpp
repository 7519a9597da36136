/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Fuzzes the /proc/net/route and /proc/net/ipv6_route parsers. Invariants:
 * - every failure is malformed_attribute;
 * - the interfaces come out sorted and unique, and each appears in the
 *   input;
 * - a table of default routes through them parses to the same interfaces.
 */

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "invariant.hpp"
#include "sysfs_parse.hpp"

using namespace pcipass;
using namespace pcipass::detail;

namespace {

void require_sorted_unique(const std::vector<std::string> &names, std::string_view text)
{
	fuzz::require(std::is_sorted(names.begin(), names.end()) &&
			      std::adjacent_find(names.begin(), names.end()) == names.end(),
		      "interfaces are sorted and unique");
	for (const std::string &name : names) {
		fuzz::require(!name.empty() && name.find_first_of(" \t\n") == std::string::npos,
			      "interface names are non-empty words");
		fuzz::require(text.find(name) != std::string_view::npos,
			      "each interface appears in the input");
	}
}

void check_ipv4(std::string_view text)
{
	auto routes = parse_default_routes(text);
	if (!routes) {
		fuzz::require_error(routes, errc::malformed_attribute,
				    "proc/net/route errors are malformed_attribute");
		return;
	}
	require_sorted_unique(routes.value(), text);

	std::string written = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\t"
			      "Window\tIRTT\n";
	for (const std::string &name : routes.value())
		written += name + "\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n";
	auto again = parse_default_routes(written);
	fuzz::require(again && again.value() == routes.value(), "IPv4 default routes round-trip");
}

void check_ipv6(std::string_view text)
{
	auto routes = parse_default_routes_ipv6(text);
	if (!routes) {
		fuzz::require_error(routes, errc::malformed_attribute,
				    "proc/net/ipv6_route errors are malformed_attribute");
		return;
	}
	require_sorted_unique(routes.value(), text);

	const std::string zero(32, '0');
	std::string written;
	for (const std::string &name : routes.value())
		written += zero + " 00 " + zero + " 00 fe800000000000000000000000000001 00000400 "
			   "00000001 00000000 00000003 " + name + "\n";
	auto again = parse_default_routes_ipv6(written);
	fuzz::require(again && again.value() == routes.value(), "IPv6 default routes round-trip");
}

} /* namespace */

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const std::string_view text(reinterpret_cast<const char *>(data), size);

	check_ipv4(text);
	check_ipv6(text);
	return 0;
}
