/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The pieces every pcipassctl command shares: the host it runs against,
 * output mode, and how each group of commands registers itself.
 */

#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include <pcipass/error.hpp>
#include <pcipass/host.hpp>

#include "escaped_output.hpp"
#include "unique_fd.hpp"

namespace pcipassctl {

/*
 * Exit statuses: 0 success, 1 refused or failed, 2 usage error. A usage
 * error is input the user can correct: an unknown option, a malformed
 * address or identity, or an address where the host has no PCI function.
 */
inline constexpr int exit_ok = 0;
inline constexpr int exit_failed = 1;
inline constexpr int exit_usage = 2;

struct GlobalOptions {
	std::string root = "/";
	std::string sim_file;
	std::string state_dir;
	bool json = false;
};

/*
 * The host a command runs against, opened on first use: a LiveHost under
 * --root, or the simulated kernel loaded from --sim. A command that changed
 * the simulated state calls mark_changed() so that the state is saved back.
 * With --sim, the lock from lock_simulated_file() is held from the load
 * until the context is destroyed, after finish() saved the state.
 */
class Context
{
public:
	/* options is filled in by the parser after construction, so it is held by reference. */
	Context(const GlobalOptions &options, EscapedStream &out) : options_(options), out_(out) {}
	~Context();

	const GlobalOptions &options() const { return options_; }
	bool json() const { return options_.json; }
	bool simulated() const { return !options_.sim_file.empty(); }

	/*
	 * Switches stdout to JSON escaping. Commands that print JSON documents
	 * even without --json call it, because text escaping would put "\xNN",
	 * which is invalid JSON, into their strings.
	 */
	void use_json_output() { out_.set_mode(EscapingBuffer::Mode::json); }

	/* How long host() waits for the lock of a --sim FILE; call it before host(). */
	void set_lock_timeout(std::chrono::milliseconds timeout) { lock_timeout_ = timeout; }

	pcipass::result<pcipass::Host *> host();
	void mark_changed() { changed_ = true; }

	/* Saves the simulated state to --sim FILE when a command changed it. */
	pcipass::result<void> finish();

private:
	const GlobalOptions &options_;
	EscapedStream &out_;
	/* The default of --lock-timeout, for commands that do not take it. */
	std::chrono::milliseconds lock_timeout_{30000};
	pcipass::detail::UniqueFd sim_lock_;
	std::unique_ptr<pcipass::Host> host_;
	bool changed_ = false;
};

/* Prints an error as one line on stderr, with its fix, and returns status. */
int report(const pcipass::Error &error, int status = exit_failed);

/*
 * Each group of commands adds its subcommands to app; the callback set on a
 * subcommand stores its exit status in *status.
 */
using Registrar = std::function<void(CLI::App &app, Context &context, int &status)>;

void register_read_commands(CLI::App &app, Context &context, int &status);
void register_transaction_commands(CLI::App &app, Context &context, int &status);
void register_object_commands(CLI::App &app, Context &context, int &status);
void register_watch_commands(CLI::App &app, Context &context, int &status);

/*
 * Takes an exclusive flock(2) on FILE.lock beside a --sim FILE, waiting up
 * to timeout for other holders (then lock_failed), so that concurrent pcipassctl runs on one FILE load,
 * change and save it one after another. The lock is released when the
 * returned descriptor closes; FILE.lock stays behind. It is a separate
 * file because FILE is replaced by a rename on every save, and a waiter
 * holding a lock on the replaced inode would load a stale state.
 */
pcipass::result<pcipass::detail::UniqueFd> lock_simulated_file(const std::string &file,
								std::chrono::milliseconds timeout);

/*
 * Opens the simulated kernel from a topology file and saves it back
 * through a new temporary file in the same directory, flushed and renamed
 * over FILE. Both reject a FILE that is a symbolic link (invalid_argument).
 */
pcipass::result<std::unique_ptr<pcipass::Host>> open_simulated_host(const std::string &file);
pcipass::result<void> save_simulated_host(pcipass::Host &host, const std::string &file);

} /* namespace pcipassctl */
