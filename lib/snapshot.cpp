/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * A scanned host turned back into a topology.
 */

#include <pcipass/testing/snapshot.hpp>

#include <algorithm>
#include <map>
#include <set>

namespace pcipass::testing {

namespace {

unsigned routing_id(PciAddress address)
{
	return (unsigned(address.bus()) << 8) | (unsigned(address.device()) << 3) | address.function();
}

TopologySriov sriov_of(const DeviceGraph &graph, const Device &pf)
{
	const Sriov &sriov = *pf.sriov;
	TopologySriov topology;
	topology.total_vfs = sriov.total_vfs;
	topology.num_vfs = sriov.num_vfs;
	topology.drivers_autoprobe = sriov.drivers_autoprobe;
	topology.vf_device = sriov.vf_device;

	const std::vector<const Device *> vfs = graph.vfs_of(pf.address);
	const Device *first = vfs.empty() ? nullptr : vfs.front();
	if (topology.vf_device == DeviceId() && first)
		topology.vf_device = first->device;

	/* Older kernels lack sriov_offset and sriov_stride: the VF addresses tell them. */
	if (sriov.first_vf_offset > 0)
		topology.first_vf_offset = sriov.first_vf_offset;
	else if (first && routing_id(first->address) > routing_id(pf.address))
		topology.first_vf_offset = routing_id(first->address) - routing_id(pf.address);
	if (sriov.vf_stride > 0)
		topology.vf_stride = sriov.vf_stride;
	else if (vfs.size() > 1 && routing_id(vfs[1]->address) > routing_id(first->address))
		topology.vf_stride = routing_id(vfs[1]->address) - routing_id(first->address);

	if (first) {
		if (first->iommu_group && first->iommu_group != pf.iommu_group)
			topology.first_vf_group = first->iommu_group;
		topology.vf_driver = first->driver.value_or("");
	}
	return topology;
}

TopologyDevice device_of(const DeviceGraph &graph, const Device &device)
{
	TopologyDevice topology;
	topology.address = device.address;
	if (!device.parents.empty())
		topology.parent = device.parents.front();
	topology.vendor = device.vendor;
	topology.device = device.device;
	topology.subsystem_vendor = device.subsystem_vendor;
	topology.subsystem_device = device.subsystem_device;
	topology.class_code = device.class_code;
	topology.revision = device.revision;
	topology.header_type = device.header_type;
	topology.driver = device.driver.value_or("");
	topology.driver_override = device.driver_override.value_or("");
	topology.iommu_group = device.iommu_group;
	topology.numa_node = device.numa_node;
	topology.boot_vga = device.boot_vga;
	topology.reset_methods = device.reset_methods;
	topology.physfn = device.physfn;
	topology.inaccessible = device.inaccessible;
	topology.vendor_name = device.vendor_name;
	topology.device_name = device.device_name;
	if (device.sriov)
		topology.sriov = sriov_of(graph, device);

	for (const Consumer &consumer : device.consumers) {
		TopologyConsumer entry;
		entry.kind = consumer.kind;
		entry.name = consumer.name;
		entry.description = consumer.description;
		entry.default_route = consumer.default_route;
		entry.mountpoint = consumer.mountpoint;
		topology.consumers.push_back(std::move(entry));
	}
	return topology;
}

std::vector<TopologyDriver> drivers_of(const DeviceGraph &graph)
{
	const HostFacts &host = graph.host();

	std::map<std::string, TopologyDriver> drivers;
	auto driver = [&](const std::string &name) -> TopologyDriver & {
		TopologyDriver &entry = drivers[name];
		entry.name = name;
		const auto module = host.driver_modules.find(name);
		if (module != host.driver_modules.end())
			entry.module = module->second;
		return entry;
	};

	for (const std::string &name : host.drivers)
		driver(name);

	std::map<std::string, std::set<std::pair<VendorId, DeviceId>>> static_ids;
	std::map<std::string, std::set<std::pair<VendorId, DeviceId>>> dynamic_ids;
	for (const Device &device : graph.devices()) {
		if (!device.driver)
			continue;
		const std::string &name = *device.driver;
		TopologyDriver &entry = driver(name);
		const auto id = std::make_pair(device.vendor, device.device);

		/* vfio-pci has no static table: it matched through the override or a new_id. */
		if (is_vfio_driver(name)) {
			if (device.driver_override != name)
				dynamic_ids[name].insert(id);
		} else {
			static_ids[name].insert(id);
		}
		if (device.sriov && device.sriov->num_vfs > 0)
			entry.sriov = true;
	}

	std::vector<TopologyDriver> result;
	for (auto &[name, entry] : drivers) {
		for (const auto &[vendor, device] : static_ids[name])
			entry.ids.push_back({vendor, device});
		for (const auto &[vendor, device] : dynamic_ids[name])
			entry.dynamic_ids.push_back({vendor, device});
		result.push_back(std::move(entry));
	}
	return result;
}

} /* namespace */

Topology topology_from_graph(const DeviceGraph &graph, std::string description)
{
	const HostFacts &host = graph.host();

	Topology topology;
	topology.description = std::move(description);
	topology.kernel_cmdline = host.kernel_cmdline;
	topology.cpu_vendor = host.cpu_vendor;
	topology.iommu_units = host.iommu_units;
	topology.modules = host.modules;
	topology.available_modules = host.modules;
	topology.vfio_container = host.vfio_container;
	topology.drivers = drivers_of(graph);

	for (const Device &device : graph.devices())
		topology.devices.push_back(device_of(graph, device));

	for (const IommuGroup &group : graph.groups())
		if (!group.holders.empty())
			topology.holders["dev/vfio/" + std::to_string(group.number)] = group.holders;

	return topology;
}

} /* namespace pcipass::testing */
