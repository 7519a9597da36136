/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The real-kernel transaction benchmark, run inside the QEMU guest that
 * tests/vm/run boots (bench/run starts it). It moves the GPU-like group
 * (bochs-display, intel-hda and qemu-xhci in one slot) to vfio-pci and
 * back, through pcipass and through floor_bind, which makes only the same
 * sysfs writes. Then it binds four NVMe VFs one transaction after another,
 * in one transaction, and from four threads at once. Each result is a line
 * "@pcipass bench JSON" on the console, next to the harness's result lines.
 */

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <pcipass/graph.hpp>
#include <pcipass/host.hpp>
#include <pcipass/transaction.hpp>

#include "bounded_call.hpp"
#include "guest.hpp"
#include "support.hpp"

namespace {

constexpr const char *program = "guest_bind";

/*
 * Timed rounds of each comparison. Under TCG one bind takes tens of
 * milliseconds and varies with what the drivers do in the background.
 */
constexpr unsigned rounds = 9;
constexpr unsigned nvme_vfs = 4;

/* The journal and lock on tmpfs, as the default /run/pcipass is. */
constexpr const char *state_dir = "/run/pcipass-bench";

void print_bench(const boost::json::object &record)
{
	/* One fwrite per line: other programs share the console. */
	const std::string line = "@pcipass bench " + boost::json::serialize(record) + "\n";
	std::fwrite(line.data(), 1, line.size(), stdout);
	std::fflush(stdout);
}

void report(const std::string &test_case, const std::string &failure)
{
	if (!failure.empty())
		guest::print_detail(program, failure);
	guest::print_result(program, failure.empty() ? "pass" : "fail", test_case);
}

/* Runs floor_bind with arguments and returns the nanoseconds it printed, or -1. */
double run_floor(const std::vector<std::string> &arguments)
{
	int pipe_fds[2];
	if (::pipe(pipe_fds) != 0)
		return -1;

	const pid_t pid = ::fork();
	if (pid == 0) {
		::dup2(pipe_fds[1], STDOUT_FILENO);
		::close(pipe_fds[0]);
		::close(pipe_fds[1]);
		std::vector<char *> argv;
		argv.push_back(const_cast<char *>("floor_bind"));
		for (const std::string &argument : arguments)
			argv.push_back(const_cast<char *>(argument.c_str()));
		argv.push_back(nullptr);
		::execvp("floor_bind", argv.data());
		::_exit(127);
	}
	::close(pipe_fds[1]);
	if (pid < 0) {
		::close(pipe_fds[0]);
		return -1;
	}

	std::string output;
	char buffer[256];
	ssize_t n;
	while ((n = ::read(pipe_fds[0], buffer, sizeof(buffer))) > 0)
		output.append(buffer, static_cast<size_t>(n));
	::close(pipe_fds[0]);

	int status = 0;
	::waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -1;
	return std::stod(output);
}

pcipass::Request request_for(const std::vector<pcipass::PciAddress> &devices)
{
	pcipass::Request request;
	for (pcipass::PciAddress address : devices)
		request.devices.push_back({address, std::nullopt});
	request.owner = "bench";
	return request;
}

/* Time of one transaction until the plan, then of each step. */
class StepTimer final : public pcipass::Observer
{
public:
	StepTimer() : start_(bench::Clock::now()), last_(start_) {}

	void on_plan(const pcipass::Plan &) override
	{
		plan_ns_ = static_cast<double>(bench::elapsed_ns(start_));
		last_ = bench::Clock::now();
	}

	void on_step(const pcipass::StepRecord &record) override
	{
		const auto now = bench::Clock::now();
		if (record.status != pcipass::StepStatus::started) {
			boost::json::object step;
			step["step"] = record.step.describe();
			step["status"] = pcipass::step_status_name(record.status);
			/* From the end of the previous step: the journal lines count with their step. */
			step["ms"] = static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(
							 now - last_)
							 .count()) /
				     1e3;
			steps_.push_back(std::move(step));
		}
		last_ = now;
	}

