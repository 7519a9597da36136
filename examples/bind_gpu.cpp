/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Binds the GPU group of a simulated workstation to vfio-pci through the
 * C++ API, prints the PCIDeviceClaims for the group and releases it again.
 * Usage: bind_gpu_cpp TOPOLOGY STATE_DIR (tests/topologies/gpu-workstation.json)
 */

#include <iostream>

#include <boost/json/serialize.hpp>

#include <pcipass/claim.hpp>
#include <pcipass/graph.hpp>
#include <pcipass/testing/sim.hpp>
#include <pcipass/testing/topology.hpp>
#include <pcipass/transaction.hpp>

namespace {

pcipass::result<void> bind_print_release(const std::string &topology_file,
					 const std::string &state_dir)
{
	BOOST_OUTCOME_TRY(auto topology, pcipass::testing::load_topology(topology_file));

	BOOST_OUTCOME_TRY(auto host, pcipass::sim::Host::create(topology));

	pcipass::EngineOptions options;
	options.state_dir = state_dir;
	BOOST_OUTCOME_TRY(auto engine, pcipass::Engine::open(*host, options));

	BOOST_OUTCOME_TRY(auto gpu, pcipass::PciAddress::parse("0000:01:00.0"));

	pcipass::Request request;
	request.devices.push_back({gpu, std::nullopt});
	request.owner = "vm-42";
	BOOST_OUTCOME_TRY(engine->bind(request));

	BOOST_OUTCOME_TRY(auto graph, pcipass::DeviceGraph::scan(*host));

	/*
	 * The uids come from the API server (kubectl get pcidevice NAME -o
	 * jsonpath='{.metadata.uid}'); these stand in for them.
	 */
	pcipass::ObjectsRequest objects_request;
	objects_request.address = gpu;
	objects_request.node = "ws1";
	objects_request.siblings = true;
	objects_request.claim.user_name = "vm-42";
	const char *const uids[][2] = {{"0000:01:00.0", "uid-gpu"}, {"0000:01:00.1", "uid-audio"},
				       {"0000:01:00.2", "uid-usb"}, {"0000:01:00.3", "uid-ucsi"}};
	for (const auto &[address, uid] : uids) {
		BOOST_OUTCOME_TRY(auto member, pcipass::PciAddress::parse(address));
		objects_request.uids[member] = uid;
	}

	BOOST_OUTCOME_TRY(auto objects, pcipass::build_objects(graph, objects_request));
	std::cout << boost::json::serialize(pcipass::to_json(objects, objects_request)) << "\n";

	BOOST_OUTCOME_TRY(engine->release(request));
	return pcipass::success();
}

} /* namespace */

int main(int argc, char **argv)
{
	if (argc != 3) {
		std::cerr << "usage: " << argv[0] << " TOPOLOGY STATE_DIR\n";
		return 2;
	}

	auto done = bind_print_release(argv[1], argv[2]);
	if (!done) {
		std::cerr << done.error().describe() << "\n";
		return 1;
	}
	return 0;
}
