/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The pieces every pcipassctl command shares: the host it runs against,
 * output mode, and how each group of commands registers itself.
 */

#pragma once

#include <functional>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include <pcipass/error.hpp>
#include <pcipass/host.hpp>

namespace pcipassctl {

/* Exit statuses: 0 success, 1 refused or failed, 2 usage error. */
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
 */
class Context
{
public:
	/* options is filled in by the parser after construction, so it is held by reference. */
	explicit Context(const GlobalOptions &options) : options_(options) {}
	~Context();

	const GlobalOptions &options() const { return options_; }
	bool json() const { return options_.json; }
	bool simulated() const { return !options_.sim_file.empty(); }

	pcipass::result<pcipass::Host *> host();
	void mark_changed() { changed_ = true; }

	/* Saves the simulated state to --sim FILE when a command changed it. */
	pcipass::result<void> finish();

private:
	const GlobalOptions &options_;
	std::unique_ptr<pcipass::Host> host_;
	bool changed_ = false;
};

/* Prints an error as one line on stderr, with its fix, and returns exit_failed. */
int report(const pcipass::Error &error);

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
 * Opens the simulated kernel from a topology file and saves it back; the
 * simulated-kernel layer provides these.
 */
pcipass::result<std::unique_ptr<pcipass::Host>> open_simulated_host(const std::string &file);
pcipass::result<void> save_simulated_host(pcipass::Host &host, const std::string &file);

} /* namespace pcipassctl */
