/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Bounded calls on reused worker threads: reuse, abandonment, exceptions,
 * fork and the pool's destruction. Counts this process's threads in
 * /proc/self/task, so it runs in a program of its own.
 */

#include <chrono>
#include <filesystem>
#include <future>
#include <set>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <doctest/doctest.h>

#include "bounded_call.hpp"

using namespace pcipass;
using namespace pcipass::detail;
using namespace std::chrono_literals;

namespace {

/* Generous, so that valgrind's slowdown never makes a call miss it. */
constexpr auto long_deadline = 30s;

size_t thread_count()
{
	size_t count = 0;
	for ([[maybe_unused]] const auto &entry : std::filesystem::directory_iterator("/proc/self/task"))
		count++;
	return count;
}

/* Waits until this process has count threads; a detached thread ends a moment after its call. */
bool wait_for_threads(size_t count, std::chrono::milliseconds timeout)
{
	const auto deadline = std::chrono::steady_clock::now() + timeout;
	while (thread_count() != count) {
		if (std::chrono::steady_clock::now() > deadline)
			return false;
		std::this_thread::sleep_for(5ms);
	}
	return true;
}

} /* namespace */

TEST_CASE("bounded call: one worker serves many calls")
{
	CallWorkers workers;
	AbandonedCalls abandoned;
	std::set<std::thread::id> threads;

	for (int i = 0; i < 50; i++) {
		auto called = call_with_deadline(
			[&]() -> result<void> {
				threads.insert(std::this_thread::get_id());
				return success();
			},
			long_deadline, "0000:01:00.0", workers, abandoned);
		REQUIRE(called);
	}

	CHECK(threads.size() == 1);
	CHECK(threads.count(std::this_thread::get_id()) == 0);
	CHECK(workers.started() == 1);
	CHECK(abandoned.count() == 0);
}

TEST_CASE("bounded call: returns the call's error")
{
	CallWorkers workers;
	AbandonedCalls abandoned;

	auto called = call_with_deadline(
		[]() -> result<void> {
			return make_error(errc::busy, "the device is busy", "0000:01:00.0", "sys/x");
		},
		long_deadline, "0000:01:00.0", workers, abandoned);

	REQUIRE_FALSE(called);
	CHECK(called.error().code == errc::busy);
	CHECK(called.error().message == "the device is busy");
	CHECK(called.error().path == "sys/x");
}

TEST_CASE("bounded call: timeout abandons the worker, not the next call")
{
	CallWorkers workers;
	AbandonedCalls abandoned;
	std::promise<void> release;
	std::shared_future<void> released = release.get_future().share();
	std::thread::id stuck_thread;

	auto stuck = call_with_deadline(
		[&stuck_thread, released]() -> result<void> {
			stuck_thread = std::this_thread::get_id();
			released.wait();
			return success();
		},
		50ms, "0000:01:00.0", workers, abandoned);

	REQUIRE_FALSE(stuck);
	CHECK(stuck.error().code == errc::timed_out);
	CHECK(stuck.error().device == "0000:01:00.0");
	CHECK(abandoned.count() == 1);
	CHECK(abandoned.pending("0000:01:00.0"));
	CHECK_FALSE(abandoned.pending("0000:02:00.0"));

	std::thread::id next_thread;
	const auto start = std::chrono::steady_clock::now();
	auto next = call_with_deadline(
		[&]() -> result<void> {
			next_thread = std::this_thread::get_id();
			return success();
		},
		long_deadline, "0000:02:00.0", workers, abandoned);
	const auto took = std::chrono::steady_clock::now() - start;

	REQUIRE(next);
	CHECK(took < 5s);
	CHECK(next_thread != stuck_thread);
	CHECK(workers.started() == 2);
	CHECK(abandoned.pending("0000:01:00.0"));

	release.set_value();
	CHECK(abandoned.wait(10s));
	CHECK(abandoned.count() == 0);
}

TEST_CASE("bounded call: rethrows on the caller's thread")
{
	CallWorkers workers;
	AbandonedCalls abandoned;
	std::thread::id thrower;

	CHECK_THROWS_WITH_AS(call_with_deadline(
				     [&]() -> result<void> {
					     thrower = std::this_thread::get_id();
					     throw std::runtime_error("write exploded");
				     },
				     long_deadline, "0000:01:00.0", workers, abandoned),
			     "write exploded", std::runtime_error);
	CHECK(thrower != std::this_thread::get_id());

	std::thread::id after;
	auto called = call_with_deadline(
		[&]() -> result<void> {
			after = std::this_thread::get_id();
			return success();
		},
		long_deadline, "0000:01:00.0", workers, abandoned);
	REQUIRE(called);
	CHECK(after == thrower);
	CHECK(workers.started() == 1);
}

TEST_CASE("bounded call: works in a forked child")
{
	CallWorkers workers;
	AbandonedCalls abandoned;

	REQUIRE(call_with_deadline([]() -> result<void> { return success(); }, long_deadline,
				   "0000:01:00.0", workers, abandoned));
	REQUIRE(workers.started() == 1);

	const pid_t child = ::fork();
	REQUIRE(child >= 0);
	if (child == 0) {
		/* The parent's worker has no thread here; a new one must serve the call. */
		bool ran = false;
		auto called = call_with_deadline(
			[&]() -> result<void> {
				ran = true;
				return success();
			},
			long_deadline, "0000:01:00.0", workers, abandoned);
		int status = 0;
		if (!called)
			status = 1;
		else if (!ran)
			status = 2;
		else if (workers.started() != 2)
			status = 3;
		::_exit(status);
	}

	int status = -1;
	REQUIRE(::waitpid(child, &status, 0) == child);
	REQUIRE(WIFEXITED(status));
	CHECK(WEXITSTATUS(status) == 0);

	REQUIRE(call_with_deadline([]() -> result<void> { return success(); }, long_deadline,
				   "0000:01:00.0", workers, abandoned));
	CHECK(workers.started() == 1);
}

TEST_CASE("bounded call: destruction joins an idle worker")
{
	const size_t before = thread_count();
	{
		CallWorkers workers;
		AbandonedCalls abandoned;
		REQUIRE(call_with_deadline([]() -> result<void> { return success(); }, long_deadline,
					   "0000:01:00.0", workers, abandoned));
		CHECK(thread_count() == before + 1);
	}
	CHECK(thread_count() == before);
}

TEST_CASE("bounded call: destruction leaves a stuck worker running")
{
	const size_t before = thread_count();
	AbandonedCalls abandoned;
	std::promise<void> release;
	std::shared_future<void> released = release.get_future().share();
	std::promise<void> finished;
	std::future<void> finished_future = finished.get_future();

	{
		CallWorkers workers;
		auto stuck = call_with_deadline(
			[released, &finished]() -> result<void> {
				released.wait();
				finished.set_value();
				return success();
			},
			50ms, "0000:01:00.0", workers, abandoned);
		REQUIRE_FALSE(stuck);
		CHECK(stuck.error().code == errc::timed_out);
	}

	/* The pool is gone and its destructor did not wait for the call. */
	CHECK(thread_count() == before + 1);
	CHECK(abandoned.pending("0000:01:00.0"));

	release.set_value();
	CHECK(finished_future.wait_for(10s) == std::future_status::ready);
	CHECK(abandoned.wait(10s));
	CHECK(wait_for_threads(before, 10s));
}
