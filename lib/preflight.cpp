/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Preflight: everything that rejects a plan before its first write.
 */

#include <algorithm>

#include "graph_internal.hpp"
#include "plan_internal.hpp"
#include "sysfs_parse.hpp"
#include "sysfs_paths.hpp"
#include "topology_rules.hpp"

namespace pcipass::detail {

namespace {

/* A name modprobe accepts: letters, digits, '_' and '-' (which it reads as '_'). */
bool is_module_request(std::string_view name)
{
	return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
		return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		       c == '_' || c == '-';
	});
}

std::string hex2(unsigned value)
{
	static const char digits[] = "0123456789abcdef";
	std::string text = "0x";
	text += digits[(value >> 4) & 0xf];
	text += digits[value & 0xf];
	return text;
}

std::string iommu_off_message(const HostFacts &facts)
{
	const bool amd = facts.cpu_vendor == "AuthenticAMD";
	const std::string parameter = amd ? "amd_iommu=on" : "intel_iommu=on";
	const std::string firmware = amd ? "AMD-Vi (IOMMU)" : "VT-d";

	if (facts.kernel_cmdline.find(parameter) != std::string::npos)
		return "the IOMMU is off: no IOMMU groups exist although the kernel command line has " +
		       parameter + "; enable " + firmware + " in the firmware settings and reboot";

	return "the IOMMU is off: no IOMMU groups exist; add " + parameter +
	       " to the kernel command line (GRUB_CMDLINE_LINUX in /etc/default/grub, then "
	       "update-grub), make sure " + firmware + " is enabled in the firmware, and reboot";
}

/* " a device with 10de:1f02 is now at 0000:02:00.0" or an empty string. */
std::string where_is(const DeviceGraph &graph, const DeviceIdentity &identity, PciAddress except)
{
	std::vector<std::string> found;
	for (const Device *device : graph.find_by_id(identity.vendor, identity.device))
		if (device->address != except && !device->inaccessible)
			found.push_back(device->address.to_string());

	if (found.empty())
		return "; no device with " + identity.to_string() + " is present";

	std::string text = "; a device with " + identity.to_string() + " is now at " + found[0];
	for (size_t i = 1; i < found.size(); i++)
		text += (i + 1 == found.size() ? " and " : ", ") + found[i];
	return text;
}

std::string holders_text(const std::vector<Holder> &holders)
{
	std::string text;
	for (const auto &holder : holders) {
		if (!text.empty())
			text += ", ";
		text += (holder.command.empty() ? std::string("process") : holder.command) + " (pid " +
			std::to_string(holder.pid) + ")";
	}
	return text;
}

bool group_has_move(const Plan &plan, unsigned group)
{
	return std::any_of(plan.members.begin(), plan.members.end(), [&](const Member &member) {
		return member.group == group && member.action == MemberAction::move;
	});
}

/* An open /dev/vfio/N of a group the plan changes rejects the plan. */
void check_group_holders(const DeviceGraph &graph, Plan &plan)
{
	for (unsigned number : plan.groups) {
		const IommuGroup *group = graph.group(number);
		if (!group || group->holders.empty() || !group_has_move(plan, number))
			continue;

		std::string device;
		for (const auto &member : plan.members)
			if (member.group == number && member.requested)
				device = member.address.to_string();

		add_finding(plan, errc::device_in_use, device,
			    "dev/vfio/" + std::to_string(number) + " (IOMMU group " +
				    std::to_string(number) + ") is open by " +
				    holders_text(group->holders) +
				    "; stop that process or detach the devices from its virtual "
				    "machine first",
			    true);
	}
}

