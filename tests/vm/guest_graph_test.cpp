/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Runs inside the test guest: DeviceGraph::scan through LiveHost compared
 * with the kernel's own view read with plain sysfs reads, device by device.
 */

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <pcipass/graph.hpp>
#include <pcipass/host.hpp>

#include "guest.hpp"

using namespace guest;

namespace {

pcipass::DeviceGraph scan_live()
{
	auto host = pcipass::LiveHost::open("/");
	REQUIRE_MESSAGE(host.has_value(), (host ? std::string() : host.error().describe()));
	auto graph = pcipass::DeviceGraph::scan(*host.value());
	REQUIRE_MESSAGE(graph.has_value(), (graph ? std::string() : graph.error().describe()));
	return graph.value();
}

std::optional<std::string> override_of(const std::string &address)
{
	auto value = sysfs::read(sysfs::device_path(address, "driver_override"));
	if (value == "(null)")
		return std::nullopt;
	return value;
}

/* Bridges above a device, nearest first: the PCI addresses in its real path. */
std::vector<std::string> parents_of(const std::string &address)
{
	const std::string path = sysfs::real_path(sysfs::device_path(address));
	std::vector<std::string> parents;
	size_t start = 0;
	while (true) {
		const size_t end = path.find('/', start);
		if (end == std::string::npos)
			break;
		const std::string component = path.substr(start, end - start);
		/* "0000:00:04.0" is 12 characters; "pci0000:00" is the host bridge's node. */
		if (component.size() == 12 && component[4] == ':' && component[10] == '.')
			parents.insert(parents.begin(), component);
		start = end + 1;
	}
	return parents;
}

using ConsumerKey = std::pair<pcipass::ConsumerKind, std::string>;

/* USB devices beneath a hub directory, descending into hubs (bDeviceClass 09). */
void collect_usb(const std::string &directory, std::set<ConsumerKey> &found)
{
	for (const std::string &name : sysfs::list(directory)) {
		/* Devices are "BUS-PORT[.PORT...]"; interfaces carry a ':' and are skipped. */
		if (name.find('-') == std::string::npos || name.find(':') != std::string::npos)
			continue;
		const std::string path = directory + "/" + name;
		const bool hub = sysfs::read(path + "/bDeviceClass") == "09";
		found.insert({hub ? pcipass::ConsumerKind::usb_hub : pcipass::ConsumerKind::usb_device,
			      name});
		if (hub)
			collect_usb(path, found);
	}
}

/* Lists the consumers of a device from the kernel's directories beneath it. */
std::set<ConsumerKey> consumers_of(const std::string &address)
{
	std::set<ConsumerKey> found;
	for (const std::string &name : sysfs::list(sysfs::device_path(address, "net")))
		found.insert({pcipass::ConsumerKind::net_interface, name});
	for (const std::string &name : sysfs::list(sysfs::device_path(address, "drm"))) {
		if (name.starts_with("card") && name.find('-') == std::string::npos)
			found.insert({pcipass::ConsumerKind::drm_card, name});
	}
	for (const std::string &name : sysfs::list(sysfs::device_path(address))) {
		if (name.starts_with("usb"))
			collect_usb(sysfs::device_path(address, name), found);
	}
	return found;
}

std::set<ConsumerKey> consumers_in(const pcipass::Device &device)
{
	std::set<ConsumerKey> found;
	for (const pcipass::Consumer &consumer : device.consumers)
		found.insert({consumer.kind, consumer.name});
	return found;
}

std::vector<std::string> to_strings(const std::vector<pcipass::PciAddress> &addresses)
{
	std::vector<std::string> strings;
	for (const pcipass::PciAddress &address : addresses)
		strings.push_back(address.to_string());
	return strings;
}

} /* namespace */

TEST_CASE("graph: devices match the kernel")
{
	const pcipass::DeviceGraph graph = scan_live();
	const std::vector<std::string> addresses = sysfs::list("/sys/bus/pci/devices");
	CHECK(graph.devices().size() == addresses.size());

	for (const std::string &address : addresses) {
		INFO(address);
		auto parsed = pcipass::PciAddress::parse(address);
		REQUIRE(parsed.has_value());
		const pcipass::Device *device = graph.find(parsed.value());
		REQUIRE(device != nullptr);

		CHECK("0x" + device->vendor.to_string() == sysfs::read(sysfs::device_path(address, "vendor")));
		CHECK("0x" + device->device.to_string() == sysfs::read(sysfs::device_path(address, "device")));
		CHECK("0x" + device->class_code.to_string() ==
		      sysfs::read(sysfs::device_path(address, "class")));
		CHECK(device->driver == sysfs::link_name(sysfs::device_path(address, "driver")));
		CHECK(device->driver_override == override_of(address));
		CHECK(device->iommu_group == sysfs::iommu_group(address));
		CHECK("/" + device->sysfs_path == sysfs::real_path(sysfs::device_path(address)));
		CHECK(to_strings(device->parents) == parents_of(address));
		CHECK(device->has_reset == sysfs::exists(sysfs::device_path(address, "reset")));
		CHECK(consumers_in(*device) == consumers_of(address));
		CHECK(device->findings.empty());
	}
}

