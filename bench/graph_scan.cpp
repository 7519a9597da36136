/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Graph scan benchmarks: materialize a topology as a tree, time full scans
 * of a tree or the real /sys, and time refresh() after one device changed
 * driver against a full rescan. Results go to stdout as one JSON line.
 */

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <unistd.h>
#include <vector>

#include <CLI/CLI.hpp>

#include <pcipass/graph.hpp>
#include <pcipass/host.hpp>
#include <pcipass/testing/topology.hpp>

#include "support.hpp"

namespace {

constexpr const char *program = "graph_scan";

struct ScanArguments {
	std::string root = "/";
	unsigned runs = 15;
	unsigned warmup = 2;
	bool names = true;
	unsigned threads = 0;
};

pcipass::ScanOptions scan_options(const ScanArguments &arguments)
{
	pcipass::ScanOptions options;
	options.names = arguments.names;
	options.threads = arguments.threads;
	return options;
}

int materialize(const std::string &topology_file, const std::string &dir)
{
	auto topology = pcipass::testing::load_topology(topology_file);
	if (!topology)
		return bench::fail(program, topology.error().message);

	const auto start = bench::Clock::now();
	auto written = pcipass::testing::materialize(topology.value(), dir);
	if (!written)
		return bench::fail(program, written.error().message);

	boost::json::object document;
	document["functions"] = topology.value().devices.size();
	document["materialize_ns"] = bench::elapsed_ns(start);
	bench::print_json(document);
	return 0;
}

int scan(const ScanArguments &arguments)
{
	auto host = pcipass::LiveHost::open(arguments.root);
	if (!host)
		return bench::fail(program, host.error().message);

	std::vector<double> samples;
	size_t functions = 0;
	size_t groups = 0;
	size_t findings = 0;
	for (unsigned i = 0; i < arguments.warmup + arguments.runs; i++) {
		const auto start = bench::Clock::now();
		auto graph = pcipass::DeviceGraph::scan(*host.value(), scan_options(arguments));
		const double ns = static_cast<double>(bench::elapsed_ns(start));
		if (!graph)
			return bench::fail(program, graph.error().message);
		if (i >= arguments.warmup)
			samples.push_back(ns);

		functions = graph.value().devices().size();
		groups = graph.value().groups().size();
		findings = graph.value().host().findings.size();
		for (const pcipass::Device &device : graph.value().devices())
			findings += device.findings.size();
	}

	boost::json::object document = bench::timing_json(samples);
	document["root"] = arguments.root;
	document["functions"] = functions;
	document["groups"] = groups;
	document["findings"] = findings;
	bench::print_json(document);
	return 0;
}

/* Symlink target from one directory of the tree to another, both relative to the root. */
std::string relative_link(const std::string &from_dir, const std::string &to)
{
	return std::filesystem::path(to).lexically_relative(from_dir).string();
}

/*
 * Moves one device of a materialized tree from its driver to another, as
 * the kernel would show it: the device's driver link and driver_override,
 * and the device link in each driver directory.
 */
std::string move_driver(const std::string &root, const pcipass::Device &device,
			const std::string &from, const std::string &to)
{
	namespace fs = std::filesystem;
	const std::string address = device.address.to_string();
	const fs::path base(root);
	const std::string drivers = "sys/bus/pci/drivers/";

	std::error_code error;
	fs::remove(base / device.sysfs_path / "driver", error);
	fs::remove(base / (drivers + from) / address, error);
	fs::create_symlink(relative_link(device.sysfs_path, drivers + to), base / device.sysfs_path / "driver",
			   error);
	if (error)
		return "linking the driver of " + address + ": " + error.message();
	fs::create_symlink(relative_link(drivers + to, device.sysfs_path), base / (drivers + to) / address,
			   error);
	if (error)
		return "linking " + address + " into " + to + ": " + error.message();

	const fs::path override_file = base / device.sysfs_path / "driver_override";
	FILE *file = std::fopen(override_file.c_str(), "w");
	if (!file)
		return "writing '" + override_file.string() + "': " + std::strerror(errno);
	std::fputs(to == "vfio-pci" ? "vfio-pci\n" : "(null)\n", file);
	std::fclose(file);
	return {};
}

int refresh(const ScanArguments &arguments, const std::string &address_text, const std::string &to)
{
	if (const std::string why = bench::unsafe_to_write(arguments.root); !why.empty())
		return bench::fail(program, why);

	auto address = pcipass::PciAddress::parse(address_text);
	if (!address)
		return bench::fail(program, address.error().message);

	auto host = pcipass::LiveHost::open(arguments.root);
	if (!host)
		return bench::fail(program, host.error().message);

	const pcipass::ScanOptions options = scan_options(arguments);
	auto graph = pcipass::DeviceGraph::scan(*host.value(), options);
	if (!graph)
		return bench::fail(program, graph.error().message);

	const pcipass::Device *device = graph.value().find(address.value());
	if (!device || !device->driver)
		return bench::fail(program, address_text + " is not a bound device of the tree");
	const std::string original = *device->driver;

	std::vector<double> refresh_samples;
	std::vector<double> scan_samples;
	pcipass::DeviceGraph current = graph.value();
	for (unsigned i = 0; i < arguments.warmup + arguments.runs; i++) {
		/* Alternate, so that every refresh sees a real change. */
		const bool forward = i % 2 == 0;
		const std::string from = forward ? original : to;
		const std::string target = forward ? to : original;
		if (const std::string why = move_driver(arguments.root, *current.find(address.value()),
							from, target);
		    !why.empty())
			return bench::fail(program, why);

		const std::vector<pcipass::PciAddress> changed{address.value()};
		auto start = bench::Clock::now();
		auto refreshed = current.refresh(*host.value(), changed, options);
		const double refresh_ns = static_cast<double>(bench::elapsed_ns(start));
		if (!refreshed)
			return bench::fail(program, refreshed.error().message);

		start = bench::Clock::now();
		auto rescanned = pcipass::DeviceGraph::scan(*host.value(), options);
		const double scan_ns = static_cast<double>(bench::elapsed_ns(start));
		if (!rescanned)
			return bench::fail(program, rescanned.error().message);

		const pcipass::Device *seen = refreshed.value().find(address.value());
		if (!seen || seen->driver != target)
			return bench::fail(program, "refresh did not see " + address_text + " move to " +
							    target);
		if (i >= arguments.warmup) {
			refresh_samples.push_back(refresh_ns);
			scan_samples.push_back(scan_ns);
		}
		current = std::move(refreshed).value();
	}

	/* Leave the tree as it was. */
	if (current.find(address.value())->driver != original)
		if (const std::string why = move_driver(arguments.root, *current.find(address.value()), to,
							original);
		    !why.empty())
			return bench::fail(program, why);

	boost::json::object document;
	document["root"] = arguments.root;
	document["device"] = address_text;
	document["functions"] = current.devices().size();
	document["refresh"] = bench::timing_json(refresh_samples);
	document["scan"] = bench::timing_json(scan_samples);
	bench::print_json(document);
	return 0;
}

void add_scan_options(CLI::App &command, ScanArguments &arguments)
{
	command.add_option("--root", arguments.root, "Host root to read: '/' or a materialized tree")
		->capture_default_str();
	command.add_option("--runs", arguments.runs, "Timed runs")->capture_default_str();
	command.add_option("--warmup", arguments.warmup, "Untimed runs before them")
		->capture_default_str();
	command.add_flag("!--no-names", arguments.names,
			 "Skip the hardware database lookup of vendor and device names");
	command.add_option("--threads", arguments.threads,
			   "Threads that read device directories (ScanOptions::threads; 0: automatic)")
		->capture_default_str();
}

} /* namespace */