	boost::json::object to_json() const
	{
		boost::json::object object;
		object["plan_ms"] = plan_ns_ / 1e6;
		object["steps"] = steps_;
		return object;
	}

private:
	bench::Clock::time_point start_;
	bench::Clock::time_point last_;
	double plan_ns_ = 0;
	boost::json::array steps_;
};

/* Runs one transaction and returns its nanoseconds, or -1 with why in failure. */
double timed(pcipass::Engine &engine, bool bind, const pcipass::Request &request,
	     std::string &failure, StepTimer *timer = nullptr)
{
	const auto start = bench::Clock::now();
	auto report = bind ? engine.bind(request, timer) : engine.release(request, timer);
	const double ns = static_cast<double>(bench::elapsed_ns(start));
	if (!report) {
		failure = std::string(bind ? "bind" : "release") + ": " + report.error().describe();
		return -1;
	}
	if (report.value().outcome != pcipass::Outcome::committed) {
		failure = std::string(bind ? "bind" : "release") + " ended " +
			  std::string(pcipass::outcome_name(report.value().outcome));
		return -1;
	}
	return ns;
}

/* The members of a group with their drivers, as floor_bind release wants them. */
std::vector<std::string> restore_arguments(const std::vector<const pcipass::Device *> &members)
{
	std::vector<std::string> arguments{"release"};
	for (const pcipass::Device *member : members)
		arguments.push_back(member->address.to_string() + "=" + member->driver.value_or(""));
	return arguments;
}

std::vector<std::string> bind_arguments(const std::vector<const pcipass::Device *> &members)
{
	std::vector<std::string> arguments{"bind", "vfio-pci"};
	for (const pcipass::Device *member : members)
		arguments.push_back(member->address.to_string());
	return arguments;
}

/*
 * pcipass against floor_bind on the same devices, alternating so that both
 * see the same guest. Returns why it failed, or an empty string.
 */
std::string compare_with_floor(pcipass::Engine &engine, const std::string &name,
			       const std::vector<const pcipass::Device *> &members,
			       const pcipass::Request &request)
{
	std::vector<double> floor_bind_ns;
	std::vector<double> floor_release_ns;
	std::vector<double> bind_ns;
	std::vector<double> release_ns;
	std::string failure;
	/* The phases of the last round, to show where pcipass spends the difference. */
	StepTimer bind_timer;
	StepTimer release_timer;

	for (unsigned round = 0; round < rounds; round++) {
		const double floor_bind = run_floor(bind_arguments(members));
		const double floor_release = run_floor(restore_arguments(members));
		if (floor_bind < 0 || floor_release < 0)
			return "floor_bind failed on " + name;
		floor_bind_ns.push_back(floor_bind);
		floor_release_ns.push_back(floor_release);

		bind_timer = StepTimer();
		const double bind = timed(engine, true, request, failure, &bind_timer);
		if (bind < 0)
			return failure;
		release_timer = StepTimer();
		const double release = timed(engine, false, request, failure, &release_timer);
		if (release < 0)
			return failure;
		bind_ns.push_back(bind);
		release_ns.push_back(release);
	}

	for (const bool bind : {true, false}) {
		boost::json::object record;
		record["kind"] = "floor";
		record["name"] = name + (bind ? " bind" : " release");
		record["functions"] = members.size();
		record["floor_s"] = bench::median(bind ? floor_bind_ns : floor_release_ns) / 1e9;
		record["pcipass_s"] = bench::median(bind ? bind_ns : release_ns) / 1e9;
		record["rounds"] = rounds;
		record["last_round"] = (bind ? bind_timer : release_timer).to_json();
		print_bench(record);
	}
	return {};
}

/* Binds then releases each VF in its own transaction, one after another. */
std::string one_after_another(pcipass::Engine &engine, const std::vector<pcipass::PciAddress> &vfs,
			      double &ns)
{
	std::string failure;
	ns = 0;
	for (const bool bind : {true, false}) {
		const auto start = bench::Clock::now();
		for (pcipass::PciAddress vf : vfs)
			if (timed(engine, bind, request_for({vf}), failure) < 0)
				return failure;
		if (bind)
			ns = static_cast<double>(bench::elapsed_ns(start));
	}
	return {};
}

