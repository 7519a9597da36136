/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The transaction engine: lock, plan, journal, execute, roll back, recover.
 */

#include <pcipass/transaction.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <unistd.h>

#include <boost/json.hpp>

#include <pcipass/testing/sim.hpp>

#include "config.h"
#include "executor.hpp"
#include "journal.hpp"
#include "plan_internal.hpp"
#include "plan_json.hpp"
#include "state_dir.hpp"
#include "sysfs_parse.hpp"
#include "sysfs_paths.hpp"

namespace json = boost::json;

namespace pcipass {

using namespace detail;

namespace {

/* Whether two paths name one directory, through "//", "..", a trailing '/' and links such as /var/run. */
bool same_directory(const std::string &first, const std::string &second)
{
	auto normal = [](const std::string &path) -> std::optional<std::filesystem::path> {
		std::error_code ec;
		std::filesystem::path resolved = std::filesystem::weakly_canonical(path, ec);
		if (ec)
			return std::nullopt;
		if (!resolved.has_filename() && resolved.has_parent_path())
			resolved = resolved.parent_path();
		return resolved;
	};
	const auto first_path = normal(first);
	const auto second_path = normal(second);
	return first_path && second_path && *first_path == *second_path;
}

} /* namespace */

std::string default_state_dir()
{
	return PCIPASS_DEFAULT_STATE_DIR;
}

namespace {

constexpr std::string_view ownership_file = "ownership.json";
constexpr std::string_view ownership_schema = "pcipass.ownership/v1";

bool process_alive(long pid)
{
	if (pid <= 0)
		return false;
	return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

/*
 * Returns the error that rejects a step before the first write, or nothing.
 * A link that leaves the root fails the write and its undo alike, which
 * would strand the group half moved.
 */
std::optional<Error> check_step_file(Host &host, const Step &step)
{
	if (step.kind == StepKind::load_module)
		return std::nullopt;

	/*
	 * Resolved before the existence check: exists() is false when a parent
	 * directory is a link out of the root, and that must reject the step, not skip it.
	 */
	auto resolved = host.resolve(step.path);
	if (!resolved && resolved.error().code == errc::escapes_root) {
		Error error = make_error(errc::escapes_root,
					 "cannot write " + quote_path(step.path) + " for " + step.device + " on " +
						 host.describe() + ": " + resolved.error().message +
						 "; nothing was changed; replace the link with the "
						 "kernel's file or use a trusted root, then retry",
					 step.device, step.path);
		error.step = step.describe();
		return error;
	}

	if (!host.exists(step.path) || host.can_write(step.path))
		return std::nullopt;
	Error error = make_error(errc::permission_denied,
				 "cannot write " + quote_path(step.path) + " on " + host.describe() +
					 "; run as root (or with CAP_SYS_ADMIN), nothing was changed",
				 step.device, step.path);
	error.step = step.describe();
	return error;
}

/*
 * Returns the error that rejects a plan whose IOMMU groups, as the kernel
 * lists them now, hold a function the plan does not know: one that appeared
 * after the scan, or one whose directory the scan could not enter. Moving
 * the group without it would leave it on its host driver.
 */
std::optional<Error> check_group_members(Host &host, const Plan &plan)
{
	for (unsigned group : plan.groups) {
		const std::string path = "sys/kernel/iommu_groups/" + std::to_string(group) + "/devices";
		auto entries = host.list(path);
		if (!entries && entries.error().code == errc::not_found)
			continue;
		if (!entries) {
			Error error = entries.error();
			error.message += "; nothing was changed";
			return error;
		}

		for (const DirEntry &entry : entries.value()) {
			auto address = PciAddress::parse(entry.name);
			const bool known = address && std::any_of(plan.members.begin(), plan.members.end(),
								   [&](const Member &member) {
									   return member.address == address.value();
								   });
			if (known)
				continue;
			return make_error(errc::not_viable,
					  "IOMMU group " + std::to_string(group) + " lists " +
						  quote_content(entry.name) +
						  ", which the scan did not find (it appeared since, or its "
						  "directory is not a real sysfs directory); nothing was "
						  "changed; rescan and retry, and check the device if it persists",
					  entry.name, path);
		}
	}
	return std::nullopt;
}

std::string first_device(const Request &request)
{
	return request.devices.empty() ? std::string() : request.devices.front().address.to_string();
}

std::vector<Ownership> apply_claims(std::vector<Ownership> claims, const std::vector<Ownership> &added,
				    const std::vector<std::string> &removed)
{
	std::erase_if(claims, [&](const Ownership &claim) {
		return std::find(removed.begin(), removed.end(), claim.device) != removed.end() ||
		       std::any_of(added.begin(), added.end(),
				   [&](const Ownership &other) { return other.device == claim.device; });
	});
	claims.insert(claims.end(), added.begin(), added.end());
	std::sort(claims.begin(), claims.end(),
		  [](const Ownership &a, const Ownership &b) { return a.device < b.device; });
	return claims;
}

Report report_from_plan(const Plan &plan)
{
	Report report;
	report.operation = plan.operation;
	report.driver = plan.driver;
	report.owner = plan.owner;
	report.groups = plan.groups;
	report.findings = plan.findings;
	return report;
}

/* Devices in order of their first forward step: the order a rollback reverses. */
std::vector<std::string> touched_units(const Report &report, const std::vector<JournalUnit> &units)
{
	std::vector<std::string> touched;
	for (const auto &record : report.steps) {
		const std::string &device = record.step.device;
		if (record.undo || device.empty() ||
		    std::find(touched.begin(), touched.end(), device) != touched.end())
			continue;
		if (std::any_of(units.begin(), units.end(),
				[&](const JournalUnit &unit) { return unit.device == device; }))
			touched.push_back(device);
	}
	return touched;
}

std::string stranded_text(Host &host, const std::vector<Stranded> &stranded,
			  const std::vector<JournalUnit> &units)
{
	std::string text;
	for (const auto &entry : stranded) {
		const JournalUnit *unit = nullptr;
		for (const auto &candidate : units)
			if (candidate.device == entry.device)
				unit = &candidate;

		std::string where = "in an unknown state";
		if (unit && unit->framebuffer) {
			auto driver = read_platform_driver(host, entry.device);
			if (driver)
				where = driver.value().empty() ? "unbound" : "on " + name_in_message(driver.value());
		} else {
			auto state = read_device_state(host, entry.device);
			if (state)
				where = describe_state(state.value());
		}

		text += (text.empty() ? "" : "; ") + entry.device + " is " + where;
		if (unit)
			text += " (recorded: " +
				(unit->framebuffer ? (unit->state.driver.empty() ? std::string("unbound")
										 : "on " + name_in_message(unit->state.driver))
						   : describe_state(unit->state)) +
				")";
		text += " because " + entry.error.message;
	}
	return text;
}

/* The error a failed transaction returns: the failing step's, with the rollback outcome. */
Error compose_error(Host &host, const Error &failure, const std::vector<Stranded> &stranded,
		    const std::set<std::string> &in_doubt, const std::vector<JournalUnit> &units)
{
	Error error = failure;

	if (!stranded.empty()) {
		error.code = errc::rollback_failed;
		error.message += "; the rollback failed too: " + stranded_text(host, stranded, units) +
				 "; every other device is back in its recorded state; fix the cause "
				 "and run 'pcipassctl recover'";
		return error;
	}

	if (!in_doubt.empty()) {
		error.message += "; every other device is back in its state before the transaction";
		return error;
	}

	error.message += "; rolled back: every device is back in its state before the transaction";
	return error;
}

} /* namespace */

struct Engine::Impl {
	Impl(Host &host_, EngineOptions options_) : host(host_), options(std::move(options_)) {}

