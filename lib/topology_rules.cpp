/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Rules on names and numbers shared by the topology checks and materialize().
 */

#include "topology_rules.hpp"

#include <algorithm>

#include <charconv>

namespace pcipass::detail {

namespace {

/* A decimal number without sign or leading zero that fills the whole text. */
std::optional<unsigned> parse_decimal(std::string_view text)
{
	if (text.empty() || (text.size() > 1 && text[0] == '0'))
		return std::nullopt;

	unsigned value = 0;
	const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
	if (ec != std::errc() || end != text.data() + text.size())
		return std::nullopt;
	return value;
}

std::optional<uint16_t> parse_hex4(std::string_view text)
{
	if (text.size() != 4)
		return std::nullopt;

	unsigned value = 0;
	const auto [end, ec] = std::from_chars(text.data(), text.data() + 4, value, 16);
	if (ec != std::errc() || end != text.data() + 4)
		return std::nullopt;
	return static_cast<uint16_t>(value);
}

/* The 16-bit routing ID (bus, device, function) that SR-IOV offsets count in. */
unsigned routing_id(PciAddress address)
{
	return (unsigned(address.bus()) << 8) | (unsigned(address.device()) << 3) |
	       address.function();
}

} /* namespace */

bool is_valid_utf8(std::string_view text)
{
	size_t i = 0;
	while (i < text.size()) {
		const auto lead = static_cast<unsigned char>(text[i]);
		if (lead < 0x80) {
			i++;
			continue;
		}

		/* The sequence's length, the lead byte's payload and the least code point it may carry. */
		size_t length = 0;
		char32_t code = 0;
		char32_t least = 0;
		if (lead >= 0xc2 && lead <= 0xdf) {
			length = 2;
			code = lead & 0x1f;
			least = 0x80;
		} else if (lead >= 0xe0 && lead <= 0xef) {
			length = 3;
			code = lead & 0x0f;
			least = 0x800;
		} else if (lead >= 0xf0 && lead <= 0xf4) {
			length = 4;
			code = lead & 0x07;
			least = 0x10000;
		} else {
			return false;
		}
		if (text.size() - i < length)
			return false;

		for (size_t k = 1; k < length; k++) {
			const auto next = static_cast<unsigned char>(text[i + k]);
			if ((next & 0xc0) != 0x80)
				return false;
			code = (code << 6) | (next & 0x3f);
		}
		/* Overlong forms, UTF-16 surrogates and code points past U+10FFFF. */
		if (code < least || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff)
			return false;
		i += length;
	}
	return true;
}

bool is_plain_file_name(std::string_view name)
{
	if (name.empty() || name.size() > 255 || name == "." || name == "..")
		return false;
	for (unsigned char c : name) {
		if (c == '/' || c <= ' ' || c == 0x7f)
			return false;
	}
	return is_valid_utf8(name);
}

bool is_valid_owner(std::string_view owner)
{
	return !owner.empty() && owner.size() <= max_owner_size &&
	       std::none_of(owner.begin(), owner.end(),
			    [](unsigned char c) { return c < 0x20 || c == 0x7f; }) &&
	       is_valid_utf8(owner);
}

bool is_canonical_address(std::string_view text)
{
	auto address = PciAddress::parse(text);
	return address && address.value().to_string() == text;
}

bool is_module_name(std::string_view name)
{
	if (name.empty())
		return false;
	for (char c : name) {
		const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				     (c >= '0' && c <= '9') || c == '_';
		if (!allowed)
			return false;
	}
	return true;
}

std::optional<unsigned> vf_index(const testing::TopologyDevice &pf, PciAddress address)
{
	if (!pf.sriov || address.domain() != pf.address.domain())
		return std::nullopt;

	const testing::TopologySriov &sriov = *pf.sriov;
	const unsigned first = routing_id(pf.address) + sriov.first_vf_offset;
	const unsigned rid = routing_id(address);
	if (rid < first || (rid - first) % sriov.vf_stride != 0)
		return std::nullopt;

	const unsigned index = (rid - first) / sriov.vf_stride;
	if (index >= sriov.num_vfs)
		return std::nullopt;
	return index;
}

std::optional<UsbName> parse_usb_name(std::string_view name)
{
	const size_t dash = name.find('-');
	if (dash == std::string_view::npos)
		return std::nullopt;

	const auto bus = parse_decimal(name.substr(0, dash));
	if (!bus || *bus == 0)
		return std::nullopt;

	/* Each port along the path from the root hub is a decimal number from 1. */
	std::string_view ports = name.substr(dash + 1);
	size_t last_dot = std::string_view::npos;
	for (size_t start = 0;;) {
		const size_t dot = ports.find('.', start);
		const auto port = parse_decimal(ports.substr(start, dot - start));
		if (!port || *port == 0 || *port > 255)
			return std::nullopt;
		if (dot == std::string_view::npos)
			break;
		last_dot = dot;
		start = dot + 1;
	}

	UsbName parsed;
	parsed.bus = *bus;
	if (last_dot != std::string_view::npos)
		parsed.parent = std::string(name.substr(0, dash + 1 + last_dot));
	return parsed;
}

std::optional<UsbDescription> parse_usb_description(std::string_view description)
{
	if (description.size() < 9 || description[4] != ':')
		return std::nullopt;

	const auto vendor = parse_hex4(description.substr(0, 4));
	const auto product = parse_hex4(description.substr(5, 4));
	if (!vendor || !product)
		return std::nullopt;

	UsbDescription parsed{*vendor, *product, {}};
	if (description.size() > 9) {
		if (description[9] != ' ' || description.size() == 10)
			return std::nullopt;
		parsed.product_name = std::string(description.substr(10));
		if (parsed.product_name.find('\n') != std::string::npos)
			return std::nullopt;
	}
	return parsed;
}

std::optional<unsigned> parse_vfio_group_node(std::string_view path)
{
	constexpr std::string_view prefix = "dev/vfio/";
	if (!path.starts_with(prefix))
		return std::nullopt;
	return parse_decimal(path.substr(prefix.size()));
}

} /* namespace pcipass::detail */
