/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Binding rules: bind, unbind, drivers_probe, driver_override, new_id and
 * remove_id, each with the errno the kernel gives.
 */

#include <cerrno>

#include "sim_fixture.hpp"

using namespace sim_test;
using sim::Rule;

TEST_CASE("bind: unknown address gives ENODEV")
{
	auto host = lab();
	const auto before = host->state();

	CHECK(write_errno(*host, driver_file("vfio-pci", "bind"), "0000:09:00.0") == ENODEV);
	CHECK(last_rule(*host) == Rule::bind_unknown_address);
	/* The kernel compares names exactly: no short form, no upper case. */
	CHECK(write_errno(*host, driver_file("e1000e", "bind"), "04:00.0") == ENODEV);
	CHECK(write_errno(*host, driver_file("e1000e", "bind"), "0000:04:00.0 ") == ENODEV);
	CHECK(host->state() == before);
}

TEST_CASE("bind: driver without a matching ID gives ENODEV")
{
	auto host = lab();
	const auto before = host->state();

	/* vfio-pci has no static IDs, so without an override or a dynamic ID nothing matches. */
	CHECK(write_errno(*host, driver_file("vfio-pci", "bind"), "0000:04:00.0") == ENODEV);
	CHECK(last_rule(*host) == Rule::bind_not_matching);
	CHECK(write_errno(*host, driver_file("nvme", "bind"), "0000:04:00.0") == ENODEV);
	CHECK(host->state() == before);
}

TEST_CASE("bind: override naming another driver gives ENODEV")
{
	auto host = lab();
	REQUIRE(write_errno(*host, attribute("0000:04:00.0", "driver_override"), "vfio-pci") == 0);

	CHECK(write_errno(*host, driver_file("e1000e", "bind"), "0000:04:00.0") == ENODEV);
	CHECK(last_rule(*host) == Rule::bind_override_other);
	CHECK(driver_of(*host, "0000:04:00.0").empty());
}

TEST_CASE("bind: override naming the driver matches without an ID")
{
	auto host = lab();
	REQUIRE(write_errno(*host, attribute("0000:04:00.0", "driver_override"), "vfio-pci\n") == 0);

	CHECK(write_errno(*host, driver_file("vfio-pci", "bind"), "0000:04:00.0\n") == 0);
	CHECK(last_rule(*host) == Rule::bind_attached);
	CHECK(driver_of(*host, "0000:04:00.0") == "vfio-pci");
	CHECK(host->exists("sys/bus/pci/drivers/vfio-pci/0000:04:00.0"));
}

TEST_CASE("bind: device that already has a driver gives EBUSY")
{
	auto host = lab();
	REQUIRE(write_errno(*host, attribute("0000:03:00.0", "driver_override"), "vfio-pci") == 0);

	CHECK(write_errno(*host, driver_file("vfio-pci", "bind"), "0000:03:00.0") == EBUSY);
	CHECK(last_rule(*host) == Rule::bind_already_bound);
	CHECK(driver_of(*host, "0000:03:00.0") == "e1000e");
}

TEST_CASE("bind: a matching check comes before the bound check")
{
	/* bind_store matches first, so a bound device and a foreign driver give ENODEV, not EBUSY. */
	auto host = lab();
	CHECK(write_errno(*host, driver_file("vfio-pci", "bind"), "0000:03:00.0") == ENODEV);
	CHECK(write_errno(*host, driver_file("e1000e", "bind"), "0000:03:00.0") == EBUSY);
}

TEST_CASE("bind: probe failure returns the probe's errno")
{
	auto host = lab();
	CHECK(write_errno(*host, driver_file("failing", "bind"), "0000:00:18.0") == EIO);
	CHECK(last_rule(*host) == Rule::bind_probe_failed);
	CHECK(write_errno(*host, driver_file("deferring", "bind"), "0000:00:18.0") == EAGAIN);
	CHECK(last_rule(*host) == Rule::bind_probe_deferred);
	CHECK(driver_of(*host, "0000:00:18.0").empty());
}

TEST_CASE("unbind: address not bound to the driver gives ENODEV")
{
	auto host = lab();
	const auto before = host->state();

	CHECK(write_errno(*host, driver_file("vfio-pci", "unbind"), "0000:03:00.0") == ENODEV);
	CHECK(last_rule(*host) == Rule::unbind_not_bound);
	CHECK(write_errno(*host, driver_file("e1000e", "unbind"), "0000:04:00.0") == ENODEV);
	CHECK(write_errno(*host, driver_file("e1000e", "unbind"), "0000:09:00.0") == ENODEV);
	CHECK(host->state() == before);
}

