/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Module rules: driver directories appear and vanish with their module,
 * unloading strands devices with their overrides, and open VFIO groups pin
 * modules.
 */

#include <cerrno>

#include "sim_fixture.hpp"

using namespace sim_test;
using sim::Rule;

TEST_CASE("module: unloading vfio_pci strands bound devices with their override")
{
	auto host = lab();
	move_to(*host, "0000:01:00.1", "vfio-pci");
	move_to(*host, "0000:04:00.0", "vfio-pci");
	REQUIRE(write_errno(*host, driver_file("vfio-pci", "new_id"), "10de 1adb") == 0);
	REQUIRE(driver_of(*host, "0000:01:00.3") == "vfio-pci");

	REQUIRE(host->unload_module("vfio_pci"));
	CHECK(last_rule(*host) == Rule::module_unloaded);
	CHECK_FALSE(host->exists("sys/bus/pci/drivers/vfio-pci"));
	CHECK_FALSE(host->exists("sys/module/vfio_pci"));
	CHECK(read_text(*host, "proc/modules").find("vfio_pci ") == std::string::npos);
	for (auto device : {"0000:01:00.1", "0000:04:00.0", "0000:01:00.3"})
		CHECK(driver_of(*host, device).empty());
	CHECK(read_text(*host, attribute("0000:01:00.1", "driver_override")) == "vfio-pci\n");
	CHECK(host->state().vfio_nodes.empty());

	/* Nothing rebinds them: the override names a driver that is gone. */
	CHECK(write_errno(*host, "sys/bus/pci/drivers_probe", "0000:01:00.1") == 0);
	CHECK(driver_of(*host, "0000:01:00.1").empty());
}

TEST_CASE("module: loading registers drivers that bind matching devices")
{
	auto host = lab();
	move_to(*host, "0000:04:00.0", "vfio-pci");
	REQUIRE(host->unload_module("vfio_pci"));

	REQUIRE(host->load_module("vfio-pci"));
	CHECK(last_rule(*host) == Rule::module_loaded);
	CHECK(host->exists("sys/bus/pci/drivers/vfio-pci/new_id"));
	CHECK(host->read_link("sys/bus/pci/drivers/vfio-pci/module").value() ==
	      "../../../../module/vfio_pci");
	CHECK(host->read_link("sys/module/vfio_pci/drivers/pci:vfio-pci").value() ==
	      "../../../bus/pci/drivers/vfio-pci");
	/* The stranded device's override matches the new driver. */
	CHECK(driver_of(*host, "0000:04:00.0") == "vfio-pci");
	/* Dynamic IDs went with the old registration. */
	CHECK(host->state().dynamic_ids.empty());

	REQUIRE(host->load_module("vfio_pci"));
	CHECK(last_rule(*host) == Rule::module_already_loaded);
}

TEST_CASE("module: a module that provides a differently named driver")
{
	auto host = lab();
	REQUIRE(host->unload_module("xhci_pci"));
	CHECK_FALSE(host->exists("sys/bus/pci/drivers/xhci_hcd"));
	CHECK(driver_of(*host, "0000:01:00.2").empty());

	REQUIRE(host->load_module("xhci_pci"));
	CHECK(driver_of(*host, "0000:01:00.2") == "xhci_hcd");
	CHECK(host->exists("sys/bus/usb/devices/3-1.2"));
}

TEST_CASE("module: unknown modules give ENOENT")
{
	auto host = lab();
	auto loaded = host->load_module("no_such_module");
	REQUIRE_FALSE(loaded);
	CHECK(loaded.error().code == errc::not_found);
	CHECK(loaded.error().sys_errno == ENOENT);
	CHECK(last_rule(*host) == Rule::module_unknown);

	auto unloaded = host->unload_module("pci_stub");
	REQUIRE_FALSE(unloaded);
	CHECK(unloaded.error().sys_errno == ENOENT);
	CHECK(last_rule(*host) == Rule::module_not_loaded);
}

TEST_CASE("module: an open VFIO group refuses the unload")
{
	auto host = lab();
	move_to(*host, "0000:04:00.0", "vfio-pci");
	REQUIRE(host->open_node("dev/vfio/14", 900, "qemu"));
	const auto before = host->state();

	auto unloaded = host->unload_module("vfio_pci");
	REQUIRE_FALSE(unloaded);
	CHECK(unloaded.error().code == errc::busy);
	CHECK(unloaded.error().sys_errno == EBUSY);
	CHECK(last_rule(*host) == Rule::module_in_use);
	CHECK(host->unload_module("vfio").error().sys_errno == EBUSY);
	CHECK(host->state() == before);

	/* Other modules go as usual. */
	CHECK(host->unload_module("nouveau"));
	REQUIRE(host->close_node("dev/vfio/14", 900));
	CHECK(host->unload_module("vfio_pci"));
}

TEST_CASE("module: unloading a host driver removes its consumers")
{
	auto host = lab();
	REQUIRE(host->exists("sys/class/net/eth0"));
	REQUIRE(host->unload_module("e1000e"));
	CHECK_FALSE(host->exists("sys/class/net/eth0"));
	CHECK(read_text(*host, "proc/net/route").find("eth0") == std::string::npos);
	REQUIRE(host->load_module("e1000e"));
	CHECK(host->exists("sys/class/net/eth0"));
	/* Both NICs match the reloaded driver. */
	CHECK(driver_of(*host, "0000:04:00.0") == "e1000e");
}
