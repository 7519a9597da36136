/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The transaction journal: one transaction as fsynced JSON lines in
 * STATE_DIR/journal, written ahead of every host write.
 *
 * Lines, each an object with "schema" (pcipass.journal/v1), "type" and "txn":
 *   begin   operation, owner, driver, pid, time, units (recorded states)
 *   intent  seq, undo, step: about to write
 *   done    seq, status ("done" or "skipped"): written and verified
 *   failed  seq, error
 *   in_doubt seq, device: the write passed its deadline
 *   commit  claims_added, claims_removed: every step is done
 *   end     outcome, in_doubt (devices)
 */

#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include <pcipass/error.hpp>
#include <pcipass/plan.hpp>
#include <pcipass/transaction.hpp>

#include "state_dir.hpp"

namespace pcipass::detail {

/* A device whose state before the transaction the journal records. */
struct JournalUnit {
	std::string device;   /* a BDF, or a platform device for a framebuffer */
	bool framebuffer = false;
	DeviceState state;    /* framebuffer: driver is the platform driver when it was bound */
	std::optional<unsigned> num_vfs;
	std::string platform_driver; /* framebuffer: the driver to bind it back to */

	bool operator==(const JournalUnit &) const = default;
};

/* The content of a journal, read back. */
struct JournalState {
	bool exists = false;
	std::string transaction;
	Operation operation = Operation::bind;
	std::string owner;
	std::string driver;
	long pid = 0;
	std::vector<JournalUnit> units;
	std::vector<std::string> touched; /* devices with an intent, in order of first intent */
	std::set<std::string> in_doubt;
	bool committed = false;
	std::vector<Ownership> claims_added;
	std::vector<std::string> claims_removed;
	bool ended = false;
	Outcome outcome = Outcome::no_change;
	unsigned last_seq = 0;

	/* No journal, or one whose transaction ended with nothing left to do. */
	bool clean() const;
	const JournalUnit *unit(std::string_view device) const;
};

/*
 * Replays the content of a journal file into the state it records. Pure;
 * an empty content gives a state that does not exist. Errors:
 * journal_corrupt with "line N: reason" when a line is truncated, not
 * JSON, foreign (another schema) or out of order, or when a device is not
 * a canonical PCI address (a plain name for a framebuffer) or a driver
 * name could leave its directory.
 */
result<JournalState> parse_journal(std::string_view content) noexcept;

class Journal
{
public:
	explicit Journal(const StateDir &dir) : dir_(dir) {}
	~Journal();
	Journal(const Journal &) = delete;
	Journal &operator=(const Journal &) = delete;

	/*
	 * Reads STATE_DIR/journal. Errors: journal_corrupt when a line is
	 * truncated, not JSON, foreign (another schema) or out of order. The
	 * file is then renamed aside, and the error names both paths.
	 */
	result<JournalState> load() const;

	/* Starts a new journal (replacing a clean old one) with the recorded states. */
	result<void> begin(const std::string &transaction, Operation operation,
			   const std::string &owner, const std::string &driver,
			   const std::vector<JournalUnit> &units);

	/* Appends to the journal of an unfinished transaction, for recovery. */
	result<void> resume(const std::string &transaction);

	result<void> intent(unsigned seq, const Step &step, bool undo);
	result<void> done(unsigned seq, bool skipped);
	result<void> failed(unsigned seq, const Error &error);
	result<void> in_doubt(unsigned seq, const std::string &device);
	result<void> commit(const std::vector<Ownership> &added, const std::vector<std::string> &removed);
	result<void> end(Outcome outcome, const std::set<std::string> &in_doubt);

	std::string path() const { return dir_.describe("journal"); }

private:
	result<void> open_file(bool truncate);
	result<void> append(boost::json::object line);

	const StateDir &dir_;
	std::string transaction_;
	int fd_ = -1;
};

/* A fresh transaction id: 16 hex digits. */
std::string new_transaction_id();

} /* namespace pcipass::detail */
