/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * A scan walked by several threads returns the same snapshot as one
 * thread: every device, group, finding and host fact.
 */

#include <doctest/doctest.h>

#include <pcipass/graph.hpp>

#include "graph_fixture.hpp"

using namespace pcipass;
using namespace graph_test;

TEST_CASE("scan: threads give the catalogue's graphs")
{
	for (const std::string &file : catalogue_files()) {
		CAPTURE(file);
		const auto topology = load(file);
		MaterializedHost materialized(topology);

		ScanOptions options = MaterializedHost::no_names();
		options.threads = 3;
		check_graph(materialized.scan(options), expected_graph(topology, options));
	}
}

TEST_CASE("scan: threads give the large host's graph")
{
	const auto topology = load(large_host_file());
	MaterializedHost materialized(topology, true);

	ScanOptions options = MaterializedHost::no_names();
	options.threads = 4;
	check_graph(materialized.scan(options), expected_graph(topology, options));
}

TEST_CASE("scan: threads walk every subtree")
{
	const auto topology = load(large_host_file());
	MaterializedHost materialized(topology, true);

	/* Without the bus links, a function the walk misses is not found another way. */
	for (const auto &link : fs::directory_iterator(materialized.root() / "sys/bus/pci/devices"))
		fs::remove(link.path());

	ScanOptions options = MaterializedHost::no_names();
	options.threads = 1;
	const DeviceGraph serial = materialized.scan(options);
	options.threads = 4;
	const DeviceGraph parallel = materialized.scan(options);

	REQUIRE(serial.devices().size() == topology.devices.size());
	REQUIRE(parallel.devices().size() == serial.devices().size());
	for (size_t i = 0; i < serial.devices().size(); i++)
		CHECK(parallel.devices()[i] == serial.devices()[i]);
	CHECK(parallel.groups() == serial.groups());
	CHECK(parallel.host() == serial.host());
}
