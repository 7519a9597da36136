/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * pcipassctl: the command-line front end of pcipass.
 */

#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>

#include <pcipass/version.hpp>

#include "commands.hpp"
#include "escaped_output.hpp"

namespace pcipassctl {

Context::~Context() = default;

pcipass::result<pcipass::Host *> Context::host()
{
	if (host_)
		return host_.get();

	if (simulated()) {
		if (locking_) {
			BOOST_OUTCOME_TRY(auto lock, lock_simulated_file(options_.sim_file, lock_timeout_));
			sim_lock_ = std::move(lock);
		}

		BOOST_OUTCOME_TRY(auto host, open_simulated_host(options_.sim_file));
		host_ = std::move(host);
	} else {
		BOOST_OUTCOME_TRY(auto host, pcipass::LiveHost::open(options_.root));
		host_ = std::move(host);
	}

	return host_.get();
}

pcipass::result<void> Context::finish()
{
	if (!simulated() || !changed_ || !host_)
		return pcipass::success();

	return save_simulated_host(*host_, options_.sim_file);
}

int report(const pcipass::Error &error, int status)
{
	std::cerr << "pcipassctl: " << escape_message(error.describe()) << "\n";
	return status;
}

} /* namespace pcipassctl */

int main(int argc, char **argv)
{
	using namespace pcipassctl;

	EscapedStream escaped_out(std::cout);
	EscapedStream escaped_err(std::cerr);

	CLI::App app{"pcipassctl: inspect PCI devices and move them between host drivers and "
		     "vfio-pci as transactions"};
	app.set_version_flag("--version", PCIPASS_VERSION_STRING);
	app.require_subcommand(1);
	/* Global options such as --json may also follow the command name. */
	app.fallthrough();

	GlobalOptions options;
	app.add_option("--root", options.root, "Host root to read and write beneath")
		->capture_default_str();
	app.add_option("--sim", options.sim_file,
		       "Run against the simulated kernel loaded from this topology file, and "
		       "save its new state there when the command changes it");
	app.add_flag("--json", options.json, "Print data as JSON");
	app.add_option("--state-dir", options.state_dir,
		       "Directory for the journal and lock (default /run/pcipass)");

	Context context(options, escaped_out);
	int status = exit_ok;

	register_read_commands(app, context, status);
	register_transaction_commands(app, context, status);
	register_object_commands(app, context, status);
	register_watch_commands(app, context, status);

	/* Runs after parsing and before the command, once a --json anywhere in argv is known. */
	app.parse_complete_callback([&options, &context] {
		if (options.json)
			context.use_json_output();
	});

	/* CLI11 repeats the offending argument; it is the caller's text like any other. */
	app.failure_message([](const CLI::App *, const CLI::Error &error) {
		return escape_text(error.what()) + "\nRun with --help for more information.\n";
	});

	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError &error) {
		const int code = app.exit(error);
		return code == 0 ? exit_ok : exit_usage;
	}

	auto finished = context.finish();
	if (!finished)
		return report(finished.error());

	return status;
}