TEST_CASE("graph: groups match the kernel")
{
	const pcipass::DeviceGraph graph = scan_live();
	const std::vector<std::string> numbers = sysfs::list("/sys/kernel/iommu_groups");
	CHECK(graph.groups().size() == numbers.size());
	CHECK(graph.host().iommu_enabled == iommu_boot());

	for (const std::string &number : numbers) {
		INFO("group " << number);
		const pcipass::IommuGroup *group = graph.group(unsigned(std::stoul(number)));
		REQUIRE(group != nullptr);
		CHECK(to_strings(group->members) == sysfs::group_members(unsigned(std::stoul(number))));
		CHECK(group->device_node == sysfs::exists("/dev/vfio/" + number));
	}
}

TEST_CASE("graph: host facts match the kernel")
{
	const pcipass::DeviceGraph graph = scan_live();
	const pcipass::HostFacts &facts = graph.host();

	CHECK(facts.drivers == sysfs::list("/sys/bus/pci/drivers"));
	CHECK(facts.iommu_units == sysfs::list("/sys/class/iommu"));
	CHECK(facts.kernel_cmdline == sysfs::read("/proc/cmdline"));
	CHECK(facts.module_loaded("e1000e"));
	CHECK(!facts.module_loaded("vfio_pci"));
	CHECK(facts.driver_present("xhci_hcd"));
	CHECK(facts.hypervisor);
	CHECK(facts.findings.empty());
}

TEST_CASE("graph: the xhci function lists the hub and keyboard")
{
	const pcipass::DeviceGraph graph = scan_live();
	auto address = pcipass::PciAddress::parse(sysfs::find_device("1b36", "000d"));
	REQUIRE(address.has_value());
	const pcipass::Device *xhci = graph.find(address.value());
	REQUIRE(xhci != nullptr);

	unsigned hubs = 0;
	unsigned devices = 0;
	for (const pcipass::Consumer &consumer : xhci->consumers) {
		INFO(consumer.name << " " << consumer.description);
		if (consumer.kind == pcipass::ConsumerKind::usb_hub)
			++hubs;
		if (consumer.kind == pcipass::ConsumerKind::usb_device) {
			++devices;
			/* QEMU's usb-kbd: vendor 0627, product 0001. */
			CHECK(consumer.description.starts_with("0627:0001"));
		}
	}
	CHECK(hubs == 1);
	CHECK(devices == 1);
}

namespace {

/* Removes the VFs again when the test ends, also when a REQUIRE stops it early. */
struct VirtualFunctions {
	std::string pf;

	~VirtualFunctions()
	{
		(void)machine::wait_for_vf_probes(pf);
		(void)sysfs::write(sysfs::device_path(pf, "sriov_numvfs"), "0");
	}
};

} /* namespace */

TEST_CASE("graph: sr-iov links match the kernel")
{
	const std::string pf = sysfs::find_device("1b36", "0010");
	REQUIRE(sysfs::write(sysfs::device_path(pf, "sriov_numvfs"), "2") == 0);
	const VirtualFunctions created{pf};
	/* nvme's probe of each VF unbinds it when it fails; scan after that. */
	REQUIRE(machine::wait_for_vf_probes(pf));

	const pcipass::DeviceGraph graph = scan_live();
	auto pf_address = pcipass::PciAddress::parse(pf);
	REQUIRE(pf_address.has_value());
	const pcipass::Device *device = graph.find(pf_address.value());
	REQUIRE(device != nullptr);
	REQUIRE(device->sriov.has_value());
	CHECK(device->sriov->total_vfs == 4);
	CHECK(device->sriov->num_vfs == 2);
	CHECK(device->sriov->drivers_autoprobe);
	REQUIRE(device->sriov->vfs.size() == 2);

	for (unsigned n = 0; n < 2; ++n) {
		const pcipass::PciAddress vf = device->sriov->vfs[n];
		INFO("virtfn" << n << " " << vf.to_string());
		CHECK(sysfs::link_name(sysfs::device_path(pf, "virtfn" + std::to_string(n))) ==
		      vf.to_string());
		const pcipass::Device *vf_device = graph.find(vf);
		REQUIRE(vf_device != nullptr);
		CHECK(vf_device->physfn == pf_address.value());
		CHECK(vf_device->driver == sysfs::link_name(sysfs::device_path(vf.to_string(), "driver")));
		CHECK(vf_device->iommu_group == sysfs::iommu_group(vf.to_string()));
		CHECK(!vf_device->sriov.has_value());
		CHECK(graph.pf_of(vf) == device);
	}
	CHECK(graph.vfs_of(pf_address.value()).size() == 2);
}
