/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * SR-IOV rules: sriov_numvfs checks in the kernel's order, VF creation and
 * removal, sriov_drivers_autoprobe, and overrides from a VFIO PF.
 */

#include <cerrno>
#include <thread>

#include "sim_fixture.hpp"

using namespace sim_test;
using sim::Rule;

namespace {

const std::string numvfs = attribute("0000:06:00.0", "sriov_numvfs");

/* The lab with vfio-pci allowed to configure SR-IOV (its enable_sriov parameter). */
testing::Topology with_vfio_sriov()
{
	auto topology = lab_topology();
	for (auto &driver : topology.drivers) {
		if (driver.name == "vfio-pci")
			driver.sriov = true;
	}
	return topology;
}

} /* namespace */

TEST_CASE("sriov: numvfs above totalvfs gives ERANGE")
{
	auto host = lab();
	CHECK(read_text(*host, attribute("0000:06:00.0", "sriov_totalvfs")) == "4\n");
	CHECK(write_errno(*host, numvfs, "5") == ERANGE);
	CHECK(last_rule(*host) == Rule::numvfs_above_total);
	CHECK(write_errno(*host, numvfs, "many") == EINVAL);
	CHECK(last_rule(*host) == Rule::numvfs_invalid);
	CHECK(read_text(*host, numvfs) == "0\n");
}

TEST_CASE("sriov: enabling creates VFs at offset and stride in their own groups")
{
	auto host = lab();
	CHECK(write_errno(*host, numvfs, "2\n") == 0);
	CHECK(last_rule(*host) == Rule::numvfs_enabled);
	CHECK(read_text(*host, numvfs) == "2\n");

	/* Routing ID 06:00.0 plus offset 16: VF 0 is 06:02.0, VF 1 is 06:02.1. */
	CHECK(host->read_link(attribute("0000:06:00.0", "virtfn0")).value() == "../0000:06:02.0");
	CHECK(host->read_link(attribute("0000:06:00.0", "virtfn1")).value() == "../0000:06:02.1");
	CHECK_FALSE(host->exists(attribute("0000:06:00.0", "virtfn2")));
	CHECK(host->read_link(attribute("0000:06:02.1", "physfn")).value() == "../0000:06:00.0");
	CHECK(read_text(*host, attribute("0000:06:02.0", "device")) == "0x154c\n");
	CHECK(read_text(*host, attribute("0000:06:02.0", "vendor")) == "0x8086\n");
	CHECK(host->read_link(attribute("0000:06:02.0", "iommu_group")).value() ==
	      "../../../../kernel/iommu_groups/40");
	CHECK(host->read_link(attribute("0000:06:02.1", "iommu_group")).value() ==
	      "../../../../kernel/iommu_groups/41");
	CHECK(host->exists("sys/kernel/iommu_groups/41/devices/0000:06:02.1"));
	CHECK(host->resolve(attribute("0000:06:02.0", "physfn")).value() ==
	      "sys/devices/pci0000:00/0000:00:1d.1/0000:06:00.0");
	/* VFs have no SR-IOV files of their own. */
	CHECK_FALSE(host->exists(attribute("0000:06:02.0", "sriov_numvfs")));

	/* Autoprobe binds them to the VF driver. */
	CHECK(driver_of(*host, "0000:06:02.0") == "iavf");
	CHECK(driver_of(*host, "0000:06:02.1") == "iavf");
}

TEST_CASE("sriov: changing a nonzero count gives EBUSY; the same count is a no-op")
{
	auto host = lab();
	REQUIRE(write_errno(*host, numvfs, "2") == 0);
	const auto before = host->state();

	CHECK(write_errno(*host, numvfs, "3") == EBUSY);
	CHECK(last_rule(*host) == Rule::numvfs_change_busy);
	CHECK(write_errno(*host, numvfs, "2") == 0);
	CHECK(last_rule(*host) == Rule::numvfs_same_value);
	CHECK(host->state() == before);

	CHECK(write_errno(*host, numvfs, "0") == 0);
	CHECK(last_rule(*host) == Rule::numvfs_disabled);
	CHECK(write_errno(*host, numvfs, "3") == 0);
	CHECK(read_text(*host, numvfs) == "3\n");
}

TEST_CASE("sriov: disabling unbinds and removes every VF")
{
	auto host = lab();
	REQUIRE(write_errno(*host, numvfs, "2") == 0);
	REQUIRE(write_errno(*host, numvfs, "0") == 0);

	CHECK_FALSE(host->exists("sys/bus/pci/devices/0000:06:02.0"));
	CHECK_FALSE(host->exists("sys/kernel/iommu_groups/40"));
	CHECK_FALSE(host->exists(attribute("0000:06:00.0", "virtfn0")));
	CHECK_FALSE(host->exists("sys/bus/pci/drivers/iavf/0000:06:02.0"));
	CHECK_FALSE(has_device(host->state(), "0000:06:02.0"));
}