TEST_CASE("unbind: leaves the device driverless with its override")
{
	auto host = lab();
	REQUIRE(write_errno(*host, attribute("0000:03:00.0", "driver_override"), "vfio-pci") == 0);

	CHECK(write_errno(*host, attribute("0000:03:00.0", "driver/unbind"), "0000:03:00.0") == 0);
	CHECK(last_rule(*host) == Rule::unbind_detached);
	CHECK(driver_of(*host, "0000:03:00.0").empty());
	CHECK_FALSE(host->exists("sys/bus/pci/drivers/e1000e/0000:03:00.0"));
	CHECK(read_text(*host, attribute("0000:03:00.0", "driver_override")) == "vfio-pci\n");
}

TEST_CASE("unbind: driver/unbind of an unbound device gives ENOENT")
{
	auto host = lab();
	CHECK(write_errno(*host, attribute("0000:04:00.0", "driver/unbind"), "0000:04:00.0") == ENOENT);
	CHECK(last_rule(*host) == Rule::path_not_found);
	CHECK_FALSE(host->exists(attribute("0000:04:00.0", "driver")));
}

TEST_CASE("drivers_probe: unknown address gives ENODEV")
{
	auto host = lab();
	CHECK(write_errno(*host, "sys/bus/pci/drivers_probe", "0000:0a:00.0") == ENODEV);
	CHECK(last_rule(*host) == Rule::drivers_probe_unknown_address);
}

TEST_CASE("drivers_probe: succeeds whatever happens")
{
	auto host = lab();

	SUBCASE("already bound")
	{
		CHECK(write_errno(*host, "sys/bus/pci/drivers_probe", "0000:03:00.0") == 0);
		CHECK(last_rule(*host) == Rule::drivers_probe_silent);
		CHECK(driver_of(*host, "0000:03:00.0") == "e1000e");
	}
	SUBCASE("nothing matches")
	{
		CHECK(write_errno(*host, "sys/bus/pci/drivers_probe", "0000:01:00.3") == 0);
		CHECK(last_rule(*host) == Rule::drivers_probe_silent);
		CHECK(driver_of(*host, "0000:01:00.3").empty());
	}
	SUBCASE("every probe fails")
	{
		CHECK(write_errno(*host, "sys/bus/pci/drivers_probe", "0000:00:18.0") == 0);
		CHECK(last_rule(*host) == Rule::drivers_probe_silent);
		CHECK(driver_of(*host, "0000:00:18.0").empty());
	}
	SUBCASE("override names a driver that does not exist")
	{
		REQUIRE(write_errno(*host, attribute("0000:04:00.0", "driver_override"), "no-such-driver") == 0);
		CHECK(write_errno(*host, "sys/bus/pci/drivers_probe", "0000:04:00.0") == 0);
		CHECK(last_rule(*host) == Rule::drivers_probe_silent);
		CHECK(driver_of(*host, "0000:04:00.0").empty());
	}
	SUBCASE("a matching driver binds")
	{
		CHECK(write_errno(*host, "sys/bus/pci/drivers_probe", "0000:04:00.0") == 0);
		CHECK(last_rule(*host) == Rule::drivers_probe_attached);
		CHECK(driver_of(*host, "0000:04:00.0") == "e1000e");
	}
}

TEST_CASE("driver_override: reads (null) when unset")
{
	auto host = lab();
	CHECK(read_text(*host, attribute("0000:01:00.0", "driver_override")) == "(null)\n");
	CHECK_FALSE(device_state(host->state(), "0000:01:00.0").driver_override.has_value());
}

TEST_CASE("driver_override: stores the name and never unbinds or loads")
{
	auto host = lab();
	REQUIRE(host->unload_module("vfio_pci"));
	const auto modules = host->state().modules;

	CHECK(write_errno(*host, attribute("0000:03:00.0", "driver_override"), "vfio-pci\n") == 0);
	CHECK(last_rule(*host) == Rule::override_set);
	CHECK(read_text(*host, attribute("0000:03:00.0", "driver_override")) == "vfio-pci\n");
	CHECK(driver_of(*host, "0000:03:00.0") == "e1000e");
	CHECK(host->state().modules == modules);
	CHECK_FALSE(host->exists("sys/bus/pci/drivers/vfio-pci"));
}

TEST_CASE("driver_override: a newline clears it")
{
	auto host = lab();
	REQUIRE(write_errno(*host, attribute("0000:04:00.0", "driver_override"), "vfio-pci") == 0);

	CHECK(write_errno(*host, attribute("0000:04:00.0", "driver_override"), "\n") == 0);
	CHECK(last_rule(*host) == Rule::override_cleared);
	CHECK(read_text(*host, attribute("0000:04:00.0", "driver_override")) == "(null)\n");
}

