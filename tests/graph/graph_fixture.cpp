/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Materialized topologies and the graph each one must scan to.
 */

#include "graph_fixture.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

#include <pcipass/graph_json.hpp>

#include "sysfs_parse.hpp"
#include "topology_rules.hpp"

namespace graph_test {

using namespace pcipass;
using namespace pcipass::testing;

TempDir::TempDir(bool in_memory)
{
	std::error_code ec;
	const fs::path shm = "/dev/shm";
	const fs::path base = in_memory && fs::is_directory(shm, ec) && ::access(shm.c_str(), W_OK) == 0
				      ? shm
				      : fs::temp_directory_path();
	std::string pattern = (base / "pcipass-graph-XXXXXX").string();
	REQUIRE(mkdtemp(pattern.data()) != nullptr);
	path_ = pattern;
}

TempDir::~TempDir()
{
	std::error_code ignored;
	fs::remove_all(path_, ignored);
}

std::vector<std::string> catalogue_files()
{
	std::vector<std::string> files;
	const fs::path directory = fs::path(PCIPASS_SOURCE_DIR) / "tests" / "topologies";
	for (const auto &entry : fs::directory_iterator(directory))
		if (entry.path().extension() == ".json")
			files.push_back(entry.path().string());
	std::sort(files.begin(), files.end());
	return files;
}

std::string large_host_file()
{
	const char *build = std::getenv("PCIPASS_BUILD_DIR");
	return std::string(build ? build : ".") + "/tests/topologies/sriov-4096.json";
}

Topology load(const std::string &file)
{
	auto topology = load_topology(file);
	REQUIRE_MESSAGE(topology, "cannot load " << file << ": "
						 << (topology ? "" : topology.error().describe()));
	return std::move(topology).value();
}

Topology load_catalogue(const std::string &name)
{
	return load(std::string(PCIPASS_SOURCE_DIR) + "/tests/topologies/" + name + ".json");
}

MaterializedHost::MaterializedHost(const Topology &topology, bool in_memory)
	: directory_(in_memory), root_(directory_.path() / "root")
{
	auto written = materialize(topology, root_.string());
	REQUIRE_MESSAGE(written, (written ? "" : written.error().describe()));

	auto host = LiveHost::open(root_.string());
	REQUIRE_MESSAGE(host, (host ? "" : host.error().describe()));
	host_ = std::move(host).value();
}

ScanOptions MaterializedHost::no_names()
{
	ScanOptions options;
	options.names = false;
	return options;
}

DeviceGraph MaterializedHost::scan(const ScanOptions &options)
{
	auto graph = DeviceGraph::scan(*host_, options);
	REQUIRE_MESSAGE(graph, (graph ? "" : graph.error().describe()));
	return std::move(graph).value();
}

namespace {

bool consumer_present(const TopologyDevice &device, const TopologyConsumer &consumer)
{
	if (consumer.kind == ConsumerKind::framebuffer)
		return true;
	const std::string &needed = consumer.driver.empty() ? device.driver : consumer.driver;
	return !device.driver.empty() && device.driver == needed;
}

/* The proc/fb ID a topology's framebuffer consumer is written with. */
std::string framebuffer_id(const TopologyConsumer &consumer)
{
	if (!consumer.description.empty())
		return consumer.description;
	if (consumer.name == "efifb")
		return "EFI VGA";
	if (consumer.name == "vesafb")
		return "VESA VGA";
	return consumer.name;
}

Consumer expected_consumer(const TopologyConsumer &consumer)
{
	Consumer expected;
	expected.kind = consumer.kind;
	expected.name = consumer.name;

	switch (consumer.kind) {
	case ConsumerKind::usb_device:
	case ConsumerKind::usb_hub: {
		const auto parts = detail::parse_usb_description(consumer.description);
		expected.description = parts ? VendorId(parts->vendor).to_string() + ":" +
						       DeviceId(parts->product).to_string()
					     : std::string("0000:0000");
		if (parts && !parts->product_name.empty())
			expected.description += " " + parts->product_name;
		break;
	}
	case ConsumerKind::net_interface:
		expected.default_route = consumer.default_route;
		break;
	case ConsumerKind::block_device:
		expected.mountpoint = consumer.mountpoint;
		break;
	case ConsumerKind::drm_card:
	case ConsumerKind::framebuffer:
		break;
	}
	return expected;
}

std::vector<PciAddress> parents_of(const Topology &topology, const TopologyDevice &device)
{
	std::vector<PciAddress> parents;
	for (auto up = device.parent; up; up = topology.find(*up)->parent)
		parents.push_back(*up);
	return parents;
}

bool driver_loaded(const Topology &topology, const TopologyDriver &driver)
{
	return driver.module.empty() || std::find(topology.modules.begin(), topology.modules.end(),
						  driver.module) != topology.modules.end();
}

} /* namespace */

ExpectedGraph expected_graph(const Topology &topology, const ScanOptions &options)
{
	ExpectedGraph expected;

	/* The firmware framebuffers sit on every boot VGA device, as the kernel cannot tell more. */
	std::vector<Consumer> framebuffers;
	for (const TopologyDevice &device : topology.devices)
		for (const TopologyConsumer &consumer : device.consumers)
			if (consumer.kind == ConsumerKind::framebuffer) {
				const std::string id = framebuffer_id(consumer);
				if (auto name = detail::firmware_framebuffer_name(id)) {
					Consumer framebuffer;
					framebuffer.kind = ConsumerKind::framebuffer;
					framebuffer.name = *name;
					framebuffer.description = id;
					framebuffers.push_back(framebuffer);
				}
			}

	unsigned vfio_devices = 0;
	std::map<unsigned, IommuGroup> groups;
	for (const TopologyDevice &source : topology.devices) {
		Device device;
		device.address = source.address;
		device.vendor = source.vendor;
		device.device = source.device;
		device.subsystem_vendor = source.subsystem_vendor;
		device.subsystem_device = source.subsystem_device;
		device.class_code = source.class_code;
		device.revision = source.revision;
		device.header_type = source.header_type;
		/* Only type 0 headers have subsystem IDs; the uevent of an inaccessible device still shows them. */
		if ((source.header_type & 0x7f) != 0 && !source.inaccessible) {
			device.subsystem_vendor = VendorId();
			device.subsystem_device = DeviceId();
		}
		if (!source.driver.empty())
			device.driver = source.driver;
		if (!source.driver_override.empty())
			device.driver_override = source.driver_override;
		device.iommu_group = source.iommu_group;
		device.numa_node = source.numa_node;
		device.sysfs_path = device_sysfs_path(topology, source.address);
		device.parents = parents_of(topology, source);
		device.physfn = source.physfn;
		device.boot_vga = source.boot_vga;
		device.has_reset = !source.reset_methods.empty();
		device.reset_methods = source.reset_methods;
		device.inaccessible = source.inaccessible;
		if (source.inaccessible) {
			const bool has_children = std::any_of(
				topology.devices.begin(), topology.devices.end(),
				[&](const TopologyDevice &other) { return other.parent == source.address && !other.physfn; });
			device.header_type = has_children ? 0x01 : 0x00;
		}
		if (is_vfio_driver(source.driver))
			device.vfio_device = "vfio" + std::to_string(vfio_devices++);

		if (source.sriov) {
			Sriov sriov;
			sriov.total_vfs = source.sriov->total_vfs;
			sriov.num_vfs = source.sriov->num_vfs;
			sriov.drivers_autoprobe = source.sriov->drivers_autoprobe;
			sriov.vf_device = source.sriov->vf_device;
			sriov.first_vf_offset = source.sriov->first_vf_offset;
			sriov.vf_stride = source.sriov->vf_stride;
			std::vector<std::pair<unsigned, PciAddress>> vfs;
			for (const TopologyDevice &other : topology.devices)
				if (other.physfn == source.address)
					vfs.emplace_back(detail::vf_index(source, other.address).value_or(0),
							 other.address);
			std::sort(vfs.begin(), vfs.end());
			for (const auto &[index, vf] : vfs)
				sriov.vfs.push_back(vf);
			device.sriov = sriov;
		}

		for (const TopologyConsumer &consumer : source.consumers)
			if (consumer.kind != ConsumerKind::framebuffer && consumer_present(source, consumer))
				device.consumers.push_back(expected_consumer(consumer));
		if (source.boot_vga.value_or(false))
			device.consumers.insert(device.consumers.end(), framebuffers.begin(), framebuffers.end());
		std::sort(device.consumers.begin(), device.consumers.end(),
			  [](const Consumer &a, const Consumer &b) {
				  return std::tie(a.kind, a.name) < std::tie(b.kind, b.name);
			  });

		if (source.iommu_group) {
			IommuGroup &group = groups[*source.iommu_group];
			group.number = *source.iommu_group;
			group.members.push_back(source.address);
			if (is_vfio_driver(source.driver))
				group.device_node = true;
		}
		expected.devices.push_back(std::move(device));
	}
	std::sort(expected.devices.begin(), expected.devices.end(),
		  [](const Device &a, const Device &b) { return a.address < b.address; });

	for (auto &[number, group] : groups) {
		std::sort(group.members.begin(), group.members.end());
		const auto holders = topology.holders.find("dev/vfio/" + std::to_string(number));
		if (group.device_node && options.holders && holders != topology.holders.end())
			group.holders = holders->second;
		expected.groups.push_back(group);
	}

	HostFacts &host = expected.host;
	host.iommu_enabled = !groups.empty();
	host.iommu_units = topology.iommu_units;
	std::sort(host.iommu_units.begin(), host.iommu_units.end());
	host.modules = topology.modules;
	std::sort(host.modules.begin(), host.modules.end());
	host.modules.erase(std::unique(host.modules.begin(), host.modules.end()), host.modules.end());
	for (const TopologyDriver &driver : topology.drivers) {
		if (!driver_loaded(topology, driver))
			continue;
		host.drivers.push_back(driver.name);
		if (options.driver_modules && !driver.module.empty())
			host.driver_modules[driver.name] = driver.module;
	}
	std::sort(host.drivers.begin(), host.drivers.end());
	host.kernel_cmdline = topology.kernel_cmdline;
	host.cpu_vendor = topology.cpu_vendor;
	host.vfio_container = topology.vfio_container;
	return expected;
}

namespace {

std::vector<Holder> sorted_holders(std::vector<Holder> holders)
{
	std::sort(holders.begin(), holders.end(),
		  [](const Holder &a, const Holder &b) { return a.pid < b.pid; });
	return holders;
}

} /* namespace */

void check_device(const Device &actual, const Device &expected)
{
	const boost::json::object actual_json = to_json(actual);
	const boost::json::object expected_json = to_json(expected);
	for (const auto &[key, value] : expected_json) {
		const boost::json::value *found = actual_json.if_contains(key);
		CHECK_MESSAGE((found && *found == value),
			      expected.address.to_string()
				      << " " << std::string(key) << ": scanned "
				      << (found ? boost::json::serialize(*found) : std::string("nothing"))
				      << ", expected " << boost::json::serialize(value));
	}
	CHECK_MESSAGE(actual == expected, expected.address.to_string() << " differs beyond its JSON form");
}

void check_graph(const DeviceGraph &graph, const ExpectedGraph &expected)
{
	std::vector<PciAddress> scanned;
	for (const Device &device : graph.devices())
		scanned.push_back(device.address);
	std::vector<PciAddress> wanted;
	for (const Device &device : expected.devices)
		wanted.push_back(device.address);
	REQUIRE_MESSAGE(scanned.size() == wanted.size(),
			"scanned " << scanned.size() << " devices, expected " << wanted.size());
	REQUIRE(scanned == wanted);

	for (const Device &device : expected.devices) {
		const Device *found = graph.find(device.address);
		REQUIRE(found != nullptr);
		check_device(*found, device);
	}

	REQUIRE(graph.groups().size() == expected.groups.size());
	for (size_t i = 0; i < expected.groups.size(); i++) {
		IommuGroup actual = graph.groups()[i];
		IommuGroup wanted_group = expected.groups[i];
		actual.holders = sorted_holders(actual.holders);
		wanted_group.holders = sorted_holders(wanted_group.holders);
		CHECK_MESSAGE(boost::json::serialize(to_json(actual)) ==
				      boost::json::serialize(to_json(wanted_group)),
			      "group " << wanted_group.number << ": scanned "
				       << boost::json::serialize(to_json(actual)) << ", expected "
				       << boost::json::serialize(to_json(wanted_group)));
	}

	const std::string host = boost::json::serialize(to_json(graph.host()));
	const std::string wanted_host = boost::json::serialize(to_json(expected.host));
	CHECK_MESSAGE(host == wanted_host, "host facts: scanned " << host << ", expected " << wanted_host);
	CHECK(graph.host() == expected.host);
}

std::string run_command(const std::string &command)
{
	FILE *pipe = ::popen(command.c_str(), "r");
	REQUIRE_MESSAGE(pipe != nullptr, "cannot run " << command);

	std::string output;
	std::array<char, 4096> buffer;
	size_t n;
	while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
		output.append(buffer.data(), n);
	const int status = ::pclose(pipe);
	REQUIRE_MESSAGE(status == 0, command << " exited with status " << status);
	return output;
}

} /* namespace graph_test */
