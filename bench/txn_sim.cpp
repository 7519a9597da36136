/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Transaction benchmark against the simulated kernel: bind the requested
 * devices (with their groups) to vfio-pci and release them, many times,
 * and time each phase. The floor is the same writes made straight to a
 * fresh simulated kernel, without planning, journal or verification, so
 * the difference is what the library adds per step. One JSON line on
 * stdout.
 */

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <pcipass/testing/sim.hpp>
#include <pcipass/testing/topology.hpp>
#include <pcipass/transaction.hpp>

#include "support.hpp"

namespace {

constexpr const char *program = "txn_sim";

/* Times the phases of one transaction through the Observer calls. */
class PhaseTimer final : public pcipass::Observer
{
public:
	void start() { start_ = bench::Clock::now(); }

	void on_plan(const pcipass::Plan &) override { planned_ = bench::Clock::now(); }

	double plan_ns() const { return ns(start_, planned_); }
	double since_plan_ns() const { return ns(planned_, bench::Clock::now()); }

private:
	static double ns(bench::Clock::time_point from, bench::Clock::time_point to)
	{
		return static_cast<double>(
			std::chrono::duration_cast<std::chrono::nanoseconds>(to - from).count());
	}

	bench::Clock::time_point start_;
	bench::Clock::time_point planned_;
};

/* Samples of one operation (bind or release) over the runs. */
struct OperationSamples {
	std::vector<double> total_ns;
	std::vector<double> plan_ns;      /* lock, scan, ownership records and planning */
	std::vector<double> execute_ns;   /* journal, writes, verification, commit */
	std::vector<double> floor_ns;     /* the same writes, made directly */
	unsigned steps = 0;
	unsigned writes = 0;

