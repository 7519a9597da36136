/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * A scanned host turned back into a topology, so that a user can attach
 * their machine to a bug report and a test can replay it.
 */

#pragma once

#include <string>

#include <pcipass/graph.hpp>
#include <pcipass/testing/topology.hpp>

namespace pcipass::testing {

/*
 * The topology of a scanned graph. Each loaded driver lists the IDs of
 * the devices bound to it as its static ID table, because it matched them.
 * vfio-pci has no static table, so a device on a VFIO driver without an
 * override naming that driver is recorded through a dynamic ID instead.
 * Modules come from HostFacts::driver_modules, so scan with
 * ScanOptions::driver_modules to keep them.
 *
 * NOTE: what sysfs does not show is lost: modules that could be loaded
 * (only the loaded ones are listed), IDs a driver would match but has no
 * device for, and the difference between an unset override and the empty
 * one that kernels 5.19 to 6.0 stored after a NUL write.
 */
Topology topology_from_graph(const DeviceGraph &graph, std::string description = {});

} /* namespace pcipass::testing */