/* Binds each VF from its own thread, all at once, then releases them the same way. */
std::string concurrently(pcipass::Engine &engine, const std::vector<pcipass::PciAddress> &vfs,
			 double &ns)
{
	ns = 0;
	for (const bool bind : {true, false}) {
		std::vector<std::string> failures(vfs.size());
		std::vector<std::thread> threads;
		const auto start = bench::Clock::now();
		for (size_t i = 0; i < vfs.size(); i++)
			threads.emplace_back([&, i] {
				(void)timed(engine, bind, request_for({vfs[i]}), failures[i]);
			});
		for (std::thread &thread : threads)
			thread.join();
		if (bind)
			ns = static_cast<double>(bench::elapsed_ns(start));
		for (const std::string &failure : failures)
			if (!failure.empty())
				return failure;
	}
	return {};
}

std::string batch_of_vfs(pcipass::Engine &engine, pcipass::Host &host, const pcipass::Device &pf)
{
	/*
	 * QEMU's NVMe VFs start offline, so nvme's asynchronous reset fails
	 * and detaches the driver at a moment of its own. The VFs stay without
	 * a driver instead, and move between none and vfio-pci.
	 */
	if (auto written = host.write(pf.sysfs_path + "/sriov_drivers_autoprobe", "0"); !written)
		return "turning VF autoprobe off: " + written.error().describe();
	const std::string numvfs = pf.sysfs_path + "/sriov_numvfs";
	if (auto written = host.write(numvfs, std::to_string(nvme_vfs)); !written)
		return "creating the VFs: " + written.error().describe();

	std::string failure;
	auto graph = pcipass::DeviceGraph::scan(host);
	if (!graph)
		failure = "scan: " + graph.error().describe();

	std::vector<pcipass::PciAddress> vfs;
	std::vector<const pcipass::Device *> members;
	if (failure.empty()) {
		for (const pcipass::Device *vf : graph.value().vfs_of(pf.address)) {
			vfs.push_back(vf->address);
			members.push_back(vf);
		}
		if (vfs.size() != nvme_vfs)
			failure = "expected " + std::to_string(nvme_vfs) + " VFs, found " +
				  std::to_string(vfs.size());
	}

	if (failure.empty())
		failure = compare_with_floor(engine, std::to_string(nvme_vfs) + " NVMe VFs", members,
					     request_for(vfs));

	std::vector<double> sequential_ns, batch_ns, concurrent_ns;
	for (unsigned round = 0; round < rounds && failure.empty(); round++) {
		double ns = 0;
		failure = one_after_another(engine, vfs, ns);
		sequential_ns.push_back(ns);
		if (!failure.empty())
			break;

		ns = timed(engine, true, request_for(vfs), failure);
		if (ns < 0 || timed(engine, false, request_for(vfs), failure) < 0)
			break;
		batch_ns.push_back(ns);

		failure = concurrently(engine, vfs, ns);
		concurrent_ns.push_back(ns);
	}

	if (failure.empty()) {
		boost::json::object record;
		record["kind"] = "batch";
		record["vfs"] = vfs.size();
		record["sequential_s"] = bench::median(sequential_ns) / 1e9;
		record["batch_s"] = bench::median(batch_ns) / 1e9;
		record["concurrent_s"] = bench::median(concurrent_ns) / 1e9;
		record["rounds"] = rounds;
		print_bench(record);
	}

	if (auto removed = host.write(numvfs, "0"); !removed && failure.empty())
		failure = "removing the VFs: " + removed.error().describe();
	if (auto restored = host.write(pf.sysfs_path + "/sriov_drivers_autoprobe", "1");
	    !restored && failure.empty())
		failure = "turning VF autoprobe back on: " + restored.error().describe();
	return failure;
}

