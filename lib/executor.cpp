/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Step execution: journal, bounded write, verification by reading back.
 */

#include <cerrno>
#include <charconv>
#include <cstring>
#include <thread>

#include "executor.hpp"
#include "log.hpp"
#include "plan_internal.hpp"
#include "sysfs_parse.hpp"
#include "sysfs_paths.hpp"

namespace pcipass::detail {

namespace {

std::string trim(std::string_view text)
{
	while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\0'))
		text.remove_suffix(1);
	return std::string(text);
}

std::string link_name(std::string_view link)
{
	const size_t slash = link.rfind('/');
	return std::string(slash == std::string_view::npos ? link : link.substr(slash + 1));
}

bool is_absent(const Error &error)
{
	return error.sys_errno == ENOENT || (error.sys_errno == 0 && error.code == errc::not_found);
}

std::string errno_text(int sys_errno)
{
	if (sys_errno == 0)
		return {};
	const char *name = strerrorname_np(sys_errno);
	return std::string(name ? name : "errno " + std::to_string(sys_errno)) + " (" +
	       std::strerror(sys_errno) + ")";
}

/* "on X" for a driver, "on no driver" for none. */
std::string on_driver(const std::string &driver)
{
	return driver.empty() ? "on no driver" : "on " + name_in_message(driver);
}

/* Fills in what the host cannot know about the failed step. */
Error step_error(Error error, const Step &step)
{
	if (error.device.empty())
		error.device = step.device;
	if (error.path.empty())
		error.path = step.path;
	error.step = step.describe();
	return error;
}

/*
 * A path the host layer refuses never reached the kernel: one escaping the
 * root, or a malformed one (invalid_argument without an errno, unlike the
 * kernel's EINVAL).
 */
bool refused_by_host(const result<void> &written)
{
	if (written)
		return false;
	const Error &error = written.error();
	return error.code == errc::escapes_root ||
	       (error.code == errc::invalid_argument && error.sys_errno == 0);
}

/* Names the write without claiming it happened: a write refused before write(2) changed nothing. */
std::string after_writing(const result<void> &written, const std::string &object)
{
	return (written ? " after writing " : " after trying to write ") + object;
}

Error mismatch(errc code, const Step &step, const result<void> &written, std::string message)
{
	Error error = make_error(code, std::move(message), step.device, step.path);
	if (!written) {
		error.sys_errno = written.error().sys_errno;
		if (refused_by_host(written))
			error.message += "; the write was refused: " + written.error().message;
		else if (error.sys_errno != 0)
			error.message += "; the write returned " + errno_text(error.sys_errno);
	}
	return step_error(std::move(error), step);
}

} /* namespace */

result<std::string> read_driver(Host &host, const std::string &bdf)
{
	auto link = host.read_link(pci_device_path(bdf, "driver"));
	if (link)
		return link_name(link.value());
	if (!is_absent(link.error()))
		return link.error();

	if (!host.exists(pci_device_path(bdf)))
		return make_error(errc::not_found,
				  bdf + " is no longer present on the PCI bus; rescan the bus "
					"(write 1 to sys/bus/pci/rescan) and check it",
				  bdf, pci_device_path(bdf));
	return std::string();
}

result<DeviceState> read_device_state(Host &host, const std::string &bdf)
{
	BOOST_OUTCOME_TRY(auto driver, read_driver(host, bdf));

	BOOST_OUTCOME_TRY(auto text, host.read(pci_device_path(bdf, "driver_override")));

	std::string override = trim(text);
	if (override == "(null)")
		override.clear();
	return DeviceState{std::move(driver), std::move(override)};
}

result<std::optional<unsigned>> read_num_vfs(Host &host, const std::string &bdf)
{
	const std::string path = pci_device_path(bdf, "sriov_numvfs");
	auto text = host.read(path);
	if (!text) {
		if (is_absent(text.error()))
			return std::optional<unsigned>();
		return text.error();
	}

	const std::string value = trim(text.value());
	unsigned count = 0;
	const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), count);
	if (ec != std::errc() || end != value.data() + value.size())
		return make_error(errc::malformed_attribute,
				  "sriov_numvfs of " + bdf + " reads " + quote_content(value) + ", not a number", bdf,
				  path);
	return std::optional<unsigned>(count);
}

result<std::string> read_platform_driver(Host &host, const std::string &device)
{
	auto link = host.read_link(platform_device_path(device, "driver"));
	if (link)
		return link_name(link.value());
	if (is_absent(link.error()))
		return std::string();
	return link.error();
}

