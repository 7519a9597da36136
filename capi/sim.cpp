/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The C ABI's simulated kernel: creation from a topology, faults, state,
 * log, topology and tree output, VFIO users and module unloading.
 */

#include <chrono>
#include <cstring>
#include <string>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <pcipass/testing/sim.hpp>
#include <pcipass/testing/topology.hpp>

#include "capi_internal.hpp"
#include "json_fields.hpp"

namespace pcipass::capi {

namespace {

namespace json = boost::json;

result<sim::Options> parse_sim_options(const char *options_json)
{
	sim::Options options;
	if (!options_json)
		return options;

	BOOST_OUTCOME_TRY(auto object, parse_input(options_json, "simulator options",
						   "pcipass.sim-options/v1",
						   {"nul_override_quirk", "record_log"}));

	BOOST_OUTCOME_TRY(options.nul_override_quirk, flag(object, "nul_override_quirk"));

	BOOST_OUTCOME_TRY(auto record_log, detail::bool_field(object, "record_log", ""));
	options.record_log = record_log.value_or(true);

	return options;
}

result<sim::WriteKind> parse_write_kind(std::string_view name)
{
	for (size_t i = 0; i <= size_t(sim::WriteKind::close_node); i++) {
		const auto kind = static_cast<sim::WriteKind>(i);
		if (sim::write_kind_name(kind) == name)
			return kind;
	}
	return make_error(errc::invalid_argument,
			  "fault: match.kind " + detail::json_quote(name) +
				  " is not a write kind (bind, unbind, driver_override, ...)");
}

struct ActionName {
	sim::FaultAction action;
	std::string_view name;
};

constexpr ActionName action_names[] = {
	{sim::FaultAction::fail, "fail"},
	{sim::FaultAction::block, "block"},
	{sim::FaultAction::delay, "delay"},
	{sim::FaultAction::reattach_after_unbind, "reattach_after_unbind"},
	{sim::FaultAction::unload_module, "unload_module"},
	{sim::FaultAction::vanish, "vanish"},
	{sim::FaultAction::probe_attaches_nothing, "probe_attaches_nothing"},
	{sim::FaultAction::probe_later, "probe_later"},
};

result<sim::FaultAction> parse_action(std::string_view name)
{
	for (const ActionName &entry : action_names)
		if (entry.name == name)
			return entry.action;
	return make_error(errc::invalid_argument,
			  "fault: action " + detail::json_quote(name) +
				  " is unknown; use fail, block, delay, reattach_after_unbind, "
				  "unload_module, vanish, probe_attaches_nothing or probe_later");
}

result<sim::FaultTiming> parse_timing(std::string_view name)
{
	if (name == "before")
		return sim::FaultTiming::before;
	if (name == "after")
		return sim::FaultTiming::after;
	return make_error(errc::invalid_argument, "fault: timing " + detail::json_quote(name) +
							  " is unknown; use before or after");
}

/* Linux errno values stay below 4096: the kernel returns -4095..-1 as errors. */
constexpr int max_errno = 4095;

/* An errno as a number or as its name ("EBUSY"). */
result<int> parse_errno(const json::object &fault)
{
	const json::value *value = fault.if_contains("errno");
	if (!value)
		return 0;

	if (const json::string *name = value->if_string()) {
		for (int number = 1; number <= max_errno; number++) {
			const char *found = strerrorname_np(number);
			if (found && *name == found)
				return number;
		}
		return make_error(errc::invalid_argument,
				  "fault: errno " + detail::json_quote(*name) +
					  " is not an errno name such as \"EBUSY\"");
	}

	BOOST_OUTCOME_TRY(auto number, integer_field(fault, "errno", "fault", 1, max_errno));

	return int(*number);
}

result<sim::FaultMatch> parse_match(const json::object &fault)
{
	sim::FaultMatch match;
	BOOST_OUTCOME_TRY(auto object, detail::object_field(fault, "match", "fault"));
	if (!object)
		return match;

	BOOST_OUTCOME_TRY(check_fields(*object, {"path", "device", "kind", "driver", "nth"},
				       "fault.match"));

	BOOST_OUTCOME_TRY(auto path, detail::string_field(*object, "path", "fault.match"));
	match.path = path.value_or("");

	BOOST_OUTCOME_TRY(auto device, detail::string_field(*object, "device", "fault.match"));
	if (device) {
		BOOST_OUTCOME_TRY(match.device, PciAddress::parse(*device));
	}

	BOOST_OUTCOME_TRY(auto kind, detail::string_field(*object, "kind", "fault.match"));
	if (kind) {
		BOOST_OUTCOME_TRY(match.kind, parse_write_kind(*kind));
	}

	BOOST_OUTCOME_TRY(auto driver, detail::string_field(*object, "driver", "fault.match"));
	match.driver = driver.value_or("");

	BOOST_OUTCOME_TRY(auto nth, integer_field(*object, "nth", "fault.match", 0, UINT32_MAX));
	match.nth = unsigned(nth.value_or(0));

	return match;
}

result<sim::Fault> parse_fault(const char *fault_json)
{
	BOOST_OUTCOME_TRY(auto object,
			  parse_input(fault_json, "fault", "pcipass.fault/v1",
				      {"match", "action", "timing", "errno", "delay_us", "name"}));

	sim::Fault fault;
	BOOST_OUTCOME_TRY(fault.match, parse_match(object));

	BOOST_OUTCOME_TRY(auto action, detail::string_field(object, "action", "fault"));
	if (action) {
		BOOST_OUTCOME_TRY(fault.action, parse_action(*action));
	}

	BOOST_OUTCOME_TRY(auto timing, detail::string_field(object, "timing", "fault"));
	if (timing) {
		BOOST_OUTCOME_TRY(fault.timing, parse_timing(*timing));
	}

	BOOST_OUTCOME_TRY(fault.sys_errno, parse_errno(object));

	/* An hour is far beyond any test deadline and keeps the microseconds in range. */
	BOOST_OUTCOME_TRY(auto delay, integer_field(object, "delay_us", "fault", 0, 3600000000));
	fault.delay = std::chrono::microseconds(delay.value_or(0));

	BOOST_OUTCOME_TRY(auto name, detail::string_field(object, "name", "fault"));
	fault.name = name.value_or("");

	return fault;
}

json::value optional_string(const std::optional<std::string> &value)
{
	return value ? json::value(*value) : json::value(nullptr);
}

json::value state_to_json(const sim::State &state)
{
	json::array devices;
	for (const sim::DeviceState &device : state.devices) {
		json::array reset_methods;
		for (const std::string &method : device.reset_methods)
			reset_methods.push_back(json::value(method));

		devices.push_back(json::object{
			{"address", device.address.to_string()},
			{"driver", device.driver.empty() ? json::value(nullptr)
							 : json::value(device.driver)},
			{"driver_override", optional_string(device.driver_override)},
			{"num_vfs", device.num_vfs ? json::value(*device.num_vfs)
						   : json::value(nullptr)},
			{"drivers_autoprobe", device.drivers_autoprobe
						      ? json::value(*device.drivers_autoprobe)
						      : json::value(nullptr)},
			{"reset_methods", std::move(reset_methods)},
		});
	}

	json::object dynamic_ids;
	for (const auto &[driver, ids] : state.dynamic_ids) {
		json::array list;
		for (const testing::IdMatch &id : ids)
			list.push_back(json::value(id_pair_string(id.vendor, id.device)));
		dynamic_ids[driver] = std::move(list);
	}

	json::array modules;
	for (const std::string &module : state.modules)
		modules.push_back(json::value(module));

	json::array vfio_nodes;
	for (unsigned node : state.vfio_nodes)
		vfio_nodes.push_back(node);

	json::object holders;
	for (const auto &[path, list] : state.holders) {
		json::array entries;
		for (const Holder &holder : list)
			entries.push_back(json::object{{"pid", holder.pid}, {"command", holder.command}});
		holders[path] = std::move(entries);
	}

	return json::object{
		{"schema", "pcipass.sim-state/v1"},
		{"devices", std::move(devices)},
		{"dynamic_ids", std::move(dynamic_ids)},
		{"modules", std::move(modules)},
		{"vfio_nodes", std::move(vfio_nodes)},
		{"holders", std::move(holders)},
	};
}

json::value log_to_json(const std::vector<sim::LogEntry> &log)
{
	json::array entries;
	for (const sim::LogEntry &entry : log) {
		const char *errno_name = entry.sys_errno ? strerrorname_np(entry.sys_errno) : nullptr;
		entries.push_back(json::object{
			{"sequence", entry.sequence},
			{"kind", sim::write_kind_name(entry.kind)},
			{"path", entry.path},
			{"value", entry.value},
			{"device", entry.device ? json::value(entry.device->to_string())
						: json::value(nullptr)},
			{"errno", entry.sys_errno},
			{"errno_name", errno_name ? json::value(errno_name) : json::value(nullptr)},
			{"rule", sim::rule_name(entry.rule)},
			{"fault", entry.fault},
			{"side_effect", entry.side_effect},
		});
	}
	return json::object{{"schema", "pcipass.sim-log/v1"}, {"entries", std::move(entries)}};
}

} /* namespace */

} /* namespace pcipass::capi */