void check_consumers(const Request &request, std::span<const Ownership> claims,
		     const Device &device, Member &member, Plan &plan)
{
	const std::string bdf = device.address.to_string();

	for (const auto &consumer : device.consumers) {
		switch (consumer.kind) {
		case ConsumerKind::block_device:
			if (!consumer.mountpoint.empty())
				add_finding(plan, errc::device_in_use, bdf,
					    "block device " + name_in_message(consumer.name) + " on " + bdf + " is " +
						    block_device_use(consumer) + "; unmount it first",
					    true);
			break;
		case ConsumerKind::net_interface:
			if (consumer.default_route)
				add_finding(plan, errc::device_in_use, bdf,
					    "network interface " + name_in_message(consumer.name) + " on " + bdf +
						    " carries the default route; move the route to "
						    "another interface first",
					    true);
			break;
		case ConsumerKind::usb_device:
		case ConsumerKind::usb_hub: {
			const Ownership *claim = find_claim(claims, "usb:" + consumer.name);
			if (claim && claim->owner != request.owner)
				add_finding(plan, errc::device_in_use, bdf,
					    "USB device " + name_in_message(consumer.name) + " behind " + bdf +
						    " is held by owner " + quote_content(claim->owner) +
						    "; that owner must release it first",
					    true);
			break;
		}
		case ConsumerKind::framebuffer:
			if (request.options.release_framebuffer) {
				member.framebuffer = consumer.name;
				break;
			}
			add_finding(plan, errc::boot_framebuffer, bdf,
				    bdf + " is the boot GPU and the firmware framebuffer " +
					    name_in_message(consumer.name) +
					    " holds its memory; allow releasing the framebuffer "
					    "(--release-framebuffer; it is bound back on rollback and "
					    "release) or boot with video=efifb:off",
				    true);
			break;
		case ConsumerKind::drm_card:
			break;
		}
	}
}

void check_sriov(const DeviceGraph &graph, const Request &request,
		 std::span<const Ownership> claims, const Device &device, Plan &plan)
{
	if (!device.sriov || device.sriov->num_vfs == 0)
		return;

	const std::string bdf = device.address.to_string();
	if (!request.options.recreate_vfs) {
		add_finding(plan, errc::pf_has_vfs, bdf,
			    bdf + " is an SR-IOV physical function with " +
				    std::to_string(device.sriov->num_vfs) +
				    " live virtual functions, and vfio-pci rejects such a PF; "
				    "pass through a VF instead, or allow removing the VFs for the "
				    "move (--recreate-vfs; they come back on release)",
			    true);
		return;
	}

	for (const Device *vf : graph.vfs_of(device.address)) {
		const std::string vf_bdf = vf->address.to_string();
		const Ownership *claim = find_claim(claims, vf_bdf);
		if (claim)
			add_finding(plan, errc::device_in_use, bdf,
				    "virtual function " + vf_bdf + " of " + bdf + " is held by owner " +
					    quote_content(claim->owner) +
					    "; removing the VFs would take it away, so release it first",
				    true);

		const IommuGroup *group = vf->iommu_group ? graph.group(*vf->iommu_group) : nullptr;
		if (group && !group->holders.empty())
			add_finding(plan, errc::device_in_use, bdf,
				    "virtual function " + vf_bdf + " of " + bdf + " is in use: dev/vfio/" +
					    std::to_string(group->number) + " is open by " +
					    holders_text(group->holders) + "; stop that process first",
				    true);
	}
}

void check_reset(const DeviceGraph &graph, const Request &request, const Device &device,
		 Plan &plan)
{
	const std::string &method = request.options.reset_method;
	if (method.empty())
		return;

	const std::string bdf = device.address.to_string();
	const auto &methods = device.reset_methods;
	if (std::find(methods.begin(), methods.end(), method) == methods.end()) {
		std::string offered;
		for (const auto &name : methods)
			offered += (offered.empty() ? "" : ", ") + name_in_message(name);
		add_finding(plan, errc::reset_unsupported, bdf,
			    bdf + " does not offer the " + quote_content(method) + " reset method; " +
				    (offered.empty() ? std::string("it has no reset method")
						     : "it has: " + offered),
			    true);
		return;
	}

	if (method != "bus")
		return;

	/* A secondary bus reset hits every function on the bus, so all of them must move together. */
	std::string outside;
	for (const auto &other : graph.devices()) {
		if (other.address.domain() != device.address.domain() ||
		    other.address.bus() != device.address.bus() || plan.find(other.address))
			continue;
		outside += (outside.empty() ? "" : ", ") + other.address.to_string();
	}
	if (!outside.empty())
		add_finding(plan, errc::reset_unsupported, bdf,
			    "a bus reset of " + bdf + " would also reset " + outside +
				    ", which this transaction does not include; request them too",
			    true);
}

