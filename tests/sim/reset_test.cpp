/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * reset, reset_method, remove and the bus rescan.
 */

#include <cerrno>

#include "sim_fixture.hpp"

using namespace sim_test;
using sim::Rule;

TEST_CASE("reset: only 1 is accepted")
{
	auto host = lab();
	const std::string reset = attribute("0000:05:00.0", "reset");
	CHECK(write_errno(*host, reset, "1") == 0);
	CHECK(last_rule(*host) == Rule::reset_done);
	CHECK(write_errno(*host, reset, "1\n") == 0);
	CHECK(write_errno(*host, reset, "2") == EINVAL);
	CHECK(last_rule(*host) == Rule::reset_invalid);
	CHECK(write_errno(*host, reset, "yes") == EINVAL);
	/* The file is write-only. */
	CHECK(host->read(reset).error().sys_errno == EACCES);
}

TEST_CASE("reset: ENOTTY once every method is disabled")
{
	auto host = lab();
	const std::string methods = attribute("0000:05:00.0", "reset_method");
	CHECK(read_text(*host, methods) == "flr bus\n");

	CHECK(write_errno(*host, methods, "\n") == 0);
	CHECK(last_rule(*host) == Rule::reset_method_disabled);
	CHECK(read_text(*host, methods).empty());
	CHECK(write_errno(*host, attribute("0000:05:00.0", "reset"), "1") == ENOTTY);
	CHECK(last_rule(*host) == Rule::reset_no_method);

	CHECK(write_errno(*host, methods, "default") == 0);
	CHECK(last_rule(*host) == Rule::reset_method_default);
	CHECK(read_text(*host, methods) == "flr bus\n");
}

TEST_CASE("reset_method: unknown or unsupported names give EINVAL")
{
	auto host = lab();
	const std::string methods = attribute("0000:03:00.0", "reset_method");
	CHECK(read_text(*host, methods) == "pm bus\n");
	CHECK(write_errno(*host, methods, "flr") == EINVAL);
	CHECK(last_rule(*host) == Rule::reset_method_invalid);
	CHECK(write_errno(*host, methods, "warm") == EINVAL);
	CHECK(read_text(*host, methods) == "pm bus\n");

	CHECK(write_errno(*host, methods, "bus") == 0);
	CHECK(last_rule(*host) == Rule::reset_method_set);
	CHECK(read_text(*host, methods) == "bus\n");
	CHECK(device_state(host->state(), "0000:03:00.0").reset_methods ==
	      std::vector<std::string>{"bus"});
}

TEST_CASE("reset: devices without a method have no reset files")
{
	auto host = lab();
	CHECK_FALSE(host->exists(attribute("0000:01:00.1", "reset")));
	CHECK_FALSE(host->exists(attribute("0000:01:00.1", "reset_method")));
	CHECK(write_errno(*host, attribute("0000:01:00.1", "reset"), "1") == ENOENT);
}

TEST_CASE("remove: the device and those behind it leave until a rescan")
{
	auto host = lab();
	REQUIRE(write_errno(*host, attribute("0000:08:01.0", "driver_override"), "vfio-pci") == 0);

	CHECK(write_errno(*host, attribute("0000:00:1e.0", "remove"), "0") == 0);
	CHECK(last_rule(*host) == Rule::remove_ignored);
	CHECK(write_errno(*host, attribute("0000:00:1e.0", "remove"), "x") == EINVAL);
	CHECK(last_rule(*host) == Rule::remove_invalid);

	CHECK(write_errno(*host, attribute("0000:00:1e.0", "remove"), "1") == 0);
	CHECK(last_rule(*host) == Rule::remove_removed);
	CHECK_FALSE(host->exists("sys/bus/pci/devices/0000:00:1e.0"));
	CHECK_FALSE(host->exists("sys/bus/pci/devices/0000:08:01.0"));
	CHECK_FALSE(host->exists("sys/kernel/iommu_groups/9"));
	CHECK_FALSE(has_device(host->state(), "0000:08:01.0"));

	CHECK(write_errno(*host, "sys/bus/pci/rescan", "1") == 0);
	CHECK(last_rule(*host) == Rule::rescan_restored);
	/* A rescan finds new devices: the override is gone and the driver probes again. */
	CHECK(read_text(*host, attribute("0000:08:01.0", "driver_override")) == "(null)\n");
	CHECK(driver_of(*host, "0000:08:01.0") == "e1000");
	CHECK(host->exists("sys/kernel/iommu_groups/9/devices/0000:08:01.0"));
}
