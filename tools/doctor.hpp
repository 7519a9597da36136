/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The host checks behind 'pcipassctl doctor'.
 */

#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include <pcipass/graph.hpp>
#include <pcipass/host.hpp>

namespace pcipassctl {

/* One finding of doctor, with the fix when something is wrong. */
struct Check {
	enum class Status { ok, warning, failed };

	std::string name; /* "iommu", "driver", "vfio_container", "device", "group", "host" */
	Status status = Status::ok;
	std::string message;
	std::string fix;
};

/* "ok", "warn", "FAIL": the column doctor prints. */
std::string_view status_name(Check::Status status);

boost::json::object to_json(const Check &check);

/*
 * Checks the IOMMU, the target driver and its module, /dev/vfio/vfio, and,
 * given an address, that function and its group. Reads only: the module
 * lists under lib/modules of the running kernel besides the graph.
 */
std::vector<Check> run_checks(pcipass::Host &host, const pcipass::DeviceGraph &graph,
			      const std::optional<pcipass::PciAddress> &address,
			      const std::string &target);

} /* namespace pcipassctl */