void check_claimed_group(std::span<const Ownership> claims, const Member &member, Plan &plan)
{
	const std::string bdf = member.address.to_string();
	const Ownership *claim = find_claim(claims, bdf);

	if (!claim || !claim->group || !member.group || *claim->group == *member.group)
		return;

	add_finding(plan, errc::no_iommu_group, bdf,
		    "the claim on " + bdf + " names IOMMU group " + std::to_string(*claim->group) +
			    " but the kernel now puts it in group " + std::to_string(*member.group) +
			    "; use dev/vfio/" + std::to_string(*member.group),
		    false);
}

} /* namespace */

void check_request_devices(const DeviceGraph &graph, const Request &request, Plan &plan)
{
	if (request.devices.empty())
		add_finding(plan, errc::invalid_argument, {}, "no device requested", true);
	if (request.driver.empty())
		add_finding(plan, errc::invalid_argument, {}, "no target driver given", true);
	/* The name becomes a directory under sys/bus/pci/drivers and a driver_override value. */
	else if (!is_plain_file_name(request.driver))
		add_finding(plan, errc::invalid_argument, {},
			    "invalid target driver " + quote_content(request.driver) +
				    ": expected a driver name such as 'vfio-pci', without '/' or whitespace",
			    true);
	/* The owner is stored in the ownership records and printed in reports. */
	if (!is_valid_owner(request.owner))
		add_finding(plan, errc::invalid_argument, {},
			    "invalid owner " + quote_content(request.owner) +
				    ": expected 1 to " + std::to_string(max_owner_size) +
				    " bytes of UTF-8 without control characters, such as a VM's name or UID",
			    true);
	if (!request.options.module.empty() && !is_module_request(request.options.module))
		add_finding(plan, errc::invalid_argument, {},
			    "invalid module name " + quote_content(request.options.module) +
				    ": expected letters, digits, '_' and '-' such as 'vfio_pci'",
			    true);

	if (!graph.host().iommu_enabled)
		add_finding(plan, errc::iommu_off, {}, iommu_off_message(graph.host()), true);

	for (const auto &requested : request.devices) {
		const std::string bdf = requested.address.to_string();
		const Device *device = graph.find(requested.address);

		if (!device) {
			std::string message = "no PCI device at " + bdf;
			if (requested.expected)
				message += where_is(graph, *requested.expected, requested.address);
			else
				message += "; check the address with 'pcipassctl list'";
			add_finding(plan, requested.expected ? errc::identity_mismatch : errc::not_found,
				    bdf, std::move(message), true);
			continue;
		}

		/* All-ones config space is no identity at all: never compare it or call it a new device. */
		if (device->inaccessible) {
			add_finding(plan, errc::device_inaccessible, bdf,
				    bdf + " is inaccessible: its config space reads all ones (D3cold "
					  "or surprise removal); wake it (write 'on' to its "
					  "power/control) or rescan the bus, then plan again",
				    true);
			continue;
		}

		const DeviceIdentity found{device->vendor, device->device};
		if (requested.expected && found != *requested.expected)
			add_finding(plan, errc::identity_mismatch, bdf,
				    bdf + " holds " + found.to_string() + ", not the expected " +
					    requested.expected->to_string() +
					    where_is(graph, *requested.expected, requested.address),
				    true);

		if (device->is_bridge()) {
			std::string below;
			for (const auto &other : graph.devices())
				if (!other.parents.empty() && other.parents.front() == device->address)
					below += (below.empty() ? "" : ", ") + other.address.to_string();
			add_finding(plan, errc::bridge_requested, bdf,
				    bdf + " is a bridge (header type " + hex2(device->header_type & 0x7f) +
					    ") and cannot be passed through; request the devices behind "
					    "it" + (below.empty() ? std::string() : " (" + below + ")") +
					    " instead",
				    true);
			continue;
		}

		if (graph.host().iommu_enabled && !device->iommu_group)
			add_finding(plan, errc::no_iommu_group, bdf,
				    bdf + " has no IOMMU group although the IOMMU is on; the platform "
					  "does not isolate it, so it cannot be passed through",
				    true);
	}
}