using namespace pcipass;

PCIPASS_EXPORT int pcipass_sim_new(const char *topology_json, const char *options_json,
				   pcipass_host **host, pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		if (!host)
			return capi::null_argument(err, "pcipass_sim_new", "host");
		*host = nullptr;
		if (!topology_json)
			return capi::null_argument(err, "pcipass_sim_new", "topology_json");

		auto topology = testing::parse_topology(topology_json);
		if (!topology)
			return capi::fail(err, topology.error());

		auto options = capi::parse_sim_options(options_json);
		if (!options)
			return capi::fail(err, options.error());

		auto created = sim::Host::create(topology.value(), options.value());
		if (!created)
			return capi::fail(err, created.error());

		sim::Host *simulated = created.value().get();
		*host = new pcipass_host{std::move(created).value(), simulated};
		return PCIPASS_OK;
	});
}

PCIPASS_EXPORT int pcipass_sim_inject(pcipass_host *host, const char *fault_json,
				      uint32_t *fault_id, pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		constexpr std::string_view function = "pcipass_sim_inject";
		if (!fault_id)
			return capi::null_argument(err, function, "fault_id");
		*fault_id = 0;
		auto simulated = capi::simulated(host, function);
		if (!simulated)
			return capi::fail(err, simulated.error());
		if (!fault_json)
			return capi::null_argument(err, function, "fault_json");

		auto fault = capi::parse_fault(fault_json);
		if (!fault)
			return capi::fail(err, fault.error());

		auto id = simulated.value()->inject(fault.value());
		if (!id)
			return capi::fail(err, id.error());

		*fault_id = id.value();
		return PCIPASS_OK;
	});
}

