/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Plans and ownership records as JSON.
 */

#include <algorithm>
#include <limits>

#include <boost/json.hpp>

#include <pcipass/plan.hpp>

#include "json_fields.hpp"
#include "plan_json.hpp"
#include "topology_rules.hpp"

namespace json = boost::json;

namespace pcipass::detail {

json::value state_to_json(const DeviceState &state)
{
	json::object object;
	object["driver"] = state.driver.empty() ? json::value(nullptr) : json::value(state.driver);
	object["override"] =
		state.override.empty() ? json::value(nullptr) : json::value(state.override);
	return object;
}

json::value step_to_json(const Step &step)
{
	json::object object;
	object["kind"] = step_kind_name(step.kind);
	object["device"] = step.device;
	object["path"] = step.path;
	object["value"] = step.value;
	object["driver"] = step.driver;
	object["description"] = step.describe();
	return object;
}

json::value error_to_json(const Error &error)
{
	json::object object;
	object["code"] = errc_name(error.code);
	object["errno"] = error.sys_errno;
	object["device"] = error.device;
	object["path"] = error.path;
	object["step"] = error.step;
	object["message"] = error.message;
	return object;
}

json::value finding_to_json(const PreflightFinding &finding)
{
	json::object object;
	object["code"] = errc_name(finding.code);
	object["device"] = finding.device;
	object["message"] = finding.message;
	object["blocking"] = finding.blocking;
	return object;
}

namespace {

json::value optional_unsigned(const std::optional<unsigned> &value)
{
	return value ? json::value(*value) : json::value(nullptr);
}

json::value ownership_to_json(const Ownership &claim)
{
	json::object object;
	object["device"] = claim.device;
	object["owner"] = claim.owner;
	object["driver"] = claim.driver;
	object["group"] = optional_unsigned(claim.group);
	object["identity"] =
		claim.identity ? json::value(claim.identity->to_string()) : json::value(nullptr);
	object["original"] = state_to_json(claim.original);
	object["original_num_vfs"] = optional_unsigned(claim.original_num_vfs);
	object["framebuffer"] = claim.framebuffer;
	object["transaction"] = claim.transaction;
	return object;
}

json::value member_to_json(const Member &member)
{
	json::object object;
	object["address"] = member.address.to_string();
	object["group"] = optional_unsigned(member.group);
	object["identity"] = member.identity.to_string();
	object["requested"] = member.requested;
	object["action"] = member_action_name(member.action);
	object["before"] = state_to_json(member.before);
	object["after"] = state_to_json(member.after);
	object["num_vfs_before"] = optional_unsigned(member.num_vfs_before);
	object["num_vfs_after"] = optional_unsigned(member.num_vfs_after);
	object["framebuffer"] = member.framebuffer;
	return object;
}

Error field_error(std::string_view field, std::string_view expected)
{
	return make_error(errc::invalid_argument, "ownership record field '" + std::string(field) +
							  "' is missing or not " + std::string(expected));
}

} /* namespace */

json::value plan_to_json_value(const Plan &plan)
{
	json::object object;
	object["schema"] = plan_schema;
	object["operation"] = operation_name(plan.operation);
	object["driver"] = plan.driver;
	object["owner"] = plan.owner;
	object["blocked"] = plan.blocked();

	json::array groups;
	for (unsigned group : plan.groups)
		groups.push_back(group);
	object["groups"] = std::move(groups);

	json::array members;
	for (const auto &member : plan.members)
		members.push_back(member_to_json(member));
	object["members"] = std::move(members);

	json::array findings;
	for (const auto &finding : plan.findings)
		findings.push_back(finding_to_json(finding));
	object["findings"] = std::move(findings);

	json::array steps;
	for (const auto &planned : plan.steps) {
		json::object step = step_to_json(planned.step).as_object();
		step["inverse"] = planned.inverse ? step_to_json(*planned.inverse) : json::value(nullptr);
		steps.push_back(std::move(step));
	}
	object["steps"] = std::move(steps);

	object["claims_added"] = ownerships_to_json_value(plan.claims_added);
	json::array removed;
	for (const auto &device : plan.claims_removed)
		removed.push_back(json::value(device));
	object["claims_removed"] = std::move(removed);

	return object;
}

json::value ownerships_to_json_value(std::span<const Ownership> claims)
{
	json::array array;
	for (const auto &claim : claims)
		array.push_back(ownership_to_json(claim));
	return array;
}

result<DeviceState> state_from_json(const json::value &value) noexcept
{
	const json::object *object = value.if_object();
	if (!object)
		return make_error(errc::invalid_argument, "a device state is not a JSON object");

	DeviceState state;
	for (const auto &[key, target] : {std::pair<const char *, std::string *>{"driver", &state.driver},
					  {"override", &state.override}}) {
		const json::value *field = object->if_contains(key);
		if (!field || field->is_null())
			continue;
		if (!field->is_string())
			return make_error(errc::invalid_argument, std::string("device state field '") + key +
									  "' is not a string or null");
		*target = std::string(field->get_string());
	}
	return state;
}

result<std::vector<Ownership>> ownerships_from_json_value(const json::value &value) noexcept
{
	const json::array *array = value.if_array();
	if (!array)
		return make_error(errc::invalid_argument, "ownership records are not a JSON array");

	std::vector<Ownership> claims;
	for (const auto &item : *array) {
		const json::object *object = item.if_object();
		if (!object)
			return make_error(errc::invalid_argument, "an ownership record is not an object");

		Ownership claim;
		for (const auto &[key, target] :
		     {std::pair<const char *, std::string *>{"device", &claim.device},
		      {"owner", &claim.owner},
		      {"driver", &claim.driver},
		      {"framebuffer", &claim.framebuffer},
		      {"transaction", &claim.transaction}}) {
			const json::value *field = object->if_contains(key);
			if (!field || !field->is_string())
				return field_error(key, "a string");
			*target = std::string(field->get_string());
		}
		/* Recovery and release join these names into sysfs paths. */
		if (!is_canonical_address(claim.device))
			return field_error("device", "a canonical PCI address such as 0000:01:00.0");
		if (std::any_of(claims.begin(), claims.end(),
				[&](const Ownership &other) { return other.device == claim.device; }))
			return make_error(errc::invalid_argument,
					  "two ownership records name device " + claim.device);
		if (!is_valid_owner(claim.owner))
			return field_error("owner", "1 to " + std::to_string(max_owner_size) +
							    " bytes of UTF-8 without control characters");
		for (const auto &[key, name] : {std::pair<const char *, const std::string *>{"driver", &claim.driver},
						{"framebuffer", &claim.framebuffer}})
			if (!name->empty() && !is_plain_file_name(*name))
				return field_error(key, "empty or a plain file name");

		for (const auto &[key, target] :
		     {std::pair<const char *, std::optional<unsigned> *>{"group", &claim.group},
		      {"original_num_vfs", &claim.original_num_vfs}}) {
			const json::value *field = object->if_contains(key);
			if (!field || field->is_null())
				continue;
			if (!field->is_int64() || field->get_int64() < 0 ||
			    field->get_int64() > std::numeric_limits<unsigned>::max())
				return field_error(key, "a non-negative 32-bit integer or null");
			*target = static_cast<unsigned>(field->get_int64());
		}

		const json::value *identity = object->if_contains("identity");
		if (identity && identity->is_string()) {
			BOOST_OUTCOME_TRY(auto parsed, DeviceIdentity::parse(identity->get_string()));
			claim.identity = parsed;
		} else if (identity && !identity->is_null()) {
			return field_error("identity", "a vendor:device string or null");
		}

		const json::value *original = object->if_contains("original");
		if (!original)
			return field_error("original", "an object");
		BOOST_OUTCOME_TRY(auto state, state_from_json(*original));
		/* Release binds the device back to these names. */
		for (const auto &[key, name] :
		     {std::pair<const char *, const std::string *>{"original.driver", &state.driver},
		      {"original.override", &state.override}})
			if (!name->empty() && !is_plain_file_name(*name))
				return field_error(key, "null or a driver name");
		claim.original = std::move(state);

		claims.push_back(std::move(claim));
	}
	return claims;
}

result<Desired> desired_from_json(const json::value &value, std::string_view where,
				  const Desired &defaults)
{
	const json::object *object = value.if_object();
	if (!object)
		return make_error(errc::invalid_argument,
				  std::string(where) + " must be an object with \"device\", \"driver\" and \"owner\"");

	BOOST_OUTCOME_TRY(check_fields(*object, {"device", "driver", "owner"}, where));

	BOOST_OUTCOME_TRY(auto device, string_field(*object, "device", where));
	if (!device)
		return make_error(errc::invalid_argument, std::string(where) + " has no \"device\"");

	Desired desired = defaults;
	BOOST_OUTCOME_TRY(desired.device, PciAddress::parse(*device));

	const json::value *driver = object->if_contains("driver");
	if (driver && driver->is_null()) {
		desired.driver.clear();
	} else {
		BOOST_OUTCOME_TRY(auto name, string_field(*object, "driver", where));
		if (name)
			desired.driver = *name;
	}

	BOOST_OUTCOME_TRY(auto owner, string_field(*object, "owner", where));
	if (owner)
		desired.owner = *owner;

	return desired;
}

} /* namespace pcipass::detail */

namespace pcipass {

std::string to_json(const Plan &plan)
{
	return json::serialize(detail::plan_to_json_value(plan));
}

std::string to_json(std::span<const Ownership> claims)
{
	return json::serialize(detail::ownerships_to_json_value(claims));
}

result<std::vector<Ownership>> parse_ownerships(std::string_view text) noexcept
{
	boost::system::error_code ec;
	json::value value = json::parse(text, ec);
	if (ec)
		return make_error(errc::invalid_argument,
				  "ownership records are not valid JSON: " + ec.message());
	return detail::ownerships_from_json_value(value);
}

} /* namespace pcipass */
