/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Host calls bounded by a deadline: the call runs on a worker thread, and a
 * call that does not return in time is abandoned, not cancelled.
 */

#pragma once

#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <pthread.h>
#include <string>
#include <sys/types.h>
#include <vector>

#include <pcipass/error.hpp>

namespace pcipass::detail {

struct PendingCall {
	std::mutex mutex;
	std::condition_variable finished_cv;
	bool finished = false;
	result<void> outcome = success();
	std::exception_ptr exception;
	std::string device;
};

/* Calls that passed their deadline and are still running. */
class AbandonedCalls
{
public:
	void add(std::shared_ptr<PendingCall> call);

	/* Whether a call for device is still running. */
	bool pending(std::string_view device) const;

	size_t count() const;

	/* Waits until no call is running or timeout passes; true when none is. */
	bool wait(std::chrono::milliseconds timeout) const;

private:
	void prune() const;

	mutable std::mutex mutex_;
	mutable std::vector<std::shared_ptr<PendingCall>> calls_;
};

struct WorkerState;

/*
 * Long-lived threads that run bounded calls, so that a call costs a hand-off
 * through a condition variable instead of a thread start. A call takes an
 * idle worker or starts one, so that no call waits behind another. A worker
 * whose call passed its deadline leaves the pool and ends when that call
 * returns. Thread-safe.
 */
class CallWorkers
{
public:
	CallWorkers();

	/*
	 * Stops and joins the idle workers. A worker still inside an
	 * abandoned call is already detached and outlives the pool.
	 */
	~CallWorkers();

	CallWorkers(const CallWorkers &) = delete;
	CallWorkers &operator=(const CallWorkers &) = delete;

	/* Threads started so far, for tests and benchmarks. */
	size_t started() const;

private:
	struct Worker {
		std::shared_ptr<WorkerState> state;
		pthread_t thread;
	};

	friend result<void> call_with_deadline(std::function<result<void>()> call,
					       std::chrono::milliseconds timeout,
					       const std::string &device, CallWorkers &workers,
					       AbandonedCalls &abandoned);

	result<Worker> take(const std::string &device);
	void give_back(Worker worker);
	void forget_after_fork();

	mutable std::mutex mutex_;
	pid_t pid_;
	std::vector<Worker> idle_;
	size_t started_ = 0;
};

/*
 * Runs call on a worker thread of workers and waits up to timeout. On time,
 * returns its result, or rethrows its exception on this thread. Past the
 * deadline, registers the call in abandoned and returns errc::timed_out.
 * The worker then goes on and ends whenever the call returns, and the next
 * call gets another worker.
 */
result<void> call_with_deadline(std::function<result<void>()> call, std::chrono::milliseconds timeout,
				const std::string &device, CallWorkers &workers,
				AbandonedCalls &abandoned);

} /* namespace pcipass::detail */
