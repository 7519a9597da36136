/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The device graph snapshot: scan, refresh and the queries over it.
 */

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "graph_internal.hpp"
#include "hwdb.hpp"
#include "sysfs_parse.hpp"

namespace pcipass {

namespace {

/* Module names treat '-' and '_' alike ("vfio-pci" loads "vfio_pci"). */
std::string module_name(std::string_view name)
{
	std::string normalized(name);
	std::replace(normalized.begin(), normalized.end(), '-', '_');
	return normalized;
}

bool by_address(const std::shared_ptr<const Device> &device, PciAddress address)
{
	return device->address < address;
}

std::shared_ptr<const DeviceGraph::Data> empty_data()
{
	static const auto empty = std::make_shared<const DeviceGraph::Data>();
	return empty;
}

std::string holder_list(const std::vector<Holder> &holders)
{
	std::string text;
	for (const Holder &holder : holders) {
		if (!text.empty())
			text += ", ";
		text += detail::name_in_message(holder.command) + " (pid " + std::to_string(holder.pid) + ")";
	}
	return text;
}

/* The blockers a member's consumers raise: things a transaction must not take away. */
void consumer_blockers(const Device &member, std::vector<Blocker> &blockers)
{
	const std::string address = member.address.to_string();
	for (const Consumer &consumer : member.consumers) {
		if (consumer.kind == ConsumerKind::block_device && !consumer.mountpoint.empty())
			blockers.push_back({member.address, "consumer_in_use",
					    address + " holds " + detail::name_in_message(consumer.name) +
						    ", which is " +
						    detail::block_device_use(consumer) + "; unmount it first"});
		else if (consumer.kind == ConsumerKind::net_interface && consumer.default_route)
			blockers.push_back({member.address, "consumer_in_use",
					    address + " carries the default route on " +
						    detail::name_in_message(consumer.name) +
						    "; move the route to another interface first"});
		else if (consumer.kind == ConsumerKind::framebuffer)
			blockers.push_back({member.address, "boot_framebuffer",
					    address + " is the boot GPU and " + detail::name_in_message(consumer.name) +
						    " holds its memory; release the framebuffer first"});
	}
}

bool is_vfio_like_target(std::string_view driver)
{
	return is_vfio_driver(driver) || driver == "pci-stub";
}

} /* namespace */

std::string_view consumer_kind_name(ConsumerKind kind)
{
	switch (kind) {
	case ConsumerKind::usb_device: return "usb_device";
	case ConsumerKind::usb_hub: return "usb_hub";
	case ConsumerKind::net_interface: return "net_interface";
	case ConsumerKind::block_device: return "block_device";
	case ConsumerKind::drm_card: return "drm_card";
	case ConsumerKind::framebuffer: return "framebuffer";
	}
	return "unknown";
}

std::string_view readiness_state_name(Readiness::State state)
{
	switch (state) {
	case Readiness::State::ready: return "ready";
	case Readiness::State::in_use: return "in_use";
	case Readiness::State::claimable: return "claimable";
	case Readiness::State::blocked: return "blocked";
	}
	return "unknown";
}

bool is_vfio_driver(std::string_view driver)
{
	/* vfio-pci, and variant drivers named after it (mlx5_vfio_pci, hisi_acc_vfio_pci, ...). */
	return driver == "vfio-pci" || driver.ends_with("_vfio_pci") || driver.ends_with("-vfio-pci");
}

bool is_dma_owner_aware_driver(std::string_view driver)
{
	return is_vfio_driver(driver) || driver == "pci-stub" || driver == "pcieport";
}

bool HostFacts::module_loaded(std::string_view name) const
{
	const std::string wanted = module_name(name);
	return std::any_of(modules.begin(), modules.end(),
			   [&](const std::string &module) { return module_name(module) == wanted; });
}

bool HostFacts::driver_present(std::string_view name) const
{
	return std::binary_search(drivers.begin(), drivers.end(), name);
}

DeviceGraph::DeviceGraph() : data_(empty_data()) {}

DeviceGraph::DeviceGraph(std::shared_ptr<const Data> data) : data_(std::move(data)) {}

result<DeviceGraph> DeviceGraph::scan(Host &host, const ScanOptions &options)
{
	detail::HostContext context = detail::read_host_context(host, options);
	std::vector<Finding> host_findings;

	detail::DeviceScanner scanner(host, options, context, host_findings);
	BOOST_OUTCOME_TRY(auto devices, scanner.scan_all());

	std::vector<Device *> pointers;
	std::unordered_map<PciAddress, const Device *> lookup;
	for (Device &device : devices) {
		pointers.push_back(&device);
		lookup.emplace(device.address, &device);
	}
	detail::link_sriov(pointers, host, [&](PciAddress address) -> const Device * {
		const auto found = lookup.find(address);
		return found == lookup.end() ? nullptr : found->second;
	});
	detail::fill_names(pointers, options);

	auto data = std::make_shared<Data>();
	data->devices.reserve(devices.size());
	for (Device &device : devices)
		data->devices.push_back(std::make_shared<const Device>(std::move(device)));

	data->host = std::move(context.facts);
	data->groups = detail::build_groups(data->devices, host, options, context, std::nullopt, {},
					    host_findings);
	data->host.findings.insert(data->host.findings.end(), host_findings.begin(),
				   host_findings.end());

	return DeviceGraph(std::move(data));
}

result<DeviceGraph> DeviceGraph::refresh(Host &host, std::span<const PciAddress> changed,
					 const ScanOptions &options) const
{
	detail::HostContext context = detail::read_host_context(host, options);
	std::vector<Finding> host_findings;
	detail::DeviceScanner scanner(host, options, context, host_findings);

	std::map<PciAddress, std::shared_ptr<const Device>> kept;
	for (const auto &device : data_->devices)
		kept.emplace(device->address, device);

	std::set<unsigned> touched_groups;
	std::vector<PciAddress> queue(changed.begin(), changed.end());
	std::set<PciAddress> queued(changed.begin(), changed.end());
	std::vector<Device> fresh;

	for (size_t i = 0; i < queue.size(); i++) {
		const PciAddress address = queue[i];
		const auto old = kept.find(address);
		const Device *previous = old == kept.end() ? nullptr : old->second.get();
		if (previous && previous->iommu_group)
			touched_groups.insert(*previous->iommu_group);

		auto device = scanner.scan_one(address, previous ? previous->sysfs_path : std::string());
		if (!device) {
			kept.erase(address);
			continue;
		}
		if (device->iommu_group)
			touched_groups.insert(*device->iommu_group);

		/* A PF whose VF count changed brings new VFs and takes old ones away. */
		std::set<PciAddress> current_vfs;
		if (device->sriov)
			current_vfs.insert(device->sriov->vfs.begin(), device->sriov->vfs.end());
		for (PciAddress vf : current_vfs)
			if (!kept.contains(vf) && queued.insert(vf).second)
				queue.push_back(vf);
		if (previous && previous->sriov) {
			for (PciAddress vf : previous->sriov->vfs) {
				if (current_vfs.contains(vf) || queued.contains(vf))
					continue;
				const auto gone = kept.find(vf);
				if (gone == kept.end())
					continue;
				if (gone->second->iommu_group)
					touched_groups.insert(*gone->second->iommu_group);
				kept.erase(gone);
			}
		}

		kept[address] = nullptr;
		fresh.push_back(std::move(*device));
	}

	std::vector<Device *> pointers;
	std::unordered_map<PciAddress, const Device *> fresh_lookup;
	for (Device &device : fresh) {
		pointers.push_back(&device);
		fresh_lookup.emplace(device.address, &device);
	}
	detail::link_sriov(pointers, host, [&](PciAddress address) -> const Device * {
		const auto found = fresh_lookup.find(address);
		if (found != fresh_lookup.end())
			return found->second;
		const auto old = kept.find(address);
		return old == kept.end() ? nullptr : old->second.get();
	});
	detail::fill_names(pointers, options);

	for (Device &device : fresh) {
		const PciAddress address = device.address;
		kept[address] = std::make_shared<const Device>(std::move(device));
	}

	auto data = std::make_shared<Data>();
	data->devices.reserve(kept.size());
	for (auto &[address, device] : kept)
		data->devices.push_back(std::move(device));

	data->host = std::move(context.facts);
	data->groups = detail::build_groups(data->devices, host, options, context, touched_groups,
					    data_->groups, host_findings);
	data->host.findings.insert(data->host.findings.end(), host_findings.begin(),
				   host_findings.end());

	return DeviceGraph(std::move(data));
}

DeviceGraph::DeviceRange DeviceGraph::devices() const
{
	return {DeviceIterator(data_->devices.begin()), DeviceIterator(data_->devices.end())};
}

const std::vector<IommuGroup> &DeviceGraph::groups() const
{
	return data_->groups;
}

const HostFacts &DeviceGraph::host() const
{
	return data_->host;
}

const Device *DeviceGraph::find(PciAddress address) const
{
	const auto &devices = data_->devices;
	const auto found = std::lower_bound(devices.begin(), devices.end(), address, by_address);
	if (found == devices.end() || (*found)->address != address)
		return nullptr;
	return found->get();
}

const IommuGroup *DeviceGraph::group(unsigned number) const
{
	const auto &groups = data_->groups;
	const auto found = std::lower_bound(groups.begin(), groups.end(), number,
					    [](const IommuGroup &group, unsigned wanted) {
						    return group.number < wanted;
					    });
	if (found == groups.end() || found->number != number)
		return nullptr;
	return &*found;
}

std::vector<const Device *> DeviceGraph::group_members_of(PciAddress address) const
{
	const Device *device = find(address);
	if (!device)
		return {};

	const IommuGroup *members = device->iommu_group ? group(*device->iommu_group) : nullptr;
	if (!members)
		return {device};

	std::vector<const Device *> result;
	for (PciAddress member : members->members)
		if (const Device *found = find(member))
			result.push_back(found);
	return result;
}

std::vector<const Device *> DeviceGraph::bridges() const
{
	std::vector<const Device *> result;
	for (const auto &device : data_->devices)
		if (device->is_bridge())
			result.push_back(device.get());
	return result;
}

const Device *DeviceGraph::pf_of(PciAddress vf) const
{
	const Device *device = find(vf);
	if (!device || !device->physfn)
		return nullptr;
	return find(*device->physfn);
}

std::vector<const Device *> DeviceGraph::vfs_of(PciAddress pf) const
{
	const Device *device = find(pf);
	if (!device || !device->sriov)
		return {};

	std::vector<const Device *> result;
	for (PciAddress vf : device->sriov->vfs)
		if (const Device *found = find(vf))
			result.push_back(found);
	return result;
}

std::vector<const Device *> DeviceGraph::slot_siblings(PciAddress address) const
{
	const auto &devices = data_->devices;
	auto it = std::lower_bound(devices.begin(), devices.end(), address.with_function(0), by_address);

	std::vector<const Device *> result;
	for (; it != devices.end() && (*it)->address <= address.with_function(7); ++it)
		if ((*it)->address != address)
			result.push_back(it->get());
	return result;
}

std::vector<const Device *> DeviceGraph::find_by_id(VendorId vendor, DeviceId device) const
{
	std::vector<const Device *> result;
	for (const auto &candidate : data_->devices)
		if (candidate->vendor == vendor && candidate->device == device)
			result.push_back(candidate.get());
	return result;
}

Viability DeviceGraph::viability(unsigned number, std::string_view target_driver) const
{
	Viability viability;
	const IommuGroup *members = group(number);
	if (!members) {
		viability.blockers.push_back({PciAddress(), "not_found",
					      "IOMMU group " + std::to_string(number) +
						      " does not exist; run 'pcipassctl list' for the groups"});
		return viability;
	}

	const std::string target(target_driver);
	bool changes_needed = false;

	for (PciAddress address : members->members) {
		const Device *member = find(address);
		if (!member)
			continue;

		if (!member->driver || *member->driver == target)
			continue;
		if (is_dma_owner_aware_driver(*member->driver))
			continue;

		/* A plan never moves a bridge, so its driver has to change by hand. */
		if (member->is_bridge() && !member->inaccessible) {
			viability.blockers.push_back(
				{address, "bridge_driver",
				 "bridge " + address.to_string() + " in IOMMU group " +
					 std::to_string(number) + " is on driver " + *member->driver +
					 ", which is not DMA-owner-aware; bind it to pcieport or unbind it first"});
			continue;
		}

		changes_needed = true;
		if (!is_vfio_like_target(target))
			continue;

		/* Drivers that do not declare DMA ownership keep a VFIO user out of the group. */
		viability.blockers.push_back(
			{address, "host_driver",
			 address.to_string() + " is bound to " + *member->driver +
				 ", which is not DMA-owner-aware; move it to " + target +
				 " with the rest of group " + std::to_string(number)});
		consumer_blockers(*member, viability.blockers);
	}

	/*
	 * An open group is in use: its VFIO user blocks any driver change,
	 * and a driver that is not DMA-owner-aware cannot bind into it at all.
	 */
	if (!members->holders.empty() && (changes_needed || !is_vfio_like_target(target))) {
		const PciAddress first = members->members.empty() ? PciAddress() : members->members.front();
		viability.blockers.push_back(
			{first, "vfio_group_open",
			 "/dev/vfio/" + std::to_string(number) + " is open by " +
				 holder_list(members->holders) + "; stop that VFIO user first"});
	}

	viability.viable = viability.blockers.empty();
	return viability;
}

Readiness DeviceGraph::readiness(PciAddress address, std::string_view target_driver) const
{
	Readiness readiness;
	const std::string target(target_driver);
	const Device *device = find(address);
	if (!device) {
		readiness.blockers.push_back({address, "not_found",
					      "no PCI function " + address.to_string() +
						      "; run 'pcipassctl list' for the addresses"});
		return readiness;
	}

	const std::string name = address.to_string();
	auto block = [&](std::string reason, std::string message) {
		readiness.blockers.push_back({address, std::move(reason), std::move(message)});
	};

	if (!data_->host.iommu_enabled)
		block("iommu_off", "the IOMMU is off, so " + name +
					   " has no group; run 'pcipassctl doctor' for how to turn it on");
	else if (!device->iommu_group)
		block("no_iommu_group", name + " has no IOMMU group; run 'pcipassctl doctor " + name + "'");
	if (device->is_bridge())
		block("bridge", name + " is a bridge (header type " + std::to_string(device->header_type & 0x7f) +
					"); pass through the endpoints behind it instead");
	if (device->inaccessible)
		block("inaccessible", name + " reads all ones in config space (D3cold or removed); "
					     "wake or rescan it first");
	if (device->sriov && device->sriov->num_vfs > 0 && !is_vfio_driver(device->driver.value_or("")))
		block("pf_has_vfs", name + " has " + std::to_string(device->sriov->num_vfs) +
					    " VFs enabled and vfio-pci refuses such a PF; write 0 to its "
					    "sriov_numvfs first or pass through the VFs");

	/*
	 * The same members plan_bind() moves: every endpoint not already on the
	 * target, a driverless one too, except other members on a DMA-owner-aware
	 * driver. The device itself moves from any driver but the target.
	 */
	for (const Device *member : group_members_of(address)) {
		const bool is_self = member->address == address;
		if (member->is_bridge() && !member->inaccessible)
			continue;
		if (member->driver == target)
			continue;
		if (!is_self && member->driver && is_dma_owner_aware_driver(*member->driver))
			continue;

		readiness.moves.push_back(member->address);
		consumer_blockers(*member, readiness.blockers);
		if (member->inaccessible && !is_self)
			readiness.blockers.push_back(
				{member->address, "inaccessible",
				 member->address.to_string() + ", in the same IOMMU group as " + name +
					 ", reads all ones in config space (D3cold or removed); wake or "
					 "rescan it first"});
	}

	/* Bridges in the group that a claim cannot move but that keep a VFIO user out. */
	if (device->iommu_group)
		for (Blocker &blocker : viability(*device->iommu_group, target).blockers)
			if (blocker.reason == "bridge_driver")
				readiness.blockers.push_back(std::move(blocker));

	const IommuGroup *group_info = device->iommu_group ? group(*device->iommu_group) : nullptr;
	if (group_info && !group_info->holders.empty() && !readiness.moves.empty())
		block("vfio_group_open", "/dev/vfio/" + std::to_string(group_info->number) + " is open by " +
						 holder_list(group_info->holders) +
						 "; stop that VFIO user first");

	if (!readiness.blockers.empty())
		readiness.state = Readiness::State::blocked;
	else if (!readiness.moves.empty())
		readiness.state = Readiness::State::claimable;
	else if (group_info && !group_info->holders.empty())
		readiness.state = Readiness::State::in_use;
	else
		readiness.state = Readiness::State::ready;
	return readiness;
}

} /* namespace pcipass */

