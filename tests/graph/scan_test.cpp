/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Every catalogue topology, materialized and read back through LiveHost,
 * scans to exactly the graph the topology describes.
 */

#include <map>
#include <sstream>

#include <doctest/doctest.h>

#include <pcipass/graph.hpp>

#include "graph_fixture.hpp"

using namespace pcipass;
using namespace graph_test;

TEST_CASE("scan: every catalogue topology scans to its whole graph")
{
	const auto files = catalogue_files();
	REQUIRE(files.size() >= 8);

	for (const std::string &file : files) {
		CAPTURE(file);
		const auto topology = load(file);
		MaterializedHost materialized(topology);

		check_graph(materialized.scan(), expected_graph(topology));
	}
}

TEST_CASE("scan: reading every VF in full gives the same graph")
{
	for (const std::string &file : catalogue_files()) {
		CAPTURE(file);
		const auto topology = load(file);
		MaterializedHost materialized(topology);

		ScanOptions options = MaterializedHost::no_names();
		options.read_every_vf = true;
		check_graph(materialized.scan(options), expected_graph(topology, options));
	}
}

TEST_CASE("scan: driver modules are read when asked")
{
	const auto topology = load_catalogue("sriov-nic");
	MaterializedHost materialized(topology);

	ScanOptions options = MaterializedHost::no_names();
	options.driver_modules = true;
	const DeviceGraph graph = materialized.scan(options);

	check_graph(graph, expected_graph(topology, options));
	CHECK(graph.host().driver_modules.at("vfio-pci") == "vfio_pci");
	CHECK(graph.host().driver_modules.at("ice") == "ice");
	CHECK_FALSE(graph.host().driver_modules.contains("pcieport"));
}

TEST_CASE("scan: the 4096-function host scans to its whole graph")
{
	const auto topology = load(large_host_file());
	REQUIRE(topology.devices.size() == 4113);
	MaterializedHost materialized(topology, true);

	/* Enough functions per driver to switch to listing the driver directories. */
	const DeviceGraph graph = materialized.scan();
	check_graph(graph, expected_graph(topology));

	const Device *pf = graph.find(PciAddress(0, 0x10, 0, 0));
	REQUIRE(pf != nullptr);
	REQUIRE(pf->sriov);
	CHECK(pf->sriov->vfs.size() == 255);
	CHECK(pf->sriov->vfs.front() == PciAddress(0, 0x10, 0, 1));
	CHECK(pf->sriov->vfs.back() == PciAddress(0, 0x10, 0x1f, 7));
	CHECK(graph.vfs_of(pf->address).size() == 255);
	CHECK(graph.pf_of(PciAddress(0, 0x10, 0x1f, 7)) == pf);
}

TEST_CASE("scan: lspci agrees on IDs, class and driver")
{
	for (const std::string &file : catalogue_files()) {
		CAPTURE(file);
		const auto topology = load(file);
		MaterializedHost materialized(topology);
		const DeviceGraph graph = materialized.scan();

		const std::string output = run_command(
			"lspci -A linux-sysfs -O sysfs.path=" + (materialized.root() / "sys/bus/pci").string() +
			" -n -D -k -vmm 2>/dev/null");

		/* Records of "Key:\tvalue" lines, separated by blank lines. */
		std::vector<std::map<std::string, std::string>> records(1);
		std::istringstream lines(output);
		std::string line;
		while (std::getline(lines, line)) {
			if (line.empty()) {
				if (!records.back().empty())
					records.emplace_back();
				continue;
			}
			const size_t tab = line.find(":\t");
			REQUIRE(tab != std::string::npos);
			records.back()[line.substr(0, tab)] = line.substr(tab + 2);
		}
		if (records.back().empty())
			records.pop_back();

		REQUIRE(records.size() == graph.devices().size());
		for (const auto &record : records) {
			auto address = PciAddress::parse(record.at("Slot"));
			REQUIRE(address);
			const Device *device = graph.find(address.value());
			REQUIRE_MESSAGE(device != nullptr, record.at("Slot"));
			CAPTURE(record.at("Slot"));

			CHECK(record.at("Vendor") == device->vendor.to_string());
			CHECK(record.at("Device") == device->device.to_string());
			CHECK(record.at("Class") == device->class_code.class_subclass_string());
			const auto prog_if = record.find("ProgIf");
			CHECK((prog_if == record.end() ? std::string("00") : prog_if->second) ==
			      device->class_code.to_string().substr(4));
			const auto driver = record.find("Driver");
			CHECK((driver == record.end() ? std::string() : driver->second) ==
			      device->driver.value_or(""));
		}
	}
}

TEST_CASE("scan: names come from the hardware database and change nothing else")
{
	const auto topology = load_catalogue("gpu-workstation");
	MaterializedHost materialized(topology);

	ScanOptions with_names;
	const DeviceGraph named = materialized.scan(with_names);
	const DeviceGraph plain = materialized.scan();

	REQUIRE(named.devices().size() == plain.devices().size());
	bool any_name = false;
	for (const Device &device : named.devices()) {
		Device unnamed = device;
		unnamed.vendor_name.clear();
		unnamed.device_name.clear();
		const Device *other = plain.find(device.address);
		REQUIRE(other != nullptr);
		CHECK(unnamed == *other);
		any_name = any_name || !device.vendor_name.empty();
	}

	/* Debian's udev package, which scripts/install-deps installs, ships the database. */
	const Device *gpu = named.find(PciAddress(0, 1, 0, 0));
	REQUIRE(gpu != nullptr);
	CHECK(any_name);
	CHECK(gpu->vendor_name == "NVIDIA Corporation");
	CHECK(gpu->device_name == "TU106 [GeForce RTX 2070]");
}
