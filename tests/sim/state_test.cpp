/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Inspection: the state value and its diff, the operation log, determinism,
 * the rule table, and the state written back as a topology.
 */

#include <cerrno>
#include <set>
#include <sstream>

#include "sim_fixture.hpp"

using namespace sim_test;
using sim::Rule;

namespace {

/* A claim of the GPU group, a release of half of it, and some failures. */
void exercise(sim::Host &host)
{
	for (auto device : {"0000:01:00.0", "0000:01:00.1", "0000:01:00.2"})
		(void)host.write(attribute(device, "driver_override"), "vfio-pci");
	(void)host.write(driver_file("nouveau", "unbind"), "0000:01:00.0");
	(void)host.write(driver_file("snd_hda_intel", "unbind"), "0000:01:00.1");
	(void)host.write(driver_file("xhci_hcd", "unbind"), "0000:01:00.2");
	for (auto device : {"0000:01:00.0", "0000:01:00.1", "0000:01:00.2", "0000:01:00.3"})
		(void)host.write(driver_file("vfio-pci", "bind"), device);
	(void)host.open_node("dev/vfio/12", 31337, "qemu");
	(void)host.write(driver_file("vfio-pci", "new_id"), "8086 10d3");
	(void)host.write(attribute("0000:06:00.0", "sriov_numvfs"), "3");
	(void)host.write(attribute("0000:06:00.0", "sriov_numvfs"), "2");
	(void)host.write(attribute("0000:01:00.1", "driver_override"), "\n");
	(void)host.unload_module("vfio_pci");
	(void)host.write(attribute("0000:05:00.0", "reset_method"), "bus");
}

} /* namespace */

TEST_CASE("state: equal after a move and its undo")
{
	auto host = lab();
	const auto before = host->state();

	move_to(*host, "0000:03:00.0", "vfio-pci");
	const auto moved = host->state();
	CHECK(moved != before);
	CHECK(device_state(moved, "0000:03:00.0").driver == "vfio-pci");
	CHECK(device_state(moved, "0000:03:00.0").driver_override == "vfio-pci");
	CHECK(moved.vfio_nodes == std::vector<unsigned>{13});

	REQUIRE(write_errno(*host, attribute("0000:03:00.0", "driver_override"), "\n") == 0);
	REQUIRE(write_errno(*host, driver_file("vfio-pci", "unbind"), "0000:03:00.0") == 0);
	REQUIRE(write_errno(*host, "sys/bus/pci/drivers_probe", "0000:03:00.0") == 0);
	CHECK(host->state() == before);
}

TEST_CASE("state: diff names what changed")
{
	auto host = lab();
	const auto before = host->state();
	move_to(*host, "0000:03:00.0", "vfio-pci");

	CHECK(sim::diff(before, before).empty());
	CHECK(sim::diff(before, host->state()) ==
	      "- device 0000:03:00.0 driver=e1000e override=(null) reset=pm,bus\n"
	      "- vfio_nodes:\n"
	      "+ device 0000:03:00.0 driver=vfio-pci override='vfio-pci' reset=pm,bus\n"
	      "+ vfio_nodes: 13\n");
	CHECK(sim::to_string(before).find("device 0000:06:00.0 driver=i40e override=(null) numvfs=0 "
					  "autoprobe=1 reset=flr,bus\n") != std::string::npos);
}

TEST_CASE("state: holds every kind of change")
{
	auto host = lab();
	exercise(*host);
	const auto state = host->state();

	/* The open group refused the unload of vfio_pci. */
	CHECK(device_state(state, "0000:01:00.0").driver == "vfio-pci");
	CHECK(device_state(state, "0000:01:00.0").driver_override == "vfio-pci");
	CHECK_FALSE(device_state(state, "0000:01:00.1").driver_override.has_value());
	CHECK(device_state(state, "0000:06:00.0").num_vfs == 3u);
	CHECK(device_state(state, "0000:06:02.2").driver == "iavf");
	CHECK(device_state(state, "0000:05:00.0").reset_methods == std::vector<std::string>{"bus"});
	CHECK(state.dynamic_ids.at("vfio-pci") ==
	      std::vector<testing::IdMatch>{{VendorId(0x8086), DeviceId(0x10d3)}});
	CHECK(std::find(state.modules.begin(), state.modules.end(), "vfio_pci") !=
	      state.modules.end());
	CHECK(state.holders.at("dev/vfio/12") == std::vector<Holder>{{31337, "qemu"}});
	CHECK(state.vfio_nodes == std::vector<unsigned>{12, 14});
}

