/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Host calls bounded by a deadline.
 */

#include <algorithm>
#include <cstring>
#include <unistd.h>

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

/* The state a caller shares with a worker thread, kept alive by the thread after the pool goes. */
struct WorkerState {
	std::mutex mutex;
	std::condition_variable wake;
	std::function<result<void>()> call;
	std::shared_ptr<PendingCall> pending;
	/* Set when the pool stops an idle worker or gives up on a stuck one. */
	bool stop = false;
	/*
	 * The thread's reference, handed over before the thread starts. It
	 * lives here rather than in the thread's start argument so that a
	 * forked child, where the thread is gone, can still reach the state.
	 */
	std::shared_ptr<WorkerState> thread_reference;
};

namespace {

void run_call(const std::function<result<void>()> &call, PendingCall &pending)
{
	result<void> outcome = success();
	std::exception_ptr exception;
	try {
		outcome = call();
	} catch (...) {
		exception = std::current_exception();
	}

	std::lock_guard lock(pending.mutex);
	pending.outcome = std::move(outcome);
	pending.exception = exception;
	pending.finished = true;
	pending.finished_cv.notify_all();
}

void serve(WorkerState &state)
{
	std::unique_lock lock(state.mutex);
	for (;;) {
		state.wake.wait(lock, [&] { return state.stop || state.pending; });
		if (!state.pending)
			return;

		auto pending = std::move(state.pending);
		auto call = std::move(state.call);
		state.pending.reset();
		state.call = nullptr;
		lock.unlock();

		run_call(call, *pending);
		/* Release what the call captured before waiting for the next one. */
		call = nullptr;
		pending.reset();

		lock.lock();
		if (state.stop)
			return;
	}
}

void *work(void *argument)
{
	auto *state = static_cast<WorkerState *>(argument);
	serve(*state);

	/* The thread's reference may be the last, so it goes after the lock is released. */
	std::shared_ptr<WorkerState> reference;
	{
		std::lock_guard lock(state->mutex);
		reference = std::move(state->thread_reference);
	}
	return nullptr;
}

/*
 * Keeps the workers inherited through fork() reachable forever. Their threads
 * do not exist in the child, so joining them is unsafe, and their mutexes may be locked.
 */
void keep_forever(std::vector<std::shared_ptr<WorkerState>> states)
{
	static std::mutex mutex;
	static auto *kept = new std::vector<std::shared_ptr<WorkerState>>;

	std::lock_guard lock(mutex);
	for (auto &state : states)
		kept->push_back(std::move(state));
}

} /* namespace */

CallWorkers::CallWorkers() : pid_(::getpid()) {}

CallWorkers::~CallWorkers()
{
	std::lock_guard lock(mutex_);
	if (pid_ != ::getpid()) {
		forget_after_fork();
		return;
	}

	for (auto &worker : idle_) {
		{
			std::lock_guard state_lock(worker.state->mutex);
			worker.state->stop = true;
		}
		worker.state->wake.notify_one();
		::pthread_join(worker.thread, nullptr);
	}
}

size_t CallWorkers::started() const
{
	std::lock_guard lock(mutex_);
	return started_;
}

void CallWorkers::forget_after_fork()
{
	std::vector<std::shared_ptr<WorkerState>> states;
	for (auto &worker : idle_)
		states.push_back(std::move(worker.state));
	idle_.clear();
	keep_forever(std::move(states));
	pid_ = ::getpid();
}

result<CallWorkers::Worker> CallWorkers::take(const std::string &device)
{
	std::lock_guard lock(mutex_);
	if (pid_ != ::getpid())
		forget_after_fork();

	if (!idle_.empty()) {
		Worker worker = std::move(idle_.back());
		idle_.pop_back();
		return worker;
	}

	Worker worker;
	worker.state = std::make_shared<WorkerState>();
	worker.state->thread_reference = worker.state;
	const int error = ::pthread_create(&worker.thread, nullptr, work, worker.state.get());
	if (error != 0) {
		worker.state->thread_reference.reset();
		Error failure = make_error(errc::io_error,
					   "cannot start a thread for a bounded call: " +
						   std::string(std::strerror(error)) +
						   "; raise the process or thread limit (ulimit -u)",
					   device);
		failure.sys_errno = error;
		return failure;
	}
	started_++;
	return worker;
}

void CallWorkers::give_back(Worker worker)
{
	std::lock_guard lock(mutex_);
	idle_.push_back(std::move(worker));
}

result<void> call_with_deadline(std::function<result<void>()> call, std::chrono::milliseconds timeout,
				const std::string &device, CallWorkers &workers,
				AbandonedCalls &abandoned)
{
	auto pending = std::make_shared<PendingCall>();
	pending->device = device;

	BOOST_OUTCOME_TRY(auto worker, workers.take(device));

	{
		std::lock_guard lock(worker.state->mutex);
		worker.state->call = std::move(call);
		worker.state->pending = pending;
	}
	worker.state->wake.notify_one();

	std::unique_lock lock(pending->mutex);
	if (!pending->finished_cv.wait_for(lock, timeout, [&] { return pending->finished; })) {
		lock.unlock();

		/* The worker ends once the call returns, and the next call gets another. */
		{
			std::lock_guard state_lock(worker.state->mutex);
			worker.state->stop = true;
		}
		worker.state->wake.notify_one();
		::pthread_detach(worker.thread);

		abandoned.add(pending);
		return make_error(errc::timed_out,
				  "the call did not return within " + std::to_string(timeout.count()) +
					  " ms",
				  device);
	}
	lock.unlock();
	workers.give_back(std::move(worker));

	if (pending->exception)
		std::rethrow_exception(pending->exception);
	return pending->outcome;
}

} /* namespace pcipass::detail */