	boost::json::object to_json() const
	{
		boost::json::object object;
		object["total"] = bench::timing_json(total_ns);
		object["plan"] = bench::timing_json(plan_ns);
		object["execute"] = bench::timing_json(execute_ns);
		object["floor"] = bench::timing_json(floor_ns);
		object["steps"] = steps;
		object["writes"] = writes;
		const double total = bench::median(total_ns);
		const double floor = bench::median(floor_ns);
		object["per_step_ns"] = steps ? total / steps : 0.0;
		object["per_write_ns"] = writes ? total / writes : 0.0;
		object["library_per_step_ns"] = steps ? (total - floor) / steps : 0.0;
		return object;
	}
};

/* The writes a report shows were made and verified, in order. */
std::vector<pcipass::Step> written_steps(const pcipass::Report &report)
{
	std::vector<pcipass::Step> steps;
	for (const pcipass::StepRecord &record : report.steps)
		if (record.status == pcipass::StepStatus::done && !record.undo &&
		    record.step.kind != pcipass::StepKind::load_module)
			steps.push_back(record.step);
	return steps;
}

/* Makes the writes straight to host and returns the time they took, or an error message. */
std::string replay(pcipass::Host &host, const std::vector<pcipass::Step> &steps, double &ns)
{
	const auto start = bench::Clock::now();
	for (const pcipass::Step &step : steps) {
		auto written = host.write(step.path, step.value);
		if (!written)
			return "replaying '" + step.describe() + "': " + written.error().message;
	}
	ns = static_cast<double>(bench::elapsed_ns(start));
	return {};
}

struct Arguments {
	std::string topology;
	std::vector<std::string> devices;
	std::string state_dir;
	unsigned runs = 20;
	unsigned warmup = 2;
	bool names = false;
};

int run(const Arguments &arguments)
{
	auto topology = pcipass::testing::load_topology(arguments.topology);
	if (!topology)
		return bench::fail(program, topology.error().message);

	pcipass::sim::Options sim_options;
	sim_options.record_log = false;
	auto host = pcipass::sim::Host::create(topology.value(), sim_options);
	if (!host)
		return bench::fail(program, host.error().message);
	/* The floor replays the writes on a second kernel in the same state. */
	auto floor_host = pcipass::sim::Host::create(topology.value(), sim_options);
	if (!floor_host)
		return bench::fail(program, floor_host.error().message);

	pcipass::EngineOptions engine_options;
	engine_options.state_dir = arguments.state_dir;
	engine_options.scan.names = arguments.names;
	auto engine = pcipass::Engine::open(*host.value(), engine_options);
	if (!engine)
		return bench::fail(program, engine.error().message);

	pcipass::Request request;
	for (const std::string &text : arguments.devices) {
		auto address = pcipass::PciAddress::parse(text);
		if (!address)
			return bench::fail(program, address.error().message);
		request.devices.push_back({address.value(), std::nullopt});
	}
	request.owner = "bench";

	OperationSamples bind;
	OperationSamples release;
	for (unsigned i = 0; i < arguments.warmup + arguments.runs; i++) {
		const bool timed = i >= arguments.warmup;
		PhaseTimer timer;

		timer.start();
		auto bound = engine.value()->bind(request, &timer);
		if (!bound)
			return bench::fail(program, "bind: " + bound.error().describe());
		if (bound.value().outcome != pcipass::Outcome::committed)
			return bench::fail(program, "bind ended " +
							    std::string(pcipass::outcome_name(bound.value().outcome)));
		const double bind_execute = timer.since_plan_ns();
		const double bind_plan = timer.plan_ns();

		timer.start();
		auto released = engine.value()->release(request, &timer);
		if (!released)
			return bench::fail(program, "release: " + released.error().describe());
		if (released.value().outcome != pcipass::Outcome::committed)
			return bench::fail(program, "release ended " + std::string(pcipass::outcome_name(
									       released.value().outcome)));
		const double release_execute = timer.since_plan_ns();
		const double release_plan = timer.plan_ns();

		double bind_floor = 0;
		double release_floor = 0;
		if (std::string why = replay(*floor_host.value(), written_steps(bound.value()), bind_floor);
		    !why.empty())
			return bench::fail(program, why);
		if (std::string why = replay(*floor_host.value(), written_steps(released.value()),
					     release_floor);
		    !why.empty())
			return bench::fail(program, why);

		if (!timed)
			continue;
		bind.plan_ns.push_back(bind_plan);
		bind.execute_ns.push_back(bind_execute);
		bind.total_ns.push_back(bind_plan + bind_execute);
		bind.floor_ns.push_back(bind_floor);
		bind.steps = static_cast<unsigned>(written_steps(bound.value()).size());
		bind.writes = bound.value().writes;
		release.plan_ns.push_back(release_plan);
		release.execute_ns.push_back(release_execute);
		release.total_ns.push_back(release_plan + release_execute);
		release.floor_ns.push_back(release_floor);
		release.steps = static_cast<unsigned>(written_steps(released.value()).size());
		release.writes = released.value().writes;
	}

	boost::json::object document;
	document["topology"] = arguments.topology;
	document["devices"] = arguments.devices.size();
	document["functions"] = topology.value().devices.size();
	document["bind"] = bind.to_json();
	document["release"] = release.to_json();
	bench::print_json(document);
	return 0;
}

} /* namespace */

int main(int argc, char **argv)
{
	CLI::App app("Bind and release against the simulated kernel; one JSON line on stdout",
		     program);

	Arguments arguments;
	app.add_option("--topology", arguments.topology, "Topology JSON file")->required();
	app.add_option("--device", arguments.devices, "A device to bind (its group comes along)")
		->required();
	app.add_option("--state-dir", arguments.state_dir,
		       "Journal and lock directory (the kind of filesystem sets the fsync cost)")
		->required();
	app.add_option("--runs", arguments.runs, "Timed bind and release pairs")->capture_default_str();
	app.add_option("--warmup", arguments.warmup, "Untimed pairs before them")->capture_default_str();
	app.add_flag("--names", arguments.names,
		     "Look up vendor and device names in the hardware database during each scan");

	CLI11_PARSE(app, argc, argv);
	return run(arguments);
}
