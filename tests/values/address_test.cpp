/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 */

#include <doctest/doctest.h>

#include <pcipass/address.hpp>

using namespace pcipass;

TEST_CASE("address: parses full and short forms")
{
	auto full = PciAddress::parse("0000:01:00.0");
	REQUIRE(full);
	CHECK(full.value() == PciAddress(0, 1, 0, 0));

	auto short_form = PciAddress::parse("65:1f.7");
	REQUIRE(short_form);
	CHECK(short_form.value() == PciAddress(0, 0x65, 0x1f, 7));
	CHECK(short_form.value().to_string() == "0000:65:1f.7");
}

TEST_CASE("address: accepts either case and prints lower case")
{
	auto upper = PciAddress::parse("ABCD:EF:1A.3");
	REQUIRE(upper);
	CHECK(upper.value().to_string() == "abcd:ef:1a.3");
	CHECK(upper.value().slot_string() == "abcd:ef:1a");
}

TEST_CASE("address: accepts a VMD domain above 0xffff")
{
	auto vmd = PciAddress::parse("10000:e0:06.0");
	REQUIRE(vmd);
	CHECK(vmd.value().domain() == 0x10000);
	CHECK(vmd.value().to_string() == "10000:e0:06.0");
}

TEST_CASE("address: rejects malformed input and quotes it")
{
	const char *bad[] = {
		"",
		"../",
		"0000:01:00.0 ",
		" 0000:01:00.0",
		"0000:01:00.0x",
		"0000:01:00.8",
		"0000:01:20.0",
		"00000:01:00.0",
		"000:01:00.0",
		"0000:001:00.0",
		"0000:01:000.0",
		"0000:01:00.00",
		"0000:01:00",
		"0000-01-00.0",
		"0000:0g:00.0",
		"0000:01:00.-",
		"0000:01::00.0",
		"0000:01:00.0\n",
		"+000:01:00.0",
		"0x00:01:00.0",
		"1:2:3:4.5",
	};

	for (const char *text : bad) {
		CAPTURE(text);
		auto parsed = PciAddress::parse(text);
		REQUIRE_FALSE(parsed);
		CHECK(parsed.error().code == errc::invalid_argument);
		CHECK(parsed.error().message.find("invalid PCI address '") == 0);
	}

	auto parsed = PciAddress::parse("0000:01:00.0\n");
	REQUIRE_FALSE(parsed);
	CHECK(parsed.error().message.find("'0000:01:00.0\\n'") != std::string::npos);
}

TEST_CASE("address: orders by domain, bus, device, function")
{
	CHECK(PciAddress(0, 1, 0, 0) < PciAddress(0, 1, 0, 1));
	CHECK(PciAddress(0, 1, 0x1f, 7) < PciAddress(0, 2, 0, 0));
	CHECK(PciAddress(0, 0xff, 0, 0) < PciAddress(1, 0, 0, 0));
}

TEST_CASE("ids: vendor and device IDs take four hex digits")
{
	CHECK(VendorId::parse("10de").value() == VendorId(0x10de));
	CHECK(VendorId::parse("0x10DE").value().to_string() == "10de");
	CHECK(DeviceId::parse("0X1F02").value() == DeviceId(0x1f02));

	for (const char *text : {"", "10d", "10dee", "0x", "0x10d", "zzzz", "10de\n", " 10de"}) {
		CAPTURE(text);
		auto parsed = VendorId::parse(text);
		REQUIRE_FALSE(parsed);
		CHECK(parsed.error().code == errc::invalid_argument);
		CHECK(parsed.error().message.find("invalid vendor ID") == 0);
	}
	CHECK(DeviceId::parse("xyz").error().message.find("invalid device ID 'xyz'") == 0);
}

TEST_CASE("ids: class codes take six hex digits")
{
	auto vga = ClassCode::parse("0x030000");
	REQUIRE(vga);
	CHECK(vga.value().is_vga());
	CHECK(vga.value().class_subclass_string() == "0300");
	CHECK(vga.value().to_string() == "030000");
	CHECK(vga.value().description() == "VGA compatible controller");

	auto xhci = ClassCode::parse("0c0330");
	REQUIRE(xhci);
	CHECK(xhci.value().is_usb_controller());
	CHECK(xhci.value().prog_if() == 0x30);

	for (const char *text : {"", "03000", "0300000", "0x03000g", "030000 "}) {
		CAPTURE(text);
		CHECK_FALSE(ClassCode::parse(text));
	}
	CHECK(id_pair_string(VendorId(0x10de), DeviceId(0x1f02)) == "10de:1f02");
}
