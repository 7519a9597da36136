/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The scan reads the VFs after the first of a PF by name, without listing
 * their directories. These cases check that such VFs keep what sets them
 * apart from VF 0, and that every VF is listed where VF 0 needed its listing.
 */

#include <doctest/doctest.h>

#include <pcipass/graph.hpp>
#include <pcipass/testing/topology.hpp>

#include "graph_fixture.hpp"

using namespace pcipass;
using namespace graph_test;

namespace {

testing::TopologyDevice &device_at(testing::Topology &topology, PciAddress address)
{
	testing::TopologyDevice *device = topology.find(address);
	REQUIRE(device != nullptr);
	return *device;
}

} /* namespace */

TEST_CASE("scan: VFs read by name keep their own state")
{
	testing::Topology topology = load_catalogue("sriov-nic");

	/* VF 1 unbound, VF 2 on vfio-pci with its vfio-dev node, VF 3 without a reset. */
	testing::TopologyDevice &unbound = device_at(topology, PciAddress(0, 0x86, 1, 1));
	unbound.driver.clear();
	unbound.consumers.clear();
	testing::TopologyDevice &vfio = device_at(topology, PciAddress(0, 0x86, 1, 2));
	vfio.driver = "vfio-pci";
	vfio.driver_override = "vfio-pci";
	vfio.consumers.clear();
	device_at(topology, PciAddress(0, 0x86, 1, 3)).reset_methods.clear();
	REQUIRE(testing::validate_topology(topology));

	MaterializedHost materialized(topology);
	const DeviceGraph graph = materialized.scan();
	check_graph(graph, expected_graph(topology));

	const Device *vfio_device = graph.find(vfio.address);
	REQUIRE(vfio_device != nullptr);
	CHECK(vfio_device->vfio_device.has_value());
	const Device *no_reset = graph.find(PciAddress(0, 0x86, 1, 3));
	REQUIRE(no_reset != nullptr);
	CHECK_FALSE(no_reset->has_reset);
	CHECK(no_reset->reset_methods.empty());
}

TEST_CASE("scan: VFs listed when VF 0 needed it")
{
	const testing::Topology topology = load_catalogue("sriov-nic");
	MaterializedHost materialized(topology);

	/* Without sys/class/net the interfaces show only in each VF's net directory. */
	fs::remove_all(materialized.root() / "sys" / "class" / "net");

	const DeviceGraph graph = materialized.scan();
	for (const testing::TopologyDevice &source : topology.devices) {
		if (!source.physfn)
			continue;
		CAPTURE(source.address.to_string());
		const Device *device = graph.find(source.address);
		REQUIRE(device != nullptr);
		REQUIRE(device->consumers.size() == 1);
		CHECK(device->consumers.front().kind == ConsumerKind::net_interface);
		CHECK(device->consumers.front().name == source.consumers.front().name);
	}
}
