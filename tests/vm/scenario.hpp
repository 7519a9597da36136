/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Differential scenarios: a list of sysfs writes and module operations with
 * the errno each should give, run against a kernel, recording after every
 * step the errno and the driver state of the devices involved. The same
 * scenario runs against the real kernel in the test guest and against the
 * simulated kernel; the two records are then compared.
 *
 * A scenario file (tests/vm/scenarios/NAME.json):
 *
 *   {
 *     "name": "bind-primitives",
 *     "boots": ["iommu"],                         which guest boots run it
 *     "devices": {"nic": {"id": "8086:10d3"},     roles, found by vendor:device
 *                 "nic1": {"id": "8086:100e", "index": 1}},
 *     "drivers": ["vfio-pci"],                    drivers whose presence is recorded
 *     "steps": [
 *       {"name": "...", "do": "write",
 *        "path": "sys/bus/pci/drivers/vfio-pci/bind", "value": "{nic}",
 *        "expect": "EBUSY",
 *        "expect_state": {"devices": {"nic": {"driver": "e1000e"}}}}
 *     ]
 *   }
 *
 * "do" is write (path, value), load_module or unload_module (module), open
 * (path: keeps the file open), attach (path of /dev/vfio/N: opens the
 * group and sets a new container on it, which claims DMA ownership as a
 * VFIO user such as QEMU does), or close (path: closes what open or attach
 * opened).
 * "{ROLE}" in a path or value becomes the role's address and
 * "{group:ROLE}" its IOMMU group number. "expect" is "ok" or an errno name.
 * "expect_state" is compared as a subset of the recorded state.
 */

#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include <pcipass/error.hpp>

namespace scenario {

/*
 * The kernel a scenario runs against. Paths are relative to its root
 * ("sys/bus/pci/drivers_probe"). Operations return 0 or the errno of the
 * failed system call, as the kernel gave it.
 */
class Kernel
{
public:
	virtual ~Kernel() = default;

	/* One write(2) of value, after opening the file for writing. */
	virtual int write(const std::string &path, std::string_view value) = 0;
	/* The content without trailing newlines; nullopt when it cannot be read. */
	virtual std::optional<std::string> read(const std::string &path) = 0;
	/* The last component of a symlink's target; nullopt when there is no link. */
	virtual std::optional<std::string> link_name(const std::string &path) = 0;
	/* Entry names, sorted; empty when the directory is absent. */
	virtual std::vector<std::string> list(const std::string &path) = 0;
	virtual bool exists(const std::string &path) = 0;

	virtual int load_module(const std::string &name) = 0;
	virtual int unload_module(const std::string &name) = 0;
	/* Opens the file and keeps it open until close_held(). */
	virtual int hold_open(const std::string &path) = 0;
	/*
	 * Opens the VFIO group at path and attaches it to a new container
	 * (VFIO_GROUP_SET_CONTAINER), keeping both open until close_held().
	 */
	virtual int attach_group(const std::string &path) = 0;
	virtual int close_held(const std::string &path) = 0;
};

struct Role {
	std::string name;
	std::string vendor; /* "8086" */
	std::string device; /* "10d3" */
	unsigned index = 0; /* among devices with this ID, in address order */
};

struct Scenario {
	std::string name;
	std::string origin; /* the file it came from, for messages */
	std::vector<std::string> boots;
	std::vector<Role> roles;
	std::vector<std::string> drivers;
	std::vector<boost::json::object> steps;
};

/* Errors: invalid_argument naming the origin and the malformed field. */
pcipass::result<Scenario> parse_scenario(std::string_view text, const std::string &origin);

/* Whether the scenario runs in this boot ("iommu", "noiommu"). */
bool runs_in(const Scenario &scenario, std::string_view boot);

struct StepReport {
	unsigned step = 0;          /* from 1 */
	std::string name;           /* the step's "name" */
	bool passed = false;
	std::vector<std::string> problems; /* why it failed */
	boost::json::object record; /* the observed line: scenario, step, errno, state, ... */
};

/*
 * Runs every step in order and reports each. A step whose outcome differs
 * from its expectation is reported and the run goes on, so that the record
 * shows everything the kernel did. Writes to the kernel.
 */
std::vector<StepReport> run(const Scenario &scenario, Kernel &kernel);

/*
 * Parses a record file: one JSON object per line, as tests/vm/run writes
 * to tests/vm/observed/BOOT-NAME.jsonl. Errors: invalid_argument naming the
 * origin and the line.
 */
pcipass::result<std::vector<boost::json::object>> parse_records(std::string_view text,
								const std::string &origin);

/*
 * The differences between a recorded run and this one, one sentence each
 * ("step 5 (bind while bound): errno recorded EBUSY, this run ok"); empty
 * when they agree. Compared per step: the operation (do, path, value,
 * module), the errno and the whole state. Step names and expectations are
 * test data and not compared.
 */
std::vector<std::string> compare_records(const std::vector<boost::json::object> &recorded,
					 const std::vector<StepReport> &reports);

} /* namespace scenario */
