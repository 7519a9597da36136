/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * sim::Host: the kernel rules behind one mutex, with the operation log,
 * injected faults and simulated crashes around every operation.
 */

#include <pcipass/testing/sim.hpp>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <fnmatch.h>
#include <mutex>
#include <thread>

#include "kernel.hpp"
#include "log.hpp"
#include "topology_rules.hpp"

namespace pcipass::sim {

using detail::none;

namespace {

struct ArmedFault {
	FaultId id = 0;
	Fault fault;
	unsigned matched = 0; /* operations that matched, for FaultMatch::nth */
	unsigned hits = 0;    /* operations it acted on */
	unsigned blocked = 0; /* writes waiting on it now */
	bool released = false;
	bool removed = false;
};

/* The parts of one operation that faults match on. */
struct Operation {
	WriteKind kind = WriteKind::other;
	std::string_view path;
	std::string_view value;
	int device = none;
	int driver = none;
	bool counts_as_write = false; /* write() calls, which crash points count */
	bool stoppable = true;        /* refused after a crash */
};

} /* namespace */

class Host::Impl
{
public:
	explicit Impl(detail::Kernel kernel) : kernel(std::move(kernel)) {}

	/*
	 * Runs one operation through faults, the log and crash points. decide(
	 * probe_mode, refresh) applies the kernel rule; with refresh the state
	 * may have changed since the faults were matched.
	 */
	template<class Decide>
	result<void> run(std::unique_lock<std::mutex> &lock, const Operation &operation,
			 Decide &&decide, std::function<void()> &crash_callback);

	std::vector<std::shared_ptr<ArmedFault>> match(const Operation &operation);
	void wait_released(std::unique_lock<std::mutex> &lock, ArmedFault &fault);
	void side_effects(const Operation &operation, const detail::Outcome &outcome,
			  const std::vector<std::shared_ptr<ArmedFault>> &hits);
	void record(LogEntry entry);
	LogEntry entry_for(const Operation &operation, int sys_errno, Rule rule, int device,
			   FaultId fault, bool side_effect) const;
	Error error_for(const Operation &operation, int sys_errno, Rule rule, int device,
			FaultId fault) const;
	std::shared_ptr<ArmedFault> find_fault(FaultId id) const;

	/* Locks the state after finishing the asynchronous probes that are due. */
	std::unique_lock<std::mutex> acquire();
	void settle();

	mutable std::mutex mutex;
	/* Signalled on every change a waiting write may care about. */
	std::condition_variable changed;
	detail::Kernel kernel;

	std::vector<std::shared_ptr<ArmedFault>> faults;
	FaultId next_fault = 1;

	std::vector<LogEntry> log;
	uint64_t sequence = 0;
	uint64_t writes = 0;

	std::optional<CrashPoint> crash;
	uint64_t crash_base = 0;
	bool crashed = false;