std::string describe_state(const DeviceState &state)
{
	std::string text = on_driver(state.driver);
	if (!state.override.empty())
		text += " with driver_override " + name_in_message(state.override);
	return text;
}

Executor::Executor(Host &host, const Deadlines &deadlines, CallWorkers &workers,
		   AbandonedCalls &abandoned, Journal &journal, Observer *observer, Report &report)
	: host_(host), deadlines_(deadlines), workers_(workers), abandoned_(abandoned),
	  journal_(journal), observer_(observer), report_(report)
{
}

void Executor::allow_module_reload(std::string driver, std::string module)
{
	reload_driver_ = std::move(driver);
	reload_module_ = std::move(module);
}

result<void> Executor::write(const Step &step, const std::string &path, const std::string &value)
{
	report_.writes++;
	PCIPASS_LOG(txn, debug, "writing " + quote_content(trim(value)) + " to " + quote_path(path));

	Host &host = host_;
	auto written = call_with_deadline([&host, path, value]() { return host.write(path, value); },
					  deadlines_.write, step.device, workers_, abandoned_);
	if (written) {
		PCIPASS_LOG(txn, debug, "wrote " + quote_path(path));
		return success();
	}

	Error error = written.error();
	PCIPASS_LOG(txn, debug, "writing " + quote_path(path) + " failed: " + error.describe());
	if (error.code == errc::timed_out && error.sys_errno == 0) {
		error.path = path;
		error.message = "writing " + quote_content(trim(value)) + " to " + quote_path(path) +
				" for " + step.device +
				" did not return within " + std::to_string(deadlines_.write.count()) +
				" ms; " + step.device +
				" is in doubt and gets no more writes until 'pcipassctl recover' runs "
				"after the write returns";
	}
	return step_error(std::move(error), step);
}

result<void> Executor::load_module(const Step &step, const std::string &module)
{
	report_.writes++;
	PCIPASS_LOG(txn, debug, "loading module " + module);

	Host &host = host_;
	auto loaded = call_with_deadline([&host, module]() { return host.load_module(module); },
					 deadlines_.write, step.device, workers_, abandoned_);
	if (loaded)
		return success();

	Error error = loaded.error();
	if (error.code == errc::timed_out && error.sys_errno == 0)
		error.message = "loading module " + module + " did not return within " +
				std::to_string(deadlines_.write.count()) + " ms";
	else
		error.message = "cannot load module " + module + ": " + error.message;
	return step_error(std::move(error), step);
}

result<bool> Executor::perform_override(const Step &step)
{
	const std::string expected = step.value == "\n" ? std::string() : trim(step.value);

	BOOST_OUTCOME_TRY(auto before, read_device_state(host_, step.device));
	if (before.override == expected)
		return true;

	auto written = write(step, step.path, step.value);
	if (!written && written.error().code == errc::timed_out)
		return written.error();

	BOOST_OUTCOME_TRY(auto after, read_device_state(host_, step.device));
	if (after.override == expected)
		return false;

	/* An empty override is written as a newline, which clears it. */
	const std::string expected_text = quote_content(expected.empty() ? std::string("\n") : expected);
	return mismatch(written ? errc::io_error : written.error().code, step, written,
			"driver_override of " + step.device + " reads " +
				quote_content(after.override.empty() ? std::string("(null)") : after.override) +
				after_writing(written, expected_text));
}

result<bool> Executor::perform_unbind(const Step &step, const std::string &final_driver)
{
	BOOST_OUTCOME_TRY(auto current, read_driver(host_, step.device));
	if (current.empty() || (!final_driver.empty() && current == final_driver))
		return true;
	if (current != step.driver)
		return step_error(make_error(errc::busy,
					     step.device + " is on " + name_in_message(current) + ", not on " +
						     name_in_message(step.driver) +
						     " as planned: another program changed it",
					     step.device, pci_device_path(step.device, "driver")),
				  step);

	auto written = write(step, step.path, step.device);
	if (!written && written.error().code == errc::timed_out)
		return written.error();

	/* The driver link decides, not the write's result. */
	BOOST_OUTCOME_TRY(auto after, read_driver(host_, step.device));
	if (after.empty() || (!final_driver.empty() && after == final_driver))
		return false;

	std::string message = step.device + " is still on " + name_in_message(after) +
			      after_writing(written, "to " + quote_path(step.path));
	if (written && after == step.driver)
		message = step.device + " went back to " + name_in_message(after) +
			  " right after the unbind (the host driver re-attached)";
	return mismatch(written ? errc::busy : written.error().code, step, written,
			std::move(message));
}

