/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The names, errnos and descriptions of the simulated kernel's rules.
 */

#include <array>
#include <cerrno>

#include <pcipass/testing/sim.hpp>

namespace pcipass::sim {

namespace {

constexpr int varies = -1;

constexpr RuleInfo rule_table[] = {
	{Rule::path_not_found, "path.not_found_enoent", ENOENT,
	 "the file does not exist: a driver that is not loaded, or the driver link of an unbound device"},
	{Rule::path_not_writable, "path.read_only_eacces", EACCES,
	 "the attribute has no store method"},
	{Rule::path_is_directory, "path.directory_eisdir", EISDIR, "the path is a directory"},
	{Rule::write_empty_ignored, "write.empty_ignored", 0,
	 "sysfs returns before the store method when zero bytes are written, so nothing changes"},

	{Rule::bind_unknown_address, "bind.unknown_address_enodev", ENODEV,
	 "no device has that exact name"},
	{Rule::bind_not_matching, "bind.not_matching_enodev", ENODEV,
	 "no static or dynamic ID of the driver matches the device"},
	{Rule::bind_override_other, "bind.override_names_other_enodev", ENODEV,
	 "the device's driver_override names another driver"},
	{Rule::bind_already_bound, "bind.already_bound_ebusy", EBUSY,
	 "the device already has a driver"},
	{Rule::bind_group_in_use, "bind.group_in_use_ebusy", EBUSY,
	 "a driver that does not manage DMA ownership cannot bind into a group a VFIO user holds open"},
	{Rule::bind_vf_autoprobe_off, "bind.vf_autoprobe_off_enodev", ENODEV,
	 "a VF whose PF has sriov_drivers_autoprobe 0 probes only with a driver_override"},
	{Rule::bind_vfio_bridge, "bind.vfio_bridge_einval", EINVAL,
	 "VFIO drivers refuse devices whose header type is not 0"},
	{Rule::bind_vfio_no_group, "bind.vfio_no_group_einval", EINVAL,
	 "VFIO drivers refuse devices without an IOMMU group"},
	{Rule::bind_vfio_pf_has_vfs, "bind.vfio_pf_with_vfs_ebusy", EBUSY,
	 "VFIO drivers refuse a PF with VFs enabled"},
	{Rule::bind_probe_failed, "bind.probe_error", varies,
	 "the driver's probe failed and bind returns its errno"},
	{Rule::bind_probe_deferred, "bind.probe_deferred_eagain", EAGAIN,
	 "the driver deferred its probe (EPROBE_DEFER), which bind reports as EAGAIN"},
	{Rule::bind_attached, "bind.attached", 0, "the driver probed and bound the device"},

	{Rule::unbind_not_bound, "unbind.not_bound_enodev", ENODEV,
	 "the device is unknown or not bound to this driver"},
	{Rule::unbind_detached, "unbind.detached", 0,
	 "the device is unbound; its consumers go and its override stays"},
	{Rule::unbind_waited_for_vfio_user, "unbind.waits_for_vfio_user", 0,
	 "a VFIO driver's remove waits until the VFIO user closes the group, then unbinds"},

	{Rule::drivers_probe_unknown_address, "drivers_probe.unknown_address_enodev", ENODEV,
	 "no device has that exact name"},
	{Rule::drivers_probe_attached, "drivers_probe.attached", 0,
	 "the first matching driver in registration order bound the device"},
	{Rule::drivers_probe_silent, "drivers_probe.silent_success", 0,
	 "success although nothing was bound: already bound, nothing matched, or every probe failed"},
	{Rule::drivers_probe_group_in_use, "drivers_probe.group_in_use_einval", EINVAL,
	 "the first matching driver does not manage DMA ownership and the group is attached to a "
	 "VFIO container: that failure comes before the driver's probe, so no later driver is tried"},

	{Rule::override_set, "driver_override.set", 0,
	 "stores the name up to the first newline; never unbinds and never loads a module"},
	{Rule::override_cleared, "driver_override.cleared", 0,
	 "a newline, or a value starting with a NUL byte, clears the override so it reads (null)"},
	{Rule::override_nul_stored_empty, "driver_override.nul_stores_empty", 0,
	 "on 5.19 to 6.0 before the stable fix, NUL bytes stored an empty override that matches no driver"},
	{Rule::override_too_long, "driver_override.too_long_einval", EINVAL,
	 "values of PAGE_SIZE - 1 bytes or more are rejected"},

	{Rule::new_id_invalid, "new_id.invalid_einval", EINVAL,
	 "fewer than two hex fields (vendor and device)"},
	{Rule::new_id_exists, "new_id.exists_eexist", EEXIST,
	 "the driver already matches the ID through its static or dynamic table"},
	{Rule::new_id_added, "new_id.binds_all_matching", 0,
	 "the dynamic ID is added and every unbound device it matches is bound at once"},
	{Rule::remove_id_invalid, "remove_id.invalid_einval", EINVAL,
	 "fewer than two hex fields (vendor and device)"},
	{Rule::remove_id_absent, "remove_id.absent_enodev", ENODEV,
	 "the driver has no such dynamic ID"},
	{Rule::remove_id_removed, "remove_id.removed_never_unbinds", 0,
	 "the dynamic ID is removed and devices it bound stay bound"},

	{Rule::numvfs_invalid, "sriov_numvfs.invalid_einval", EINVAL, "not a 16-bit number"},
	{Rule::numvfs_above_total, "sriov_numvfs.above_total_erange", ERANGE,
	 "more VFs than sriov_totalvfs"},
	{Rule::numvfs_same_value, "sriov_numvfs.same_value_noop", 0,
	 "writing the current count succeeds and changes nothing"},
	{Rule::numvfs_no_driver, "sriov_numvfs.no_driver_enoent", ENOENT,
	 "the PF has no driver to configure SR-IOV"},
	{Rule::numvfs_driver_without_sriov, "sriov_numvfs.driver_without_sriov_enoent", ENOENT,
	 "the PF's driver has no sriov_configure method"},
	{Rule::numvfs_change_busy, "sriov_numvfs.change_without_zero_ebusy", EBUSY,
	 "changing a nonzero count to another nonzero count must go through 0"},
	{Rule::numvfs_enabled, "sriov_numvfs.enabled", 0,
	 "VFs appear at offset and stride; a VFIO PF sets their override; they probe when autoprobe allows"},
	{Rule::numvfs_disabled, "sriov_numvfs.disabled", 0, "every VF is unbound and removed"},
	{Rule::autoprobe_invalid, "sriov_drivers_autoprobe.invalid_einval", EINVAL,
	 "not a boolean"},
	{Rule::autoprobe_set, "sriov_drivers_autoprobe.set", 0,
	 "decides whether VFs probe drivers without a driver_override"},

	{Rule::reset_invalid, "reset.invalid_einval", EINVAL, "anything but 1"},
	{Rule::reset_no_method, "reset.no_method_enotty", ENOTTY,
	 "every reset method of the device is disabled"},
	{Rule::reset_done, "reset.done", 0, "the device was reset"},
	{Rule::reset_method_invalid, "reset_method.unsupported_einval", EINVAL,
	 "a method name that is unknown or that the device does not support"},
	{Rule::reset_method_disabled, "reset_method.empty_disables", 0,
	 "an empty value (a newline) disables every reset method"},
	{Rule::reset_method_default, "reset_method.default_restores", 0,
	 "\"default\" restores the methods found at enumeration"},
	{Rule::reset_method_set, "reset_method.set", 0,
	 "enables the given supported methods in the given order"},

	{Rule::remove_invalid, "remove.invalid_einval", EINVAL, "not a number"},
	{Rule::remove_ignored, "remove.zero_ignored", 0, "0 is accepted and does nothing"},
	{Rule::remove_removed, "remove.removed", 0,
	 "the device, its VFs and the devices behind it leave the bus"},
	{Rule::rescan_invalid, "rescan.invalid_einval", EINVAL, "not a number"},
	{Rule::rescan_restored, "rescan.finds_removed", 0,
	 "removed devices return with default settings and are probed"},

	{Rule::module_loaded, "module.load_binds_matching", 0,
	 "the module's driver directories appear and bind every unbound device they match"},
	{Rule::module_already_loaded, "module.already_loaded", 0,
	 "loading a loaded module succeeds and changes nothing"},
	{Rule::module_unknown, "module.unknown_enoent", ENOENT,
	 "the module is neither loaded nor available"},
	{Rule::module_unloaded, "module.unload_leaves_devices_driverless", 0,
	 "devices of the module's drivers are unbound, keep their override, and lose dynamic IDs"},
	{Rule::module_in_use, "module.unload_in_use_ebusy", EBUSY,
	 "a VFIO user holds open a group that uses the module"},
	{Rule::module_not_loaded, "module.unload_not_loaded_enoent", ENOENT,
	 "the module is not loaded, or is built in"},

	{Rule::node_opened, "vfio_user.opened", 0, "the process holds the node open"},
	{Rule::node_missing, "vfio_user.node_missing_enoent", ENOENT,
	 "the node does not exist: no member of the group is on a VFIO driver"},
	{Rule::node_group_not_viable, "vfio_user.group_not_viable_eperm", EPERM,
	 "a member of the group is on a driver that does not manage DMA ownership"},
	{Rule::node_closed, "vfio_user.closed", 0, "the process closed the node"},
	{Rule::node_not_held, "vfio_user.not_held_enoent", ENOENT,
	 "the process does not hold the node"},

	{Rule::fault_failed, "fault.failed", varies, "an injected fault returned its errno"},
	{Rule::fault_reattached, "fault.reattached_after_unbind", 0,
	 "an injected race bound the host driver again right after unbind"},
	{Rule::fault_unloaded_module, "fault.unloaded_module", varies,
	 "an injected side effect unloaded a module after the write"},
	{Rule::fault_vanished, "fault.vanished", 0,
	 "an injected side effect took the device off the bus after the write"},
	{Rule::fault_probe_attached_nothing, "fault.probe_attached_nothing", 0,
	 "an injected fault made bind or drivers_probe succeed without binding"},
	{Rule::fault_probe_later, "fault.probe_runs_later", 0,
	 "an injected asynchronous probe: bind or drivers_probe returned before the driver link appeared"},
	{Rule::crash_stopped, "crash.stopped", ESHUTDOWN,
	 "the simulated caller crashed, so no later write takes effect"},
};

constexpr bool table_in_enum_order()
{
	for (size_t i = 0; i < std::size(rule_table); i++) {
		if (size_t(rule_table[i].rule) != i)
			return false;
	}
	return true;
}

static_assert(table_in_enum_order(), "rule_table must list every Rule in enum order");
static_assert(size_t(Rule::crash_stopped) + 1 == std::size(rule_table),
	      "rule_table must end with the last Rule");

constexpr std::array<std::string_view, size_t(WriteKind::close_node) + 1> write_kind_names = {
	"bind",
	"unbind",
	"new_id",
	"remove_id",
	"drivers_probe",
	"driver_override",
	"sriov_numvfs",
	"sriov_drivers_autoprobe",
	"reset",
	"reset_method",
	"remove",
	"rescan",
	"other",
	"load_module",
	"unload_module",
	"open_node",
	"close_node",
};

} /* namespace */

std::span<const RuleInfo> rule_infos() noexcept
{
	return rule_table;
}

const RuleInfo &rule_info(Rule rule) noexcept
{
	return rule_table[size_t(rule)];
}

std::string_view rule_name(Rule rule) noexcept
{
	return rule_info(rule).name;
}

std::optional<Rule> rule_from_name(std::string_view name) noexcept
{
	for (const auto &info : rule_table) {
		if (info.name == name)
			return info.rule;
	}
	return std::nullopt;
}

std::string_view write_kind_name(WriteKind kind) noexcept
{
	return write_kind_names[size_t(kind)];
}

} /* namespace pcipass::sim */
