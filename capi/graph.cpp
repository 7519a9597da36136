/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The C ABI's hosts and graphs, and the "pcipass.graph/v1" document.
 */

#include <string>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "capi_internal.hpp"

namespace pcipass::capi {

namespace {

template<class T, class Convert>
boost::json::value optional_json(const std::optional<T> &value, Convert &&convert)
{
	if (!value)
		return nullptr;
	return convert(*value);
}

template<class Items, class Convert>
boost::json::array array_json(const Items &items, Convert &&convert)
{
	boost::json::array array;
	for (const auto &item : items)
		array.push_back(convert(item));
	return array;
}

boost::json::value string_json(const std::string &text)
{
	return boost::json::string(text);
}

boost::json::value address_json(const PciAddress &address)
{
	return boost::json::string(address.to_string());
}

boost::json::object finding_json(const Finding &finding)
{
	return {
		{"attribute", finding.attribute},
		{"path", finding.path},
		{"errno", finding.sys_errno},
		{"message", finding.message},
	};
}

boost::json::object consumer_json(const Consumer &consumer)
{
	return {
		{"kind", consumer_kind_name(consumer.kind)},
		{"name", consumer.name},
		{"description", consumer.description},
		{"default_route", consumer.default_route},
		{"mountpoint", consumer.mountpoint},
	};
}

boost::json::object sriov_json(const Sriov &sriov)
{
	return {
		{"total_vfs", sriov.total_vfs},
		{"num_vfs", sriov.num_vfs},
		{"drivers_autoprobe", sriov.drivers_autoprobe},
		{"vfs", array_json(sriov.vfs, address_json)},
		{"vf_device", sriov.vf_device.to_string()},
		{"first_vf_offset", sriov.first_vf_offset},
		{"vf_stride", sriov.vf_stride},
	};
}

std::string hex2(uint8_t value)
{
	static constexpr char digits[] = "0123456789abcdef";
	return {digits[value >> 4], digits[value & 0xf]};
}

boost::json::object device_json(const Device &device)
{
	return {
		{"address", device.address.to_string()},
		{"vendor", device.vendor.to_string()},
		{"device", device.device.to_string()},
		{"subsystem_vendor", device.subsystem_vendor.to_string()},
		{"subsystem_device", device.subsystem_device.to_string()},
		{"class", device.class_code.to_string()},
		{"revision", hex2(device.revision)},
		{"header_type", hex2(device.header_type)},
		{"bridge", device.is_bridge()},
		{"driver", optional_json(device.driver, string_json)},
		{"driver_override", optional_json(device.driver_override, string_json)},
		{"iommu_group", optional_json(device.iommu_group,
					      [](unsigned group) { return boost::json::value(group); })},
		{"numa_node", device.numa_node},
		{"sysfs_path", device.sysfs_path},
		{"parents", array_json(device.parents, address_json)},
		{"physfn", optional_json(device.physfn, address_json)},
		{"sriov", optional_json(device.sriov,
					[](const Sriov &sriov) { return boost::json::value(sriov_json(sriov)); })},
		{"boot_vga", optional_json(device.boot_vga,
					   [](bool boot_vga) { return boost::json::value(boot_vga); })},
		{"reset_methods", array_json(device.reset_methods, string_json)},
		{"vfio_device", optional_json(device.vfio_device, string_json)},
		{"inaccessible", device.inaccessible},
		{"vendor_name", device.vendor_name},
		{"device_name", device.device_name},
		{"consumers", array_json(device.consumers, consumer_json)},
		{"findings", array_json(device.findings, finding_json)},
	};
}

boost::json::object group_json(const IommuGroup &group)
{
	return {
		{"number", group.number},
		{"members", array_json(group.members, address_json)},
		{"device_node", group.device_node},
		{"holders", array_json(group.holders,
				       [](const Holder &holder) {
					       return boost::json::object{{"pid", holder.pid},
									  {"command", holder.command}};
				       })},
	};
}

boost::json::object host_json(const HostFacts &host)
{
	return {
		{"iommu_enabled", host.iommu_enabled},
		{"iommu_units", array_json(host.iommu_units, string_json)},
		{"modules", array_json(host.modules, string_json)},
		{"drivers", array_json(host.drivers, string_json)},
		{"kernel_cmdline", host.kernel_cmdline},
		{"kernel_release", host.kernel_release},
		{"cpu_vendor", host.cpu_vendor},
		{"hypervisor", host.hypervisor},
		{"vfio_container", host.vfio_container},
		{"findings", array_json(host.findings, finding_json)},
	};
}

} /* namespace */

} /* namespace pcipass::capi */

using namespace pcipass;

PCIPASS_EXPORT int pcipass_host_open_live(const char *root, pcipass_host **host,
					  pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		if (!host)
			return capi::null_argument(err, "pcipass_host_open_live", "host");
		*host = nullptr;

		auto opened = LiveHost::open(root ? root : "/");
		if (!opened)
			return capi::fail(err, opened.error());

		*host = new pcipass_host{std::move(opened).value()};
		return PCIPASS_OK;
	});
}

PCIPASS_EXPORT void pcipass_host_close(pcipass_host *host)
{
	delete host;
}

PCIPASS_EXPORT int pcipass_graph_scan(pcipass_host *host, pcipass_graph **graph,
				      pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		if (!graph)
			return capi::null_argument(err, "pcipass_graph_scan", "graph");
		*graph = nullptr;
		if (!host)
			return capi::null_argument(err, "pcipass_graph_scan", "host");

		auto scanned = DeviceGraph::scan(*host->host);
		if (!scanned)
			return capi::fail(err, scanned.error());

		*graph = new pcipass_graph{std::move(scanned).value()};
		return PCIPASS_OK;
	});
}

PCIPASS_EXPORT void pcipass_graph_free(pcipass_graph *graph)
{
	delete graph;
}

PCIPASS_EXPORT int pcipass_graph_to_json(const pcipass_graph *graph, char **json,
					 pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		if (!json)
			return capi::null_argument(err, "pcipass_graph_to_json", "json");
		*json = nullptr;
		if (!graph)
			return capi::null_argument(err, "pcipass_graph_to_json", "graph");

		boost::json::array devices;
		for (const Device &device : graph->graph.devices())
			devices.push_back(capi::device_json(device));

		const boost::json::object document{
			{"schema", "pcipass.graph/v1"},
			{"host", capi::host_json(graph->graph.host())},
			{"devices", std::move(devices)},
			{"groups", capi::array_json(graph->graph.groups(), capi::group_json)},
		};

		*json = capi::copy_string(boost::json::serialize(document));
		return PCIPASS_OK;
	});
}
