/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The simulator against its own materialized state: after a sequence of
 * writes, materialize(sim.to_topology()) read through LiveHost must show
 * the same tree the simulator serves.
 */

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <set>

#include <pcipass/graph.hpp>

#include "sim_fixture.hpp"

using namespace sim_test;

namespace {

/* Files that hold nothing to read: write-only attributes, empty in a materialized tree. */
bool write_only(std::string_view path, std::string_view name)
{
	if (name == "uevent" && path.starts_with("sys/bus/pci/drivers/"))
		return true;
	for (auto skipped : {"bind", "unbind", "new_id", "remove_id", "drivers_probe", "rescan", "reset",
			     "remove"}) {
		if (name == skipped)
			return true;
	}
	return false;
}

/* Names the simulator serves that materialize() does not write. */
bool simulator_only(std::string_view path, std::string_view name)
{
	if (name == "remove" && path.starts_with("sys/devices/pci"))
		return true;
	return name == "type" && path.starts_with("sys/kernel/iommu_groups/");
}

struct Comparison {
	std::vector<std::string> differences;
	size_t paths = 0;

	void differ(const std::string &path, const std::string &what)
	{
		differences.push_back("'" + path + "': " + what);
	}
};

void compare_tree(sim::Host &simulated, Host &live, const std::string &path, Comparison &result)
{
	auto live_entries = live.list(path);
	auto sim_entries = simulated.list(path);
	/* A materialized tree has no dev directory when it would be empty. */
	if (!live_entries && live_entries.error().sys_errno == ENOENT && sim_entries &&
	    sim_entries.value().empty())
		return;
	if (!live_entries || !sim_entries) {
		result.differ(path, "listing failed: materialized " +
					    (live_entries ? std::string("ok") : live_entries.error().describe()) +
					    ", simulated " +
					    (sim_entries ? std::string("ok") : sim_entries.error().describe()));
		return;
	}

	std::map<std::string, EntryType> live_names;
	for (const auto &entry : live_entries.value())
		live_names[entry.name] = entry.type;
	std::map<std::string, EntryType> sim_names;
	for (const auto &entry : sim_entries.value()) {
		if (!simulator_only(path, entry.name))
			sim_names[entry.name] = entry.type;
	}

	for (const auto &[name, type] : sim_names) {
		if (!live_names.count(name))
			result.differ(path + "/" + name, "only in the simulator");
	}
	for (const auto &[name, type] : live_names) {
		const std::string child = path + "/" + name;
		result.paths++;
		auto found = sim_names.find(name);
		if (found == sim_names.end()) {
			result.differ(child, "only in the materialized tree");
			continue;
		}
		/* Device nodes are plain files in a materialized tree. */
		if (path == "dev/vfio")
			continue;
		if (found->second != type) {
			result.differ(child, "entry types differ");
			continue;
		}
		switch (type) {
		case EntryType::symlink: {
			auto live_target = live.read_link(child);
			auto sim_target = simulated.read_link(child);
			const std::string live_text = live_target ? live_target.value() : "(unreadable)";
			const std::string sim_text = sim_target ? sim_target.value() : "(unreadable)";
			if (live_text != sim_text)
				result.differ(child, "link targets differ: materialized '" + live_text +
							     "', simulated '" + sim_text + "'");
			break;
		}
		case EntryType::file: {
			if (write_only(path, name))
				break;
			auto live_text = live.read(child);
			auto sim_text = simulated.read(child);
			if (!live_text || !sim_text) {
				result.differ(child, "read failed");
				break;
			}
			std::string expected = sim_text.value();
			/* Materialized config space contains only the 64 bytes any user may read. */
			if (name == "config")
				expected.resize(std::min(expected.size(), live_text.value().size()));
			if (live_text.value() != expected)
				result.differ(child, "contents differ: materialized '" + live_text.value() +
							     "', simulated '" + expected + "'");
			break;
		}
		case EntryType::directory:
			compare_tree(simulated, live, child, result);
			break;
		case EntryType::other:
			break;
		}
	}
}

/* The simulator's state materialized under a temporary directory, with a LiveHost on it. */
class Materialized
{
public:
	explicit Materialized(const sim::Host &simulated)
	{
		const std::filesystem::path root = dir_.path() / "root";
		auto written = testing::materialize(simulated.to_topology(), root.string());
		REQUIRE_MESSAGE(written, written.error().describe());
		auto live = LiveHost::open(root.string());
		REQUIRE_MESSAGE(live, live.error().describe());
		live_ = std::move(live.value());
	}

