/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Concurrent transactions on overlapping groups, from threads of one
 * process and from two processes: their steps never interleave and every
 * device ends consistent. The process test forks, so it runs first, while
 * this program has no other thread.
 */

#include <fcntl.h>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <doctest/doctest.h>

#include "harness.hpp"
#include "topologies.hpp"

using namespace pcipass;
using namespace txntest;

namespace {

/* Binds each worker commits, each followed by its release. */
constexpr int iterations = 20;

/* The GPU desktop plus a NIC alone in group 3. */
Topology two_groups()
{
	Builder builder = gpu_desktop();
	builder.driver("e1000e", "e1000e", {"8086:10d3"});
	builder.device("0000:03:00.0", "8086:10d3", 0x020000, "e1000e", 3);
	return builder.build();
}

/* Requests that overlap: the first two share group 7, the last two the NIC. */
const std::vector<std::vector<std::string>> overlapping = {
	{"0000:01:00.0"},
	{"0000:01:00.3", "0000:03:00.0"},
	{"0000:03:00.0"},
};

/* The devices a request moves: its groups. */
std::vector<std::string> closure_of(const std::vector<std::string> &devices)
{
	std::vector<std::string> closure;
	for (const auto &device : devices) {
		if (device.starts_with("0000:01:00.")) {
			for (const char *function : {"0000:01:00.0", "0000:01:00.1", "0000:01:00.2",
						     "0000:01:00.3"})
				if (std::find(closure.begin(), closure.end(), function) == closure.end())
					closure.push_back(function);
		} else {
			closure.push_back(device);
		}
	}
	return closure;
}

/* One event per line: "<who> <call> <what>". */
class EventLog final : public Observer
{
public:
	using Sink = std::function<void(const std::string &)>;

	EventLog(std::string who, Sink sink) : who_(std::move(who)), sink_(std::move(sink)) {}

	void next_call() { call_++; }

	void on_plan(const Plan &) override { emit("plan"); }
	void on_step(const StepRecord &record) override
	{
		emit("step " + std::to_string(record.seq) + " " +
		     std::string(step_status_name(record.status)));
	}
	void on_finish(const Report &report) override
	{
		emit("finish " + std::string(outcome_name(report.outcome)));
	}

private:
	void emit(const std::string &what)
	{
		sink_(who_ + " " + std::to_string(call_) + " " + what + "\n");
	}

	std::string who_;
	Sink sink_;
	unsigned call_ = 0;
};

/*
 * Checks that the events of each call form one unbroken run, from its plan
 * to its finish. Returns the first violation, or an empty string.
 */
std::string interleaving(const std::vector<std::string> &lines)
{
	std::string open;
	for (const auto &line : lines) {
		std::istringstream fields(line);
		std::string who, call, what;
		fields >> who >> call >> what;
		const std::string key = who + " " + call;

		if (!open.empty() && key != open)
			return "'" + line + "' came inside call " + open;
		open = what == "finish" ? std::string() : key;
	}
	return {};
}

/*
 * Loops bind and release; true when every call ended as allowed and each
 * bind left its group on vfio-pci. With own_host, the host must be back
 * in its initial state at the end.
 */
bool churn(Engine &engine, sim::Host &host, bool own_host, const sim::State &initial,
	   const std::vector<std::string> &devices, const std::string &owner, EventLog &log,
	   std::string &problem)
{
	const auto moved = closure_of(devices);

	/* Refusals do not count, so that every worker also commits while the others churn. */
	int commits = 0;
	for (int attempt = 0; commits < iterations; attempt++) {
		if (attempt > 400 * iterations) {
			problem = owner + " committed only " + std::to_string(commits) + " times";
			return false;
		}

		log.next_call();
		auto bound = engine.bind(request(devices, owner), &log);
		if (!bound) {
			if (bound.error().code != errc::owned_by_other) {
				problem = owner + " bind: " + bound.error().describe();
				return false;
			}
			std::this_thread::sleep_for(std::chrono::microseconds(200));
			continue;
		}
		commits++;

		const auto state = host.state();
		for (const auto &device : moved) {
			const auto found = std::find_if(state.devices.begin(), state.devices.end(),
							 [&](const sim::DeviceState &entry) {
								 return entry.address.to_string() == device;
							 });
			if (found == state.devices.end() || found->driver != "vfio-pci") {
				problem = owner + ": " + device + " is not on vfio-pci after its bind";
				return false;
			}
		}

		log.next_call();
		auto released = engine.release(request(devices, owner), &log);
		if (!released) {
			problem = owner + " release: " + released.error().describe();
			return false;
		}
	}

	if (own_host && host.state() != initial) {
		problem = owner + " left the host changed:\n" + explain(initial, host.state());
		return false;
	}
	return true;
}

std::vector<std::string> read_lines(const std::string &file)
{
	std::vector<std::string> lines;
	std::ifstream stream(file);
	std::string line;
	while (std::getline(stream, line))
		lines.push_back(line);
	return lines;
}

} /* namespace */