result<bool> Executor::perform_bind(const Step &step)
{
	BOOST_OUTCOME_TRY(auto current, read_driver(host_, step.device));
	if (current == step.driver)
		return true;

	/* Checked right before the write, because other software unloads modules at any time. */
	const std::string driver_dir = pci_driver_path(step.driver);
	if (!host_.exists(driver_dir) && step.driver == reload_driver_ && !reload_module_.empty()) {
		BOOST_OUTCOME_TRY(load_module(step, reload_module_));
	}
	if (!host_.exists(driver_dir))
		return step_error(make_error(errc::driver_missing,
					     "driver " + name_in_message(step.driver) + " is not loaded (" +
						     quote_path(driver_dir) +
						     " is missing, perhaps because other software "
						     "unloaded its module), so " + step.device +
						     " cannot be bound to it; load it with modprobe " +
						     name_in_message(module_for_driver(step.driver)) + " and try again",
					     step.device, driver_dir),
				  step);

	auto written = write(step, step.path, step.device);
	if (!written && written.error().code == errc::timed_out)
		return written.error();

	/*
	 * EBUSY, EEXIST or success alone decide nothing: a racing probe may
	 * have attached the driver, and an asynchronous probe shows the link
	 * only later. After a failed write there is nothing to wait for.
	 */
	const auto deadline = std::chrono::steady_clock::now() +
			      (written ? deadlines_.bind : std::chrono::milliseconds(0));
	std::string after;
	for (;;) {
		BOOST_OUTCOME_TRY(auto driver, read_driver(host_, step.device));
		after = std::move(driver);
		if (after == step.driver)
			return false;
		if (std::chrono::steady_clock::now() >= deadline)
			break;
		std::this_thread::sleep_for(deadlines_.poll_interval);
	}

	std::string message = "binding " + step.device + " to " + name_in_message(step.driver) +
			      " failed: it is " +
			      on_driver(after);
	if (written)
		message += " " + std::to_string(deadlines_.bind.count()) +
			   " ms after a successful write to " + quote_path(step.path);
	else if (!after.empty())
		message += ", which holds it";
	return mismatch(refused_by_host(written) ? written.error().code : errc::bind_failed, step, written,
			std::move(message));
}

result<bool> Executor::perform_probe(const Step &step)
{
	auto written = write(step, step.path, step.device);
	if (!written)
		return written.error();

	/* NOTE: a driver that probes asynchronously may attach after this read; the report then lags. */
	BOOST_OUTCOME_TRY(read_driver(host_, step.device));
	return false;
}

result<bool> Executor::perform_num_vfs(const Step &step)
{
	BOOST_OUTCOME_TRY(auto current, read_num_vfs(host_, step.device));
	if (current && std::to_string(*current) == step.value)
		return true;

	auto written = write(step, step.path, step.value);
	if (!written && written.error().code == errc::timed_out)
		return written.error();

	BOOST_OUTCOME_TRY(auto after, read_num_vfs(host_, step.device));
	if (after && std::to_string(*after) == step.value)
		return false;

	return mismatch(written ? errc::io_error : written.error().code, step, written,
			"sriov_numvfs of " + step.device + " reads " +
				(after ? std::to_string(*after) : std::string("nothing")) +
				after_writing(written, step.value));
}

result<bool> Executor::perform_framebuffer(const Step &step)
{
	const bool bind = step.kind == StepKind::bind_framebuffer;

	BOOST_OUTCOME_TRY(auto current, read_platform_driver(host_, step.device));
	if (current.empty() != bind)
		return true;

	auto written = write(step, step.path, step.device);
	if (!written && written.error().code == errc::timed_out)
		return written.error();

	BOOST_OUTCOME_TRY(auto after, read_platform_driver(host_, step.device));
	if (after.empty() != bind)
		return false;

	return mismatch(written ? errc::io_error : written.error().code, step, written,
			"framebuffer " + step.device + " is " + on_driver(after) +
				after_writing(written, "to " + quote_path(step.path)));
}

result<bool> Executor::perform_load_module(const Step &step)
{
	if (host_.exists(step.path))
		return true;

	BOOST_OUTCOME_TRY(load_module(step, step.driver));

	if (host_.exists(step.path))
		return false;
	return step_error(make_error(errc::driver_missing,
				     "module " + name_in_message(step.driver) + " loaded but " + quote_path(step.path) +
					     " did not appear; set the module name explicitly "
					     "(RequestOptions::module, --module)",
				     {}, step.path),
			  step);
}

