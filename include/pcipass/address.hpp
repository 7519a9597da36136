/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * PCI addresses (BDF), vendor and device IDs, and class codes.
 */

#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <pcipass/error.hpp>

namespace pcipass {

/*
 * A PCI function address, DDDD:BB:DD.F. Parsing is strict: hex digits of
 * either case, a 4-digit domain (more digits only for domains above 0xffff,
 * as the kernel prints VMD domains), 2-digit bus, 2-digit device at most
 * 0x1f, 1-digit function at most 7. BB:DD.F means domain 0. Output is lower
 * case with the domain padded to 4 digits.
 */
class PciAddress
{
public:
	constexpr PciAddress() = default;
	constexpr PciAddress(uint32_t domain, uint8_t bus, uint8_t device, uint8_t function)
		: domain_(domain), bus_(bus), device_(device & 0x1f), function_(function & 0x7)
	{
	}

	/* Errors: invalid_argument, with the input quoted in the message. */
	static result<PciAddress> parse(std::string_view text) noexcept;

	constexpr uint32_t domain() const { return domain_; }
	constexpr uint8_t bus() const { return bus_; }
	constexpr uint8_t device() const { return device_; }
	constexpr uint8_t function() const { return function_; }

	/* The same address with another function number: the slot siblings. */
	constexpr PciAddress with_function(uint8_t function) const
	{
		return {domain_, bus_, device_, function};
	}

	/* "0000:01:00.0" */
	std::string to_string() const;

	/* The slot "0000:01:00" without the function. */
	std::string slot_string() const;

	constexpr auto operator<=>(const PciAddress &) const = default;

private:
	uint32_t domain_ = 0;
	uint8_t bus_ = 0;
	uint8_t device_ = 0;
	uint8_t function_ = 0;
};

/*
 * A 16-bit PCI vendor or device ID. Parses "10de" or "0x10de" (exactly four
 * hex digits, either case); prints four lower-case digits without "0x".
 */
template<class Tag>
class Id16
{
public:
	constexpr Id16() = default;
	constexpr explicit Id16(uint16_t value) : value_(value) {}

	/* Errors: invalid_argument, with the input quoted in the message. */
	static result<Id16> parse(std::string_view text) noexcept;

	constexpr uint16_t value() const { return value_; }
	std::string to_string() const;

	constexpr auto operator<=>(const Id16 &) const = default;

private:
	uint16_t value_ = 0;
};

struct VendorTag;
struct DeviceTag;
using VendorId = Id16<VendorTag>;
using DeviceId = Id16<DeviceTag>;

extern template class Id16<VendorTag>;
extern template class Id16<DeviceTag>;

/*
 * A 24-bit class code: base class, subclass, programming interface. Parses
 * "0x030000" or "030000" (exactly six hex digits); prints six lower-case digits.
 */
class ClassCode
{
public:
	constexpr ClassCode() = default;
	constexpr explicit ClassCode(uint32_t value) : value_(value & 0xffffff) {}

	/* Errors: invalid_argument, with the input quoted in the message. */
	static result<ClassCode> parse(std::string_view text) noexcept;

	constexpr uint32_t value() const { return value_; }
	constexpr uint8_t base() const { return value_ >> 16; }
	constexpr uint8_t subclass() const { return (value_ >> 8) & 0xff; }
	constexpr uint8_t prog_if() const { return value_ & 0xff; }

	/* Base class and subclass as four hex digits, "0300". */
	std::string class_subclass_string() const;
	std::string to_string() const;

	/* A short English name of the base class and subclass ("VGA compatible controller"). */
	std::string_view description() const;

	constexpr bool is_display() const { return base() == 0x03; }
	constexpr bool is_vga() const { return base() == 0x03 && subclass() == 0x00; }
	constexpr bool is_usb_controller() const { return base() == 0x0c && subclass() == 0x03; }

	constexpr auto operator<=>(const ClassCode &) const = default;

private:
	uint32_t value_ = 0;
};

/* vendor:device as "10de:1f02" */
std::string id_pair_string(VendorId vendor, DeviceId device);

} /* namespace pcipass */

template<>
struct std::hash<pcipass::PciAddress> {
	size_t operator()(const pcipass::PciAddress &address) const noexcept
	{
		return std::hash<uint64_t>()((uint64_t(address.domain()) << 16) |
					     (uint64_t(address.bus()) << 8) |
					     (uint64_t(address.device()) << 3) | address.function());
	}
};
