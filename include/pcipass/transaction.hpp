/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Transactions: run a plan against a host under a host-wide lock, with a
 * journal, verification of every write, rollback on failure, recovery after
 * a crash and idempotent reconcile.
 */

#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <pcipass/error.hpp>
#include <pcipass/graph.hpp>
#include <pcipass/host.hpp>
#include <pcipass/plan.hpp>

namespace pcipass {

/* The "schema" field of a transaction report. */
inline constexpr std::string_view result_schema = "pcipass.result/v1";

/* The "schema" field of every journal line. */
inline constexpr std::string_view journal_schema = "pcipass.journal/v1";

/*
 * The transaction state machine
 * =============================
 *
 *   request
 *      |  lock (process mutex, then flock on STATE_DIR/lock)
 *      |  scan the graph, read the ownership records, plan
 *      v
 *   [planned] ---- a blocking finding -----------------------> [refused]
 *      |                                                        (no journal, no write)
 *      |  no step ------------------------------------------> [no_change]
 *      |  journal "begin" (recorded states), fsync
 *      v
 *   [running] ---- step k fails -----------+
 *      |     \---- write k passes its      |
 *      |           deadline: device k      v
 *      |           "in_doubt" -------> [rolling_back] -- an undo fails --> [rollback_failed]
 *      |                                   |        \--- device in doubt -> [in_doubt]
 *      |                                   v
 *      |                              [rolled_back]
 *      |  journal "commit" (ownership changes), fsync
 *      v
 *   [committed] -- ownership records saved, journal "end" --> done
 *
 *   a crash anywhere: the journal has no "end" (or ends in rollback_failed
 *   or in_doubt) --> recover() --> [recovered] (or [committed] after "commit")
 *
 * planned: the plan was made under the lock from a fresh scan, so nothing
 * can change between preflight and the first write except by software
 * that ignores the lock. Observer::on_plan receives it.
 *
 * refused: preflight found a blocking problem. Nothing was journaled or
 * written; the error is the first blocking finding.
 *
 * no_change: the host already holds the requested state. Nothing was
 * written to the host; ownership records may have been updated.
 *
 * running: each step is journaled ("intent") and fsynced, written on a
 * worker thread bounded by Deadlines::write, verified by reading back (the
 * driver link decides a bind or unbind, never the write's errno alone),
 * then journaled "done". The target driver is checked again right before
 * each bind, because other software unloads modules.
 *
 * rolling_back: a step failed. Every device touched so far, in reverse
 * order of first touch, is brought back to its recorded state: the
 * override first, then unbind, then an explicit bind of the recorded
 * driver, then sriov_numvfs; each undo is journaled and verified like a
 * step. A device whose write passed its deadline is "in doubt" and gets
 * no write at all.
 *
 * rolled_back: every device is back in its recorded state. The error is
 * that of the failing step (its code, errno, device, path and step) and
 * says so.
 *
 * rollback_failed: an undo failed too. The error (errc::rollback_failed)
 * names where each device is; the journal stays unfinished so that
 * recover() can try again once the cause is fixed.
 *
 * in_doubt: a write never returned. The error is errc::timed_out naming
 * the device, driver and path; the journal stays unfinished until
 * recover() finds the write has returned (in this process: the worker
 * thread finished; in another: that process is gone).
 *
 * committed: every step succeeded. The journal's "commit" line carries the
 * ownership changes, so recover() completes them (rolls forward) when the
 * process dies before writing the "end" line.
 *
 * recovered: recover() returned every touched device of an unfinished
 * transaction to its recorded state. Running it again changes nothing.
 */
enum class Outcome {
	no_change,
	committed,
	refused,
	rolled_back,
	rollback_failed,
	in_doubt,
	recovered,
};

/* "no_change", "committed", ... as used in JSON and the journal. */
std::string_view outcome_name(Outcome outcome);

enum class StepStatus {
	started,     /* journaled, about to be written (Observer only) */
	done,        /* written and verified */
	skipped,     /* the host already showed the step's result: no write */
	failed,      /* the write failed or did not verify */
	in_doubt,    /* the write did not return by its deadline */
};

std::string_view step_status_name(StepStatus status);

/* One step as it ran: a planned step, or an undo of a rollback or recovery. */
struct StepRecord {
	unsigned seq = 0;
	Step step;
	bool undo = false;
	StepStatus status = StepStatus::started;
	std::optional<Error> error;
};

/* A device of the transaction: its state before and as read back at the end. */
struct DeviceReport {
	std::string device;
	DeviceState before;
	DeviceState after;
	bool in_doubt = false;

