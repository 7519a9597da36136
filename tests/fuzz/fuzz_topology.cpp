/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Fuzzes the topology format and what is built from it. Invariants:
 * - every failure is invalid_argument;
 * - an accepted topology passes validate_topology, prints back to a
 *   document that parses to an equal topology, and prints identically;
 * - it loads into the simulated kernel, whose own topology loads back to
 *   an equal state;
 * - for small topologies, the device graph scanned from the simulator
 *   equals the one scanned through LiveHost from materialize()'s tree, and
 *   materialize() writes nothing beside its directory.
 */

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

#include <pcipass/graph.hpp>
#include <pcipass/host.hpp>
#include <pcipass/testing/sim.hpp>
#include <pcipass/testing/topology.hpp>

#include "invariant.hpp"

using namespace pcipass;
namespace fs = std::filesystem;

namespace {

/* Materializing costs file I/O per device; larger inputs only check the format. */
constexpr size_t max_materialized_devices = 32;

/* A directory that the target empties after each input. */
const fs::path &scratch()
{
	static const fs::path directory = [] {
		const fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
		std::string pattern = (base / "pcipass-fuzz-topology-XXXXXX").string();
		fuzz::require(::mkdtemp(pattern.data()) != nullptr, "a scratch directory can be made");
		std::atexit([] { fs::remove_all(scratch()); });
		return fs::path(pattern);
	}();
	return directory;
}

void drop_messages(std::vector<Finding> &findings)
{
	for (auto &finding : findings)
		finding.message.clear();
}

DeviceGraph scan(Host &host)
{
	ScanOptions options;
	options.names = false;
	auto graph = DeviceGraph::scan(host, options);
	if (!graph)
		std::fprintf(stderr, "scan of %s: %s\n", host.describe().c_str(),
			     graph.error().describe().c_str());
	fuzz::require(graph.has_value(), "a valid topology scans");
	return std::move(graph).value();
}

void check_same_graph(const DeviceGraph &simulated, const DeviceGraph &materialized)
{
	const auto sim_range = simulated.devices();
	const auto tree_range = materialized.devices();
	std::vector<Device> sim_devices(sim_range.begin(), sim_range.end());
	std::vector<Device> tree_devices(tree_range.begin(), tree_range.end());
	fuzz::require(sim_devices.size() == tree_devices.size(), "both scans find the same functions");
	for (size_t i = 0; i < sim_devices.size(); i++) {
		drop_messages(sim_devices[i].findings);
		drop_messages(tree_devices[i].findings);
		if (!(sim_devices[i] == tree_devices[i]))
			std::fprintf(stderr, "device %s differs\n", sim_devices[i].address.to_string().c_str());
		fuzz::require(sim_devices[i] == tree_devices[i], "both scans read each function alike");
	}
	fuzz::require(simulated.groups() == materialized.groups(), "both scans find the same groups");

	HostFacts sim_facts = simulated.host();
	HostFacts tree_facts = materialized.host();
	drop_messages(sim_facts.findings);
	drop_messages(tree_facts.findings);
	fuzz::require(sim_facts == tree_facts, "both scans find the same host facts");
}

void check_trees(const testing::Topology &topology)
{
	auto simulator = sim::Host::create(topology);
	if (!simulator)
		std::fprintf(stderr, "%s\n", simulator.error().describe().c_str());
	fuzz::require(simulator.has_value(), "every accepted topology loads into the simulator");

	auto again = sim::Host::create(simulator.value()->to_topology());
	fuzz::require(again && again.value()->state() == simulator.value()->state(),
		      "the simulator's topology loads back to an equal state");

	if (topology.devices.size() > max_materialized_devices)
		return;

	const fs::path root = scratch() / "root";
	auto written = testing::materialize(topology, root.string());
	if (!written)
		std::fprintf(stderr, "%s\n", written.error().describe().c_str());
	fuzz::require(written.has_value(), "every accepted topology materializes");
	size_t entries = 0;
	for (const auto &entry : fs::directory_iterator(scratch()))
		entries += entry.path() == root ? 1 : 2;
	fuzz::require(entries == 1, "materialize writes only beneath its directory");

	auto live = LiveHost::open(root.string());
	fuzz::require(live.has_value(), "the materialized tree opens");
	check_same_graph(scan(*simulator.value()), scan(*live.value()));

	fs::remove_all(root);
}

} /* namespace */

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const std::string_view text(reinterpret_cast<const char *>(data), size);

	auto topology = testing::parse_topology(text);
	if (!topology) {
		fuzz::require_error(topology, errc::invalid_argument, "topology errors are invalid_argument");
		return 0;
	}

	auto valid = testing::validate_topology(topology.value());
	if (!valid)
		std::fprintf(stderr, "%s\n", valid.error().describe().c_str());
	fuzz::require(valid.has_value(), "an accepted topology validates");

	const std::string printed = testing::to_json(topology.value());
	auto again = testing::parse_topology(printed);
	if (!again)
		std::fprintf(stderr, "%s\n", again.error().describe().c_str());
	fuzz::require(again && again.value() == topology.value(), "topologies round-trip");
	fuzz::require(testing::to_json(again.value()) == printed, "a printed topology prints identically");

	check_trees(topology.value());
	return 0;
}
