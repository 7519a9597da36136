/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Building the simulated kernel's state from a topology, checking that the
 * topology describes a host that can exist.
 */

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include <pcipass/graph.hpp>

#include "kernel.hpp"
#include "topology_rules.hpp"

namespace pcipass::sim::detail {

namespace {

Error invalid_topology(std::string message, std::string device = {})
{
	return make_error(errc::invalid_argument, "invalid topology: " + message, std::move(device));
}

std::string module_key(std::string_view name)
{
	std::string key(name);
	std::replace(key.begin(), key.end(), '-', '_');
	return key;
}

std::string root_name(PciAddress address)
{
	char buffer[32];
	std::snprintf(buffer, sizeof(buffer), "pci%04x:%02x", address.domain(), address.bus());
	return buffer;
}

/* The address of VF n from the PF's routing ID, offset and stride (PCIe SR-IOV). */
std::optional<PciAddress> vf_address(PciAddress pf, const testing::TopologySriov &sriov, unsigned n)
{
	const unsigned routing_id = (unsigned(pf.bus()) << 8) | (unsigned(pf.device()) << 3) |
				    pf.function();
	const unsigned vf = routing_id + sriov.first_vf_offset + n * sriov.vf_stride;
	if (vf > 0xffff)
		return std::nullopt;
	return PciAddress(pf.domain(), uint8_t(vf >> 8), uint8_t((vf >> 3) & 0x1f), uint8_t(vf & 7));
}

void insert_sorted(std::vector<int> &list, int index, const std::vector<Device> &devices)
{
	auto position = std::lower_bound(list.begin(), list.end(), index, [&](int a, int b) {
		return devices[a].topo.address < devices[b].topo.address;
	});
	list.insert(position, index);
}

} /* namespace */

result<Kernel> Kernel::load(const testing::Topology &topology, const Options &options)
{
	BOOST_OUTCOME_TRY(testing::validate_topology(topology));

	Kernel kernel;
	kernel.options_ = options;
	kernel.topology_ = topology;
	kernel.topology_.devices.clear();
	kernel.topology_.drivers.clear();

	for (const auto &name : topology.modules)
		kernel.modules_.push_back(module_key(name));
	for (const auto &name : topology.available_modules)
		kernel.available_modules_.push_back(module_key(name));

	for (const auto &topo : topology.drivers) {
		Driver driver;
		driver.name = topo.name;
		driver.module = module_key(topo.module);
		driver.ids = topo.ids;
		driver.dynamic_ids = topo.dynamic_ids;
		driver.sriov = topo.sriov;
		driver.probe_errno = topo.probe_errno;
		driver.vfio = is_vfio_driver(topo.name);
		driver.dma_owner_aware = is_dma_owner_aware_driver(topo.name);
		driver.loaded = driver.module.empty() ||
				std::find(kernel.modules_.begin(), kernel.modules_.end(),
					  driver.module) != kernel.modules_.end();
		driver.path = "sys/bus/pci/drivers/" + topo.name;
		kernel.drivers_.push_back(std::move(driver));
		if (kernel.drivers_.back().loaded)
			kernel.driver_order_.push_back(int(kernel.drivers_.size()) - 1);
	}

	/* Physical functions and other devices first, so VFs find their PF. */
	for (const auto &topo : topology.devices) {
		if (!topo.physfn) {
			BOOST_OUTCOME_TRY(kernel.add_device(topo));
		}
	}
	for (const auto &topo : topology.devices) {
		if (topo.physfn) {
			BOOST_OUTCOME_TRY(kernel.add_device(topo));
		}
	}

	/* Parents are resolved once every device exists. */
	for (size_t i = 0; i < kernel.devices_.size(); i++) {
		Device &device = kernel.devices_[i];
		if (device.pf != none) {
			device.parent = kernel.devices_[device.pf].parent;
			continue;
		}
		if (!device.topo.parent)
			continue;
		auto parent = kernel.by_address_.find(*device.topo.parent);
		if (parent == kernel.by_address_.end())
			return invalid_topology("the parent " + device.topo.parent->to_string() +
						" of " + device.name + " is not a device",
						device.name);
		device.parent = parent->second;
	}
	for (size_t i = 0; i < kernel.devices_.size(); i++) {
		/* A parent chain longer than the device count is a cycle. */
		int steps = 0;
		for (int p = kernel.devices_[i].parent; p != none; p = kernel.devices_[p].parent) {
			if (++steps > int(kernel.devices_.size()))
				return invalid_topology("the parent chain of " + kernel.devices_[i].name +
							" is a cycle",
							kernel.devices_[i].name);
		}
	}
	for (size_t i = 0; i < kernel.devices_.size(); i++)
		kernel.place(int(i));

	/* VFs enabled later must not land on another device's address. */
	for (size_t i = 0; i < kernel.devices_.size(); i++) {
		const Device &pf = kernel.devices_[i];
		if (!pf.topo.sriov)
			continue;
		for (unsigned n = 0; n < pf.topo.sriov->total_vfs; n++) {
			const PciAddress address = *vf_address(pf.topo.address, *pf.topo.sriov, n);
			auto other = kernel.by_address_.find(address);
			if (other != kernel.by_address_.end() && kernel.devices_[other->second].pf != int(i))
				return invalid_topology("VF " + std::to_string(n) + " of " + pf.name +
							" would take the address of " +
							kernel.devices_[other->second].name,
							pf.name);
		}
	}

	for (size_t i = 0; i < kernel.devices_.size(); i++) {
		kernel.add_consumers(int(i));
		if (!kernel.devices_[i].consumers.empty())
			kernel.consumer_devices_.push_back(int(i));
	}
	std::sort(kernel.consumer_devices_.begin(), kernel.consumer_devices_.end(), [&](int a, int b) {
		return kernel.devices_[a].topo.address < kernel.devices_[b].topo.address;
	});

	for (auto &device : kernel.devices_) {
		if (device.present && device.topo.iommu_group)
			insert_sorted(kernel.groups_[*device.topo.iommu_group],
				      int(&device - kernel.devices_.data()), kernel.devices_);
	}

	for (const auto &[path, holders] : topology.holders) {
		for (const auto &holder : holders)
			kernel.holders_[path].push_back(holder);
		std::sort(kernel.holders_[path].begin(), kernel.holders_[path].end(),
			  [](const Holder &a, const Holder &b) { return a.pid < b.pid; });
	}

	return kernel;
}

result<void> Kernel::add_device(const testing::TopologyDevice &topo)
{
	const std::string name = topo.address.to_string();

	Device device;
	device.topo = topo;
	device.name = name;
	device.override_name = topo.driver_override.empty()
				       ? std::nullopt
				       : std::optional<std::string>(topo.driver_override);
	device.reset_methods = topo.reset_methods;

	/* validate_topology() made sure the driver is listed and loaded. */
	if (!topo.driver.empty())
		device.driver = find_driver(topo.driver);

	if (topo.sriov) {
		if (topo.sriov->vf_stride == 0 && topo.sriov->total_vfs > 1)
			return invalid_topology("device " + name + " has sriov vf_stride 0", name);
		device.num_vfs = topo.sriov->num_vfs;
		device.autoprobe = topo.sriov->drivers_autoprobe;
		device.vfs.assign(topo.sriov->total_vfs, none);
		for (unsigned n = 0; n < topo.sriov->total_vfs; n++) {
			if (!vf_address(topo.address, *topo.sriov, n))
				return invalid_topology("VF " + std::to_string(n) + " of " + name +
							" would lie beyond bus ff",
							name);
		}
	}

	const int index = int(devices_.size());
	if (topo.physfn) {
		/* validate_topology() made sure the PF exists and the address is one of its VFs. */
		const int pf = by_address_.at(*topo.physfn);
		Device &physfn = devices_[pf];
		const unsigned n = *pcipass::detail::vf_index(physfn.topo, topo.address);
		device.pf = pf;
		device.vf_index = n;
		physfn.vfs[n] = index;
	}

	by_address_.emplace(topo.address, index);
	devices_.push_back(std::move(device));
	return success();
}

/* Computes the canonical path and files the device under its parent or root bus. */
void Kernel::place(int index)
{
	Device &device = devices_[index];
	if (!device.path.empty())
		return;

	if (device.parent != none) {
		place(device.parent);
		Device &parent = devices_[device.parent];
		device.path = parent.path + "/" + device.name;
		insert_sorted(parent.children, index, devices_);
		return;
	}

	const std::string root = root_name(device.topo.address);
	auto it = std::find_if(roots_.begin(), roots_.end(),
			       [&](const Root &r) { return r.name == root; });
	if (it == roots_.end()) {
		it = std::lower_bound(roots_.begin(), roots_.end(), root,
				      [](const Root &r, const std::string &name) { return r.name < name; });
		it = roots_.insert(it, Root{root, {}});
	}
	device.path = "sys/devices/" + root + "/" + device.name;
	insert_sorted(it->devices, index, devices_);
}

/* Creates or revives the slot of VF n of a PF, fresh and unbound, not yet on the bus. */
int Kernel::create_vf(int pf, unsigned n)
{
	if (devices_[pf].vfs[n] != none) {
		Device &vf = devices_[devices_[pf].vfs[n]];
		vf.driver = none;
		vf.override_name.reset();
		vf.reset_methods = vf.topo.reset_methods;
		return devices_[pf].vfs[n];
	}

	const Device &physfn = devices_[pf];
	const testing::TopologySriov &sriov = *physfn.topo.sriov;

	testing::TopologyDevice topo;
	topo.address = *vf_address(physfn.topo.address, sriov, n);
	topo.parent = physfn.topo.parent;
	topo.vendor = physfn.topo.vendor;
	topo.device = sriov.vf_device;
	topo.subsystem_vendor = physfn.topo.subsystem_vendor;
	topo.subsystem_device = physfn.topo.subsystem_device;
	topo.class_code = physfn.topo.class_code;
	topo.revision = physfn.topo.revision;
	topo.numa_node = physfn.topo.numa_node;
	/* SR-IOV requires function-level reset on every VF. */
	topo.reset_methods = {"flr"};
	topo.physfn = physfn.topo.address;
	if (sriov.first_vf_group)
		topo.iommu_group = *sriov.first_vf_group + n;
	else
		topo.iommu_group = physfn.topo.iommu_group;

	/* Absent until enable_vfs() adds it to the bus and its group. */
	Device vf;
	vf.present = false;
	vf.topo = topo;
	vf.name = topo.address.to_string();
	vf.reset_methods = topo.reset_methods;
	vf.pf = pf;
	vf.vf_index = n;
	vf.parent = physfn.parent;

	const int index = int(devices_.size());
	devices_.push_back(std::move(vf));
	devices_[pf].vfs[n] = index;
	by_address_.emplace(topo.address, index);
	place(index);
	return index;
}

int Kernel::find_driver(std::string_view name) const
{
	for (size_t i = 0; i < drivers_.size(); i++) {
		if (drivers_[i].name == name)
			return int(i);
	}
	return none;
}

int Kernel::module_of_name(std::string_view name) const
{
	const std::string key = module_key(name);
	for (size_t i = 0; i < modules_.size(); i++) {
		if (modules_[i] == key)
			return int(i);
	}
	return none;
}

int Kernel::find_device_by_name(std::string_view text) const
{
	/* sysfs_streq: one trailing newline is ignored, everything else must match exactly. */
	if (text.ends_with('\n'))
		text.remove_suffix(1);
	/* Only the form the kernel prints, "%04x:%02x:%02x.%d", lower case and no short form. */
	if (text.size() < 12 || text.size() > 16)
		return none;
	const size_t domain_digits = text.size() - 8;
	if (domain_digits > 4 && text[0] == '0')
		return none;

	auto hex = [&](size_t from, size_t count, uint32_t &value) {
		value = 0;
		for (size_t i = from; i < from + count; i++) {
			const char c = text[i];
			uint32_t digit;
			if (c >= '0' && c <= '9')
				digit = uint32_t(c - '0');
			else if (c >= 'a' && c <= 'f')
				digit = uint32_t(c - 'a' + 10);
			else
				return false;
			value = (value << 4) | digit;
		}
		return true;
	};
	uint32_t domain, bus, slot, function;
	if (!hex(0, domain_digits, domain) || text[domain_digits] != ':' ||
	    !hex(domain_digits + 1, 2, bus) || text[domain_digits + 3] != ':' ||
	    !hex(domain_digits + 4, 2, slot) || text[domain_digits + 6] != '.' ||
	    !hex(domain_digits + 7, 1, function) || slot > 0x1f || function > 7)
		return none;

	auto it = by_address_.find(PciAddress(domain, uint8_t(bus), uint8_t(slot), uint8_t(function)));
	if (it == by_address_.end() || !devices_[it->second].present)
		return none;
	return it->second;
}

} /* namespace pcipass::sim::detail */
