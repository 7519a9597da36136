/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Group closure and step ordering for bind, release and reconcile plans.
 */

#include <pcipass/plan.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "plan_internal.hpp"
#include "sysfs_parse.hpp"
#include "sysfs_paths.hpp"

namespace pcipass {

std::string DeviceIdentity::to_string() const
{
	return id_pair_string(vendor, device);
}

result<DeviceIdentity> DeviceIdentity::parse(std::string_view text) noexcept
{
	const size_t colon = text.find(':');
	if (colon == std::string_view::npos)
		return make_error(errc::invalid_argument,
				  "invalid device identity " + detail::quote_content(text) +
					  ": expected vendor:device such as 10de:1f02");

	BOOST_OUTCOME_TRY(auto vendor, VendorId::parse(text.substr(0, colon)));
	BOOST_OUTCOME_TRY(auto device, DeviceId::parse(text.substr(colon + 1)));

	return DeviceIdentity{vendor, device};
}

std::string_view operation_name(Operation operation)
{
	switch (operation) {
	case Operation::bind: return "bind";
	case Operation::release: return "release";
	case Operation::reconcile: return "reconcile";
	case Operation::recover: return "recover";
	}
	return "unknown";
}

std::string_view member_action_name(MemberAction action)
{
	switch (action) {
	case MemberAction::move: return "move";
	case MemberAction::keep: return "keep";
	case MemberAction::stay_bridge: return "stay_bridge";
	case MemberAction::stay_owner_aware: return "stay_owner_aware";
	case MemberAction::vanish: return "vanish";
	}
	return "unknown";
}

namespace {

constexpr std::pair<StepKind, std::string_view> step_kind_names[] = {
	{StepKind::load_module, "load_module"},
	{StepKind::unbind_framebuffer, "unbind_framebuffer"},
	{StepKind::bind_framebuffer, "bind_framebuffer"},
	{StepKind::set_num_vfs, "set_num_vfs"},
	{StepKind::set_override, "set_override"},
	{StepKind::unbind, "unbind"},
	{StepKind::bind, "bind"},
	{StepKind::probe, "probe"},
};

} /* namespace */

std::string_view step_kind_name(StepKind kind)
{
	for (const auto &[value, name] : step_kind_names)
		if (value == kind)
			return name;
	return "unknown";
}

result<StepKind> parse_step_kind(std::string_view name) noexcept
{
	for (const auto &[value, known] : step_kind_names)
		if (known == name)
			return value;
	return make_error(errc::invalid_argument, "unknown step kind " + detail::quote_content(name));
}

std::string Step::describe() const
{
	/* Device, driver and value may come from a journal, so unusual names are quoted. */
	using detail::name_in_message;

	switch (kind) {
	case StepKind::load_module:
		return "load module " + name_in_message(driver);
	case StepKind::unbind_framebuffer:
		return "unbind framebuffer " + name_in_message(device) + " from " + name_in_message(driver);
	case StepKind::bind_framebuffer:
		return "bind framebuffer " + name_in_message(device) + " to " + name_in_message(driver);
	case StepKind::set_num_vfs:
		return "set sriov_numvfs of " + name_in_message(device) + " to " + name_in_message(value);
	case StepKind::set_override:
		if (value == "\n")
			return "clear driver_override of " + name_in_message(device);
		return "set driver_override of " + name_in_message(device) + " to " + name_in_message(value);
	case StepKind::unbind:
		return "unbind " + name_in_message(device) + " from " + name_in_message(driver);
	case StepKind::bind:
		return "bind " + name_in_message(device) + " to " + name_in_message(driver);
	case StepKind::probe:
		return "probe " + name_in_message(device) + " for a driver";
	}
	return "unknown step";
}

bool Plan::blocked() const
{
	return std::any_of(findings.begin(), findings.end(),
			   [](const PreflightFinding &finding) { return finding.blocking; });
}

result<void> Plan::check() const
{
	const PreflightFinding *first = nullptr;
	size_t others = 0;

	for (const auto &finding : findings) {
		if (!finding.blocking)
			continue;
		if (first)
			others++;
		else
			first = &finding;
	}

	if (!first)
		return success();

	std::string message = first->message;
	if (others == 1)
		message += " (and 1 more problem: see the plan)";
	else if (others > 1)
		message += " (and " + std::to_string(others) + " more problems: see the plan)";

	Error error = make_error(first->code, std::move(message), first->device);
	error.step = "preflight";
	return error;
}

const Member *Plan::find(PciAddress address) const
{
	for (const auto &member : members)
		if (member.address == address)
			return &member;
	return nullptr;
}

std::string module_for_driver(std::string_view driver, std::string_view module)
{
	if (!module.empty())
		return std::string(module);

	std::string name(driver);
	std::replace(name.begin(), name.end(), '-', '_');
	return name;
}

namespace detail {

std::pair<std::string, std::string> framebuffer_platform(std::string_view consumer)
{
	if (consumer == "efifb")
		return {"efi-framebuffer", "efi-framebuffer.0"};
	if (consumer == "simpledrm" || consumer == "simplefb")
		return {"simple-framebuffer", "simple-framebuffer.0"};
	if (consumer == "vesafb")
		return {"vesa-framebuffer", "vesa-framebuffer.0"};

	const size_t dot = consumer.rfind('.');
	if (dot != std::string_view::npos && dot > 0)
		return {std::string(consumer.substr(0, dot)), std::string(consumer)};

	return {std::string(consumer), std::string(consumer) + ".0"};
}

DeviceState state_of(const Device &device)
{
	return {device.driver.value_or(""), device.driver_override.value_or("")};
}

const Ownership *find_claim(std::span<const Ownership> claims, std::string_view device)
{
	for (const auto &claim : claims)
		if (claim.device == device)
			return &claim;
	return nullptr;
}

Step make_override_step(const std::string &bdf, const std::string &override)
{
	/* "\n" rather than an empty write: 5.19 to 6.0 stored an empty override that matches nothing. */
	return {StepKind::set_override, bdf, pci_device_path(bdf, "driver_override"),
		override.empty() ? "\n" : override, {}};
}

Step make_unbind_step(const std::string &bdf, const std::string &driver)
{
	return {StepKind::unbind, bdf, pci_driver_path(driver, "unbind"), bdf, driver};
}

Step make_bind_step(const std::string &bdf, const std::string &driver)
{
	return {StepKind::bind, bdf, pci_driver_path(driver, "bind"), bdf, driver};
}

Step make_probe_step(const std::string &bdf)
{
	return {StepKind::probe, bdf, std::string(pci_drivers_probe), bdf, {}};
}

Step make_num_vfs_step(const std::string &bdf, unsigned count)
{
	return {StepKind::set_num_vfs, bdf, pci_device_path(bdf, "sriov_numvfs"),
		std::to_string(count), {}};
}

Step make_framebuffer_step(const std::string &consumer, bool bind)
{
	auto [driver, device] = framebuffer_platform(consumer);
	if (bind)
		return {StepKind::bind_framebuffer, device, platform_driver_path(driver, "bind"),
			device, driver};
	return {StepKind::unbind_framebuffer, device, platform_driver_path(driver, "unbind"), device,
		driver};
}

Step make_module_step(const std::string &driver, const std::string &module)
{
	Step step;
	step.kind = StepKind::load_module;
	step.driver = module;
	step.path = pci_driver_path(driver);
	return step;
}

/*
 * The writes that take one function from one binding to another, with
 * their inverses. The override is pinned to the new driver first. Then,
 * once the old driver lets go, only the new one can attach, and an
 * explicit bind works where the kernel needs an override (a VF whose PF
 * has sriov_drivers_autoprobe 0). The override gets its final value last.
 * A rollback uses the same order, with the recorded binding as the new
 * one. An empty after.driver with probe_when_unknown lets the kernel
 * choose (a release without a record).
 */
std::vector<PlannedStep> transition_steps(const std::string &bdf, const DeviceState &before,
					  const DeviceState &after, bool probe_when_unknown)
{
	std::vector<PlannedStep> steps;

	if (before.driver == after.driver && !probe_when_unknown) {
		if (before.override != after.override)
			steps.push_back({make_override_step(bdf, after.override),
					 make_override_step(bdf, before.override)});
		return steps;
	}

	const std::string &pin = after.driver.empty() ? after.override : after.driver;
	if (before.override != pin)
		steps.push_back({make_override_step(bdf, pin), make_override_step(bdf, before.override)});

	if (!before.driver.empty())
		steps.push_back({make_unbind_step(bdf, before.driver),
				 make_bind_step(bdf, before.driver)});

	if (!after.driver.empty())
		steps.push_back({make_bind_step(bdf, after.driver), make_unbind_step(bdf, after.driver)});
	else if (probe_when_unknown)
		steps.push_back({make_probe_step(bdf), std::nullopt});

	if (pin != after.override)
		steps.push_back({make_override_step(bdf, after.override), make_override_step(bdf, pin)});

	return steps;
}

void add_finding(Plan &plan, errc code, std::string device, std::string message, bool blocking)
{
	for (const auto &finding : plan.findings)
		if (finding.code == code && finding.device == device && finding.message == message)
			return;
	plan.findings.push_back({code, std::move(device), std::move(message), blocking});
}

void add_group(Plan &plan, std::optional<unsigned> group)
{
	if (group && std::find(plan.groups.begin(), plan.groups.end(), *group) == plan.groups.end()) {
		plan.groups.push_back(*group);
		std::sort(plan.groups.begin(), plan.groups.end());
	}
}

} /* namespace detail */

using namespace detail;

namespace {

Member make_member(const Device &device, bool requested)
{
	Member member;
	member.address = device.address;
	member.group = device.iommu_group;
	member.identity = {device.vendor, device.device};
	member.requested = requested;
	member.before = state_of(device);
	member.after = member.before;
	if (device.sriov) {
		member.num_vfs_before = device.sriov->num_vfs;
		member.num_vfs_after = device.sriov->num_vfs;
	}
	return member;
}

bool is_requested(const Request &request, PciAddress address)
{
	return std::any_of(request.devices.begin(), request.devices.end(),
			   [&](const RequestedDevice &device) { return device.address == address; });
}

/* Every function of each requested device's group, or the device alone without a group. */
std::vector<const Device *> closure_of(const DeviceGraph &graph, const Request &request)
{
	std::vector<const Device *> closure;
	std::set<PciAddress> seen;

	for (const auto &requested : request.devices) {
		if (!graph.find(requested.address))
			continue;
		for (const Device *member : graph.group_members_of(requested.address))
			if (seen.insert(member->address).second)
				closure.push_back(member);
	}

	std::sort(closure.begin(), closure.end(),
		  [](const Device *a, const Device *b) { return a->address < b->address; });
	return closure;
}

void sort_members(Plan &plan)
{
	std::sort(plan.members.begin(), plan.members.end(),
		  [](const Member &a, const Member &b) { return a.address < b.address; });
}

/* Decides what happens to one group member of a bind plan. */
void classify_for_bind(const DeviceGraph &graph, const Request &request, const Device &device,
		       const std::set<PciAddress> &vanishing, Member &member)
{
	const std::string &target = request.driver;

	/* All-ones config space reads as header type 0x7f: no bridge, an endpoint preflight rejects. */
	if (device.is_bridge() && !device.inaccessible) {
		member.action = MemberAction::stay_bridge;
		return;
	}
	if (vanishing.count(device.address)) {
		member.action = MemberAction::vanish;
		return;
	}
	if (member.before.driver == target) {
		member.action = MemberAction::keep;
		return;
	}
	/* A requested device moves from any driver, pci-stub included, because the caller named it. */
	if (!member.requested && !member.before.driver.empty() &&
	    is_dma_owner_aware_driver(member.before.driver)) {
		member.action = MemberAction::stay_owner_aware;
		return;
	}

	(void)graph;
	member.action = MemberAction::move;
	member.after = {target, target};
}

/* The VFs that go away because their PF's sriov_numvfs is set to 0. */
std::set<PciAddress> vanishing_vfs(const DeviceGraph &graph, const Request &request,
				   const std::vector<const Device *> &closure)
{
	std::set<PciAddress> vanishing;

	if (!request.options.recreate_vfs)
		return vanishing;

	for (const Device *device : closure) {
		if (!device->sriov || device->sriov->num_vfs == 0 || device->driver == request.driver)
			continue;
		for (const Device *vf : graph.vfs_of(device->address))
			vanishing.insert(vf->address);
	}
	return vanishing;
}

Plan new_plan(Operation operation, const Request &request)
{
	Plan plan;
	plan.operation = operation;
	plan.driver = request.driver;
	plan.owner = request.owner;
	plan.options = request.options;
	return plan;
}

void add_member_steps(Plan &plan, const Member &member)
{
	const std::string bdf = member.address.to_string();
	for (auto &step : transition_steps(bdf, member.before, member.after, false))
		plan.steps.push_back(std::move(step));
}

} /* namespace */

Plan plan_bind(const DeviceGraph &graph, const Request &request,
	       std::span<const Ownership> claims)
{
	Plan plan = new_plan(Operation::bind, request);

	check_request_devices(graph, request, plan);

	const auto closure = closure_of(graph, request);
	const auto vanishing = vanishing_vfs(graph, request, closure);

	for (const Device *device : closure) {
		Member member = make_member(*device, is_requested(request, device->address));
		classify_for_bind(graph, request, *device, vanishing, member);
		add_group(plan, member.group);
		plan.members.push_back(std::move(member));
	}
	sort_members(plan);

	check_bind_members(graph, request, claims, plan);
	check_recorded_names(plan);

	const bool moves = std::any_of(plan.members.begin(), plan.members.end(), [](const Member &m) {
		return m.action == MemberAction::move;
	});

	if (moves && !graph.host().driver_present(request.driver)) {
		if (request.options.allow_module_load) {
			plan.steps.push_back({make_module_step(request.driver,
							       module_for_driver(request.driver,
										 request.options.module)),
					      std::nullopt});
		} else {
			const std::string module = module_for_driver(request.driver,
								     request.options.module);
			add_finding(plan, errc::driver_missing, {},
				    "driver " + name_in_message(request.driver) + " is not loaded (" +
					    quote_path(pci_driver_path(request.driver)) +
					    " is missing); load it with modprobe " + name_in_message(module) +
					    " or allow module loading (--allow-module-load)",
				    true);
		}
	}

	/* VFs must go before their PF leaves its driver, which is what removes them. */
	for (auto &member : plan.members) {
		if (member.action != MemberAction::move || !member.num_vfs_before ||
		    *member.num_vfs_before == 0 || !request.options.recreate_vfs)
			continue;
		const std::string bdf = member.address.to_string();
		plan.steps.push_back({make_num_vfs_step(bdf, 0),
				      make_num_vfs_step(bdf, *member.num_vfs_before)});
		member.num_vfs_after = 0;
	}

	for (const auto &member : plan.members) {
		if (member.action != MemberAction::move || member.framebuffer.empty())
			continue;
		plan.steps.push_back({make_framebuffer_step(member.framebuffer, false),
				      make_framebuffer_step(member.framebuffer, true)});
	}

	for (const auto &member : plan.members)
		if (member.action == MemberAction::move)
			add_member_steps(plan, member);

	for (const auto &member : plan.members) {
		if (member.action != MemberAction::move && member.action != MemberAction::keep)
			continue;

		const std::string bdf = member.address.to_string();
		const Ownership *existing = find_claim(claims, bdf);
		const bool same_claim = existing && existing->owner == request.owner &&
					existing->driver == request.driver;

		/* A claim of this owner keeps its original state; only a moved group number changes. */
		if (same_claim) {
			if (existing->group == member.group)
				continue;
			Ownership claim = *existing;
			claim.group = member.group;
			plan.claims_added.push_back(std::move(claim));
			continue;
		}

		Ownership claim;
		claim.device = bdf;
		claim.owner = request.owner;
		claim.driver = request.driver;
		claim.group = member.group;
		claim.identity = member.identity;
		claim.original = member.before;
		if (member.num_vfs_before != member.num_vfs_after)
			claim.original_num_vfs = member.num_vfs_before;
		claim.framebuffer = member.framebuffer;
		plan.claims_added.push_back(std::move(claim));
	}

	return plan;
}

namespace {

/* Where a released function goes: its record, or the defaults without one. */
void classify_for_release(const DeviceGraph &graph, const Request &request, const Device &device,
			  const Ownership *claim, Member &member, bool &probe)
{
	probe = false;

	if (device.is_bridge() && !device.inaccessible) {
		member.action = MemberAction::stay_bridge;
		return;
	}

	if (claim) {
		member.after = claim->original;
		if (claim->original_num_vfs)
			member.num_vfs_after = claim->original_num_vfs;
		member.framebuffer = claim->framebuffer;
	} else if (member.before.driver == request.driver ||
		   (!member.before.driver.empty() && is_vfio_driver(member.before.driver))) {
		/* No record of the original driver: clear the override and let the kernel choose. */
		member.after = {"", ""};
		probe = true;
	} else {
		member.after = {member.before.driver, ""};
		if (member.before.override != request.driver && !member.requested)
			member.after = member.before;
	}

	(void)graph;
	const bool vfs_change = member.num_vfs_after != member.num_vfs_before;
	member.action = (member.after == member.before && !probe && !vfs_change &&
			 member.framebuffer.empty())
				? MemberAction::keep
				: MemberAction::move;
}

} /* namespace */

Plan plan_release(const DeviceGraph &graph, const Request &request,
		  std::span<const Ownership> claims)
{
	Plan plan = new_plan(Operation::release, request);

	if (request.devices.empty())
		add_finding(plan, errc::invalid_argument, {}, "no device requested", true);

	for (const auto &requested : request.devices) {
		const std::string bdf = requested.address.to_string();
		if (!graph.find(requested.address))
			add_finding(plan, errc::not_found, bdf,
				    "no PCI device at " + bdf + "; check the address with 'pcipassctl list'",
				    true);
	}

	const auto closure = closure_of(graph, request);
	std::vector<bool> probes;

	for (const Device *device : closure) {
		const std::string bdf = device->address.to_string();
		const Ownership *claim = find_claim(claims, bdf);
		Member member = make_member(*device, is_requested(request, device->address));
		bool probe = false;

		if (claim && claim->owner != request.owner) {
			add_finding(plan, errc::owned_by_other, bdf,
				    bdf + " is held by owner " + quote_content(claim->owner) +
					    "; only that owner may release it",
				    true);
			member.action = MemberAction::keep;
		} else {
			classify_for_release(graph, request, *device, claim, member, probe);
		}

		if (claim && claim->owner == request.owner)
			plan.claims_removed.push_back(bdf);
		add_group(plan, member.group);
		plan.members.push_back(std::move(member));
		probes.push_back(probe);
	}

	check_release_members(graph, request, claims, plan);
	check_recorded_names(plan);

	/* A PF returns to its driver before its VFs come back, and a GPU before its framebuffer. */
	for (size_t i = 0; i < plan.members.size(); i++) {
		const Member &member = plan.members[i];
		if (member.action != MemberAction::move)
			continue;

		const std::string bdf = member.address.to_string();
		for (auto &step : transition_steps(bdf, member.before, member.after, probes[i]))
			plan.steps.push_back(std::move(step));

		if (member.num_vfs_after && member.num_vfs_after != member.num_vfs_before)
			plan.steps.push_back({make_num_vfs_step(bdf, *member.num_vfs_after),
					      make_num_vfs_step(bdf, member.num_vfs_before.value_or(0))});
		if (!member.framebuffer.empty())
			plan.steps.push_back({make_framebuffer_step(member.framebuffer, true),
					      make_framebuffer_step(member.framebuffer, false)});
	}

	return plan;
}

namespace {

/* Appends a sub-plan's members, findings, steps and claims to a reconcile plan. */
void merge_plan(Plan &into, Plan &&from)
{
	for (auto &member : from.members) {
		if (into.find(member.address)) {
			add_finding(into, errc::invalid_argument, member.address.to_string(),
				    member.address.to_string() +
					    " is in the groups of two desired entries that ask for "
					    "different drivers or owners; desire one state per group",
				    true);
			continue;
		}
		into.members.push_back(std::move(member));
	}
	for (auto &finding : from.findings)
		add_finding(into, finding.code, std::move(finding.device), std::move(finding.message),
			    finding.blocking);
	for (auto &step : from.steps) {
		const bool duplicate_module =
			step.step.kind == StepKind::load_module &&
			std::any_of(into.steps.begin(), into.steps.end(),
				    [&](const PlannedStep &s) { return s.step == step.step; });
		if (!duplicate_module)
			into.steps.push_back(std::move(step));
	}
	for (unsigned group : from.groups)
		add_group(into, group);
	for (auto &claim : from.claims_added)
		into.claims_added.push_back(std::move(claim));
	for (auto &device : from.claims_removed)
		into.claims_removed.push_back(std::move(device));
}

} /* namespace */

Plan plan_reconcile(const DeviceGraph &graph, std::span<const Desired> desired,
		    const RequestOptions &options, std::span<const Ownership> claims)
{
	Plan plan;
	plan.operation = Operation::reconcile;
	plan.options = options;

	std::set<PciAddress> seen;
	/* (driver, owner) -> devices; an empty driver is a release. */
	std::map<std::pair<std::string, std::string>, std::vector<RequestedDevice>> batches;

	for (const auto &entry : desired) {
		if (!seen.insert(entry.device).second) {
			add_finding(plan, errc::invalid_argument, entry.device.to_string(),
				    entry.device.to_string() +
					    " is desired more than once; list each device once",
				    true);
			continue;
		}
		batches[{entry.driver, entry.owner}].push_back({entry.device, std::nullopt});
	}

	/* Releases first, so that devices they free are not seen as held by the binds. */
	for (const auto &[key, devices] : batches) {
		if (!key.first.empty())
			continue;
		Request request{devices, "vfio-pci", key.second, options};
		merge_plan(plan, plan_release(graph, request, claims));
	}
	for (const auto &[key, devices] : batches) {
		if (key.first.empty())
			continue;
		Request request{devices, key.first, key.second, options};
		merge_plan(plan, plan_bind(graph, request, claims));
	}

	sort_members(plan);
	return plan;
}

} /* namespace pcipass */