TEST_CASE("driver_override: an empty write changes nothing")
{
	/* sysfs_kf_write returns 0 for a zero-length write without calling the store method. */
	auto host = lab();
	REQUIRE(write_errno(*host, attribute("0000:04:00.0", "driver_override"), "vfio-pci") == 0);

	CHECK(write_errno(*host, attribute("0000:04:00.0", "driver_override"), "") == 0);
	CHECK(last_rule(*host) == Rule::write_empty_ignored);
	CHECK(read_text(*host, attribute("0000:04:00.0", "driver_override")) == "vfio-pci\n");
}

TEST_CASE("driver_override: keeps the text before a newline")
{
	auto host = lab();
	CHECK(write_errno(*host, attribute("0000:04:00.0", "driver_override"), "pci-stub\nvfio-pci") == 0);
	CHECK(read_text(*host, attribute("0000:04:00.0", "driver_override")) == "pci-stub\n");
}

TEST_CASE("driver_override: too long gives EINVAL")
{
	auto host = lab();
	CHECK(write_errno(*host, attribute("0000:04:00.0", "driver_override"), std::string(4095, 'a')) ==
	      EINVAL);
	CHECK(last_rule(*host) == Rule::override_too_long);
	CHECK(write_errno(*host, attribute("0000:04:00.0", "driver_override"), std::string(4094, 'a')) == 0);
}

TEST_CASE("driver_override: NUL bytes clear it on fixed kernels")
{
	auto host = lab();
	REQUIRE(write_errno(*host, attribute("0000:04:00.0", "driver_override"), "vfio-pci") == 0);

	CHECK(write_errno(*host, attribute("0000:04:00.0", "driver_override"), std::string(1, '\0')) == 0);
	CHECK(last_rule(*host) == Rule::override_cleared);
	CHECK(read_text(*host, attribute("0000:04:00.0", "driver_override")) == "(null)\n");
	CHECK(write_errno(*host, "sys/bus/pci/drivers_probe", "0000:04:00.0") == 0);
	CHECK(driver_of(*host, "0000:04:00.0") == "e1000e");
}

TEST_CASE("driver_override: NUL quirk stores an override matching nothing")
{
	sim::Options options;
	options.nul_override_quirk = true;
	auto host = lab(options);
	REQUIRE(write_errno(*host, attribute("0000:04:00.0", "driver_override"), "vfio-pci") == 0);

	CHECK(write_errno(*host, attribute("0000:04:00.0", "driver_override"), std::string(2, '\0')) == 0);
	CHECK(last_rule(*host) == Rule::override_nul_stored_empty);
	CHECK(read_text(*host, attribute("0000:04:00.0", "driver_override")) == "\n");
	CHECK(device_state(host->state(), "0000:04:00.0").driver_override == std::string());

	CHECK(write_errno(*host, "sys/bus/pci/drivers_probe", "0000:04:00.0") == 0);
	CHECK(driver_of(*host, "0000:04:00.0").empty());
	CHECK(write_errno(*host, driver_file("e1000e", "bind"), "0000:04:00.0") == ENODEV);
	CHECK(write_errno(*host, driver_file("vfio-pci", "bind"), "0000:04:00.0") == ENODEV);

	/* A newline clears it on every kernel. */
	CHECK(write_errno(*host, attribute("0000:04:00.0", "driver_override"), "\n") == 0);
	CHECK(read_text(*host, attribute("0000:04:00.0", "driver_override")) == "(null)\n");
}

TEST_CASE("new_id: binds every unbound device with the ID")
{
	auto host = lab();
	REQUIRE(write_errno(*host, driver_file("e1000e", "unbind"), "0000:03:00.0") == 0);

	CHECK(write_errno(*host, driver_file("vfio-pci", "new_id"), "8086 10d3") == 0);
	CHECK(last_rule(*host) == Rule::new_id_added);
	CHECK(driver_of(*host, "0000:03:00.0") == "vfio-pci");
	CHECK(driver_of(*host, "0000:04:00.0") == "vfio-pci");
	const auto state = host->state();
	REQUIRE(state.dynamic_ids.count("vfio-pci"));
	CHECK(state.dynamic_ids.at("vfio-pci") ==
	      std::vector<testing::IdMatch>{{VendorId(0x8086), DeviceId(0x10d3)}});
	CHECK(state.vfio_nodes == std::vector<unsigned>{13, 14});
}

