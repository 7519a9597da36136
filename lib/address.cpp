/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Strict parsing and formatting of PCI addresses, IDs and class codes.
 */

#include <pcipass/address.hpp>

#include <array>
#include <cstdio>
#include <optional>

#include "sysfs_parse.hpp"

namespace pcipass {

namespace {

/* The value of exactly text.size() hex digits, or nothing when any character is not one. */
std::optional<uint32_t> parse_hex_digits(std::string_view text)
{
	if (text.empty() || text.size() > 8)
		return std::nullopt;

	uint32_t value = 0;
	for (char c : text) {
		uint32_t digit;
		if (c >= '0' && c <= '9')
			digit = c - '0';
		else if (c >= 'a' && c <= 'f')
			digit = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			digit = c - 'A' + 10;
		else
			return std::nullopt;
		value = (value << 4) | digit;
	}

	return value;
}

Error invalid(std::string_view what, std::string_view text, std::string_view expected)
{
	return make_error(errc::invalid_argument,
			  "invalid " + std::string(what) + " " + detail::quote_content(text) + ": expected " +
				  std::string(expected));
}

std::string_view strip_hex_prefix(std::string_view text)
{
	if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
		text.remove_prefix(2);
	return text;
}

} /* namespace */

result<PciAddress> PciAddress::parse(std::string_view text) noexcept
{
	constexpr std::string_view expected =
		"DDDD:BB:DD.F in hex, device at most 1f, function at most 7";

	/* Split into domain (optional), bus, device and function by their separators. */
	const size_t dot = text.rfind('.');
	if (dot == std::string_view::npos)
		return invalid("PCI address", text, expected);

	const std::string_view function_text = text.substr(dot + 1);
	const std::string_view head = text.substr(0, dot);
	const size_t last_colon = head.rfind(':');
	if (last_colon == std::string_view::npos)
		return invalid("PCI address", text, expected);

	const std::string_view device_text = head.substr(last_colon + 1);
	const std::string_view bus_and_domain = head.substr(0, last_colon);
	const size_t first_colon = bus_and_domain.rfind(':');
	std::string_view domain_text;
	std::string_view bus_text = bus_and_domain;
	if (first_colon != std::string_view::npos) {
		domain_text = bus_and_domain.substr(0, first_colon);
		bus_text = bus_and_domain.substr(first_colon + 1);
	}

	if (bus_text.size() != 2 || device_text.size() != 2 || function_text.size() != 1)
		return invalid("PCI address", text, expected);

	/*
	 * The kernel prints the domain with "%04x", so only domains above 0xffff
	 * (VMD) have more than four digits, and never a leading zero then.
	 */
	std::optional<uint32_t> domain = 0;
	if (first_colon != std::string_view::npos) {
		if (domain_text.size() < 4 || domain_text.size() > 8 ||
		    (domain_text.size() > 4 && domain_text[0] == '0'))
			return invalid("PCI address", text, expected);
		domain = parse_hex_digits(domain_text);
	}

	const auto bus = parse_hex_digits(bus_text);
	const auto device = parse_hex_digits(device_text);
	const auto function = parse_hex_digits(function_text);
	if (!domain || !bus || !device || !function || *device > 0x1f || *function > 7)
		return invalid("PCI address", text, expected);

	return PciAddress(*domain, static_cast<uint8_t>(*bus), static_cast<uint8_t>(*device),
			  static_cast<uint8_t>(*function));
}

std::string PciAddress::to_string() const
{
	std::array<char, 24> text;
	std::snprintf(text.data(), text.size(), "%04x:%02x:%02x.%x", domain_, bus_, device_,
		      function_);
	return text.data();
}

std::string PciAddress::slot_string() const
{
	std::array<char, 24> text;
	std::snprintf(text.data(), text.size(), "%04x:%02x:%02x", domain_, bus_, device_);
	return text.data();
}

template<class Tag>
result<Id16<Tag>> Id16<Tag>::parse(std::string_view text) noexcept
{
	const std::string_view what = std::is_same_v<Tag, VendorTag> ? "vendor ID" : "device ID";
	const std::string_view digits = strip_hex_prefix(text);

	const auto value = digits.size() == 4 ? parse_hex_digits(digits) : std::nullopt;
	if (!value)
		return invalid(what, text, "four hex digits such as '10de' or '0x10de'");

	return Id16(static_cast<uint16_t>(*value));
}

template<class Tag>
std::string Id16<Tag>::to_string() const
{
	std::array<char, 8> text;
	std::snprintf(text.data(), text.size(), "%04x", value_);
	return text.data();
}

template class Id16<VendorTag>;
template class Id16<DeviceTag>;

result<ClassCode> ClassCode::parse(std::string_view text) noexcept
{
	const std::string_view digits = strip_hex_prefix(text);

	const auto value = digits.size() == 6 ? parse_hex_digits(digits) : std::nullopt;
	if (!value)
		return invalid("class code", text, "six hex digits such as '030000' or '0x030000'");

	return ClassCode(*value);
}

std::string ClassCode::to_string() const
{
	std::array<char, 12> text;
	std::snprintf(text.data(), text.size(), "%06x", value_);
	return text.data();
}

std::string ClassCode::class_subclass_string() const
{
	std::array<char, 12> text;
	std::snprintf(text.data(), text.size(), "%04x", value_ >> 8);
	return text.data();
}

std::string_view ClassCode::description() const
{
	switch (value_ >> 8) {
	case 0x0100: return "SCSI storage controller";
	case 0x0101: return "IDE interface";
	case 0x0104: return "RAID bus controller";
	case 0x0106: return "SATA controller";
	case 0x0107: return "Serial Attached SCSI controller";
	case 0x0108: return "Non-Volatile memory controller";
	case 0x0200: return "Ethernet controller";
	case 0x0207: return "InfiniBand controller";
	case 0x0280: return "Network controller";
	case 0x0300: return "VGA compatible controller";
	case 0x0302: return "3D controller";
	case 0x0380: return "Display controller";
	case 0x0401: return "Multimedia audio controller";
	case 0x0403: return "Audio device";
	case 0x0600: return "Host bridge";
	case 0x0601: return "ISA bridge";
	case 0x0604: return "PCI bridge";
	case 0x0680: return "Bridge";
	case 0x0c03: return "USB controller";
	case 0x0c05: return "SMBus";
	case 0x0c80: return "Serial bus controller";
	case 0x1200: return "Processing accelerators";
	}

	switch (base()) {
	case 0x00: return "Unclassified device";
	case 0x01: return "Mass storage controller";
	case 0x02: return "Network controller";
	case 0x03: return "Display controller";
	case 0x04: return "Multimedia controller";
	case 0x05: return "Memory controller";
	case 0x06: return "Bridge";
	case 0x07: return "Communication controller";
	case 0x08: return "Generic system peripheral";
	case 0x0c: return "Serial bus controller";
	case 0x12: return "Processing accelerators";
	default: return "Unknown class";
	}
}

std::string id_pair_string(VendorId vendor, DeviceId device)
{
	return vendor.to_string() + ":" + device.to_string();
}

} /* namespace pcipass */
