/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Fuzzes the one-value attribute parsers: hex IDs, decimal integers,
 * booleans, driver_override and reset_method. Invariants:
 * - every failure is malformed_attribute;
 * - each parsed value, written back as the kernel prints it, parses to the
 *   same value.
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

namespace {

void check_hex(std::string_view text)
{
	for (unsigned digits : {4u, 6u, 8u}) {
		auto value = parse_hex_attribute(text, digits);
		if (!value) {
			fuzz::require_error(value, errc::malformed_attribute,
					    "hex errors are malformed_attribute");
			continue;
		}
		fuzz::require(digits == 8 || value.value() < (1u << (4 * digits)),
			      "a hex value fits its digits");

		char written[24];
		std::snprintf(written, sizeof(written), "0x%0*x\n", static_cast<int>(digits), value.value());
		auto again = parse_hex_attribute(written, digits);
		fuzz::require(again && again.value() == value.value(), "hex values round-trip");
	}
}

void check_int(std::string_view text)
{
	auto value = parse_int_attribute(text);
	if (!value) {
		fuzz::require_error(value, errc::malformed_attribute, "integer errors are malformed_attribute");
		return;
	}
	auto again = parse_int_attribute(std::to_string(value.value()) + "\n");
	fuzz::require(again && again.value() == value.value(), "integers round-trip");
}

void check_bool(std::string_view text)
{
	auto value = parse_bool_attribute(text);
	if (!value) {
		fuzz::require_error(value, errc::malformed_attribute, "boolean errors are malformed_attribute");
		return;
	}
	fuzz::require(text == "0" || text == "1" || text == "0\n" || text == "1\n",
		      "only 0 and 1 are booleans");
}

void check_override(std::string_view text)
{
	auto value = parse_driver_override(text);
	if (!value) {
		fuzz::require_error(value, errc::malformed_attribute,
				    "driver_override errors are malformed_attribute");
		return;
	}
	const std::string written = (value.value() ? *value.value() : std::string("(null)")) + "\n";
	if (value.value())
		fuzz::require(value.value()->find_first_of(" \t\n") == std::string::npos,
			      "an override is one word");
	auto again = parse_driver_override(written);
	fuzz::require(again && again.value() == value.value(), "overrides round-trip");
}

void check_reset_methods(std::string_view text)
{
	auto methods = parse_reset_methods(text);
	if (!methods) {
		fuzz::require_error(methods, errc::malformed_attribute,
				    "reset_method errors are malformed_attribute");
		return;
	}
	std::string written;
	for (const std::string &method : methods.value()) {
		fuzz::require(!method.empty() && method.find_first_of(" \t\n") == std::string::npos,
			      "reset methods are words");
		written += (written.empty() ? "" : " ") + method;
	}
	auto again = parse_reset_methods(written + "\n");
	fuzz::require(again && again.value() == methods.value(), "reset methods round-trip");
}

} /* namespace */

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const std::string_view text(reinterpret_cast<const char *>(data), size);

	check_hex(text);
	check_int(text);
	check_bool(text);
	check_override(text);
	check_reset_methods(text);
	return 0;
}
