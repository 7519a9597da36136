/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * JSON pieces shared by plans, transaction reports and the journal.
 */

#pragma once

#include <span>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include <pcipass/error.hpp>
#include <pcipass/plan.hpp>

namespace pcipass::detail {

boost::json::value state_to_json(const DeviceState &state);
boost::json::value step_to_json(const Step &step);
boost::json::value error_to_json(const Error &error);
boost::json::value finding_to_json(const PreflightFinding &finding);
boost::json::value plan_to_json_value(const Plan &plan);
boost::json::value ownerships_to_json_value(std::span<const Ownership> claims);

result<DeviceState> state_from_json(const boost::json::value &value) noexcept;
result<std::vector<Ownership>> ownerships_from_json_value(const boost::json::value &value) noexcept;

/*
 * Parses one {device, driver, owner} entry of a desired set. A null driver
 * requests the state before the claim, and a missing driver or owner takes
 * the one in defaults. An unknown field or a value that is not a string is
 * invalid_argument, named by where (such as "desired[0]").
 */
result<Desired> desired_from_json(const boost::json::value &value, std::string_view where,
				  const Desired &defaults);

} /* namespace pcipass::detail */