int main(int argc, char **argv)
{
	CLI::App app("Graph scan benchmarks; every result is one JSON line on stdout", program);
	app.require_subcommand(1);

	std::string topology_file;
	std::string output_dir;
	CLI::App *materialize_command =
		app.add_subcommand("materialize", "Write a topology as a kernel-shaped tree");
	materialize_command->add_option("topology", topology_file, "Topology JSON file")->required();
	materialize_command->add_option("dir", output_dir, "Empty or absent output directory")
		->required();

	ScanArguments scan_arguments;
	CLI::App *scan_command = app.add_subcommand("scan", "Time full scans (reads only)");
	add_scan_options(*scan_command, scan_arguments);

	ScanArguments refresh_arguments;
	refresh_arguments.root.clear();
	std::string device;
	std::string target = "vfio-pci";
	CLI::App *refresh_command = app.add_subcommand(
		"refresh", "Move one device's driver in a materialized tree, then time refresh() "
			   "against a full scan (writes beneath --root, never to a sysfs mount)");
	add_scan_options(*refresh_command, refresh_arguments);
	refresh_command->get_option("--root")->required();
	refresh_command->add_option("--device", device, "The bound device that changes driver")
		->required();
	refresh_command->add_option("--to", target, "The driver it alternates with")
		->capture_default_str();

	CLI11_PARSE(app, argc, argv);

	if (*materialize_command)
		return materialize(topology_file, output_dir);
	if (*scan_command)
		return scan(scan_arguments);
	return refresh(refresh_arguments, device, target);
}