TEST_CASE("sriov: numvfs without a PF driver gives ENOENT")
{
	auto host = lab();
	REQUIRE(write_errno(*host, driver_file("i40e", "unbind"), "0000:06:00.0") == 0);
	CHECK(write_errno(*host, numvfs, "2") == ENOENT);
	CHECK(last_rule(*host) == Rule::numvfs_no_driver);
	/* Writing the current value succeeds before the driver is looked at. */
	CHECK(write_errno(*host, numvfs, "0") == 0);
	CHECK(last_rule(*host) == Rule::numvfs_same_value);
}

TEST_CASE("sriov: numvfs with a driver lacking SR-IOV gives ENOENT")
{
	auto host = lab();
	move_to(*host, "0000:06:00.0", "vfio-pci");
	CHECK(write_errno(*host, numvfs, "2") == ENOENT);
	CHECK(last_rule(*host) == Rule::numvfs_driver_without_sriov);
	CHECK(read_text(*host, numvfs) == "0\n");
}

TEST_CASE("sriov: VFs stay when the PF is unbound")
{
	auto host = lab();
	REQUIRE(write_errno(*host, numvfs, "2") == 0);
	REQUIRE(write_errno(*host, driver_file("i40e", "unbind"), "0000:06:00.0") == 0);
	CHECK(read_text(*host, numvfs) == "2\n");
	CHECK(driver_of(*host, "0000:06:02.0") == "iavf");
	/* Nothing can disable them without a PF driver. */
	CHECK(write_errno(*host, numvfs, "0") == ENOENT);
}

TEST_CASE("sriov: autoprobe off leaves new VFs driverless")
{
	auto host = lab();
	REQUIRE(write_errno(*host, attribute("0000:06:00.0", "sriov_drivers_autoprobe"), "0") == 0);
	CHECK(last_rule(*host) == Rule::autoprobe_set);
	CHECK(read_text(*host, attribute("0000:06:00.0", "sriov_drivers_autoprobe")) == "0\n");
	CHECK(write_errno(*host, attribute("0000:06:00.0", "sriov_drivers_autoprobe"), "maybe") == EINVAL);
	CHECK(last_rule(*host) == Rule::autoprobe_invalid);

	REQUIRE(write_errno(*host, numvfs, "2") == 0);
	CHECK(driver_of(*host, "0000:06:02.0").empty());
	CHECK(driver_of(*host, "0000:06:02.1").empty());

	/* Every probe of such a VF needs an override, explicit binds included. */
	CHECK(write_errno(*host, driver_file("iavf", "bind"), "0000:06:02.0") == ENODEV);
	CHECK(last_rule(*host) == Rule::bind_vf_autoprobe_off);
	REQUIRE(write_errno(*host, attribute("0000:06:02.0", "driver_override"), "iavf") == 0);
	CHECK(write_errno(*host, driver_file("iavf", "bind"), "0000:06:02.0") == 0);
	CHECK(driver_of(*host, "0000:06:02.0") == "iavf");
}

TEST_CASE("sriov: a PF on vfio-pci sets the override of new VFs")
{
	auto host = make_host(with_vfio_sriov());
	move_to(*host, "0000:06:00.0", "vfio-pci");

	REQUIRE(write_errno(*host, numvfs, "2") == 0);
	CHECK(read_text(*host, attribute("0000:06:02.0", "driver_override")) == "vfio-pci\n");
	CHECK(read_text(*host, attribute("0000:06:02.1", "driver_override")) == "vfio-pci\n");
	CHECK(driver_of(*host, "0000:06:02.0") == "vfio-pci");
	CHECK(host->exists("dev/vfio/40"));
	CHECK(host->exists("dev/vfio/41"));
}

TEST_CASE("sriov: VFs come back fresh after a disable")
{
	auto host = lab();
	REQUIRE(write_errno(*host, numvfs, "1") == 0);
	REQUIRE(write_errno(*host, attribute("0000:06:02.0", "driver_override"), "vfio-pci") == 0);
	REQUIRE(write_errno(*host, numvfs, "0") == 0);
	REQUIRE(write_errno(*host, numvfs, "1") == 0);
	CHECK(read_text(*host, attribute("0000:06:02.0", "driver_override")) == "(null)\n");
	CHECK(driver_of(*host, "0000:06:02.0") == "iavf");
}

TEST_CASE("sriov: disabling waits while a VFIO user holds a VF")
{
	auto host = lab();
	REQUIRE(write_errno(*host, numvfs, "1") == 0);
	move_to(*host, "0000:06:02.0", "vfio-pci");
	REQUIRE(host->open_node("dev/vfio/40", 77, "qemu"));

	std::thread writer([&] { CHECK(write_errno(*host, numvfs, "0") == 0); });
	std::this_thread::sleep_for(std::chrono::milliseconds(20));
	CHECK(read_text(*host, numvfs) == "1\n");
	REQUIRE(host->close_node("dev/vfio/40", 77));
	writer.join();
	CHECK(read_text(*host, numvfs) == "0\n");
	CHECK_FALSE(host->exists("sys/bus/pci/devices/0000:06:02.0"));
}
