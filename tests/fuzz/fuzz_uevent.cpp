/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Fuzzes the uevent parsers. Invariants:
 * - every failure is malformed_attribute;
 * - parsed KEY=VALUE lines written back parse to the same lines;
 * - a parsed PCI or USB uevent, written back in the kernel's format,
 *   parses to the same IDs, class and driver.
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

std::string hex(unsigned value, int digits)
{
	char text[16];
	std::snprintf(text, sizeof(text), "%0*X", digits, value);
	return text;
}

void check_lines(std::string_view text)
{
	auto lines = parse_uevent(text);
	if (!lines) {
		fuzz::require_error(lines, errc::malformed_attribute, "uevent errors are malformed_attribute");
		return;
	}

	std::string written;
	for (const auto &[key, value] : lines.value()) {
		fuzz::require(!key.empty(), "uevent keys are not empty");
		fuzz::require(key.find('=') == std::string::npos, "uevent keys hold no '='");
		fuzz::require(key.find('\n') == std::string::npos && value.find('\n') == std::string::npos,
			      "uevent keys and values hold no newline");
		written += key + "=" + value + "\n";
	}

	auto again = parse_uevent(written);
	fuzz::require(again && again.value() == lines.value(), "uevent lines round-trip");
}

void check_pci(std::string_view text)
{
	auto uevent = parse_pci_uevent(text);
	if (!uevent) {
		fuzz::require_error(uevent, errc::malformed_attribute,
				    "PCI uevent errors are malformed_attribute");
		return;
	}

	const PciUevent &parsed = uevent.value();
	std::string written;
	if (parsed.driver)
		written += "DRIVER=" + *parsed.driver + "\n";
	written += "PCI_CLASS=" + hex(parsed.class_code.value(), 1) + "\n";
	written += "PCI_ID=" + hex(parsed.vendor.value(), 4) + ":" + hex(parsed.device.value(), 4) + "\n";
	written += "PCI_SUBSYS_ID=" + hex(parsed.subsystem_vendor.value(), 4) + ":" +
		   hex(parsed.subsystem_device.value(), 4) + "\n";

	auto again = parse_pci_uevent(written);
	fuzz::require(again.has_value(), "a parsed PCI uevent written back parses");
	fuzz::require(again.value().driver == parsed.driver &&
			      again.value().vendor == parsed.vendor &&
			      again.value().device == parsed.device &&
			      again.value().subsystem_vendor == parsed.subsystem_vendor &&
			      again.value().subsystem_device == parsed.subsystem_device &&
			      again.value().class_code == parsed.class_code,
		      "PCI uevent fields round-trip");
	fuzz::require(parsed.class_code.value() <= 0xffffff, "PCI classes have 24 bits");
}

void check_usb(std::string_view text)
{
	auto uevent = parse_usb_uevent(text);
	if (!uevent) {
		fuzz::require_error(uevent, errc::malformed_attribute,
				    "USB uevent errors are malformed_attribute");
		return;
	}

	const UsbUevent &parsed = uevent.value();
	char written[96];
	std::snprintf(written, sizeof(written), "PRODUCT=%x/%x/100\nTYPE=%u/0/0\n", parsed.vendor,
		      parsed.product, parsed.device_class);
	auto again = parse_usb_uevent(written);
	fuzz::require(again && again.value().vendor == parsed.vendor &&
			      again.value().product == parsed.product &&
			      again.value().device_class == parsed.device_class,
		      "USB uevent fields round-trip");
}

} /* namespace */

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const std::string_view text(reinterpret_cast<const char *>(data), size);

	check_lines(text);
	check_pci(text);
	check_usb(text);
	return 0;
}
