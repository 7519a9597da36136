/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The device graph as JSON, for pcipassctl and the C ABI.
 */

#pragma once

#include <string_view>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <pcipass/graph.hpp>

namespace pcipass {

/* The "schema" field of a graph document. */
inline constexpr std::string_view graph_schema = "pcipass.graph/v1";

/*
 * One device: address, vendor, device, subsystem_vendor, subsystem_device,
 * class (six hex digits), revision, header_type, bridge, driver,
 * driver_override, iommu_group, numa_node, sysfs_path, parent (the nearest
 * bridge), parents, physfn, vfs, sriov, boot_vga, has_reset, reset_methods,
 * vfio_device, inaccessible, consumers, findings, vendor_name and
 * device_name. Absent values are null; IDs are lower-case hex strings.
 */
boost::json::object to_json(const Device &device);

/* number, members, device_node, holders ({pid, command}). */
boost::json::object to_json(const IommuGroup &group);

/* The host facts, with findings. */
boost::json::object to_json(const HostFacts &host);

/* viable and blockers ({device, reason, message}). */
boost::json::object to_json(const Viability &viability);

/* state ("ready", "in_use", "claimable", "blocked"), blockers and moves. */
boost::json::object to_json(const Readiness &readiness);

/* {"schema": "pcipass.graph/v1", "host": ..., "groups": [...], "devices": [...]} */
boost::json::value to_json(const DeviceGraph &graph);

} /* namespace pcipass */
