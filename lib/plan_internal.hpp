/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Helpers shared by the planner, the preflight checks and the transaction engine.
 */

#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include <pcipass/graph.hpp>
#include <pcipass/plan.hpp>

namespace pcipass::detail {

DeviceState state_of(const Device &device);
const Ownership *find_claim(std::span<const Ownership> claims, std::string_view device);

Step make_override_step(const std::string &bdf, const std::string &override);
Step make_unbind_step(const std::string &bdf, const std::string &driver);
Step make_bind_step(const std::string &bdf, const std::string &driver);
Step make_probe_step(const std::string &bdf);
Step make_num_vfs_step(const std::string &bdf, unsigned count);
Step make_framebuffer_step(const std::string &consumer, bool bind);
Step make_module_step(const std::string &driver, const std::string &module);

std::vector<PlannedStep> transition_steps(const std::string &bdf, const DeviceState &before,
					  const DeviceState &after, bool probe_when_unknown);

/* Adds a finding unless the same one is already there. */
void add_finding(Plan &plan, errc code, std::string device, std::string message, bool blocking);
void add_group(Plan &plan, std::optional<unsigned> group);

/* Preflight over the requested addresses themselves: IOMMU, existence, identity, bridges. */
void check_request_devices(const DeviceGraph &graph, const Request &request, Plan &plan);

/* Preflight over every member a bind plan moves or keeps. */
void check_bind_members(const DeviceGraph &graph, const Request &request,
			std::span<const Ownership> claims, Plan &plan);

/* Every member's driver and override must be a name the journal can record and restore. */
void check_recorded_names(Plan &plan);

/* Preflight over every member a release plan moves. */
void check_release_members(const DeviceGraph &graph, const Request &request,
			   std::span<const Ownership> claims, Plan &plan);

} /* namespace pcipass::detail */
