/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The transaction state directory: safe creation, files opened beneath it,
 * the host-wide lock, and state shared by every Engine of one process.
 */

#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <pcipass/error.hpp>

#include "bounded_call.hpp"

namespace pcipass::detail {

/* The state shared by every Engine of this process that uses one state directory. */
struct ProcessState {
	/* Serializes transactions between threads; flock alone would not, within one open file. */
	std::timed_mutex transaction_mutex;
	/* Writes that passed their deadline and still run on a worker thread. */
	AbandonedCalls abandoned;
	/* The threads that make the writes, kept between transactions. */
	CallWorkers workers;
};

class StateDir
{
public:
	/*
	 * Opens the directory, creating it (and missing parents) with mode
	 * 0700. Errors: state_directory_unsafe when it is a symlink, not a
	 * directory, owned by another user, or group- or world-writable.
	 * permission_denied or io_error when it cannot be created or opened.
	 */
	static result<std::unique_ptr<StateDir>> open(const std::string &path);

	~StateDir();
	StateDir(const StateDir &) = delete;
	StateDir &operator=(const StateDir &) = delete;

	const std::string &path() const { return path_; }
	int fd() const { return fd_; }
	ProcessState &process() const { return *process_; }

	/* The file's content, or nothing when it does not exist. Errors: io_error. */
	result<std::optional<std::string>> read(std::string_view name) const;

	/* Replaces the file through a temporary file, fsync and rename. */
	result<void> write_atomic(std::string_view name, std::string_view content) const;

	/* Renames the file to NAME.corrupt-SECONDS and returns the new name. */
	result<std::string> rename_aside(std::string_view name) const;

	/* "STATE_DIR/NAME" for messages. */
	std::string describe(std::string_view name) const;

private:
	StateDir(std::string path, int fd, std::shared_ptr<ProcessState> process);

	std::string path_;
	int fd_ = -1;
	std::shared_ptr<ProcessState> process_;
};

/*
 * The host-wide lock: the process mutex of the state directory, then an
 * exclusive flock(2) on STATE_DIR/lock. Released by the destructor.
 */
class HostLock
{
public:
	/* Errors: lock_failed after the deadline, naming the pid that holds it when known. */
	static result<std::unique_ptr<HostLock>> acquire(const StateDir &dir,
							 std::chrono::milliseconds deadline);

	~HostLock();
	HostLock(const HostLock &) = delete;
	HostLock &operator=(const HostLock &) = delete;

private:
	HostLock(std::unique_lock<std::timed_mutex> guard, int fd);

	std::unique_lock<std::timed_mutex> guard_;
	int fd_ = -1;
};

} /* namespace pcipass::detail */
