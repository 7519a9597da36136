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
#include <string>
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

/*
 * Runs call on a worker thread and waits up to timeout. On time, returns
 * its result, or rethrows its exception on this thread. Past the deadline,
 * registers the call in abandoned and returns errc::timed_out; the worker
 * goes on and ends whenever the call returns.
 */
result<void> call_with_deadline(std::function<result<void>()> call, std::chrono::milliseconds timeout,
				const std::string &device, AbandonedCalls &abandoned);

} /* namespace pcipass::detail */