	LiveHost &host() { return *live_; }

private:
	TempDir dir_;
	std::unique_ptr<LiveHost> live_;
};

/* Materializes the simulator's state and compares the two trees from the root. */
void check_same_tree(sim::Host &simulated, const std::string &when)
{
	Materialized materialized(simulated);
	Comparison result;
	for (auto top : {"sys", "proc", "dev"})
		compare_tree(simulated, materialized.host(), top, result);

	INFO(when);
	CHECK(result.paths > 100);
	std::string report;
	for (size_t i = 0; i < result.differences.size() && i < 20; i++)
		report += result.differences[i] + "\n";
	CHECK_MESSAGE(result.differences.empty(), report);
}

/* Finding messages name the host that read them; what was found must still agree. */
void drop_messages(std::vector<Finding> &findings)
{
	for (auto &finding : findings)
		finding.message.clear();
}

/* DeviceGraph::scan of the simulator and of its materialized tree give the same graph. */
void check_same_graph(sim::Host &simulated, const std::string &when)
{
	Materialized materialized(simulated);
	ScanOptions options;
	options.names = false;
	auto from_sim = DeviceGraph::scan(simulated, options);
	REQUIRE_MESSAGE(from_sim, from_sim.error().describe());
	auto from_tree = DeviceGraph::scan(materialized.host(), options);
	REQUIRE_MESSAGE(from_tree, from_tree.error().describe());

	INFO(when);
	const auto &sim_range = from_sim.value().devices();
	const auto &tree_range = from_tree.value().devices();
	std::vector<Device> sim_devices(sim_range.begin(), sim_range.end());
	std::vector<Device> tree_devices(tree_range.begin(), tree_range.end());
	REQUIRE(sim_devices.size() == tree_devices.size());
	for (size_t i = 0; i < sim_devices.size(); i++) {
		CAPTURE(tree_devices[i].address.to_string());
		drop_messages(sim_devices[i].findings);
		drop_messages(tree_devices[i].findings);
		CHECK(sim_devices[i] == tree_devices[i]);
	}
	CHECK(from_sim.value().groups() == from_tree.value().groups());
	auto sim_facts = from_sim.value().host();
	auto tree_facts = from_tree.value().host();
	drop_messages(sim_facts.findings);
	drop_messages(tree_facts.findings);
	CHECK(sim_facts == tree_facts);
}

std::vector<std::filesystem::path> catalogue()
{
	std::vector<std::filesystem::path> files{std::filesystem::path(PCIPASS_SOURCE_DIR) /
						 "tests/sim/lab.json"};
	const auto directory = std::filesystem::path(PCIPASS_SOURCE_DIR) / "tests/topologies";
	std::error_code ec;
	for (const auto &entry : std::filesystem::directory_iterator(directory, ec)) {
		if (entry.path().extension() == ".json")
			files.push_back(entry.path());
	}
	std::sort(files.begin() + 1, files.end());
	return files;
}

/*
 * The writes of a claim on every endpoint with a driver and a group, after
 * every SR-IOV PF enables its VFs. Writes that fail are part of the
 * sequence too.
 */
void claim_everything(sim::Host &host, const testing::Topology &topology)
{
	for (const auto &device : topology.devices) {
		if (device.sriov && !device.driver.empty()) {
			(void)host.write(attribute(device.address.to_string(), "sriov_numvfs"), "0");
			(void)host.write(attribute(device.address.to_string(), "sriov_numvfs"),
					 std::to_string(device.sriov->total_vfs));
		}
	}
	for (const auto &device : topology.devices) {
		const std::string address = device.address.to_string();
		if ((device.header_type & 0x7f) != 0 || device.driver.empty() || !device.iommu_group)
			continue;
		(void)host.write(attribute(address, "driver_override"), "vfio-pci");
		(void)host.write(driver_file(device.driver, "unbind"), address);
		(void)host.write(driver_file("vfio-pci", "bind"), address);
	}
}

void release_everything(sim::Host &host, const testing::Topology &topology)
{
	for (const auto &device : topology.devices) {
		const std::string address = device.address.to_string();
		if ((device.header_type & 0x7f) != 0 || device.driver.empty() || !device.iommu_group)
			continue;
		(void)host.write(attribute(address, "driver_override"), "\n");
		(void)host.write(driver_file("vfio-pci", "unbind"), address);
		(void)host.write("sys/bus/pci/drivers_probe", address);
	}
}

} /* namespace */

TEST_CASE("differential: scanning the simulator equals scanning its tree")
{
	for (const auto &file : catalogue()) {
		CAPTURE(file.string());
		auto topology = testing::load_topology(file.string());
		REQUIRE_MESSAGE(topology, topology.error().describe());
		auto host = make_host(topology.value());

		check_same_graph(*host, "as loaded");
		claim_everything(*host, topology.value());
		check_same_graph(*host, "after claiming every endpoint");
		for (const auto &device : topology.value().devices) {
			if (device.iommu_group)
				(void)host->open_node("dev/vfio/" + std::to_string(*device.iommu_group), 4000,
						      "qemu");
		}
		check_same_graph(*host, "with VFIO users holding the groups");
		/* An unbind from vfio-pci would wait for these users, so they go first. */
		for (const auto &[node, holders] : host->state().holders)
			REQUIRE(host->close_node(node, 4000));
		release_everything(*host, topology.value());
		check_same_graph(*host, "after releasing them");
		(void)host->unload_module("vfio_pci");
		check_same_graph(*host, "after unloading vfio_pci");
	}
}

TEST_CASE("differential: simulated tree equals its materialized tree")
{
	for (const auto &file : catalogue()) {
		CAPTURE(file.string());
		auto topology = testing::load_topology(file.string());
		REQUIRE_MESSAGE(topology, topology.error().describe());
		if (topology.value().devices.size() > 512)
			continue;
		auto host = make_host(topology.value());

		check_same_tree(*host, "as loaded");
		claim_everything(*host, topology.value());
		check_same_tree(*host, "after claiming every endpoint");
		release_everything(*host, topology.value());
		check_same_tree(*host, "after releasing them");
		(void)host->unload_module("vfio_pci");
		check_same_tree(*host, "after unloading vfio_pci");
	}
}
