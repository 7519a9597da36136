/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Transaction reports as "pcipass.result/v1" JSON documents.
 */

#include <pcipass/transaction.hpp>

#include <boost/json.hpp>

#include "plan_json.hpp"

namespace json = boost::json;

namespace pcipass {

std::string_view step_status_name(StepStatus status)
{
	switch (status) {
	case StepStatus::started: return "started";
	case StepStatus::done: return "done";
	case StepStatus::skipped: return "skipped";
	case StepStatus::failed: return "failed";
	case StepStatus::in_doubt: return "in_doubt";
	}
	return "unknown";
}

std::string to_json(const Report &report)
{
	json::object object;
	object["schema"] = result_schema;
	object["operation"] = operation_name(report.operation);
	object["transaction"] = report.transaction;
	object["outcome"] = outcome_name(report.outcome);
	object["driver"] = report.driver;
	object["owner"] = report.owner;
	object["writes"] = report.writes;

	json::array groups;
	for (unsigned group : report.groups)
		groups.push_back(group);
	object["groups"] = std::move(groups);

	json::array findings;
	for (const auto &finding : report.findings)
		findings.push_back(detail::finding_to_json(finding));
	object["findings"] = std::move(findings);

	json::array steps;
	for (const auto &record : report.steps) {
		json::object step;
		step["seq"] = record.seq;
		step["undo"] = record.undo;
		step["status"] = step_status_name(record.status);
		step["step"] = detail::step_to_json(record.step);
		step["error"] = record.error ? detail::error_to_json(*record.error) : json::value(nullptr);
		steps.push_back(std::move(step));
	}
	object["steps"] = std::move(steps);

	json::array devices;
	for (const auto &device : report.devices) {
		json::object entry;
		entry["device"] = device.device;
		entry["before"] = detail::state_to_json(device.before);
		entry["after"] = detail::state_to_json(device.after);
		entry["in_doubt"] = device.in_doubt;
		devices.push_back(std::move(entry));
	}
	object["devices"] = std::move(devices);

	object["error"] = report.error ? detail::error_to_json(*report.error) : json::value(nullptr);
	return json::serialize(object);
}

} /* namespace pcipass */