	result<std::vector<Ownership>> load_claims() const;
	result<void> save_claims(const std::vector<Ownership> &claims) const;

	std::vector<JournalUnit> units_from_plan(const Plan &plan) const;
	void fill_devices(Report &report, const std::vector<JournalUnit> &units,
			  const std::set<std::string> &in_doubt) const;
	Error unfinished_error(const JournalState &state) const;

	using Planner = std::function<Plan(const DeviceGraph &, std::span<const Ownership>)>;

	result<Report> transact(const RequestOptions &options, Observer *observer,
				bool recover_first, const std::string &device, const Planner &planner);
	result<Report> execute(const Plan &plan, const std::vector<Ownership> &claims,
			       Observer *observer);
	result<Report> recover_locked(const Deadlines &deadlines, Observer *observer);
	result<Report> finish(Report report, Observer *observer) const;

	Host &host;
	EngineOptions options;
	std::unique_ptr<StateDir> dir;
};

result<std::vector<Ownership>> Engine::Impl::load_claims() const
{
	BOOST_OUTCOME_TRY(auto content, dir->read(ownership_file));
	if (!content)
		return std::vector<Ownership>();

	std::string problem;
	boost::system::error_code ec;
	json::value document = json::parse(*content, ec);
	const json::object *object = ec ? nullptr : document.if_object();
	const json::value *schema = object ? object->if_contains("schema") : nullptr;
	const json::value *claims = object ? object->if_contains("claims") : nullptr;

	if (ec)
		problem = "it is not valid JSON (" + ec.message() + ")";
	else if (!object)
		problem = "it is not a JSON object";
	else if (!schema || !schema->is_string() || schema->get_string() != ownership_schema)
		problem = "its schema is not " + std::string(ownership_schema);
	else if (!claims)
		problem = "it has no claims";

	if (problem.empty()) {
		auto parsed = ownerships_from_json_value(*claims);
		if (parsed)
			return parsed;
		problem = parsed.error().message;
	}

	/*
	 * Fail closed: treating the records as empty would let any owner
	 * release devices that another owner bound, so the file stays where
	 * it is and every request that needs it is refused until it is fixed.
	 */
	const std::string path = dir->describe(ownership_file);
	return make_error(errc::journal_corrupt,
			  "the ownership records " + quote_path(path) + " are unusable: " + problem +
				  "; bind, release and reconcile are refused until they are fixed: "
				  "inspect the file, then repair it or, after checking which devices "
				  "are on vfio-pci with 'pcipassctl list', remove it (which drops "
				  "every claim)",
			  {}, path);
}

result<void> Engine::Impl::save_claims(const std::vector<Ownership> &claims) const
{
	json::object document;
	document["schema"] = ownership_schema;
	document["claims"] = ownerships_to_json_value(claims);
	return dir->write_atomic(ownership_file, json::serialize(document) + "\n");
}

std::vector<JournalUnit> Engine::Impl::units_from_plan(const Plan &plan) const
{
	std::vector<JournalUnit> units;
	auto known = [&](const std::string &device) {
		return std::any_of(units.begin(), units.end(),
				   [&](const JournalUnit &unit) { return unit.device == device; });
	};

	for (const auto &planned : plan.steps) {
		const Step &step = planned.step;
		if (step.device.empty() || known(step.device))
			continue;

		if (step.kind == StepKind::unbind_framebuffer || step.kind == StepKind::bind_framebuffer) {
			JournalUnit unit;
			unit.device = step.device;
			unit.framebuffer = true;
			unit.platform_driver = step.driver;
			auto driver = read_platform_driver(host, step.device);
			unit.state.driver = driver ? driver.value() : std::string();
			units.push_back(std::move(unit));
			continue;
		}

		auto address = PciAddress::parse(step.device);
		const Member *member = address ? plan.find(address.value()) : nullptr;
		if (!member)
			continue;

		JournalUnit unit;
		unit.device = step.device;
		unit.state = member->before;
		if (member->num_vfs_after != member->num_vfs_before)
			unit.num_vfs = member->num_vfs_before;
		units.push_back(std::move(unit));
	}

	/*
	 * A member that keeps its binding can still gain or lose a record, and
	 * the journal accepts records only for units of the transaction.
	 */
	std::vector<std::string> recorded;
	for (const auto &claim : plan.claims_added)
		recorded.push_back(claim.device);
	recorded.insert(recorded.end(), plan.claims_removed.begin(), plan.claims_removed.end());
	for (const auto &device : recorded) {
		auto address = PciAddress::parse(device);
		const Member *member = address ? plan.find(address.value()) : nullptr;
		if (!member || known(device))
			continue;

		JournalUnit unit;
		unit.device = device;
		unit.state = member->before;
		units.push_back(std::move(unit));
	}
	return units;
}

void Engine::Impl::fill_devices(Report &report, const std::vector<JournalUnit> &units,
				const std::set<std::string> &in_doubt) const
{
	for (const auto &unit : units) {
		if (unit.framebuffer)
			continue;
		DeviceReport device;
		device.device = unit.device;
		device.before = unit.state;
		auto after = read_device_state(host, unit.device);
		if (after)
			device.after = after.value();
		device.in_doubt = in_doubt.count(unit.device) != 0;
		report.devices.push_back(std::move(device));
	}
}

Error Engine::Impl::unfinished_error(const JournalState &state) const
{
	std::string doubt;
	for (const auto &device : state.in_doubt)
		doubt += (doubt.empty() ? "" : ", ") + device;

	return make_error(errc::in_doubt,
			  "the journal " + quote_path(dir->describe("journal")) + " holds the unfinished " +
				  std::string(operation_name(state.operation)) + " transaction " +
				  name_in_message(state.transaction) + " of pid " + std::to_string(state.pid) +
				  (doubt.empty() ? std::string() : " with " + doubt + " in doubt") +
				  "; run 'pcipassctl recover' first",
			  {}, dir->describe("journal"));
}

result<Report> Engine::Impl::finish(Report report, Observer *observer) const
{
	if (observer)
		observer->on_finish(report);
	if (report.error)
		return *report.error;
	return report;
}

/* device: the first device of the request, named in errors that concern the whole request. */
result<Report> Engine::Impl::transact(const RequestOptions &request_options, Observer *observer,
				      bool recover_first, const std::string &device,
				      const Planner &planner)
{
	BOOST_OUTCOME_TRY(auto lock, HostLock::acquire(*dir, request_options.deadlines.lock));

	Journal journal(*dir);
	BOOST_OUTCOME_TRY(auto state, journal.load());
	if (!state.clean()) {
		if (!recover_first)
			return unfinished_error(state);
		BOOST_OUTCOME_TRY(recover_locked(request_options.deadlines, nullptr));
	}

	auto claims = load_claims();
	if (!claims) {
		Error error = claims.error();
		if (error.device.empty())
			error.device = device;
		return error;
	}

	BOOST_OUTCOME_TRY(auto graph, DeviceGraph::scan(host, options.scan));

	const Plan plan = planner(graph, claims.value());
	if (observer)
		observer->on_plan(plan);

	if (plan.blocked()) {
		Report report = report_from_plan(plan);
		report.outcome = Outcome::refused;
		report.error = plan.check().error();
		return finish(std::move(report), observer);
	}

	return execute(plan, claims.value(), observer);
}

result<Report> Engine::Impl::execute(const Plan &plan, const std::vector<Ownership> &claims,
				     Observer *observer)
{
	Report report = report_from_plan(plan);

	if (plan.steps.empty()) {
		if (!plan.claims_added.empty() || !plan.claims_removed.empty()) {
			BOOST_OUTCOME_TRY(save_claims(apply_claims(claims, plan.claims_added,
								   plan.claims_removed)));
		}
		report.outcome = Outcome::no_change;
		return finish(std::move(report), observer);
	}

	/* One line before the first write rather than a failure half way through a group. */
	for (const auto &planned : plan.steps) {
		auto rejection = check_step_file(host, planned.step);
		if (!rejection)
			continue;
		report.outcome = Outcome::refused;
		report.error = std::move(rejection);
		return finish(std::move(report), observer);
	}
	if (auto rejection = check_group_members(host, plan)) {
		report.outcome = Outcome::refused;
		report.error = std::move(rejection);
		return finish(std::move(report), observer);
	}

	const std::vector<JournalUnit> units = units_from_plan(plan);
	report.transaction = new_transaction_id();

	Journal journal(*dir);
	BOOST_OUTCOME_TRY(journal.begin(report.transaction, plan.operation, plan.owner, plan.driver,
					units));

	Executor executor(host, plan.options.deadlines, dir->process().workers,
			  dir->process().abandoned, journal, observer, report);
	if (plan.options.allow_module_load && !plan.driver.empty())
		executor.allow_module_reload(plan.driver,
					     module_for_driver(plan.driver, plan.options.module));

	std::map<std::string, std::string> final_driver;
	for (const auto &member : plan.members)
		final_driver[member.address.to_string()] = member.after.driver;

	std::optional<Error> failure;
	for (const auto &planned : plan.steps) {
		auto ran = executor.run(planned.step, false, final_driver[planned.step.device]);
		if (!ran) {
			failure = ran.error();
			break;
		}
	}

	if (failure) {
		const auto stranded = executor.roll_back(touched_units(report, units), units);
		if (!stranded.empty())
			report.outcome = Outcome::rollback_failed;
		else if (!executor.in_doubt().empty())
			report.outcome = Outcome::in_doubt;
		else
			report.outcome = Outcome::rolled_back;

		std::set<std::string> doubt = executor.in_doubt();
		(void)journal.end(report.outcome, doubt); /* unfinished either way when it fails */
		report.error = compose_error(host, *failure, stranded, doubt, units);
		fill_devices(report, units, doubt);
		return finish(std::move(report), observer);
	}

	std::vector<Ownership> added = plan.claims_added;
	for (auto &claim : added)
		claim.transaction = report.transaction;

	BOOST_OUTCOME_TRY(journal.commit(added, plan.claims_removed));

	auto saved = save_claims(apply_claims(claims, added, plan.claims_removed));
	if (!saved) {
		Error error = saved.error();
		error.message += "; every device is in its requested state, and 'pcipassctl recover' "
				 "records the ownership once the state directory is writable";
		report.outcome = Outcome::in_doubt;
		report.error = error;
		fill_devices(report, units, {});
		return finish(std::move(report), observer);
	}

	BOOST_OUTCOME_TRY(journal.end(Outcome::committed, {}));
	report.outcome = Outcome::committed;
	fill_devices(report, units, {});
	return finish(std::move(report), observer);
}

result<Report> Engine::Impl::recover_locked(const Deadlines &deadlines, Observer *observer)
{
	Journal journal(*dir);
	BOOST_OUTCOME_TRY(auto state, journal.load());

	Report report;
	report.operation = Operation::recover;
	report.transaction = state.transaction;
	report.driver = state.driver;
	report.owner = state.owner;

	if (state.clean()) {
		report.outcome = Outcome::no_change;
		return finish(std::move(report), observer);
	}

	BOOST_OUTCOME_TRY(journal.resume(state.transaction));

	if (state.committed) {
		BOOST_OUTCOME_TRY(auto claims, load_claims());
		BOOST_OUTCOME_TRY(save_claims(apply_claims(claims, state.claims_added,
							   state.claims_removed)));
		BOOST_OUTCOME_TRY(journal.end(Outcome::committed, {}));
		report.outcome = Outcome::committed;
		fill_devices(report, state.units, {});
		return finish(std::move(report), observer);
	}

	Executor executor(host, deadlines, dir->process().workers, dir->process().abandoned, journal,
			  observer, report);
	executor.set_next_seq(state.last_seq);

	/*
	 * A device whose write never returned gets nothing while that write
	 * may still be running. In this process, that is while the worker has
	 * not finished. In another, it is while that process exists, because a
	 * process cannot exit while one of its threads is inside a sysfs write.
	 * NOTE: a reused pid looks alive, which keeps the device in doubt until
	 * the unrelated process exits.
	 */
	const bool other_alive = state.pid != ::getpid() && process_alive(state.pid);
	for (const auto &device : state.in_doubt)
		if (dir->process().abandoned.pending(device) || other_alive)
			executor.mark_in_doubt(device);

	const auto stranded = executor.roll_back(state.touched, state.units);
	std::set<std::string> doubt = executor.in_doubt();

	if (!stranded.empty()) {
		report.outcome = Outcome::rollback_failed;
		(void)journal.end(report.outcome, doubt);
		Error error = make_error(errc::rollback_failed,
					 "recovery of transaction " + state.transaction +
						 " failed: " + stranded_text(host, stranded, state.units) +
						 "; fix the cause and run 'pcipassctl recover' again",
					 stranded.front().device, stranded.front().error.path);
		error.sys_errno = stranded.front().error.sys_errno;
		error.step = stranded.front().error.step;
		report.error = error;
	} else if (!doubt.empty()) {
		report.outcome = Outcome::in_doubt;
		(void)journal.end(report.outcome, doubt);
		std::string devices;
		for (const auto &device : doubt)
			devices += (devices.empty() ? "" : ", ") + device;
		report.error = make_error(errc::in_doubt,
					  devices + " may still be inside a write that never returned (pid " +
						  std::to_string(state.pid) +
						  "); every other device is back in its recorded state; run "
						  "'pcipassctl recover' again once that write returns",
					  *doubt.begin());
	} else {
		BOOST_OUTCOME_TRY(journal.end(Outcome::recovered, {}));
		report.outcome = Outcome::recovered;
	}

	std::vector<JournalUnit> touched;
	for (const auto &device : state.touched)
		if (const JournalUnit *unit = state.unit(device))
			touched.push_back(*unit);
	fill_devices(report, touched, doubt);
	return finish(std::move(report), observer);
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Engine::~Engine() = default;

result<std::unique_ptr<Engine>> Engine::open(Host &host, EngineOptions options)
{
	/* A journal left in the default by a crashed test would be replayed on the real host by recover. */
	if (dynamic_cast<const sim::Host *>(&host) != nullptr &&
	    (options.state_dir.empty() || same_directory(options.state_dir, default_state_dir())))
		return make_error(errc::invalid_argument,
				  "an engine on a simulated kernel needs its own state directory: the "
				  "default " + default_state_dir() +
					  " belongs to the real host, where 'pcipassctl recover' would act on "
					  "the simulated journal; pass a temporary directory");
	if (options.state_dir.empty())
		options.state_dir = default_state_dir();

	auto impl = std::make_unique<Impl>(host, options);
	BOOST_OUTCOME_TRY(auto dir, StateDir::open(options.state_dir));
	impl->dir = std::move(dir);

	return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

const std::string &Engine::state_dir() const
{
	return impl_->dir->path();
}

result<Plan> Engine::plan(Operation operation, const Request &request)
{
	BOOST_OUTCOME_TRY(auto claims, impl_->load_claims());

	BOOST_OUTCOME_TRY(auto graph, DeviceGraph::scan(impl_->host, impl_->options.scan));

	switch (operation) {
	case Operation::bind:
		return plan_bind(graph, request, claims);
	case Operation::release:
		return plan_release(graph, request, claims);
	case Operation::reconcile:
	case Operation::recover:
		break;
	}
	return make_error(errc::invalid_argument,
			  "only bind and release requests can be planned; reconcile takes a desired "
			  "set and recover takes nothing");
}

result<Report> Engine::bind(const Request &request, Observer *observer)
{
	return impl_->transact(request.options, observer, false, first_device(request),
			       [&](const DeviceGraph &graph, std::span<const Ownership> claims) {
				       return plan_bind(graph, request, claims);
			       });
}

result<Report> Engine::release(const Request &request, Observer *observer)
{
	return impl_->transact(request.options, observer, false, first_device(request),
			       [&](const DeviceGraph &graph, std::span<const Ownership> claims) {
				       return plan_release(graph, request, claims);
			       });
}

result<Report> Engine::reconcile(std::span<const Desired> desired, const RequestOptions &options,
				 Observer *observer)
{
	return impl_->transact(options, observer, true,
			       desired.empty() ? std::string() : desired.front().device.to_string(),
			       [&](const DeviceGraph &graph, std::span<const Ownership> claims) {
				       return plan_reconcile(graph, desired, options, claims);
			       });
}

result<Report> Engine::recover(const Deadlines &deadlines, Observer *observer)
{
	BOOST_OUTCOME_TRY(auto lock, HostLock::acquire(*impl_->dir, deadlines.lock));
	return impl_->recover_locked(deadlines, observer);
}

result<std::vector<Ownership>> Engine::ownerships()
{
	return impl_->load_claims();
}

size_t Engine::abandoned_writes() const
{
	return impl_->dir->process().abandoned.count();
}

bool Engine::wait_for_abandoned_writes(std::chrono::milliseconds timeout) const
{
	return impl_->dir->process().abandoned.wait(timeout);
}

} /* namespace pcipass */
