/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 */

#include "scenario.hpp"

#include <algorithm>
#include <cstring>
#include <map>

namespace scenario {

namespace {

namespace json = boost::json;

pcipass::Error invalid(const std::string &origin, const std::string &what)
{
	return pcipass::make_error(pcipass::errc::invalid_argument,
				   "scenario '" + origin + "': " + what, {}, origin);
}

std::optional<std::string> string_field(const json::object &object, std::string_view key)
{
	const json::value *value = object.if_contains(key);
	if (!value || !value->is_string())
		return std::nullopt;
	return std::string(value->as_string());
}

/* An optional array of strings; absent gives an empty list. */
pcipass::result<std::vector<std::string>> string_array(const json::object &object,
						       std::string_view key,
						       const std::string &origin)
{
	std::vector<std::string> strings;
	const json::value *value = object.if_contains(key);
	if (!value)
		return strings;
	if (!value->is_array())
		return invalid(origin, "\"" + std::string(key) + "\" is not an array");
	for (const json::value &item : value->as_array()) {
		if (!item.is_string())
			return invalid(origin, "\"" + std::string(key) + "\" contains a non-string");
		strings.emplace_back(item.as_string());
	}
	return strings;
}

std::string errno_name(int sys_errno)
{
	if (sys_errno == 0)
		return "ok";
	const char *name = strerrorname_np(sys_errno);
	return name ? name : "E" + std::to_string(sys_errno);
}

/* A driver link, override or count as JSON: null when absent. */
json::value optional_value(const std::optional<std::string> &text)
{
	return text ? json::value(*text) : json::value(nullptr);
}

class Runner
{
public:
	Runner(const Scenario &scenario, Kernel &kernel) : scenario_(scenario), kernel_(kernel) {}