void check_bind_members(const DeviceGraph &graph, const Request &request,
			std::span<const Ownership> claims, Plan &plan)
{
	for (auto &member : plan.members) {
		const Device *device = graph.find(member.address);
		const std::string bdf = member.address.to_string();
		if (!device)
			continue;

		if (member.action == MemberAction::stay_bridge) {
			if (!member.before.driver.empty() &&
			    !is_dma_owner_aware_driver(member.before.driver))
				add_finding(plan, errc::not_viable, bdf,
					    "bridge " + bdf + " in IOMMU group " +
						    std::to_string(member.group.value_or(0)) +
						    " is on driver " + name_in_message(member.before.driver) +
						    ", which keeps the group from a VFIO user; bind it to "
						    "pcieport or unbind it first",
					    true);
			continue;
		}
		if (member.action != MemberAction::move && member.action != MemberAction::keep)
			continue;

		const Ownership *claim = find_claim(claims, bdf);
		if (claim && claim->owner != request.owner)
			add_finding(plan, errc::owned_by_other, bdf,
				    bdf + " is held by owner " + quote_content(claim->owner) + " (on " +
					    name_in_message(claim->driver) +
					    "); that owner must release it first",
				    true);
		check_claimed_group(claims, member, plan);

		if (member.requested)
			check_reset(graph, request, *device, plan);

		if (member.action != MemberAction::move)
			continue;

		if (device->inaccessible && !member.requested)
			add_finding(plan, errc::device_inaccessible, bdf,
				    bdf + ", in the same IOMMU group, is inaccessible: its config space "
					  "reads all ones; wake it or rescan the bus, then plan again",
				    true);

		check_consumers(request, claims, *device, member, plan);
		check_sriov(graph, request, claims, *device, plan);
	}

	check_group_holders(graph, plan);
}

void check_recorded_names(Plan &plan)
{
	for (const auto &member : plan.members) {
		if (member.action != MemberAction::move && member.action != MemberAction::keep)
			continue;
		const std::string bdf = member.address.to_string();
		for (const std::string *name : {&member.before.driver, &member.before.override})
			if (!name->empty() && !is_plain_file_name(*name))
				add_finding(plan, errc::malformed_attribute, bdf,
					    bdf + " is on driver or override " + quote_content(*name) +
						    ", which is not a plain UTF-8 driver name, so the "
						    "journal could not record it to restore it; check the "
						    "device's driver link and driver_override",
					    true);
	}
}

void check_release_members(const DeviceGraph &graph, const Request &request,
			   std::span<const Ownership> claims, Plan &plan)
{
	(void)request;

	for (const auto &member : plan.members) {
		const std::string bdf = member.address.to_string();
		const Device *device = graph.find(member.address);
		if (!device || member.action != MemberAction::move)
			continue;

		check_claimed_group(claims, member, plan);

		if (device->inaccessible)
			add_finding(plan, errc::device_inaccessible, bdf,
				    bdf + " is inaccessible: its config space reads all ones; wake it "
					  "or rescan the bus, then release again",
				    true);

		if (!member.after.driver.empty() && member.after.driver != member.before.driver &&
		    !graph.host().driver_present(member.after.driver))
			add_finding(plan, errc::driver_missing, bdf,
				    "the original driver " + name_in_message(member.after.driver) + " of " + bdf +
					    " is not loaded (" + quote_path(pci_driver_path(member.after.driver)) +
					    " is missing); load the module that provides it, then "
					    "release again",
				    true);
	}

	check_group_holders(graph, plan);
}

} /* namespace pcipass::detail */
