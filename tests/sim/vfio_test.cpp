/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * VFIO rules: what vfio-pci refuses to probe, the group rule for VFIO
 * users, /dev/vfio nodes and their holders.
 */

#include <cerrno>
#include <thread>

#include "sim_fixture.hpp"

using namespace sim_test;
using sim::Rule;

namespace {

/* The GPU group with 01:00.0 on vfio-pci and the other functions driverless, as QEMU needs it. */
void prepare_gpu_group(sim::Host &host)
{
	move_to(host, "0000:01:00.0", "vfio-pci");
	REQUIRE(write_errno(host, driver_file("snd_hda_intel", "unbind"), "0000:01:00.1") == 0);
	REQUIRE(write_errno(host, driver_file("xhci_hcd", "unbind"), "0000:01:00.2") == 0);
}

testing::Topology without_iommu()
{
	auto topology = lab_topology();
	topology.iommu_units.clear();
	for (auto &device : topology.devices) {
		device.iommu_group.reset();
		if (device.sriov)
			device.sriov->first_vf_group.reset();
	}
	return topology;
}

} /* namespace */

TEST_CASE("vfio: probe of a bridge gives EINVAL")
{
	auto host = lab();
	REQUIRE(write_errno(*host, attribute("0000:00:1e.0", "driver_override"), "vfio-pci") == 0);

	CHECK(write_errno(*host, driver_file("vfio-pci", "bind"), "0000:00:1e.0") == EINVAL);
	CHECK(last_rule(*host) == Rule::bind_vfio_bridge);
	CHECK(driver_of(*host, "0000:00:1e.0").empty());
}

TEST_CASE("vfio: probe without an IOMMU group gives EINVAL")
{
	auto host = make_host(without_iommu());
	REQUIRE(write_errno(*host, attribute("0000:04:00.0", "driver_override"), "vfio-pci") == 0);

	CHECK(write_errno(*host, driver_file("vfio-pci", "bind"), "0000:04:00.0") == EINVAL);
	CHECK(last_rule(*host) == Rule::bind_vfio_no_group);
	CHECK(driver_of(*host, "0000:04:00.0").empty());
	CHECK_FALSE(host->exists(attribute("0000:04:00.0", "iommu_group")));
	CHECK(host->list("sys/kernel/iommu_groups").value().empty());
}

TEST_CASE("vfio: PF with VFs enabled gives EBUSY and stays driverless")
{
	auto host = lab();
	REQUIRE(write_errno(*host, attribute("0000:06:00.0", "sriov_numvfs"), "2") == 0);
	REQUIRE(write_errno(*host, attribute("0000:06:00.0", "driver_override"), "vfio-pci") == 0);
	REQUIRE(write_errno(*host, driver_file("i40e", "unbind"), "0000:06:00.0") == 0);

	CHECK(write_errno(*host, driver_file("vfio-pci", "bind"), "0000:06:00.0") == EBUSY);
	CHECK(last_rule(*host) == Rule::bind_vfio_pf_has_vfs);
	CHECK(driver_of(*host, "0000:06:00.0").empty());
	CHECK(read_text(*host, attribute("0000:06:00.0", "sriov_numvfs")) == "2\n");
}

TEST_CASE("vfio: first member creates the group node and the last removes it")
{
	auto host = lab();
	CHECK_FALSE(host->exists("dev/vfio/12"));
	CHECK(host->exists("dev/vfio/vfio"));

	move_to(*host, "0000:01:00.3", "vfio-pci");
	CHECK(host->exists("dev/vfio/12"));
	CHECK(host->state().vfio_nodes == std::vector<unsigned>{12});
	CHECK(host->list("dev/vfio").value() ==
	      std::vector<DirEntry>{{"12", EntryType::other}, {"vfio", EntryType::other}});
	CHECK(host->exists(attribute("0000:01:00.3", "vfio-dev/vfio0")));

	move_to(*host, "0000:01:00.1", "vfio-pci");
	REQUIRE(write_errno(*host, driver_file("vfio-pci", "unbind"), "0000:01:00.3") == 0);
	CHECK(host->exists("dev/vfio/12"));
	CHECK_FALSE(host->exists(attribute("0000:01:00.3", "vfio-dev")));

	REQUIRE(write_errno(*host, driver_file("vfio-pci", "unbind"), "0000:01:00.1") == 0);
	CHECK_FALSE(host->exists("dev/vfio/12"));
	CHECK(host->state().vfio_nodes.empty());
}

