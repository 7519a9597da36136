/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Runs steps against a host: journal first, write on a worker thread with a
 * deadline, verify by reading back; and returns devices to recorded states.
 */

#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <pcipass/host.hpp>
#include <pcipass/plan.hpp>
#include <pcipass/transaction.hpp>

#include "bounded_call.hpp"
#include "journal.hpp"

namespace pcipass::detail {

/* The driver link of a PCI function: the driver's name, empty when unbound. */
result<std::string> read_driver(Host &host, const std::string &bdf);

/* driver and driver_override of a PCI function; "(null)" reads as empty. */
result<DeviceState> read_device_state(Host &host, const std::string &bdf);

/* sriov_numvfs, or nothing when the function has none. */
result<std::optional<unsigned>> read_num_vfs(Host &host, const std::string &bdf);

/* The driver of a platform device, empty when unbound. */
result<std::string> read_platform_driver(Host &host, const std::string &device);

/* A device that a failed rollback left elsewhere than its recorded state. */
struct Stranded {
	std::string device;
	Error error;
};

class Executor
{
public:
	Executor(Host &host, const Deadlines &deadlines, CallWorkers &workers,
		 AbandonedCalls &abandoned, Journal &journal, Observer *observer, Report &report);

	/* Lets bind steps load the target driver's module again when it vanished. */
	void allow_module_reload(std::string driver, std::string module);

	/*
	 * Runs one step: journals it, writes it unless the host already shows
	 * its result, verifies it. final_driver is where the device ends up,
	 * so that an unbind that finds it already there is accepted. A write
	 * that passes its deadline marks the device in doubt. Errors: the
	 * step's failure with device, path, errno and step filled in;
	 * timed_out for an abandoned write.
	 */
	result<void> run(const Step &step, bool undo, const std::string &final_driver);

	/*
	 * Brings a unit back to its recorded state with the fewest writes:
	 * sriov_numvfs down first, then override, unbind and bind of the
	 * recorded driver, then sriov_numvfs up. Errors: the first undo that
	 * failed.
	 */
	result<void> restore(const JournalUnit &unit);

	/*
	 * Restores the touched units in reverse order, skipping the ones in
	 * doubt. Returns the units it could not restore.
	 */
	std::vector<Stranded> roll_back(const std::vector<std::string> &touched,
					const std::vector<JournalUnit> &units);

	const std::set<std::string> &in_doubt() const { return in_doubt_; }
	void mark_in_doubt(const std::string &device) { in_doubt_.insert(device); }
	void set_next_seq(unsigned seq) { seq_ = seq; }

private:
	result<bool> perform(const Step &step, const std::string &final_driver);
	result<void> write(const Step &step, const std::string &path, const std::string &value);
	result<void> load_module(const Step &step, const std::string &module);

	result<bool> perform_override(const Step &step);
	result<bool> perform_unbind(const Step &step, const std::string &final_driver);
	result<bool> perform_bind(const Step &step);
	result<bool> perform_probe(const Step &step);
	result<bool> perform_num_vfs(const Step &step);
	result<bool> perform_framebuffer(const Step &step);
	result<bool> perform_load_module(const Step &step);

	Host &host_;
	const Deadlines &deadlines_;
	CallWorkers &workers_;
	AbandonedCalls &abandoned_;
	Journal &journal_;
	Observer *observer_;
	Report &report_;
	unsigned seq_ = 0;
	std::set<std::string> in_doubt_;
	std::string reload_driver_;
	std::string reload_module_;
};

/* "on vfio-pci with driver_override vfio-pci", "on no driver" */
std::string describe_state(const DeviceState &state);

} /* namespace pcipass::detail */