namespace pcipass::detail {

std::string block_device_use(const Consumer &consumer)
{
	if (consumer.mountpoint == "[swap]")
		return "in use as swap";
	if (consumer.mountpoint == unknown_mountpoint)
		return "possibly mounted (proc/mounts could not be read; check it)";
	return "mounted at " + quote_path(consumer.mountpoint);
}

void fill_names(std::vector<Device *> &devices, const ScanOptions &options)
{
	if (!options.names || devices.empty())
		return;

	HardwareDatabase hwdb;
	if (!hwdb.available())
		return;

	for (Device *device : devices) {
		const HardwareDatabase::Names &names = hwdb.pci_names(device->vendor, device->device);
		device->vendor_name = names.vendor;
		device->device_name = names.device;
	}
}

std::vector<IommuGroup> build_groups(const std::vector<std::shared_ptr<const Device>> &devices,
				     Host &host, const ScanOptions &options,
				     const HostContext &context,
				     const std::optional<std::set<unsigned>> &reread,
				     const std::vector<IommuGroup> &previous,
				     std::vector<Finding> &host_findings)
{
	/* Devices are sorted, so members come out sorted. */
	std::map<unsigned, IommuGroup> groups;
	for (const auto &device : devices) {
		if (!device->iommu_group)
			continue;
		IommuGroup &group = groups[*device->iommu_group];
		group.number = *device->iommu_group;
		group.members.push_back(device->address);
	}

	std::vector<IommuGroup> result;
	result.reserve(groups.size());
	for (auto &[number, group] : groups) {
		group.device_node = context.vfio_nodes.contains(number);
		if (group.device_node && options.holders) {
			const bool read_again = !reread || reread->contains(number);
			const auto old = std::lower_bound(previous.begin(), previous.end(), number,
							  [](const IommuGroup &candidate, unsigned wanted) {
								  return candidate.number < wanted;
							  });
			if (!read_again && old != previous.end() && old->number == number) {
				group.holders = old->holders;
			} else {
				const std::string path = "dev/vfio/" + std::to_string(number);
				auto holders = host.holders(path);
				if (holders)
					group.holders = std::move(holders).value();
				else
					host_findings.push_back(make_finding("holders", path, holders.error()));
			}
		}
		result.push_back(std::move(group));
	}
	return result;
}

} /* namespace pcipass::detail */
