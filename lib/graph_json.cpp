/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The device graph as JSON.
 */

#include <pcipass/graph_json.hpp>

#include <cstring>

namespace pcipass {

namespace {

template<class T, class Convert>
boost::json::value optional_value(const std::optional<T> &value, Convert convert)
{
	if (!value)
		return nullptr;
	return convert(*value);
}

boost::json::array address_array(const std::vector<PciAddress> &addresses)
{
	boost::json::array array;
	for (PciAddress address : addresses)
		array.emplace_back(address.to_string());
	return array;
}

boost::json::array string_array(const std::vector<std::string> &strings)
{
	boost::json::array array;
	for (const std::string &text : strings)
		array.emplace_back(text);
	return array;
}

boost::json::object to_json(const Consumer &consumer)
{
	return {
		{"kind", consumer_kind_name(consumer.kind)},
		{"name", consumer.name},
		{"description", consumer.description},
		{"default_route", consumer.default_route},
		{"mountpoint", consumer.mountpoint},
	};
}

boost::json::object to_json(const Finding &finding)
{
	const char *errno_name = finding.sys_errno ? strerrorname_np(finding.sys_errno) : nullptr;
	return {
		{"attribute", finding.attribute},
		{"path", finding.path},
		{"errno", finding.sys_errno},
		{"errno_name", errno_name ? boost::json::value(errno_name) : boost::json::value(nullptr)},
		{"message", finding.message},
	};
}

boost::json::array findings_array(const std::vector<Finding> &findings)
{
	boost::json::array array;
	for (const Finding &finding : findings)
		array.emplace_back(to_json(finding));
	return array;
}

boost::json::object to_json(const Sriov &sriov)
{
	return {
		{"total_vfs", sriov.total_vfs},
		{"num_vfs", sriov.num_vfs},
		{"drivers_autoprobe", sriov.drivers_autoprobe},
		{"vf_device", sriov.vf_device.to_string()},
		{"first_vf_offset", sriov.first_vf_offset},
		{"vf_stride", sriov.vf_stride},
		{"vfs", address_array(sriov.vfs)},
	};
}

boost::json::array blockers_array(const std::vector<Blocker> &blockers)
{
	boost::json::array array;
	for (const Blocker &blocker : blockers)
		array.emplace_back(boost::json::object{
			{"device", blocker.device.to_string()},
			{"reason", blocker.reason},
			{"message", blocker.message},
		});
	return array;
}

} /* namespace */

boost::json::object to_json(const Device &device)
{
	auto text = [](const std::string &value) { return boost::json::value(value); };
	auto address = [](PciAddress value) { return boost::json::value(value.to_string()); };

	boost::json::array consumers;
	for (const Consumer &consumer : device.consumers)
		consumers.emplace_back(to_json(consumer));

	return {
		{"address", device.address.to_string()},
		{"vendor", device.vendor.to_string()},
		{"device", device.device.to_string()},
		{"subsystem_vendor", device.subsystem_vendor.to_string()},
		{"subsystem_device", device.subsystem_device.to_string()},
		{"class", device.class_code.to_string()},
		{"revision", device.revision},
		{"header_type", device.header_type},
		{"bridge", device.is_bridge()},
		{"driver", optional_value(device.driver, text)},
		{"driver_override", optional_value(device.driver_override, text)},
		{"iommu_group", optional_value(device.iommu_group,
					       [](unsigned value) { return boost::json::value(value); })},
		{"numa_node", device.numa_node},
		{"sysfs_path", device.sysfs_path},
		{"parent", device.parents.empty() ? boost::json::value(nullptr)
						  : boost::json::value(device.parents.front().to_string())},
		{"parents", address_array(device.parents)},
		{"physfn", optional_value(device.physfn, address)},
		{"vfs", device.sriov ? address_array(device.sriov->vfs) : boost::json::array()},
		{"sriov", optional_value(device.sriov,
					 [](const Sriov &value) { return boost::json::value(to_json(value)); })},
		{"boot_vga", optional_value(device.boot_vga,
					    [](bool value) { return boost::json::value(value); })},
		{"has_reset", device.has_reset},
		{"reset_methods", string_array(device.reset_methods)},
		{"vfio_device", optional_value(device.vfio_device, text)},
		{"inaccessible", device.inaccessible},
		{"consumers", std::move(consumers)},
		{"findings", findings_array(device.findings)},
		{"vendor_name", device.vendor_name},
		{"device_name", device.device_name},
	};
}

boost::json::object to_json(const IommuGroup &group)
{
	boost::json::array holders;
	for (const Holder &holder : group.holders)
		holders.emplace_back(boost::json::object{{"pid", holder.pid}, {"command", holder.command}});

	return {
		{"number", group.number},
		{"members", address_array(group.members)},
		{"device_node", group.device_node},
		{"holders", std::move(holders)},
	};
}

boost::json::object to_json(const HostFacts &host)
{
	boost::json::object driver_modules;
	for (const auto &[driver, module] : host.driver_modules)
		driver_modules[driver] = module;

	return {
		{"iommu_enabled", host.iommu_enabled},
		{"iommu_units", string_array(host.iommu_units)},
		{"modules", string_array(host.modules)},
		{"module_support", host.module_support},
		{"drivers", string_array(host.drivers)},
		{"driver_modules", std::move(driver_modules)},
		{"kernel_cmdline", host.kernel_cmdline},
		{"kernel_release", host.kernel_release},
		{"cpu_vendor", host.cpu_vendor},
		{"hypervisor", host.hypervisor},
		{"vfio_container", host.vfio_container},
		{"findings", findings_array(host.findings)},
	};
}

boost::json::object to_json(const Viability &viability)
{
	return {
		{"viable", viability.viable},
		{"blockers", blockers_array(viability.blockers)},
	};
}

boost::json::object to_json(const Readiness &readiness)
{
	boost::json::array moves;
	for (PciAddress address : readiness.moves)
		moves.emplace_back(address.to_string());

	return {
		{"state", readiness_state_name(readiness.state)},
		{"blockers", blockers_array(readiness.blockers)},
		{"moves", std::move(moves)},
	};
}

boost::json::value to_json(const DeviceGraph &graph)
{
	boost::json::array groups;
	for (const IommuGroup &group : graph.groups())
		groups.emplace_back(to_json(group));

	boost::json::array devices;
	for (const Device &device : graph.devices())
		devices.emplace_back(to_json(device));

	return boost::json::object{
		{"schema", graph_schema},
		{"host", to_json(graph.host())},
		{"groups", std::move(groups)},
		{"devices", std::move(devices)},
	};
}

} /* namespace pcipass */
