/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The simulator's state as a comparable value, its text form and diff, and
 * the state written back as a topology.
 */

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <set>
#include <sstream>

#include "kernel.hpp"

namespace pcipass::sim {

namespace {

std::string errno_name(int sys_errno)
{
	if (sys_errno == 0)
		return "ok";
	const char *name = strerrorname_np(sys_errno);
	return name ? name : "errno " + std::to_string(sys_errno);
}

std::string quote_value(std::string_view value)
{
	return "'" + detail::printable(value) + "'";
}

std::vector<std::string> state_lines(const State &state)
{
	std::vector<std::string> lines;
	for (const auto &device : state.devices) {
		std::string line = "device " + device.address.to_string() + " driver=" +
				   (device.driver.empty() ? "(none)" : device.driver) + " override=" +
				   (device.driver_override ? quote_value(*device.driver_override)
							   : std::string("(null)"));
		if (device.num_vfs)
			line += " numvfs=" + std::to_string(*device.num_vfs);
		if (device.drivers_autoprobe)
			line += std::string(" autoprobe=") + (*device.drivers_autoprobe ? "1" : "0");
		if (!device.reset_methods.empty()) {
			line += " reset=";
			for (size_t i = 0; i < device.reset_methods.size(); i++)
				line += (i ? "," : "") + device.reset_methods[i];
		}
		lines.push_back(std::move(line));
	}
	for (const auto &[driver, ids] : state.dynamic_ids) {
		std::string line = "dynamic_ids " + driver + ":";
		for (const auto &id : ids)
			line += " " + id_pair_string(id.vendor, id.device);
		lines.push_back(std::move(line));
	}
	std::string modules = "modules:";
	for (const auto &module : state.modules)
		modules += " " + module;
	lines.push_back(std::move(modules));
	std::string nodes = "vfio_nodes:";
	for (unsigned node : state.vfio_nodes)
		nodes += " " + std::to_string(node);
	lines.push_back(std::move(nodes));
	for (const auto &[path, holders] : state.holders) {
		std::string line = "holders " + path + ":";
		for (const auto &holder : holders)
			line += " " + std::to_string(holder.pid) + "/" + holder.command;
		lines.push_back(std::move(line));
	}
	return lines;
}

} /* namespace */

std::string to_string(const LogEntry &entry)
{
	std::string text = "#" + std::to_string(entry.sequence) + " " +
			   std::string(write_kind_name(entry.kind)) + " '" + entry.path + "'";
	if (!entry.value.empty())
		text += " " + quote_value(entry.value);
	text += " -> " + errno_name(entry.sys_errno) + " [" + std::string(rule_name(entry.rule)) +
		"]";
	if (entry.device)
		text += " device " + entry.device->to_string();
	if (entry.fault)
		text += " fault " + std::to_string(entry.fault);
	if (entry.side_effect)
		text += " (side effect)";
	return text;
}

std::ostream &operator<<(std::ostream &stream, const LogEntry &entry)
{
	return stream << to_string(entry);
}

std::string to_string(const State &state)
{
	std::string text;
	for (const auto &line : state_lines(state))
		text += line + "\n";
	return text;
}

std::ostream &operator<<(std::ostream &stream, const State &state)
{
	return stream << "\n" << to_string(state);
}

std::string diff(const State &before, const State &after)
{
	const auto old_lines = state_lines(before);
	const auto new_lines = state_lines(after);
	const std::set<std::string> old_set(old_lines.begin(), old_lines.end());
	const std::set<std::string> new_set(new_lines.begin(), new_lines.end());

	std::string text;
	for (const auto &line : old_lines) {
		if (!new_set.count(line))
			text += "- " + line + "\n";
	}
	for (const auto &line : new_lines) {
		if (!old_set.count(line))
			text += "+ " + line + "\n";
	}
	return text;
}

namespace detail {

std::string printable(std::string_view value)
{
	std::string text;
	for (unsigned char c : value) {
		if (c == '\n') {
			text += "\\n";
		} else if (c < 0x20 || c >= 0x7f) {
			char escaped[8];
			std::snprintf(escaped, sizeof(escaped), "\\x%02x", c);
			text += escaped;
		} else {
			text += char(c);
		}
	}
	return text;
}

State Kernel::state() const
{
	State state;
	for (const auto &device : devices_) {
		if (!device.present)
			continue;
		DeviceState entry;
		entry.address = device.topo.address;
		if (device.driver != none)
			entry.driver = drivers_[device.driver].name;
		entry.driver_override = device.override_name;
		if (device.topo.sriov && device.pf == none) {
			entry.num_vfs = device.num_vfs;
			entry.drivers_autoprobe = device.autoprobe;
		}
		entry.reset_methods = device.reset_methods;
		state.devices.push_back(std::move(entry));
	}
	std::sort(state.devices.begin(), state.devices.end(),
		  [](const DeviceState &a, const DeviceState &b) { return a.address < b.address; });

	for (const auto &driver : drivers_) {
		if (driver.loaded && !driver.dynamic_ids.empty())
			state.dynamic_ids[driver.name] = driver.dynamic_ids;
	}
	state.modules = modules_;
	std::sort(state.modules.begin(), state.modules.end());
	for (const auto &[group, members] : groups_) {
		if (group_has_vfio_member(group))
			state.vfio_nodes.push_back(group);
	}
	for (const auto &[path, holders] : holders_)
		state.holders[path] = holders;
	return state;
}

testing::Topology Kernel::to_topology() const
{
	testing::Topology topology = topology_;
	topology.modules = modules_;
	topology.available_modules = available_modules_;
	topology.holders.clear();
	for (const auto &[path, holders] : holders_)
		topology.holders[path] = holders;

	/* Registration order decides which driver a device gets, so loaded drivers come first. */
	std::vector<int> order = driver_order_;
	for (size_t i = 0; i < drivers_.size(); i++) {
		if (std::find(order.begin(), order.end(), int(i)) == order.end())
			order.push_back(int(i));
	}
	for (int index : order) {
		const Driver &driver = drivers_[index];
		testing::TopologyDriver topo;
		topo.name = driver.name;
		topo.module = driver.module;
		topo.ids = driver.ids;
		topo.dynamic_ids = driver.dynamic_ids;
		topo.sriov = driver.sriov;
		topo.probe_errno = driver.probe_errno;
		topology.drivers.push_back(std::move(topo));
	}

	std::vector<int> present;
	for (size_t i = 0; i < devices_.size(); i++) {
		if (devices_[i].present)
			present.push_back(int(i));
	}
	std::sort(present.begin(), present.end(), [&](int a, int b) {
		return devices_[a].topo.address < devices_[b].topo.address;
	});
	for (int index : present) {
		const Device &device = devices_[index];
		testing::TopologyDevice topo = device.topo;
		topo.parent = device.parent != none
				      ? std::optional<PciAddress>(devices_[device.parent].topo.address)
				      : std::nullopt;
		topo.driver = device.driver != none ? drivers_[device.driver].name : std::string();
		topo.driver_override = device.override_name.value_or(std::string());
		if (topo.sriov) {
			topo.sriov->num_vfs = device.num_vfs;
			topo.sriov->drivers_autoprobe = device.autoprobe;
		}
		topo.reset_methods = device.reset_methods;
		topo.consumers.clear();
		for (const auto &consumer : device.consumers) {
			testing::TopologyConsumer entry = consumer.topo;
			entry.driver = consumer.driver;
			topo.consumers.push_back(std::move(entry));
		}
		topology.devices.push_back(std::move(topo));
	}
	return topology;
}

} /* namespace detail */

} /* namespace pcipass::sim */