PCIPASS_EXPORT int pcipass_sim_remove_fault(pcipass_host *host, uint32_t fault_id,
					    pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		auto simulated = capi::simulated(host, "pcipass_sim_remove_fault");
		if (!simulated)
			return capi::fail(err, simulated.error());

		return capi::status_of(simulated.value()->remove_fault(fault_id), err);
	});
}

PCIPASS_EXPORT int pcipass_sim_release_fault(pcipass_host *host, uint32_t fault_id,
					     pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		auto simulated = capi::simulated(host, "pcipass_sim_release_fault");
		if (!simulated)
			return capi::fail(err, simulated.error());

		return capi::status_of(simulated.value()->release_fault(fault_id), err);
	});
}

PCIPASS_EXPORT int pcipass_sim_clear_faults(pcipass_host *host, pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		auto simulated = capi::simulated(host, "pcipass_sim_clear_faults");
		if (!simulated)
			return capi::fail(err, simulated.error());

		simulated.value()->clear_faults();
		return PCIPASS_OK;
	});
}

PCIPASS_EXPORT int pcipass_sim_fault_hits(pcipass_host *host, uint32_t fault_id, uint32_t *hits,
					  pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		if (!hits)
			return capi::null_argument(err, "pcipass_sim_fault_hits", "hits");
		*hits = 0;
		auto simulated = capi::simulated(host, "pcipass_sim_fault_hits");
		if (!simulated)
			return capi::fail(err, simulated.error());

		*hits = simulated.value()->fault_hits(fault_id);
		return PCIPASS_OK;
	});
}

