/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Host calls bounded by a deadline.
 */

#include <algorithm>
#include <thread>

#include "bounded_call.hpp"

namespace pcipass::detail {

void AbandonedCalls::add(std::shared_ptr<PendingCall> call)
{
	std::lock_guard lock(mutex_);
	calls_.push_back(std::move(call));
}

void AbandonedCalls::prune() const
{
	std::erase_if(calls_, [](const std::shared_ptr<PendingCall> &call) {
		std::lock_guard lock(call->mutex);
		return call->finished;
	});
}

bool AbandonedCalls::pending(std::string_view device) const
{
	std::lock_guard lock(mutex_);
	prune();
	return std::any_of(calls_.begin(), calls_.end(),
			   [&](const std::shared_ptr<PendingCall> &call) { return call->device == device; });
}

size_t AbandonedCalls::count() const
{
	std::lock_guard lock(mutex_);
	prune();
	return calls_.size();
}

bool AbandonedCalls::wait(std::chrono::milliseconds timeout) const
{
	const auto deadline = std::chrono::steady_clock::now() + timeout;
	std::vector<std::shared_ptr<PendingCall>> calls;
	{
		std::lock_guard lock(mutex_);
		calls = calls_;
	}

	for (const auto &call : calls) {
		std::unique_lock lock(call->mutex);
		if (!call->finished_cv.wait_until(lock, deadline, [&] { return call->finished; }))
			return false;
	}
	return count() == 0;
}

result<void> call_with_deadline(std::function<result<void>()> call, std::chrono::milliseconds timeout,
				const std::string &device, AbandonedCalls &abandoned)
{
	auto pending = std::make_shared<PendingCall>();
	pending->device = device;

	std::thread([pending, call = std::move(call)]() {
		result<void> outcome = success();
		std::exception_ptr exception;
		try {
			outcome = call();
		} catch (...) {
			exception = std::current_exception();
		}

		std::lock_guard lock(pending->mutex);
		pending->outcome = std::move(outcome);
		pending->exception = exception;
		pending->finished = true;
		pending->finished_cv.notify_all();
	}).detach();

	std::unique_lock lock(pending->mutex);
	if (!pending->finished_cv.wait_for(lock, timeout, [&] { return pending->finished; })) {
		lock.unlock();
		abandoned.add(pending);
		return make_error(errc::timed_out,
				  "the call did not return within " + std::to_string(timeout.count()) +
					  " ms",
				  device);
	}

	if (pending->exception)
		std::rethrow_exception(pending->exception);
	return pending->outcome;
}

} /* namespace pcipass::detail */
