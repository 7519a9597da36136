/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * pcipassctl watch: print PCI and USB device events as the kernel sends them.
 */

#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <pcipass/watch.hpp>

#include "commands.hpp"
#include "escaped_output.hpp"

namespace pcipassctl {

namespace {

struct WatchArguments {
	std::string source = "kernel";
	std::vector<std::string> subsystems = {"pci", "usb"};
	double timeout = 0;
	unsigned count = 0;
};

int watch(Context &context, const WatchArguments &arguments)
{
	if (context.simulated())
		return report(pcipass::make_error(pcipass::errc::unsupported,
						  "watch reads events from the running kernel; the "
						  "simulated kernel given with --sim sends none"));
	if (context.options().root != "/")
		return report(pcipass::make_error(pcipass::errc::unsupported,
						  "watch reads events from the running kernel, which "
						  "has no root directory; drop --root"));

	pcipass::WatchOptions options;
	options.source = arguments.source == "udev" ? pcipass::EventSource::udev
						    : pcipass::EventSource::kernel;
	options.subsystems = arguments.subsystems;

	auto watcher = pcipass::Watcher::open(options);
	if (!watcher)
		return report(watcher.error());

	using Clock = pcipass::Watcher::Clock;
	Clock::time_point deadline = Clock::time_point::max();
	if (arguments.timeout > 0)
		deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
						  std::chrono::duration<double>(arguments.timeout));

	/* Scripts wait for this line before they make the change they watch for. */
	std::cerr << "pcipassctl: watching device events; stop with Ctrl-C" << std::endl;

	unsigned seen = 0;
	const bool json = context.json();
	auto printed = watcher.value().run(
		[&](const pcipass::Event &event) {
			std::cout << (json ? pcipass::to_json(event) : escape_text(pcipass::describe(event)))
				  << std::endl;
			++seen;
			return arguments.count == 0 || seen < arguments.count;
		},
		deadline);
	if (!printed)
		return report(printed.error());

	return exit_ok;
}

} /* namespace */

void register_watch_commands(CLI::App &app, Context &context, int &status)
{
	auto arguments = std::make_shared<WatchArguments>();

	CLI::App *command = app.add_subcommand(
		"watch", "Print PCI and USB device events (add, remove, bind, unbind, change) as "
			 "they happen, one line each; reads only");
	command->add_option("--source", arguments->source,
			    "kernel: uevents as sent (no daemon needed); udev: after "
			    "systemd-udevd processed them")
		->check(CLI::IsMember({"kernel", "udev"}))
		->capture_default_str();
	command->add_option("--subsystem", arguments->subsystems,
			    "Subsystems to report (repeatable)")
		->capture_default_str();
	command->add_option("--timeout", arguments->timeout,
			    "Stop after this many seconds (0 runs until interrupted)")
		->check(CLI::NonNegativeNumber);
	command->add_option("--count", arguments->count,
			    "Stop after this many events (0 for no limit)");

	command->callback([&context, &status, arguments] { status = watch(context, *arguments); });
}

} /* namespace pcipassctl */