	std::vector<StepReport> run();

private:
	std::optional<std::string> resolve_roles();
	std::optional<std::string> substitute(std::string text, std::string &problem);
	int perform(const json::object &step, std::string &problem);
	json::object device_state(const std::string &address);
	json::object state();
	const Scenario &scenario_;
	Kernel &kernel_;
	std::map<std::string, std::string> addresses_; /* role -> address */
};

std::optional<std::string> Runner::resolve_roles()
{
	const std::vector<std::string> devices = kernel_.list("sys/bus/pci/devices");
	for (const Role &role : scenario_.roles) {
		unsigned index = role.index;
		for (const std::string &address : devices) {
			const std::string base = "sys/bus/pci/devices/" + address + "/";
			if (kernel_.read(base + "vendor") != "0x" + role.vendor ||
			    kernel_.read(base + "device") != "0x" + role.device)
				continue;
			if (index-- == 0) {
				addresses_[role.name] = address;
				break;
			}
		}
		if (!addresses_.contains(role.name))
			return "no device " + role.vendor + ":" + role.device + " number " +
			       std::to_string(role.index) + " for role '" + role.name + "'";
	}
	return std::nullopt;
}

std::optional<std::string> Runner::substitute(std::string text, std::string &problem)
{
	size_t start;
	while ((start = text.find('{')) != std::string::npos) {
		const size_t end = text.find('}', start);
		if (end == std::string::npos)
			break;
		std::string key = text.substr(start + 1, end - start - 1);
		std::string replacement;
		const bool group = key.starts_with("group:");
		if (group)
			key = key.substr(6);
		const auto found = addresses_.find(key);
		if (found == addresses_.end()) {
			problem = "unknown role '" + key + "' in '" + text + "'";
			return std::nullopt;
		}
		replacement = found->second;
		if (group) {
			const auto number = kernel_.link_name("sys/bus/pci/devices/" + found->second +
							      "/iommu_group");
			if (!number) {
				problem = "role '" + key + "' (" + found->second + ") has no IOMMU group";
				return std::nullopt;
			}
			replacement = *number;
		}
		text.replace(start, end - start + 1, replacement);
	}
	return text;
}

int Runner::perform(const json::object &step, std::string &problem)
{
	const std::string action = string_field(step, "do").value_or("");
	if (action == "load_module")
		return kernel_.load_module(string_field(step, "module").value_or(""));
	if (action == "unload_module")
		return kernel_.unload_module(string_field(step, "module").value_or(""));

	const auto path = substitute(string_field(step, "path").value_or(""), problem);
	if (!path)
		return -1;
	if (action == "open")
		return kernel_.hold_open(*path);
	if (action == "attach")
		return kernel_.attach_group(*path);
	if (action == "close")
		return kernel_.close_held(*path);

	const auto value = substitute(string_field(step, "value").value_or(""), problem);
	if (!value)
		return -1;
	return kernel_.write(*path, *value);
}

json::object Runner::device_state(const std::string &address)
{
	const std::string base = "sys/bus/pci/devices/" + address + "/";
	json::object device;
	device["driver"] = optional_value(kernel_.link_name(base + "driver"));
	auto override_value = kernel_.read(base + "driver_override");
	if (override_value == "(null)")
		override_value.reset();
	device["driver_override"] = optional_value(override_value);

	if (const auto numvfs = kernel_.read(base + "sriov_numvfs")) {
		device["sriov_numvfs"] = optional_value(numvfs);
		/* VFs by position, so the record does not depend on their addresses. */
		json::array vfs;
		for (unsigned n = 0;; ++n) {
			const auto vf = kernel_.link_name(base + "virtfn" + std::to_string(n));
			if (!vf)
				break;
			json::object state = device_state(*vf);
			state.erase("sriov_numvfs");
			state.erase("vfs");
			vfs.push_back(std::move(state));
		}
		device["vfs"] = std::move(vfs);
	}
	return device;
}

json::object Runner::state()
{
	json::object devices;
	for (const auto &[role, address] : addresses_)
		devices[role] = device_state(address);

	json::object drivers;
	for (const std::string &driver : scenario_.drivers)
		drivers[driver] = kernel_.exists("sys/bus/pci/drivers/" + driver);

	json::object state;
	state["devices"] = std::move(devices);
	state["drivers"] = std::move(drivers);
	return state;
}

/* Adds a problem for every member of expected that actual lacks or holds differently. */
void compare(const json::value &expected, const json::value &actual, const std::string &where,
	     std::vector<std::string> &problems)
{
	if (expected.is_object() && actual.is_object()) {
		for (const auto &[key, value] : expected.as_object()) {
			const json::value *found = actual.as_object().if_contains(key);
			const std::string path = where + "." + std::string(key);
			if (!found)
				problems.push_back(path + ": expected " + json::serialize(value) +
						   ", absent");
			else
				compare(value, *found, path, problems);
		}
		return;
	}
	if (expected != actual)
		problems.push_back(where + ": expected " + json::serialize(expected) + ", found " +
				   json::serialize(actual));
}

/* Adds one sentence for every leaf where the recorded and this run's values differ. */
void diff(const json::value &recorded, const json::value &now, const std::string &where,
	  std::vector<std::string> &differences)
{
	if (recorded.is_object() && now.is_object()) {
		std::vector<std::string> keys;
		for (const auto &[key, value] : recorded.as_object())
			keys.emplace_back(key);
		for (const auto &[key, value] : now.as_object()) {
			if (!recorded.as_object().contains(key))
				keys.emplace_back(key);
		}
		const json::value absent;
		for (const std::string &key : keys) {
			const json::value *left = recorded.as_object().if_contains(key);
			const json::value *right = now.as_object().if_contains(key);
			diff(left ? *left : absent, right ? *right : absent, where + "." + key,
			     differences);
		}
		return;
	}
	if (recorded != now)
		differences.push_back(where + " recorded " + json::serialize(recorded) +
				      ", this run " + json::serialize(now));
}

std::vector<StepReport> Runner::run()
{
	std::vector<StepReport> reports;

	if (const auto problem = resolve_roles()) {
		StepReport report;
		report.name = "resolve the device roles";
		report.problems.push_back(*problem);
		reports.push_back(std::move(report));
		return reports;
	}

	unsigned number = 0;
	for (const json::object &step : scenario_.steps) {
		StepReport report;
		report.step = ++number;
		report.name = string_field(step, "name").value_or("");

		std::string problem;
		const int sys_errno = perform(step, problem);
		const std::string outcome = sys_errno < 0 ? "unresolved" : errno_name(sys_errno);
		const std::string expected = string_field(step, "expect").value_or("ok");

		json::object &record = report.record;
		record["scenario"] = scenario_.name;
		record["step"] = report.step;
		record["name"] = report.name;
		for (const char *key : {"do", "path", "value", "module"}) {
			if (const json::value *value = step.if_contains(key))
				record[key] = *value;
		}
		record["expect"] = expected;
		record["errno"] = outcome;
		record["state"] = state();

		if (!problem.empty())
			report.problems.push_back(problem);
		if (outcome != expected)
			report.problems.push_back("expected " + expected + ", the kernel gave " + outcome);
		if (const json::value *expected_state = step.if_contains("expect_state"))
			compare(*expected_state, record["state"], "state", report.problems);

		report.passed = report.problems.empty();
		reports.push_back(std::move(report));
	}
	return reports;
}

} /* namespace */

pcipass::result<Scenario> parse_scenario(std::string_view text, const std::string &origin)
{
	boost::system::error_code error;
	json::value document = json::parse(text, error);
	if (error)
		return invalid(origin, "not JSON: " + error.message());
	if (!document.is_object())
		return invalid(origin, "the document is not an object");
	const json::object &object = document.as_object();

	Scenario scenario;
	scenario.origin = origin;
	scenario.name = string_field(object, "name").value_or("");
	if (scenario.name.empty())
		return invalid(origin, "\"name\" is missing");

	BOOST_OUTCOME_TRY(scenario.boots, string_array(object, "boots", origin));

	if (const json::value *devices = object.if_contains("devices")) {
		if (!devices->is_object())
			return invalid(origin, "\"devices\" is not an object");
		for (const auto &[name, value] : devices->as_object()) {
			const std::string role(name);
			if (!value.is_object())
				return invalid(origin, "device role '" + role + "' is not an object");
			const auto id = string_field(value.as_object(), "id").value_or("");
			const auto colon = id.find(':');
			if (id.size() != 9 || colon != 4)
				return invalid(origin, "device role '" + role +
							       "' needs \"id\": \"vvvv:dddd\", found '" + id +
							       "'");
			Role parsed{role, id.substr(0, 4), id.substr(5), 0};
			if (const json::value *index = value.as_object().if_contains("index")) {
				if (!index->is_int64() || index->as_int64() < 0)
					return invalid(origin, "device role '" + role +
								       "' has an invalid \"index\"");
				parsed.index = unsigned(index->as_int64());
			}
			scenario.roles.push_back(std::move(parsed));
		}
	}

	BOOST_OUTCOME_TRY(scenario.drivers, string_array(object, "drivers", origin));

	const json::value *steps = object.if_contains("steps");
	if (!steps || !steps->is_array())
		return invalid(origin, "\"steps\" is missing or not an array");
	static const std::vector<std::string> actions = {"write", "load_module", "unload_module",
							  "open", "attach", "close"};
	unsigned number = 0;
	for (const json::value &step : steps->as_array()) {
		++number;
		const std::string where = "step " + std::to_string(number);
		if (!step.is_object())
			return invalid(origin, where + " is not an object");
		const json::object &fields = step.as_object();
		const std::string action = string_field(fields, "do").value_or("");
		if (std::find(actions.begin(), actions.end(), action) == actions.end())
			return invalid(origin, where + " has an unknown \"do\": '" + action + "'");
		const bool module = action == "load_module" || action == "unload_module";
		if (module && !string_field(fields, "module"))
			return invalid(origin, where + " needs \"module\"");
		if (!module && !string_field(fields, "path"))
			return invalid(origin, where + " needs \"path\"");
		if (action == "write" && !string_field(fields, "value"))
			return invalid(origin, where + " needs \"value\"");
		scenario.steps.push_back(fields);
	}

	return scenario;
}

bool runs_in(const Scenario &scenario, std::string_view boot)
{
	return scenario.boots.empty() ||
	       std::find(scenario.boots.begin(), scenario.boots.end(), boot) != scenario.boots.end();
}

std::vector<StepReport> run(const Scenario &scenario, Kernel &kernel)
{
	return Runner(scenario, kernel).run();
}

pcipass::result<std::vector<json::object>> parse_records(std::string_view text,
							 const std::string &origin)
{
	std::vector<json::object> records;
	unsigned number = 0;
	size_t start = 0;
	while (start < text.size()) {
		size_t end = text.find('\n', start);
		if (end == std::string_view::npos)
			end = text.size();
		const std::string_view line = text.substr(start, end - start);
		start = end + 1;
		++number;
		if (line.empty())
			continue;

		boost::system::error_code error;
		json::value value = json::parse(line, error);
		if (error || !value.is_object())
			return invalid(origin, "line " + std::to_string(number) +
						       " is not a JSON object");
		records.push_back(std::move(value.as_object()));
	}
	return records;
}

std::vector<std::string> compare_records(const std::vector<json::object> &recorded,
					 const std::vector<StepReport> &reports)
{
	std::vector<std::string> differences;
	if (recorded.size() != reports.size())
		differences.push_back("recorded " + std::to_string(recorded.size()) +
				      " steps, this run " + std::to_string(reports.size()));

	const size_t common = std::min(recorded.size(), reports.size());
	for (size_t index = 0; index < common; ++index) {
		const json::object &before = recorded[index];
		const json::object &now = reports[index].record;
		const std::string where = "step " + std::to_string(index + 1) + " (" +
					  string_field(now, "name").value_or("") + ")";

		for (const char *key : {"do", "path", "value", "module", "errno"}) {
			const json::value *old_value = before.if_contains(key);
			const json::value *new_value = now.if_contains(key);
			const json::value absent;
			const json::value &left = old_value ? *old_value : absent;
			const json::value &right = new_value ? *new_value : absent;
			diff(left, right, where + ": " + key, differences);
		}

		const json::value *old_state = before.if_contains("state");
		const json::value *new_state = now.if_contains("state");
		const json::value absent;
		diff(old_state ? *old_state : absent, new_state ? *new_state : absent,
		     where + ": state", differences);
	}
	return differences;
}

} /* namespace scenario */
