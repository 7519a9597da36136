/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * JSON pieces shared by plans, transaction reports and the journal.
 */

#pragma once

#include <span>
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

} /* namespace pcipass::detail */