TEST_CASE("vfio: a held group refuses drivers that are not DMA-owner-aware")
{
	auto host = lab();
	prepare_gpu_group(*host);
	REQUIRE(host->open_node("dev/vfio/12", 4242, "qemu-system-x86"));
	CHECK(last_rule(*host) == Rule::node_opened);

	CHECK(write_errno(*host, driver_file("snd_hda_intel", "bind"), "0000:01:00.1") == EBUSY);
	CHECK(last_rule(*host) == Rule::bind_group_in_use);
	CHECK(driver_of(*host, "0000:01:00.1").empty());

	/*
	 * The failure comes before the driver's probe, so drivers_probe does
	 * not hide it as it hides a failed probe: the search stops with EINVAL.
	 */
	CHECK(write_errno(*host, "sys/bus/pci/drivers_probe", "0000:01:00.2") == EINVAL);
	CHECK(last_rule(*host) == Rule::drivers_probe_group_in_use);
	CHECK(driver_of(*host, "0000:01:00.2").empty());

	/* vfio-pci manages DMA ownership itself, so it may join. */
	move_to(*host, "0000:01:00.1", "vfio-pci");
	CHECK(driver_of(*host, "0000:01:00.1") == "vfio-pci");
}

TEST_CASE("vfio: open_node refuses a group with a host driver")
{
	auto host = lab();
	move_to(*host, "0000:01:00.0", "vfio-pci");

	auto opened = host->open_node("dev/vfio/12", 4242, "qemu-system-x86");
	REQUIRE_FALSE(opened);
	CHECK(opened.error().sys_errno == EPERM);
	CHECK(last_rule(*host) == Rule::node_group_not_viable);
	CHECK(host->state().holders.empty());

	auto missing = host->open_node("dev/vfio/13", 4242, "qemu-system-x86");
	REQUIRE_FALSE(missing);
	CHECK(missing.error().sys_errno == ENOENT);
	CHECK(last_rule(*host) == Rule::node_missing);

	auto not_vfio = host->open_node("proc/modules", 4242, "qemu-system-x86");
	REQUIRE_FALSE(not_vfio);
	CHECK(not_vfio.error().code == errc::invalid_argument);
	CHECK(host->open_node("dev/vfio/vfio", 0, "qemu").error().code == errc::invalid_argument);
	CHECK(host->open_node("dev/vfio/vfio", 5, "a/b").error().code == errc::invalid_argument);
	REQUIRE(host->open_node("dev/vfio/vfio", 5, "qemu"));
	CHECK(host->open_node("dev/vfio/vfio", 5, "qemu"));
	CHECK(host->holders("dev/vfio/vfio").value() == std::vector<Holder>{{5, "qemu"}});
	CHECK(host->open_node("dev/vfio/12", 5, "other").error().code == errc::invalid_argument);
}

TEST_CASE("vfio: holders are listed and shown in proc")
{
	auto host = lab();
	prepare_gpu_group(*host);
	REQUIRE(host->open_node("dev/vfio/12", 4242, "qemu-system-x86"));
	REQUIRE(host->open_node("dev/vfio/vfio", 4242, "qemu-system-x86"));

	auto holders = host->holders("dev/vfio/12");
	REQUIRE(holders);
	CHECK(holders.value() == std::vector<Holder>{{4242, "qemu-system-x86"}});
	CHECK(host->holders("dev/vfio/13").value().empty());
	CHECK(read_text(*host, "proc/4242/comm") == "qemu-system-x86\n");
	CHECK(host->read_link("proc/4242/fd/0").value() == "/dev/null");
	CHECK(host->read_link("proc/4242/fd/3").value() == "/dev/vfio/12");
	CHECK(host->read_link("proc/4242/fd/4").value() == "/dev/vfio/vfio");
	auto escaped = host->read("proc/4242/fd/3");
	REQUIRE_FALSE(escaped);
	CHECK(escaped.error().code == errc::escapes_root);

	REQUIRE(host->close_node("dev/vfio/12", 4242));
	CHECK(last_rule(*host) == Rule::node_closed);
	CHECK(host->holders("dev/vfio/12").value().empty());
	auto again = host->close_node("dev/vfio/12", 4242);
	REQUIRE_FALSE(again);
	CHECK(again.error().sys_errno == ENOENT);
	CHECK(last_rule(*host) == Rule::node_not_held);
}

TEST_CASE("vfio: unbind of a held device waits for the user")
{
	auto host = lab();
	prepare_gpu_group(*host);
	REQUIRE(host->open_node("dev/vfio/12", 4242, "qemu-system-x86"));

	std::thread writer([&] {
		CHECK(write_errno(*host, driver_file("vfio-pci", "unbind"), "0000:01:00.0") == 0);
	});
	/* Reads go on while the write waits; the device stays bound until the user closes. */
	for (int i = 0; i < 20; i++) {
		CHECK(driver_of(*host, "0000:01:00.0") == "vfio-pci");
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	}
	REQUIRE(host->close_node("dev/vfio/12", 4242));
	writer.join();

	CHECK(driver_of(*host, "0000:01:00.0").empty());
	CHECK(last_rule(*host) == Rule::unbind_waited_for_vfio_user);
	CHECK_FALSE(host->exists("dev/vfio/12"));
}