	bool operator==(const DeviceReport &) const = default;
};

/*
 * The record of a transaction: plain values, serialized by to_json() as a
 * "pcipass.result/v1" document.
 */
struct Report {
	Operation operation = Operation::bind;
	std::string transaction; /* the journal id; empty when nothing was journaled */
	Outcome outcome = Outcome::no_change;
	std::string driver;
	std::string owner;
	std::vector<unsigned> groups; /* dev/vfio/N the caller uses */
	std::vector<PreflightFinding> findings;
	std::vector<StepRecord> steps;
	std::vector<DeviceReport> devices;
	std::optional<Error> error;
	unsigned writes = 0; /* writes and module loads sent to the host */
};

std::string to_json(const Report &report);

/*
 * Receives a transaction's progress, on the thread that called the
 * Engine. It must not call back into the same Engine. An exception it
 * throws propagates out of the Engine call, leaving the journal as a crash
 * at that point would.
 */
class Observer
{
public:
	virtual ~Observer() = default;

	/* The plan, made under the lock, before any write. */
	virtual void on_plan(const Plan &) {}
	/* Each step or undo: once with StepStatus::started, once with its result. */
	virtual void on_step(const StepRecord &) {}
	/* The final report, on success and on failure. */
	virtual void on_finish(const Report &) {}
};

struct EngineOptions {
	/*
	 * Journal, lock and ownership records; empty: the configured default
	 * (/run/pcipass). Required on a simulated kernel (sim::Host).
	 */
	std::string state_dir;
	ScanOptions scan;
};

/* The state directory pcipass uses when none is given. */
std::string default_state_dir();

/*
 * Runs transactions against one host and one state directory.
 *
 * The state directory is created with mode 0700 when missing and rejected
 * (state_directory_unsafe) when another user owns it, it is group- or
 * world-writable, or it is a symlink. It contains "lock", "journal" (JSON
 * lines, one transaction) and "ownership.json".
 *
 * Concurrency: thread-safe. Calls that change the host are serialized
 * across threads by a process-wide mutex per state directory and across
 * processes by flock(2) on STATE_DIR/lock.
 *
 * The Host must outlive the Engine and every write that passed its
 * deadline (see abandoned_writes()).
 */
class Engine
{
public:
	/*
	 * Errors: state_directory_unsafe, permission_denied, io_error;
	 * invalid_argument when host is a simulated kernel and options has no
	 * state directory. Creates the state directory.
	 */
	static result<std::unique_ptr<Engine>> open(Host &host, EngineOptions options = {});

	~Engine();

	const std::string &state_dir() const;

	/*
	 * The plan a bind or release would run now. Reads only (the graph and
	 * the ownership records); takes no lock. A blocked plan is a value,
	 * not an error. Errors: the scan's, journal_corrupt for unreadable
	 * ownership records.
	 */
	result<Plan> plan(Operation operation, const Request &request);

	/*
	 * Moves the requested devices and their groups to request.driver.
	 * Writes to the host.
	 *
	 * Errors before any write: a blocking preflight code (the request is
	 * rejected), lock_failed, journal_corrupt (also for unusable ownership
	 * records, which stay in place until they are repaired or removed),
	 * in_doubt when an unfinished transaction
	 * waits for recover(), escapes_root when the path of a file a step
	 * writes goes through a link (the file or a directory above it) that
	 * leads outside the host root, permission_denied. Errors after a
	 * complete rollback: the failing step's code (bind_failed,
	 * driver_missing, not_found, busy, ...). Otherwise timed_out when a
	 * write passed its deadline, or rollback_failed.
	 */
	result<Report> bind(const Request &request, Observer *observer = nullptr);

	/* Returns the requested devices and their IOMMU groups to their recorded state. Errors: as bind. */
	result<Report> release(const Request &request, Observer *observer = nullptr);

	/*
	 * Brings the host to the desired set with the fewest writes, so a state
	 * already in place writes nothing. Runs recover() first when the
	 * journal contains an unfinished transaction. Errors: as bind.
	 */
	result<Report> reconcile(std::span<const Desired> desired, const RequestOptions &options = {},
				 Observer *observer = nullptr);

	/*
	 * Finishes the transaction in the journal, if it is unfinished:
	 * rolls it forward when it reached "commit", otherwise returns every
	 * device it touched to its recorded state. Idempotent: a clean journal
	 * gives Outcome::no_change and no write. Errors: journal_corrupt (the
	 * journal is renamed aside and kept), lock_failed, in_doubt when a
	 * write of that transaction may still be blocked, rollback_failed.
	 */
	result<Report> recover(const Deadlines &deadlines = {}, Observer *observer = nullptr);

	/* The ownership records in force. Reads only. Errors: journal_corrupt (the file stays in place). */
	result<std::vector<Ownership>> ownerships();

	/* Writes that passed their deadline and have not returned yet, in this process. */
	size_t abandoned_writes() const;

	/* Waits until abandoned_writes() is 0 or timeout passes; true when it is 0. */
	bool wait_for_abandoned_writes(std::chrono::milliseconds timeout) const;

	struct Impl;

private:
	explicit Engine(std::unique_ptr<Impl> impl);

	std::unique_ptr<Impl> impl_;
};

} /* namespace pcipass */