PCIPASS_EXPORT int pcipass_sim_state(pcipass_host *host, char **state_json, pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		if (!state_json)
			return capi::null_argument(err, "pcipass_sim_state", "state_json");
		*state_json = nullptr;
		auto simulated = capi::simulated(host, "pcipass_sim_state");
		if (!simulated)
			return capi::fail(err, simulated.error());

		return capi::output(state_json, capi::state_to_json(simulated.value()->state()));
	});
}

PCIPASS_EXPORT int pcipass_sim_log(pcipass_host *host, char **log_json, pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		if (!log_json)
			return capi::null_argument(err, "pcipass_sim_log", "log_json");
		*log_json = nullptr;
		auto simulated = capi::simulated(host, "pcipass_sim_log");
		if (!simulated)
			return capi::fail(err, simulated.error());

		return capi::output(log_json, capi::log_to_json(simulated.value()->log()));
	});
}

PCIPASS_EXPORT int pcipass_sim_to_topology(pcipass_host *host, char **topology_json,
					   pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		if (!topology_json)
			return capi::null_argument(err, "pcipass_sim_to_topology", "topology_json");
		*topology_json = nullptr;
		auto simulated = capi::simulated(host, "pcipass_sim_to_topology");
		if (!simulated)
			return capi::fail(err, simulated.error());

		return capi::output(topology_json,
				    testing::to_json(simulated.value()->to_topology()));
	});
}

PCIPASS_EXPORT int pcipass_sim_materialize(pcipass_host *host, const char *dir,
					   pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		auto simulated = capi::simulated(host, "pcipass_sim_materialize");
		if (!simulated)
			return capi::fail(err, simulated.error());
		if (!dir)
			return capi::null_argument(err, "pcipass_sim_materialize", "dir");

		return capi::status_of(
			testing::materialize(simulated.value()->to_topology(), dir), err);
	});
}

PCIPASS_EXPORT int pcipass_sim_open_node(pcipass_host *host, const char *path, int32_t pid,
					 const char *command, pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		auto simulated = capi::simulated(host, "pcipass_sim_open_node");
		if (!simulated)
			return capi::fail(err, simulated.error());
		if (!path)
			return capi::null_argument(err, "pcipass_sim_open_node", "path");
		if (!command)
			return capi::null_argument(err, "pcipass_sim_open_node", "command");

		return capi::status_of(simulated.value()->open_node(path, pid, command), err);
	});
}

PCIPASS_EXPORT int pcipass_sim_close_node(pcipass_host *host, const char *path, int32_t pid,
					  pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		auto simulated = capi::simulated(host, "pcipass_sim_close_node");
		if (!simulated)
			return capi::fail(err, simulated.error());
		if (!path)
			return capi::null_argument(err, "pcipass_sim_close_node", "path");

		return capi::status_of(simulated.value()->close_node(path, pid), err);
	});
}

PCIPASS_EXPORT int pcipass_sim_unload_module(pcipass_host *host, const char *module,
					     pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		auto simulated = capi::simulated(host, "pcipass_sim_unload_module");
		if (!simulated)
			return capi::fail(err, simulated.error());
		if (!module)
			return capi::null_argument(err, "pcipass_sim_unload_module", "module");

		return capi::status_of(simulated.value()->unload_module(module), err);
	});
}