result<bool> Executor::perform(const Step &step, const std::string &final_driver)
{
	switch (step.kind) {
	case StepKind::load_module:
		return perform_load_module(step);
	case StepKind::unbind_framebuffer:
	case StepKind::bind_framebuffer:
		return perform_framebuffer(step);
	case StepKind::set_num_vfs:
		return perform_num_vfs(step);
	case StepKind::set_override:
		return perform_override(step);
	case StepKind::unbind:
		return perform_unbind(step, final_driver);
	case StepKind::bind:
		return perform_bind(step);
	case StepKind::probe:
		return perform_probe(step);
	}
	return make_error(errc::internal, "unknown step kind", step.device);
}

result<void> Executor::run(const Step &step, bool undo, const std::string &final_driver)
{
	StepRecord record;
	record.seq = ++seq_;
	record.step = step;
	record.undo = undo;

	auto journaled = journal_.intent(record.seq, step, undo);
	if (!journaled) {
		record.status = StepStatus::failed;
		record.error = step_error(journaled.error(), step);
		report_.steps.push_back(record);
		return *record.error;
	}
	if (observer_)
		observer_->on_step(record);

	auto performed = perform(step, final_driver);
	if (performed) {
		record.status = performed.value() ? StepStatus::skipped : StepStatus::done;
		auto done = journal_.done(record.seq, performed.value());
		if (!done) {
			record.status = StepStatus::failed;
			record.error = step_error(done.error(), step);
		}
	} else {
		record.error = performed.error();
		if (record.error->code == errc::timed_out && !step.device.empty()) {
			record.status = StepStatus::in_doubt;
			in_doubt_.insert(step.device);
			/* If this line is lost, recovery still finds the intent and treats the device the same way. */
			(void)journal_.in_doubt(record.seq, step.device);
		} else {
			record.status = StepStatus::failed;
			(void)journal_.failed(record.seq, *record.error);
		}
	}

	report_.steps.push_back(record);
	if (observer_)
		observer_->on_step(record);

	if (record.error)
		return *record.error;
	return success();
}

result<void> Executor::restore(const JournalUnit &unit)
{
	if (unit.framebuffer) {
		BOOST_OUTCOME_TRY(auto current, read_platform_driver(host_, unit.device));
		const bool bound = !unit.state.driver.empty();
		if (current.empty() != bound)
			return success();

		const std::string file = bound ? "bind" : "unbind";
		Step step{bound ? StepKind::bind_framebuffer : StepKind::unbind_framebuffer, unit.device,
			  platform_driver_path(unit.platform_driver, file), unit.device,
			  unit.platform_driver};
		return run(step, true, {});
	}

	BOOST_OUTCOME_TRY(auto current, read_device_state(host_, unit.device));

	std::optional<unsigned> num_vfs;
	if (unit.num_vfs) {
		BOOST_OUTCOME_TRY(auto count, read_num_vfs(host_, unit.device));
		num_vfs = count;
	}

	/* VFs go before their PF changes driver (vfio-pci rejects a PF with VFs) and come back after. */
	if (unit.num_vfs && num_vfs && *unit.num_vfs < *num_vfs) {
		BOOST_OUTCOME_TRY(run(make_num_vfs_step(unit.device, *unit.num_vfs), true,
				      unit.state.driver));
	}

	for (const auto &planned : transition_steps(unit.device, current, unit.state, false)) {
		BOOST_OUTCOME_TRY(run(planned.step, true, unit.state.driver));
	}

	if (unit.num_vfs && num_vfs && *unit.num_vfs > *num_vfs) {
		BOOST_OUTCOME_TRY(run(make_num_vfs_step(unit.device, *unit.num_vfs), true,
				      unit.state.driver));
	}

	return success();
}

std::vector<Stranded> Executor::roll_back(const std::vector<std::string> &touched,
					  const std::vector<JournalUnit> &units)
{
	std::vector<Stranded> stranded;

	for (auto it = touched.rbegin(); it != touched.rend(); ++it) {
		if (in_doubt_.count(*it)) {
			PCIPASS_LOG(txn, debug, *it + " is in doubt, skipping");
			continue;
		}

		const JournalUnit *unit = nullptr;
		for (const auto &candidate : units)
			if (candidate.device == *it)
				unit = &candidate;
		if (!unit)
			continue;

		PCIPASS_LOG(txn, debug, "returning " + *it + " to its recorded state");
		auto restored = restore(*unit);
		if (!restored) {
			PCIPASS_LOG(txn, debug, "returning " + *it + " failed: " + restored.error().describe());
			stranded.push_back({*it, restored.error()});
		}
	}
	return stranded;
}

} /* namespace pcipass::detail */