TEST_CASE("log: every operation in order with its rule")
{
	auto host = lab();
	REQUIRE(write_errno(*host, attribute("0000:04:00.0", "driver_override"), "vfio-pci\n") == 0);
	REQUIRE(write_errno(*host, driver_file("e1000e", "bind"), "0000:04:00.0") == ENODEV);
	REQUIRE(host->load_module("pci_stub"));

	const auto log = host->log();
	REQUIRE(log.size() == 3);
	CHECK(log[0].sequence == 1);
	CHECK(log[0].kind == sim::WriteKind::driver_override);
	CHECK(log[0].path == "sys/bus/pci/devices/0000:04:00.0/driver_override");
	CHECK(log[0].value == "vfio-pci\n");
	CHECK(log[0].rule == Rule::override_set);
	CHECK(log[1].sequence == 2);
	CHECK(log[1].sys_errno == ENODEV);
	CHECK(log[1].rule == Rule::bind_override_other);
	CHECK(log[1].device == PciAddress(0, 4, 0, 0));
	CHECK(log[2].kind == sim::WriteKind::load_module);
	CHECK(log[2].path == "pci_stub");
	CHECK(sim::to_string(log[1]) ==
	      "#2 bind 'sys/bus/pci/drivers/e1000e/bind' '0000:04:00.0' -> ENODEV "
	      "[bind.override_names_other_enodev] device 0000:04:00.0");
	CHECK(sim::to_string(log[0]).find("'vfio-pci\\n'") != std::string::npos);

	host->clear_log();
	CHECK(host->log().empty());
	CHECK(host->write_count() == 1);
}

TEST_CASE("log: off when not recorded")
{
	sim::Options options;
	options.record_log = false;
	auto host = lab(options);
	REQUIRE(write_errno(*host, attribute("0000:04:00.0", "driver_override"), "x") == 0);
	CHECK(host->log().empty());
	CHECK(host->write_count() == 1);
}

TEST_CASE("determinism: the same operations give the same log and state")
{
	auto first = lab();
	auto second = lab();
	exercise(*first);
	exercise(*second);
	CHECK(first->log() == second->log());
	CHECK(first->state() == second->state());
	CHECK(first->log().size() > 15);
}

TEST_CASE("topology: create of to_topology gives an equal state")
{
	auto host = lab();
	CHECK(make_host(host->to_topology())->state() == host->state());

	exercise(*host);
	const auto topology = host->to_topology();
	auto reloaded = make_host(topology);
	CHECK(reloaded->state() == host->state());
	CHECK(reloaded->to_topology() == topology);
	/* The reloaded VFs keep their PF and group. */
	CHECK(reloaded->read_link(attribute("0000:06:02.1", "physfn")).value() == "../0000:06:00.0");
	CHECK(reloaded->exists("sys/kernel/iommu_groups/41/devices/0000:06:02.1"));
}

TEST_CASE("topology: consumers keep the driver they need")
{
	auto host = lab();
	move_to(*host, "0000:01:00.2", "vfio-pci");
	auto reloaded = make_host(host->to_topology());
	CHECK_FALSE(reloaded->exists("sys/bus/usb/devices/3-1"));

	REQUIRE(write_errno(*reloaded, attribute("0000:01:00.2", "driver_override"), "\n") == 0);
	REQUIRE(write_errno(*reloaded, driver_file("vfio-pci", "unbind"), "0000:01:00.2") == 0);
	REQUIRE(write_errno(*reloaded, "sys/bus/pci/drivers_probe", "0000:01:00.2") == 0);
	CHECK(reloaded->exists("sys/bus/usb/devices/3-1.2"));
}

TEST_CASE("rules: names are unique and map back")
{
	std::set<std::string_view> names;
	for (const auto &info : sim::rule_infos()) {
		CAPTURE(info.name);
		CHECK(names.insert(info.name).second);
		CHECK(sim::rule_from_name(info.name) == info.rule);
		CHECK(sim::rule_name(info.rule) == info.name);
		CHECK_FALSE(info.description.empty());
	}
	CHECK(sim::rule_info(Rule::bind_already_bound).sys_errno == EBUSY);
	CHECK(sim::rule_info(Rule::new_id_exists).name == "new_id.exists_eexist");
	CHECK_FALSE(sim::rule_from_name("bind.nonsense").has_value());
}

TEST_CASE("topology: invalid topologies are refused")
{
	auto topology = lab_topology();
	topology.devices[2].driver = "no-such-driver";
	auto host = sim::Host::create(topology);
	REQUIRE_FALSE(host);
	CHECK(host.error().code == errc::invalid_argument);
}

TEST_CASE("readme: the simulated kernel example")
{
	/* A bind that rolls back when the driver link does not show vfio-pci, as the README's my_bind. */
	auto my_bind = [](Host &host, std::string_view device) {
		const std::string override_path = attribute(device, "driver_override");
		(void)host.write(override_path, "vfio-pci");
		(void)host.write(attribute(device, "driver/unbind"), device);
		(void)host.write(driver_file("vfio-pci", "bind"), device);
		auto driver = host.read_link(attribute(device, "driver"));
		if (!driver || !driver.value().ends_with("/vfio-pci"))
			(void)host.write(override_path, "\n");
	};

	auto topology =
		testing::load_topology(std::string(PCIPASS_SOURCE_DIR) + "/tests/topologies/gpu-workstation.json");
	REQUIRE(topology);
	auto sim = std::move(sim::Host::create(topology.value()).value());
	const sim::State before = sim->state();

	sim::Fault fault;
	fault.action = sim::FaultAction::reattach_after_unbind;
	auto id = sim->inject(fault);
	REQUIRE(id);

	my_bind(*sim, "0000:01:00.0");
	CHECK(sim->state() == before);
	CHECK(sim::diff(before, sim->state()).empty());
	std::ostringstream printed;
	for (const sim::LogEntry &entry : sim->log())
		printed << entry << "\n";
	CHECK(printed.str().find("[bind.already_bound_ebusy]") != std::string::npos);
	CHECK(sim->fault_hits(id.value()) == 1);
}