	/* Probes that probe_later faults postponed, in the order they were written. */
	struct PendingProbe {
		std::chrono::steady_clock::time_point due;
		int device = none;
		int driver = none;
		FaultId fault = 0;
		Operation operation;
		std::string path;
		std::string value;
	};
	std::vector<PendingProbe> pending;
};

std::unique_lock<std::mutex> Host::Impl::acquire()
{
	std::unique_lock lock(mutex);
	settle();
	return lock;
}

void Host::Impl::settle()
{
	if (pending.empty())
		return;
	const auto now = std::chrono::steady_clock::now();
	for (size_t i = 0; i < pending.size();) {
		if (pending[i].due > now) {
			i++;
			continue;
		}
		PendingProbe probe = std::move(pending[i]);
		pending.erase(pending.begin() + long(i));
		probe.operation.path = probe.path;
		probe.operation.value = probe.value;
		const detail::Outcome outcome = kernel.probe_later(probe.device, probe.driver);
		record(entry_for(probe.operation, outcome.sys_errno, outcome.rule, probe.device,
				 probe.fault, true));
		changed.notify_all();
	}
}

std::vector<std::shared_ptr<ArmedFault>> Host::Impl::match(const Operation &operation)
{
	std::vector<std::shared_ptr<ArmedFault>> hits;
	for (const auto &armed : faults) {
		const FaultMatch &match = armed->fault.match;
		if (match.kind && *match.kind != operation.kind)
			continue;
		if (match.device && (operation.device == none ||
				     kernel.device(operation.device).topo.address != *match.device))
			continue;
		if (!match.driver.empty() &&
		    (operation.driver == none || kernel.driver(operation.driver).name != match.driver))
			continue;
		if (!match.path.empty() &&
		    fnmatch(match.path.c_str(), std::string(operation.path).c_str(), FNM_PATHNAME) != 0)
			continue;
		armed->matched++;
		if (match.nth != 0 && armed->matched != match.nth)
			continue;
		hits.push_back(armed);
	}
	return hits;
}

void Host::Impl::wait_released(std::unique_lock<std::mutex> &lock, ArmedFault &fault)
{
	fault.blocked++;
	changed.notify_all();
	changed.wait(lock, [&] { return fault.released || fault.removed; });
	fault.blocked--;
}

LogEntry Host::Impl::entry_for(const Operation &operation, int sys_errno, Rule rule, int device,
			       FaultId fault, bool side_effect) const
{
	LogEntry entry;
	entry.kind = operation.kind;
	entry.path = operation.path;
	entry.value = operation.value;
	if (device != none)
		entry.device = kernel.device(device).topo.address;
	entry.sys_errno = sys_errno;
	entry.rule = rule;
	entry.fault = fault;
	entry.side_effect = side_effect;
	return entry;
}

void Host::Impl::record(LogEntry entry)
{
	entry.sequence = ++sequence;
	PCIPASS_LOG(sim, debug, to_string(entry));
	if (kernel.options().record_log)
		log.push_back(std::move(entry));
}

Error Host::Impl::error_for(const Operation &operation, int sys_errno, Rule rule, int device,
			    FaultId fault) const
{
	std::string message = "simulated kernel: ";
	switch (operation.kind) {
	case WriteKind::load_module:
		message += "loading module '" + std::string(operation.path) + "'";
		break;
	case WriteKind::unload_module:
		message += "unloading module '" + std::string(operation.path) + "'";
		break;
	case WriteKind::open_node:
		message += "opening '" + std::string(operation.path) + "'";
		break;
	case WriteKind::close_node:
		message += "closing '" + std::string(operation.path) + "'";
		break;
	default:
		message += "writing '" + detail::printable(operation.value) + "' to '" +
			   std::string(operation.path) + "'";
		break;
	}
	message += " failed: " + std::string(rule_info(rule).description) + " (rule " +
		   std::string(rule_name(rule));
	if (fault)
		message += ", injected fault " + std::to_string(fault);
	message += ")";
	return make_sys_error(sys_errno, std::move(message),
			      device != none ? kernel.device(device).name : std::string(),
			      std::string(operation.path));
}

void Host::Impl::side_effects(const Operation &operation, const detail::Outcome &outcome,
			      const std::vector<std::shared_ptr<ArmedFault>> &hits)
{
	for (const auto &armed : hits) {
		const Fault &fault = armed->fault;
		switch (fault.action) {
		case FaultAction::reattach_after_unbind: {
			if (operation.kind != WriteKind::unbind || outcome.device == none)
				break;
			const int driver = fault.name.empty() ? operation.driver
							      : kernel.find_driver(fault.name);
			kernel.force_attach(outcome.device, driver);
			armed->hits++;
			record(entry_for(operation, 0, Rule::fault_reattached, outcome.device, armed->id,
					 true));
			break;
		}
		case FaultAction::unload_module: {
			const detail::Outcome unloaded = kernel.unload_module(fault.name);
			armed->hits++;
			Operation unload{WriteKind::unload_module, fault.name, {}, none, none};
			LogEntry entry = entry_for(unload, unloaded.sys_errno, unloaded.rule,
						   unloaded.device, armed->id, true);
			record(std::move(entry));
			break;
		}
		case FaultAction::vanish: {
			int device = outcome.device != none ? outcome.device : operation.device;
			if (fault.match.device) {
				const int matched = kernel.find_device_by_name(fault.match.device->to_string());
				if (matched != none)
					device = matched;
			}
			if (device == none)
				break;
			kernel.remove_device(device);
			armed->hits++;
			record(entry_for(operation, 0, Rule::fault_vanished, device, armed->id, true));
			break;
		}
		default:
			break;
		}
	}
}

template<class Decide>
result<void> Host::Impl::run(std::unique_lock<std::mutex> &lock, const Operation &operation,
			     Decide &&decide, std::function<void()> &crash_callback)
{
	if (crashed && operation.stoppable) {
		record(entry_for(operation, ESHUTDOWN, Rule::crash_stopped, operation.device, 0, false));
		return error_for(operation, ESHUTDOWN, Rule::crash_stopped, operation.device, 0);
	}

	const auto hits = faults.empty() ? std::vector<std::shared_ptr<ArmedFault>>()
					 : match(operation);

	detail::ProbeMode probe_mode = detail::ProbeMode::now;
	std::chrono::microseconds probe_delay{0};
	FaultId probe_fault = 0;
	bool refresh = false;
	for (const auto &armed : hits) {
		const Fault &fault = armed->fault;
		if (fault.action == FaultAction::fail && fault.timing == FaultTiming::before) {
			armed->hits++;
			record(entry_for(operation, fault.sys_errno, Rule::fault_failed, operation.device,
					 armed->id, false));
			return error_for(operation, fault.sys_errno, Rule::fault_failed, operation.device,
					 armed->id);
		}
		if (fault.action == FaultAction::probe_attaches_nothing) {
			probe_mode = detail::ProbeMode::never;
			probe_fault = armed->id;
		} else if (fault.action == FaultAction::probe_later &&
			   probe_mode == detail::ProbeMode::now) {
			probe_mode = detail::ProbeMode::later;
			probe_delay = fault.delay;
			probe_fault = armed->id;
		}
	}
	for (const auto &armed : hits) {
		const Fault &fault = armed->fault;
		if (fault.timing != FaultTiming::before)
			continue;
		if (fault.action == FaultAction::block && !armed->released) {
			armed->hits++;
			wait_released(lock, *armed);
			refresh = true;
		} else if (fault.action == FaultAction::delay) {
			armed->hits++;
			lock.unlock();
			std::this_thread::sleep_for(fault.delay);
			lock.lock();
			refresh = true;
		}
	}

	/* A VFIO driver's remove waits for the group's user to go, then the write is decided again. */
	detail::Outcome outcome = decide(probe_mode, refresh);
	bool waited_for_user = false;
	while (outcome.wait_for_group) {
		const unsigned group = *outcome.wait_for_group;
		waited_for_user = true;
		changed.wait(lock, [&] { return !kernel.group_held(group); });
		outcome = decide(probe_mode, true);
	}
	if (waited_for_user && outcome.rule == Rule::unbind_detached)
		outcome.rule = Rule::unbind_waited_for_vfio_user;

	FaultId acted = 0;
	if (outcome.rule == Rule::fault_probe_attached_nothing || outcome.rule == Rule::fault_probe_later) {
		acted = probe_fault;
		/* The fault may have been removed while the write waited, so count it through hits. */
		for (const auto &armed : hits) {
			if (armed->id == probe_fault)
				armed->hits++;
		}
	}
	if (outcome.rule == Rule::fault_probe_later)
		pending.push_back(PendingProbe{std::chrono::steady_clock::now() + probe_delay,
					       outcome.device, outcome.later_driver, acted, operation,
					       std::string(operation.path), std::string(operation.value)});

	int returned = outcome.sys_errno;
	if (outcome.sys_errno == 0) {
		for (const auto &armed : hits) {
			if (armed->fault.action == FaultAction::fail &&
			    armed->fault.timing == FaultTiming::after) {
				armed->hits++;
				returned = armed->fault.sys_errno;
				acted = armed->id;
				break;
			}
		}
	}

	const int device = outcome.device != none ? outcome.device : operation.device;
	record(entry_for(operation, returned, outcome.rule, device, acted, false));
	if (outcome.sys_errno == 0)
		side_effects(operation, outcome, hits);

	if (operation.counts_as_write && outcome.sys_errno == 0) {
		writes++;
		if (crash && writes - crash_base >= crash->after_writes) {
			crashed = crash->stop;
			crash_callback = std::move(crash->callback);
			crash.reset();
		}
	}
	changed.notify_all();

	for (const auto &armed : hits) {
		const Fault &fault = armed->fault;
		if (fault.timing != FaultTiming::after)
			continue;
		if (fault.action == FaultAction::block && !armed->released) {
			armed->hits++;
			wait_released(lock, *armed);
		} else if (fault.action == FaultAction::delay) {
			armed->hits++;
			lock.unlock();
			std::this_thread::sleep_for(fault.delay);
			lock.lock();
		}
	}

	if (returned != 0)
		return error_for(operation, returned, returned == outcome.sys_errno ? outcome.rule
										    : Rule::fault_failed,
				 device, acted);
	return success();
}

std::shared_ptr<ArmedFault> Host::Impl::find_fault(FaultId id) const
{
	for (const auto &armed : faults) {
		if (armed->id == id)
			return armed;
	}
	return nullptr;
}

/* Host */

Host::Host(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Host::~Host() = default;

result<std::unique_ptr<Host>> Host::create(const testing::Topology &topology,
					   const Options &options)
{
	BOOST_OUTCOME_TRY(auto kernel, detail::Kernel::load(topology, options));
	return std::unique_ptr<Host>(new Host(std::make_unique<Impl>(std::move(kernel))));
}

std::string Host::describe() const
{
	auto lock = impl_->acquire();
	const std::string &description = impl_->kernel.description();
	return description.empty() ? "simulated kernel" : "simulated kernel (" + description + ")";
}

result<std::string> Host::read(std::string_view path, size_t max_size)
{
	BOOST_OUTCOME_TRY(check_relative_path(path));
	auto lock = impl_->acquire();
	BOOST_OUTCOME_TRY(auto loc, impl_->kernel.walk(path, true));
	BOOST_OUTCOME_TRY(auto text, impl_->kernel.content(loc, path));
	if (text.size() > max_size)
		text.resize(max_size);
	return text;
}

result<std::string> Host::read_link(std::string_view path)
{
	BOOST_OUTCOME_TRY(check_relative_path(path));
	auto lock = impl_->acquire();
	BOOST_OUTCOME_TRY(auto loc, impl_->kernel.walk(path, false));
	if (impl_->kernel.type(loc) != EntryType::symlink)
		return make_sys_error(EINVAL,
				      "simulated kernel: '" + std::string(path) + "' is not a symlink",
				      {}, std::string(path));
	return impl_->kernel.link_text(loc);
}

result<std::vector<DirEntry>> Host::list(std::string_view path)
{
	BOOST_OUTCOME_TRY(check_relative_path(path));
	auto lock = impl_->acquire();
	BOOST_OUTCOME_TRY(auto loc, impl_->kernel.walk(path, true));
	if (impl_->kernel.type(loc) != EntryType::directory)
		return make_sys_error(ENOTDIR,
				      "simulated kernel: '" + std::string(path) + "' is not a directory",
				      {}, std::string(path));
	return impl_->kernel.entries(loc);
}

namespace {

/* A directory of the simulated tree: every call goes back through the host by path. */
class SimDirectory final : public Directory
{
public:
	SimDirectory(Host &host, std::string path) : host_(host), path_(std::move(path)) {}

	const std::string &path() const override { return path_; }

	result<std::vector<DirEntry>> list() override { return host_.list(path_); }

	result<std::string> read(std::string_view name, size_t max_size) override
	{
		BOOST_OUTCOME_TRY(auto path, child(name));
		return host_.read(path, max_size);
	}

	result<std::string> read_link(std::string_view name) override
	{
		BOOST_OUTCOME_TRY(auto path, child(name));
		return host_.read_link(path);
	}

	result<std::unique_ptr<Directory>> open(std::string_view name) override
	{
		BOOST_OUTCOME_TRY(auto path, child(name));
		return host_.open_dir(path);
	}

private:
	/* Names are single components; anything else would escape this directory. */
	result<std::string> child(std::string_view name) const
	{
		if (name.find('/') != std::string_view::npos)
			return make_error(errc::invalid_argument,
					  "'" + std::string(name) + "' is not a single file name", {},
					  path_);
		std::string path = path_ + "/" + std::string(name);
		BOOST_OUTCOME_TRY(check_relative_path(path));
		return path;
	}

	Host &host_;
	std::string path_;
};

} /* namespace */

result<std::unique_ptr<Directory>> Host::open_dir(std::string_view path)
{
	BOOST_OUTCOME_TRY(check_relative_path(path));
	{
		auto lock = impl_->acquire();
		BOOST_OUTCOME_TRY(auto loc, impl_->kernel.walk(path, true));
		if (impl_->kernel.type(loc) != EntryType::directory)
			return make_sys_error(ENOTDIR,
					      "simulated kernel: '" + std::string(path) +
						      "' is not a directory",
					      {}, std::string(path));
	}
	return std::unique_ptr<Directory>(new SimDirectory(*this, std::string(path)));
}

result<std::string> Host::resolve(std::string_view path)
{
	BOOST_OUTCOME_TRY(check_relative_path(path));
	auto lock = impl_->acquire();
	BOOST_OUTCOME_TRY(auto loc, impl_->kernel.walk(path, true));
	return impl_->kernel.path_of(loc);
}

bool Host::exists(std::string_view path)
{
	if (!check_relative_path(path))
		return false;
	auto lock = impl_->acquire();
	return bool(impl_->kernel.walk(path, false));
}

bool Host::can_write(std::string_view path)
{
	if (!check_relative_path(path))
		return false;
	auto lock = impl_->acquire();
	auto loc = impl_->kernel.walk(path, true);
	return loc && impl_->kernel.writable(loc.value());
}

result<void> Host::write(std::string_view path, std::string_view value)
{
	BOOST_OUTCOME_TRY(check_relative_path(path));
	std::function<void()> crash_callback;
	result<void> outcome = success();
	{
		auto lock = impl_->acquire();
		detail::Kernel &kernel = impl_->kernel;
		detail::Target target = kernel.classify(path, value);
		Operation operation{target.kind, path, value, target.device, target.driver, true, true};
		auto decide = [&](detail::ProbeMode probe_mode, bool refresh) {
			if (refresh)
				target = kernel.classify(path, value);
			return kernel.apply(target, value, probe_mode);
		};
		outcome = impl_->run(lock, operation, decide, crash_callback);
	}
	if (crash_callback)
		crash_callback();
	return outcome;
}

result<void> Host::load_module(std::string_view name)
{
	std::function<void()> crash_callback;
	result<void> outcome = success();
	{
		auto lock = impl_->acquire();
		Operation operation{WriteKind::load_module, name, {}, none, none, false, true};
		auto decide = [&](detail::ProbeMode, bool) { return impl_->kernel.load_module(name); };
		outcome = impl_->run(lock, operation, decide, crash_callback);
	}
	if (crash_callback)
		crash_callback();
	return outcome;
}

result<void> Host::unload_module(std::string_view name)
{
	std::function<void()> crash_callback;
	result<void> outcome = success();
	{
		auto lock = impl_->acquire();
		Operation operation{WriteKind::unload_module, name, {}, none, none, false, true};
		auto decide = [&](detail::ProbeMode, bool) { return impl_->kernel.unload_module(name); };
		outcome = impl_->run(lock, operation, decide, crash_callback);
	}
	if (crash_callback)
		crash_callback();
	return outcome;
}

result<std::vector<Holder>> Host::holders(std::string_view path)
{
	BOOST_OUTCOME_TRY(check_relative_path(path));
	auto lock = impl_->acquire();
	return impl_->kernel.holders_of(path);
}

result<void> Host::open_node(std::string_view path, pid_t pid, std::string_view command)
{
	BOOST_OUTCOME_TRY(check_relative_path(path));
	/* Only VFIO nodes have users that a topology can record. */
	if (path != "dev/vfio/vfio" && !pcipass::detail::parse_vfio_group_node(path))
		return make_error(errc::invalid_argument,
				  "simulated kernel: '" + std::string(path) +
					  "' is not a VFIO node; give dev/vfio/N or dev/vfio/vfio",
				  {}, std::string(path));
	if (pid <= 0 || command.empty() || command.size() > 15 ||
	    command.find_first_of("/\n") != std::string_view::npos)
		return make_error(errc::invalid_argument,
				  "simulated kernel: invalid holder " + std::to_string(pid) + " '" +
					  detail::printable(command) +
					  "': give a pid above 0 and a command of 1 to 15 characters "
					  "without '/' or a newline",
				  {}, std::string(path));
	std::function<void()> crash_callback;
	const std::string value = std::to_string(pid) + " " + std::string(command);
	auto lock = impl_->acquire();
	/* One process has one name, whatever it holds open. */
	const auto known = impl_->kernel.holder_command(pid);
	if (known && *known != command)
		return make_error(errc::invalid_argument,
				  "simulated kernel: process " + std::to_string(pid) + " is '" + *known +
					  "', not '" + detail::printable(command) +
					  "'; give the same command for every node it holds",
				  {}, std::string(path));
	Operation operation{WriteKind::open_node, path, value, none, none, false, false};
	auto decide = [&](detail::ProbeMode, bool) { return impl_->kernel.open_node(path, pid, command); };
	return impl_->run(lock, operation, decide, crash_callback);
}

result<void> Host::close_node(std::string_view path, pid_t pid)
{
	BOOST_OUTCOME_TRY(check_relative_path(path));
	std::function<void()> crash_callback;
	const std::string value = std::to_string(pid);
	auto lock = impl_->acquire();
	Operation operation{WriteKind::close_node, path, value, none, none, false, false};
	auto decide = [&](detail::ProbeMode, bool) { return impl_->kernel.close_node(path, pid); };
	return impl_->run(lock, operation, decide, crash_callback);
}

result<FaultId> Host::inject(const Fault &fault)
{
	if (fault.action == FaultAction::fail && fault.sys_errno <= 0)
		return make_error(errc::invalid_argument,
				  "a fail fault needs a positive errno in Fault::sys_errno");
	if (fault.action == FaultAction::reattach_after_unbind && fault.match.kind &&
	    *fault.match.kind != WriteKind::unbind)
		return make_error(errc::invalid_argument,
				  "reattach_after_unbind acts only on unbind; set match.kind to unbind "
				  "or leave it empty");
	if (fault.action == FaultAction::unload_module && fault.name.empty())
		return make_error(errc::invalid_argument,
				  "an unload_module fault needs the module name in Fault::name");

	auto lock = impl_->acquire();
	auto armed = std::make_shared<ArmedFault>();
	armed->id = impl_->next_fault++;
	armed->fault = fault;
	impl_->faults.push_back(armed);
	return armed->id;
}

result<void> Host::remove_fault(FaultId id)
{
	auto lock = impl_->acquire();
	auto armed = impl_->find_fault(id);
	if (!armed)
		return make_error(errc::not_found, "no injected fault has id " + std::to_string(id));
	armed->removed = true;
	std::erase(impl_->faults, armed);
	impl_->changed.notify_all();
	return success();
}

result<void> Host::release_fault(FaultId id)
{
	auto lock = impl_->acquire();
	auto armed = impl_->find_fault(id);
	if (!armed)
		return make_error(errc::not_found, "no injected fault has id " + std::to_string(id));
	armed->released = true;
	impl_->changed.notify_all();
	return success();
}

void Host::clear_faults()
{
	auto lock = impl_->acquire();
	for (auto &armed : impl_->faults)
		armed->removed = true;
	impl_->faults.clear();
	impl_->changed.notify_all();
}

bool Host::wait_blocked(FaultId id, unsigned count, std::chrono::milliseconds timeout)
{
	auto lock = impl_->acquire();
	auto armed = impl_->find_fault(id);
	if (!armed)
		return false;
	return impl_->changed.wait_for(lock, timeout, [&] { return armed->blocked >= count; });
}

unsigned Host::fault_hits(FaultId id) const
{
	auto lock = impl_->acquire();
	auto armed = impl_->find_fault(id);
	return armed ? armed->hits : 0;
}

void Host::crash_after(CrashPoint point)
{
	auto lock = impl_->acquire();
	impl_->crash = std::move(point);
	impl_->crash_base = impl_->writes;
}

bool Host::crashed() const
{
	auto lock = impl_->acquire();
	return impl_->crashed;
}

void Host::resume()
{
	auto lock = impl_->acquire();
	impl_->crash.reset();
	impl_->crashed = false;
}

State Host::state() const
{
	auto lock = impl_->acquire();
	return impl_->kernel.state();
}

std::vector<LogEntry> Host::log() const
{
	auto lock = impl_->acquire();
	return impl_->log;
}

void Host::clear_log()
{
	auto lock = impl_->acquire();
	impl_->log.clear();
}

uint64_t Host::write_count() const
{
	auto lock = impl_->acquire();
	return impl_->writes;
}

testing::Topology Host::to_topology() const
{
	auto lock = impl_->acquire();
	return impl_->kernel.to_topology();
}

const Options &Host::options() const
{
	return impl_->kernel.options();
}

} /* namespace pcipass::sim */