TEST_CASE("transaction: two processes on overlapping groups never interleave")
{
	const Topology topology = two_groups();
	TempDir dir;
	const std::string state_dir = dir.path() + "/state";
	const std::string events = dir.path() + "/events";

	std::vector<pid_t> children;
	for (int index = 0; index < 2; index++) {
		const pid_t pid = ::fork();
		REQUIRE(pid >= 0);
		if (pid > 0) {
			children.push_back(pid);
			continue;
		}

		/* The child has its own simulated kernel; the state directory and lock are shared. */
		int status = 1;
		try {
			auto host = sim::Host::create(topology).value();
			EngineOptions options;
			options.state_dir = state_dir;
			options.scan.names = false;
			auto engine = Engine::open(*host, options).value();
			const int fd = ::open(events.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
			EventLog log("pid" + std::to_string(::getpid()), [fd](const std::string &line) {
				if (::write(fd, line.data(), line.size()) != ssize_t(line.size()))
					std::abort();
			});
			std::string problem;
			const bool ok = churn(*engine, *host, true, host->state(), overlapping[index],
					      "process-" + std::to_string(index), log, problem);
			if (!ok)
				std::fprintf(stderr, "%s\n", problem.c_str());
			status = ok ? 0 : 1;
		} catch (const std::exception &error) {
			std::fprintf(stderr, "child: %s\n", error.what());
		}
		::_exit(status);
	}

	for (pid_t child : children) {
		int status = 0;
		REQUIRE(::waitpid(child, &status, 0) == child);
		CHECK(WIFEXITED(status));
		CHECK(WEXITSTATUS(status) == 0);
	}

	const auto lines = read_lines(events);
	CHECK(lines.size() > 2 * iterations);
	CHECK_MESSAGE(interleaving(lines).empty(), interleaving(lines));
	CHECK(journal_clean(state_dir));

	std::map<std::string, int> committed;
	for (const auto &line : lines)
		if (line.ends_with("finish committed"))
			committed[line.substr(0, line.find(' '))]++;
	CHECK(committed.size() == 2);
}

TEST_CASE("transaction: threads on overlapping groups never interleave")
{
	const Topology topology = two_groups();
	Fixture fixture(topology);
	auto second = fixture.open_engine();

	std::mutex mutex;
	std::vector<std::string> lines;
	auto sink = [&](const std::string &line) {
		std::lock_guard lock(mutex);
		lines.push_back(line.substr(0, line.size() - 1));
	};

	std::vector<std::string> problems(overlapping.size());
	std::vector<char> results(overlapping.size(), 0);
	std::vector<std::thread> threads;
	for (size_t index = 0; index < overlapping.size(); index++) {
		/* Two threads share an engine; the third has its own on the same state directory. */
		Engine &engine = index == 2 ? *second : *fixture.engine;
		threads.emplace_back([&, index, &engine = engine] {
			EventLog log("thread" + std::to_string(index), sink);
			results[index] = churn(engine, *fixture.host, false, fixture.initial,
					       overlapping[index], "thread-" + std::to_string(index),
					       log, problems[index]);
		});
	}
	for (auto &thread : threads)
		thread.join();

	for (size_t index = 0; index < overlapping.size(); index++)
		CHECK_MESSAGE(results[index], problems[index]);
	CHECK_MESSAGE(interleaving(lines).empty(), interleaving(lines));
	CHECK(fixture.host->state() == fixture.initial);
	CHECK(journal_clean(fixture.state_dir));
	CHECK(fixture.engine->ownerships().value().empty());
}
