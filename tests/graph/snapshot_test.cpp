/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * A scanned host turned into a topology replays to the same graph.
 */

#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

#include <pcipass/graph_json.hpp>
#include <pcipass/testing/snapshot.hpp>

#include "graph_fixture.hpp"

using namespace pcipass;
using namespace pcipass::testing;
using namespace graph_test;

namespace {

ScanOptions with_modules()
{
	ScanOptions options = MaterializedHost::no_names();
	options.driver_modules = true;
	return options;
}

} /* namespace */

TEST_CASE("snapshot: every catalogue host replays to the same graph")
{
	for (const std::string &file : catalogue_files()) {
		CAPTURE(file);
		MaterializedHost original(load(file));
		const DeviceGraph scanned = original.scan(with_modules());

		const Topology snapshot = topology_from_graph(scanned, "replay");
		const auto valid = validate_topology(snapshot);
		REQUIRE_MESSAGE(valid, (valid ? "" : valid.error().describe()));

		/* Through the JSON document, as a bug report would carry it. */
		const auto parsed = parse_topology(to_json(snapshot));
		REQUIRE_MESSAGE(parsed, (parsed ? "" : parsed.error().describe()));
		CHECK(parsed.value() == snapshot);

		MaterializedHost replayed(parsed.value());
		const DeviceGraph again = replayed.scan(with_modules());
		CHECK(boost::json::serialize(to_json(again)) == boost::json::serialize(to_json(scanned)));
	}
}

TEST_CASE("snapshot: bound devices become the IDs their driver matches")
{
	MaterializedHost materialized(load_catalogue("gpu-workstation"));
	const Topology snapshot = topology_from_graph(materialized.scan(with_modules()));

	const TopologyDriver *audio = snapshot.driver("snd_hda_intel");
	REQUIRE(audio != nullptr);
	CHECK(audio->ids == std::vector<IdMatch>{{VendorId(0x10de), DeviceId(0x10f9)},
						 {VendorId(0x8086), DeviceId(0xa348)}});
	CHECK(audio->module == "snd_hda_intel");
	CHECK(audio->dynamic_ids.empty());

	const TopologyDevice *ucsi = snapshot.find(PciAddress(0, 1, 0, 3));
	REQUIRE(ucsi != nullptr);
	CHECK(ucsi->driver.empty());
	CHECK(ucsi->parent == PciAddress(0, 0, 1, 0));
}

TEST_CASE("snapshot: a device on vfio-pci without an override is a dynamic ID")
{
	Topology topology = load_catalogue("gpu-workstation");
	for (TopologyDevice &device : topology.devices) {
		if (device.address == PciAddress(0, 1, 0, 1)) {
			device.driver = "vfio-pci";
		} else if (device.address == PciAddress(0, 1, 0, 2)) {
			device.driver = "vfio-pci";
			device.driver_override = "vfio-pci";
		}
	}
	for (TopologyDriver &driver : topology.drivers)
		if (driver.name == "vfio-pci")
			driver.dynamic_ids.push_back({VendorId(0x10de), DeviceId(0x10f9)});
	MaterializedHost materialized(topology);

	const Topology snapshot = topology_from_graph(materialized.scan(with_modules()));
	const TopologyDriver *vfio = snapshot.driver("vfio-pci");
	REQUIRE(vfio != nullptr);
	CHECK(vfio->ids.empty());
	CHECK(vfio->dynamic_ids == std::vector<IdMatch>{{VendorId(0x10de), DeviceId(0x10f9)}});
}