/*
 * Measures costs inside a transaction that the floor does not pay. One is
 * a full scan, with and without looking for holders of the /dev/vfio
 * nodes. The other is the hand-off of one call to the worker thread that
 * bounds each write with a deadline.
 */
void measure_overheads(pcipass::Host &host)
{
	std::vector<double> scan_ns, scan_without_holders_ns, handoff_ns;
	pcipass::ScanOptions without_holders;
	without_holders.holders = false;
	pcipass::detail::CallWorkers workers;
	pcipass::detail::AbandonedCalls abandoned;

	/* The first call starts the worker, as the first write of a process does. */
	if (!pcipass::detail::call_with_deadline([]() -> pcipass::result<void> { return pcipass::success(); },
						 std::chrono::seconds(10), "", workers, abandoned))
		return;

	for (unsigned round = 0; round < rounds; round++) {
		auto start = bench::Clock::now();
		if (!pcipass::DeviceGraph::scan(host))
			return;
		scan_ns.push_back(static_cast<double>(bench::elapsed_ns(start)));

		start = bench::Clock::now();
		if (!pcipass::DeviceGraph::scan(host, without_holders))
			return;
		scan_without_holders_ns.push_back(static_cast<double>(bench::elapsed_ns(start)));

		start = bench::Clock::now();
		if (!pcipass::detail::call_with_deadline([]() -> pcipass::result<void> { return pcipass::success(); },
							 std::chrono::seconds(10), "", workers,
							 abandoned))
			return;
		handoff_ns.push_back(static_cast<double>(bench::elapsed_ns(start)));
	}

	boost::json::object record;
	record["kind"] = "overheads";
	record["scan_s"] = bench::median(scan_ns) / 1e9;
	record["scan_without_holders_s"] = bench::median(scan_without_holders_ns) / 1e9;
	record["thread_handoff_s"] = bench::median(handoff_ns) / 1e9;
	record["rounds"] = rounds;
	print_bench(record);
}

} /* namespace */

int main()
{
	if (!guest::inside_test_guest()) {
		std::fprintf(stderr, "%s: writes to /sys, so it runs only inside the guest that "
				     "tests/vm/run boots\n",
			     program);
		return 77;
	}

	auto host = pcipass::LiveHost::open("/");
	if (!host) {
		report("open the host", host.error().describe());
		return 1;
	}
	if (auto loaded = host.value()->load_module("vfio_pci"); !loaded) {
		report("load vfio_pci", loaded.error().describe());
		return 1;
	}

	pcipass::EngineOptions options;
	options.state_dir = state_dir;
	auto engine = pcipass::Engine::open(*host.value(), options);
	if (!engine) {
		report("open the engine", engine.error().describe());
		return 1;
	}

	auto graph = pcipass::DeviceGraph::scan(*host.value());
	if (!graph) {
		report("scan", graph.error().describe());
		return 1;
	}

	/* bochs-display (1234:1111) leads the GPU-like slot; the NVMe controller (1b36:0010) has SR-IOV. */
	const auto displays = graph.value().find_by_id(pcipass::VendorId(0x1234), pcipass::DeviceId(0x1111));
	const auto nvme = graph.value().find_by_id(pcipass::VendorId(0x1b36), pcipass::DeviceId(0x0010));

	std::string failure;
	if (displays.empty()) {
		failure = "no bochs-display (1234:1111) in the guest";
	} else {
		/* Bridges stay on pcieport, so the floor leaves them alone as pcipass does. */
		std::vector<const pcipass::Device *> endpoints;
		for (const pcipass::Device *member : graph.value().group_members_of(displays.front()->address))
			if (!member->is_bridge())
				endpoints.push_back(member);
		failure = compare_with_floor(*engine.value(), "GPU group", endpoints,
					     request_for({displays.front()->address}));
	}
	report("GPU group against the floor", failure);

	failure = nvme.empty() ? "no NVMe controller (1b36:0010) in the guest"
			       : batch_of_vfs(*engine.value(), *host.value(), *nvme.front());
	report("NVMe VFs in a batch, one after another and concurrently", failure);

	measure_overheads(*host.value());
	return 0;
}
