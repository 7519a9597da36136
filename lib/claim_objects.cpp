/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * KubeVirt host device entries, libvirt <hostdev> XML, and the set of
 * objects for one request.
 */

#include <pcipass/claim.hpp>

#include <array>
#include <cstdio>
#include <map>
#include <set>
#include <utility>

#include <boost/json/array.hpp>
#include <boost/json/string.hpp>

namespace pcipass {

KubevirtHostDevice kubevirt_host_device(const PciDeviceObject &pcidevice)
{
	return {pcidevice.name, pcidevice.status.resource_name};
}

std::vector<PermittedPciHostDevice> permitted_pci_host_devices(
	std::span<const PciDeviceObject> pcidevices)
{
	std::vector<PermittedPciHostDevice> entries;
	std::set<std::pair<std::string, std::string>> seen;

	for (const PciDeviceObject &pcidevice : pcidevices) {
		PermittedPciHostDevice entry;
		entry.pci_vendor_selector =
			pcidevice.status.vendor_id + ":" + pcidevice.status.device_id;
		entry.resource_name = pcidevice.status.resource_name;

		if (seen.emplace(entry.pci_vendor_selector, entry.resource_name).second)
			entries.push_back(std::move(entry));
	}

	return entries;
}

boost::json::object to_json(const KubevirtHostDevice &entry)
{
	return boost::json::object{
		{"name", entry.name},
		{"deviceName", entry.device_name},
	};
}

boost::json::object to_json(const PermittedPciHostDevice &entry)
{
	return boost::json::object{
		{"pciVendorSelector", entry.pci_vendor_selector},
		{"resourceName", entry.resource_name},
		{"externalResourceProvider", entry.external_resource_provider},
	};
}

namespace {

std::string xml_attribute(std::string_view name, std::string_view value)
{
	std::string text = " " + std::string(name) + "='";
	for (char c : value) {
		switch (c) {
		case '&': text += "&amp;"; break;
		case '<': text += "&lt;"; break;
		case '>': text += "&gt;"; break;
		case '\'': text += "&apos;"; break;
		case '"': text += "&quot;"; break;
		default: text += c; break;
		}
	}
	return text + "'";
}

std::string hex(uint32_t value, int digits)
{
	std::array<char, 16> text;
	std::snprintf(text.data(), text.size(), "0x%0*x", digits, value);
	return text.data();
}

} /* namespace */

std::string libvirt_hostdev_xml(PciAddress address)
{
	std::string xml = "<hostdev" + xml_attribute("mode", "subsystem") +
			  xml_attribute("type", "pci") + xml_attribute("managed", "no") + ">\n";
	xml += "  <source>\n";
	xml += "    <address" + xml_attribute("domain", hex(address.domain(), 4)) +
	       xml_attribute("bus", hex(address.bus(), 2)) +
	       xml_attribute("slot", hex(address.device(), 2)) +
	       xml_attribute("function", hex(address.function(), 1)) + "/>\n";
	xml += "  </source>\n";
	xml += "</hostdev>\n";
	return xml;
}

result<Objects> build_objects(const DeviceList &devices, const ObjectsRequest &request)
{
	BOOST_OUTCOME_TRY(auto endpoints, group_endpoints(devices, request.address));

	if (!request.siblings)
		std::erase_if(endpoints, [&](const Device *endpoint) {
			return endpoint->address != request.address;
		});

	std::map<PciAddress, std::string> uids;
	for (const Device *endpoint : endpoints) {
		const auto uid = request.uids.find(endpoint->address);
		uids[endpoint->address] = uid == request.uids.end() ? "" : uid->second;
	}

	Objects objects;
	if (request.siblings) {
		BOOST_OUTCOME_TRY(auto claims, make_group_claims(devices, request.address, request.node,
								 uids, request.claim));
		objects.claims = std::move(claims);
	} else {
		BOOST_OUTCOME_TRY(auto claim, make_claim(*endpoints.front(), request.node,
							 uids[request.address], request.claim));
		objects.claims.push_back(std::move(claim));
	}

	std::vector<PciDeviceObject> pcidevices;
	for (const Device *endpoint : endpoints) {
		BOOST_OUTCOME_TRY(auto pcidevice, make_pcidevice(*endpoint, request.node));
		pcidevice.uid = uids[endpoint->address];
		pcidevices.push_back(std::move(pcidevice));
	}

	if (request.kubevirt) {
		for (const PciDeviceObject &pcidevice : pcidevices)
			objects.host_devices.push_back(kubevirt_host_device(pcidevice));
		objects.permitted_host_devices = permitted_pci_host_devices(pcidevices);
	}
	if (request.libvirt)
		for (const Device *endpoint : endpoints)
			objects.libvirt_hostdevs.push_back(libvirt_hostdev_xml(endpoint->address));
	if (request.pcidevices)
		objects.pcidevices = std::move(pcidevices);

	return objects;
}

boost::json::object to_json(const Objects &objects, const ObjectsRequest &request)
{
	boost::json::object document{{"schema", "pcipass.objects/v1"}};

	const auto array_of = [](const auto &items) {
		boost::json::array array;
		for (const auto &item : items)
			array.push_back(to_json(item));
		return array;
	};

	document["claims"] = array_of(objects.claims);
	if (request.pcidevices)
		document["pcidevices"] = array_of(objects.pcidevices);
	if (request.kubevirt) {
		document["hostDevices"] = array_of(objects.host_devices);
		document["pciHostDevices"] = array_of(objects.permitted_host_devices);
	}
	if (request.libvirt) {
		boost::json::array xml;
		for (const std::string &hostdev : objects.libvirt_hostdevs)
			xml.push_back(boost::json::string(hostdev));
		document["libvirt"] = std::move(xml);
	}

	return document;
}

} /* namespace pcipass */
