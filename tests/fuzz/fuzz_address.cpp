/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Fuzzes the address and ID parsers: any input either fails with
 * invalid_argument or parses to a value that prints back to a canonical
 * form that parses to the same value.
 */

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <pcipass/address.hpp>

using namespace pcipass;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const std::string_view text(reinterpret_cast<const char *>(data), size);

	auto address = PciAddress::parse(text);
	if (address) {
		auto again = PciAddress::parse(address.value().to_string());
		if (!again || again.value() != address.value())
			std::abort();
	} else if (address.error().code != errc::invalid_argument) {
		std::abort();
	}

	auto vendor = VendorId::parse(text);
	if (vendor && VendorId::parse(vendor.value().to_string()).value() != vendor.value())
		std::abort();

	auto class_code = ClassCode::parse(text);
	if (class_code && ClassCode::parse(class_code.value().to_string()).value() != class_code.value())
		std::abort();

	return 0;
}
