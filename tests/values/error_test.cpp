/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 */

#include <cerrno>
#include <system_error>

#include <doctest/doctest.h>

#include <pcipass/error.hpp>

using namespace pcipass;

TEST_CASE("error: codes compare with std::errc where one fits")
{
	CHECK(make_error_code(errc::busy) == std::errc::device_or_resource_busy);
	CHECK(make_error_code(errc::not_found) == std::errc::no_such_device);
	CHECK(make_error_code(errc::timed_out) == std::errc::timed_out);
	CHECK(make_error_code(errc::permission_denied) == std::errc::permission_denied);
	CHECK(make_error_code(errc::iommu_off) != std::errc::invalid_argument);
	CHECK(std::string(category().name()) == "pcipass");
	CHECK(category().message(static_cast<int>(errc::iommu_off)) == "IOMMU is off");
	CHECK(category().message(9999) == "unknown pcipass error 9999");
}

TEST_CASE("error: system errors keep their errno")
{
	Error error = make_sys_error(EBUSY, "bind failed", "0000:01:00.0",
				     "sys/bus/pci/drivers/vfio-pci/bind");
	CHECK(error.code == errc::busy);
	CHECK(error.sys_errno == EBUSY);
	CHECK(error.describe() ==
	      "bind failed [device 0000:01:00.0] [path 'sys/bus/pci/drivers/vfio-pci/bind'] "
	      "[errno EBUSY: Device or resource busy]");
	CHECK(make_sys_error(EACCES, "x").code == errc::permission_denied);
	CHECK(make_sys_error(ENOENT, "x").code == errc::not_found);
}

TEST_CASE("error: result carries the error value")
{
	auto fail = []() -> result<int> { return make_error(errc::driver_missing, "no vfio-pci"); };
	auto pass = []() -> result<int> { return 7; };
	auto chain = [&]() -> result<int> {
		BOOST_OUTCOME_TRY(auto value, fail());
		return value + 1;
	};

	CHECK(pass().value() == 7);
	REQUIRE_FALSE(chain());
	CHECK(chain().error().code == errc::driver_missing);
	CHECK_THROWS_AS(fail().value(), std::system_error);
	CHECK(std::string(errc_name(errc::pf_has_vfs)) == "pf_has_vfs");
}