TEST_CASE("new_id: leaves bound devices and other overrides alone")
{
	auto host = lab();
	REQUIRE(write_errno(*host, attribute("0000:04:00.0", "driver_override"), "e1000e") == 0);

	CHECK(write_errno(*host, driver_file("vfio-pci", "new_id"), "0x8086 0x10d3\n") == 0);
	CHECK(driver_of(*host, "0000:03:00.0") == "e1000e");
	CHECK(driver_of(*host, "0000:04:00.0").empty());
}

TEST_CASE("new_id: an ID already in a table gives EEXIST")
{
	auto host = lab();
	CHECK(write_errno(*host, driver_file("e1000e", "new_id"), "8086 10d3") == EEXIST);
	CHECK(last_rule(*host) == Rule::new_id_exists);

	REQUIRE(write_errno(*host, driver_file("vfio-pci", "new_id"), "10de 1adb") == 0);
	CHECK(write_errno(*host, driver_file("vfio-pci", "new_id"), "10de 1adb") == EEXIST);
	CHECK(host->state().dynamic_ids.at("vfio-pci").size() == 1);
}

TEST_CASE("new_id: fewer than two fields gives EINVAL")
{
	auto host = lab();
	CHECK(write_errno(*host, driver_file("vfio-pci", "new_id"), "10de:1adb") == EINVAL);
	CHECK(last_rule(*host) == Rule::new_id_invalid);
	CHECK(write_errno(*host, driver_file("vfio-pci", "new_id"), "zz") == EINVAL);
	CHECK(host->state().dynamic_ids.empty());
}

TEST_CASE("new_id: absent while the module is not loaded")
{
	auto host = lab();
	REQUIRE(host->unload_module("vfio_pci"));
	CHECK(write_errno(*host, driver_file("vfio-pci", "new_id"), "8086 10d3") == ENOENT);
	CHECK(last_rule(*host) == Rule::path_not_found);
	CHECK_FALSE(host->can_write(driver_file("vfio-pci", "new_id")));
}

TEST_CASE("remove_id: an ID never added gives ENODEV")
{
	auto host = lab();
	CHECK(write_errno(*host, driver_file("vfio-pci", "remove_id"), "8086 10d3") == ENODEV);
	CHECK(last_rule(*host) == Rule::remove_id_absent);
	/* Static IDs cannot be removed. */
	CHECK(write_errno(*host, driver_file("e1000e", "remove_id"), "8086 10d3") == ENODEV);
	CHECK(write_errno(*host, driver_file("e1000e", "remove_id"), "8086") == EINVAL);
}

TEST_CASE("remove_id: never unbinds")
{
	auto host = lab();
	REQUIRE(write_errno(*host, driver_file("vfio-pci", "new_id"), "8086 10d3") == 0);
	REQUIRE(driver_of(*host, "0000:04:00.0") == "vfio-pci");

	CHECK(write_errno(*host, driver_file("vfio-pci", "remove_id"), "8086 10d3") == 0);
	CHECK(last_rule(*host) == Rule::remove_id_removed);
	CHECK(driver_of(*host, "0000:04:00.0") == "vfio-pci");
	CHECK(host->state().dynamic_ids.empty());
	CHECK(write_errno(*host, driver_file("vfio-pci", "remove_id"), "8086 10d3") == ENODEV);
}

TEST_CASE("write: read-only attributes and directories are refused")
{
	auto host = lab();
	CHECK(write_errno(*host, attribute("0000:04:00.0", "vendor"), "0x8086") == EACCES);
	CHECK(last_rule(*host) == Rule::path_not_writable);
	CHECK(write_errno(*host, "sys/bus/pci/devices/0000:04:00.0", "1") == EISDIR);
	CHECK(last_rule(*host) == Rule::path_is_directory);
	CHECK(write_errno(*host, attribute("0000:04:00.0", "no_such_file"), "1") == ENOENT);

	auto escaped = host->write("../etc/passwd", "x");
	REQUIRE_FALSE(escaped);
	CHECK(escaped.error().code == errc::invalid_argument);
}

TEST_CASE("write: errors name the device, path, errno and rule")
{
	auto host = lab();
	REQUIRE(write_errno(*host, attribute("0000:03:00.0", "driver_override"), "vfio-pci") == 0);
	auto bound = host->write(driver_file("vfio-pci", "bind"), "0000:03:00.0");
	REQUIRE_FALSE(bound);
	CHECK(bound.error().code == errc::busy);
	CHECK(bound.error().sys_errno == EBUSY);
	CHECK(bound.error().device == "0000:03:00.0");
	CHECK(bound.error().path == "sys/bus/pci/drivers/vfio-pci/bind");
	CHECK(bound.error().message.find("bind.already_bound_ebusy") != std::string::npos);
}
