/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * pcipassctl plan, bind, release, recover and reconcile.
 */

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <unistd.h>

#include <boost/json.hpp>

#include <pcipass/plan.hpp>
#include <pcipass/transaction.hpp>

#include "commands.hpp"
#include "escaped_output.hpp"
#include "plan_json.hpp"

namespace json = boost::json;

namespace pcipassctl {

namespace {

/* Options every transaction command shares. */
struct TransactionOptions {
	std::string operation; /* plan only: bind or release */
	std::vector<std::string> addresses;
	std::string driver = "vfio-pci";
	std::string owner = "pcipassctl";
	std::string module;
	std::string reset_method;
	std::string file; /* reconcile only */
	bool yes = false;
	bool allow_module_load = false;
	bool release_framebuffer = false;
	bool recreate_vfs = false;
	unsigned write_timeout_ms = 10000;
	unsigned bind_timeout_ms = 10000;
	unsigned lock_timeout_ms = 30000;
};

/* Prints steps as they happen, in human form. */
class PrintingObserver final : public pcipass::Observer
{
public:
	void on_step(const pcipass::StepRecord &record) override
	{
		if (record.status == pcipass::StepStatus::started)
			return;

		std::cout << (record.undo ? "  undo " : "  step ") << record.seq << ": "
			  << escape_message(record.step.describe()) << " ... " << pcipass::step_status_name(record.status);
		if (record.error)
			std::cout << " (" << escape_message(record.error->message) << ")";
		std::cout << "\n" << std::flush;
	}
};

std::string state_text(const pcipass::DeviceState &state)
{
	std::string text = state.driver.empty() ? "(no driver)" : escape_text(state.driver);
	if (!state.override.empty() && state.override != state.driver)
		text += " [override " + escape_text(state.override) + "]";
	return text;
}

void print_findings(const std::vector<pcipass::PreflightFinding> &findings)
{
	for (const auto &finding : findings)
		std::cout << (finding.blocking ? "  rejected: " : "  warning: ")
			  << pcipass::errc_name(finding.code) << ": " << escape_message(finding.message) << "\n";
}

/* The plan in human form; with_steps lists each write and its undo. */
void print_plan(const pcipass::Plan &plan, bool with_steps)
{
	std::cout << pcipass::operation_name(plan.operation) << " plan";
	if (!plan.driver.empty() && plan.operation == pcipass::Operation::bind)
		std::cout << " to " << escape_text(plan.driver);
	if (!plan.owner.empty())
		std::cout << " for owner '" << escape_text(plan.owner) << "'";
	if (!plan.groups.empty()) {
		std::cout << ", IOMMU group";
		for (unsigned group : plan.groups)
			std::cout << " " << group;
	}
	std::cout << "\n";

	for (const auto &member : plan.members) {
		std::cout << "  " << member.address.to_string() << "  " << member.identity.to_string()
			  << "  " << state_text(member.before);
		if (member.action == pcipass::MemberAction::move)
			std::cout << " -> " << state_text(member.after);
		std::cout << "  (" << pcipass::member_action_name(member.action)
			  << (member.requested ? ", requested" : "") << ")\n";
	}

	print_findings(plan.findings);

	if (plan.blocked()) {
		std::cout << "  rejected: nothing will be written\n";
		return;
	}
	if (plan.steps.empty()) {
		std::cout << "  nothing to write: the host already holds this state\n";
		return;
	}
	if (!with_steps) {
		std::cout << "  " << plan.steps.size() << " writes planned\n";
		return;
	}
	for (size_t i = 0; i < plan.steps.size(); i++) {
		std::cout << "  " << i + 1 << ". " << escape_message(plan.steps[i].step.describe());
		if (plan.steps[i].inverse)
			std::cout << "  (undo: " << escape_message(plan.steps[i].inverse->describe()) << ")";
		std::cout << "\n";
	}
}

void print_report(const pcipass::Report &report)
{
	std::cout << pcipass::operation_name(report.operation) << ": "
		  << pcipass::outcome_name(report.outcome);
	if (!report.transaction.empty())
		std::cout << " (transaction " << escape_text(report.transaction) << ")";
	std::cout << ", " << report.writes << (report.writes == 1 ? " write" : " writes") << "\n";

	for (const auto &device : report.devices)
		std::cout << "  " << escape_text(device.device) << "  " << state_text(device.before) << " -> "
			  << state_text(device.after) << (device.in_doubt ? "  (in doubt)" : "") << "\n";

	if (report.outcome == pcipass::Outcome::committed &&
	    report.operation == pcipass::Operation::bind)
		for (unsigned group : report.groups)
			std::cout << "  VFIO group node: /dev/vfio/" << group << "\n";
}

pcipass::result<pcipass::Request> make_request(const TransactionOptions &options)
{
	pcipass::Request request;
	request.driver = options.driver;
	request.owner = options.owner;
	request.options.allow_module_load = options.allow_module_load;
	request.options.release_framebuffer = options.release_framebuffer;
	request.options.recreate_vfs = options.recreate_vfs;
	request.options.reset_method = options.reset_method;
	request.options.module = options.module;
	request.options.deadlines.write = std::chrono::milliseconds(options.write_timeout_ms);
	request.options.deadlines.bind = std::chrono::milliseconds(options.bind_timeout_ms);
	request.options.deadlines.lock = std::chrono::milliseconds(options.lock_timeout_ms);

	/* ADDR or ADDR=VENDOR:DEVICE, the identity the caller expects at that address. */
	for (const auto &text : options.addresses) {
		const size_t equals = text.find('=');
		BOOST_OUTCOME_TRY(auto address, pcipass::PciAddress::parse(text.substr(0, equals)));
		pcipass::RequestedDevice device{address, std::nullopt};
		if (equals != std::string::npos) {
			BOOST_OUTCOME_TRY(auto identity,
					  pcipass::DeviceIdentity::parse(text.substr(equals + 1)));
			device.expected = identity;
		}
		request.devices.push_back(device);
	}
	return request;
}

/*
 * A plan blocked by a requested address that names no device is a usage
 * error. With an expected identity (ADDR=VENDOR:DEVICE) preflight reports
 * such an address as identity_mismatch, and the plan has no member there.
 */
int blocked_status(const pcipass::Plan &plan)
{
	for (const auto &finding : plan.findings) {
		if (!finding.blocking || finding.device.empty())
			continue;
		if (finding.code == pcipass::errc::not_found)
			return exit_usage;

		const bool present = std::any_of(plan.members.begin(), plan.members.end(),
						  [&finding](const pcipass::Member &member) {
							  return member.address.to_string() == finding.device;
						  });
		if (finding.code == pcipass::errc::identity_mismatch && !present)
			return exit_usage;
	}
	return exit_failed;
}

/* --state-dir, else FILE.state next to a --sim file, else ROOT/run/pcipass or the default. */
std::string state_dir_for(const Context &context)
{
	const GlobalOptions &options = context.options();
	if (!options.state_dir.empty())
		return options.state_dir;
	if (context.simulated())
		return options.sim_file + ".state";
	if (options.root != "/" && !options.root.empty())
		return (std::filesystem::path(options.root) / "run" / "pcipass").string();
	return pcipass::default_state_dir();
}

/*
 * Opens the engine for a command. SIGPIPE is ignored from here on: a
 * reader that closes stdout (pcipassctl bind ... | head) must not kill the
 * process between two writes of a transaction; output then fails quietly.
 */
pcipass::result<std::unique_ptr<pcipass::Engine>> open_engine(Context &context,
								const TransactionOptions &options)
{
	std::signal(SIGPIPE, SIG_IGN);

	/* --lock-timeout bounds the wait for the lock of a --sim FILE too. */
	context.lock_for_changes(std::chrono::milliseconds(options.lock_timeout_ms));

	BOOST_OUTCOME_TRY(auto host, context.host());

	pcipass::EngineOptions engine_options;
	engine_options.state_dir = state_dir_for(context);
	return pcipass::Engine::open(*host, engine_options);
}

int not_confirmed()
{
	std::cerr << "pcipassctl: not confirmed; nothing was changed (pass --yes to skip the "
		     "question)\n";
	return exit_failed;
}

/* Asks on stdin unless --yes or the simulated kernel. End of input counts as no. */
bool confirmed(const Context &context, const TransactionOptions &options, const std::string &what)
{
	if (options.yes || context.simulated())
		return true;

	std::cout << escape_text(what) << " on " << escape_text(context.options().root) << "? [y/N] " << std::flush;
	std::string answer;
	if (!std::getline(std::cin, answer))
		return false;
	return answer == "y" || answer == "Y" || answer == "yes";
}

int finish(Context &context, const pcipass::result<pcipass::Report> &outcome,
	   const std::optional<pcipass::Report> &final_report)
{
	if (context.simulated())
		context.mark_changed();

	if (context.json() && final_report)
		std::cout << pcipass::to_json(*final_report) << "\n";
	else if (final_report)
		print_report(*final_report);

	if (!outcome)
		return report(outcome.error());
	return exit_ok;
}

/* Captures the final report, which the Engine also gives on failure. */
class ReportingObserver final : public pcipass::Observer
{
public:
	explicit ReportingObserver(bool print_steps) : print_steps_(print_steps) {}

	void on_plan(const pcipass::Plan &plan) override
	{
		if (print_steps_ && plan.blocked())
			print_findings(plan.findings);
	}
	void on_step(const pcipass::StepRecord &record) override
	{
		if (print_steps_)
			printer_.on_step(record);
	}
	void on_finish(const pcipass::Report &report) override { report_ = report; }

	const std::optional<pcipass::Report> &report() const { return report_; }

private:
	bool print_steps_;
	PrintingObserver printer_;
	std::optional<pcipass::Report> report_;
};

int run_plan(Context &context, const TransactionOptions &options)
{
	auto request = make_request(options);
	if (!request)
		return report(request.error(), exit_usage);

	auto engine = open_engine(context, options);
	if (!engine)
		return report(engine.error());

	const auto operation = options.operation == "release" ? pcipass::Operation::release
							      : pcipass::Operation::bind;
	auto plan = engine.value()->plan(operation, request.value());
	if (!plan)
		return report(plan.error());

	if (context.json())
		std::cout << pcipass::to_json(plan.value()) << "\n";
	else
		print_plan(plan.value(), true);
	return plan.value().blocked() ? blocked_status(plan.value()) : exit_ok;
}

int run_move(Context &context, const TransactionOptions &options, pcipass::Operation operation)
{
	auto request = make_request(options);
	if (!request)
		return report(request.error(), exit_usage);

	auto engine = open_engine(context, options);
	if (!engine)
		return report(engine.error());

	/* Show what will happen, and stop here when preflight already rejects it. */
	auto plan = engine.value()->plan(operation, request.value());
	if (!plan)
		return report(plan.error());
	if (!context.json())
		print_plan(plan.value(), false);
	if (plan.value().blocked()) {
		if (context.json())
			std::cout << pcipass::to_json(plan.value()) << "\n";
		return report(plan.value().check().error(), blocked_status(plan.value()));
	}

	if (!confirmed(context, options, std::string(pcipass::operation_name(operation)) + " " +
						 std::to_string(request.value().devices.size()) +
						 " device(s) with their IOMMU groups"))
		return not_confirmed();

	ReportingObserver observer(!context.json());
	auto outcome = operation == pcipass::Operation::bind
			       ? engine.value()->bind(request.value(), &observer)
			       : engine.value()->release(request.value(), &observer);
	return finish(context, outcome, observer.report());
}

int run_recover(Context &context, const TransactionOptions &options)
{
	auto engine = open_engine(context, options);
	if (!engine)
		return report(engine.error());

	if (!confirmed(context, options, "recover the journal in " + engine.value()->state_dir()))
		return not_confirmed();

	pcipass::Deadlines deadlines;
	deadlines.write = std::chrono::milliseconds(options.write_timeout_ms);
	deadlines.bind = std::chrono::milliseconds(options.bind_timeout_ms);
	deadlines.lock = std::chrono::milliseconds(options.lock_timeout_ms);

	ReportingObserver observer(!context.json());
	auto outcome = engine.value()->recover(deadlines, &observer);
	return finish(context, outcome, observer.report());
}

/*
 * A desired-state file: a JSON array of {"device", "driver", "owner"}, or
 * an object with such an array under "desired". An empty or null driver
 * requests the device's state before its claim.
 */
pcipass::result<std::vector<pcipass::Desired>> load_desired(const std::string &file,
							    const TransactionOptions &options)
{
	std::ifstream stream(file);
	if (!stream)
		return pcipass::make_error(pcipass::errc::not_found,
					   "cannot open the desired-state file '" + file + "'", {}, file);
	std::stringstream content;
	content << stream.rdbuf();

	boost::system::error_code ec;
	json::value document = json::parse(content.str(), ec);
	if (ec)
		return pcipass::make_error(pcipass::errc::invalid_argument,
					   "the desired-state file '" + file +
						   "' is not valid JSON: " + ec.message(),
					   {}, file);

	const json::array *entries = document.if_array();
	if (!entries && document.is_object())
		if (const json::value *desired = document.as_object().if_contains("desired"))
			entries = desired->if_array();
	if (!entries)
		return pcipass::make_error(pcipass::errc::invalid_argument,
					   "the desired-state file '" + file +
						   "' must hold an array of {device, driver, owner} "
						   "(or an object with it under \"desired\")",
					   {}, file);

	std::vector<pcipass::Desired> desired;
	for (size_t index = 0; index < entries->size(); index++) {
		auto item = pcipass::detail::desired_from_json(
			(*entries)[index], "desired[" + std::to_string(index) + "]",
			{{}, options.driver, options.owner});
		if (!item) {
			pcipass::Error error = item.error();
			error.message = "'" + file + "': " + error.message + "; nothing was changed";
			error.path = file;
			return error;
		}
		desired.push_back(std::move(item).value());
	}
	return desired;
}

int run_reconcile(Context &context, const TransactionOptions &options)
{
	auto desired = load_desired(options.file, options);
	if (!desired)
		return report(desired.error());

	auto request = make_request(options);
	if (!request)
		return report(request.error(), exit_usage);

	auto engine = open_engine(context, options);
	if (!engine)
		return report(engine.error());

	if (!confirmed(context, options,
		       "reconcile " + std::to_string(desired.value().size()) + " device(s)"))
		return not_confirmed();

	ReportingObserver observer(!context.json());
	auto outcome = engine.value()->reconcile(desired.value(), request.value().options, &observer);
	return finish(context, outcome, observer.report());
}

void add_addresses(CLI::App &command, TransactionOptions &options)
{
	command.add_option("addresses", options.addresses,
			   "Devices as DDDD:BB:DD.F, optionally =VENDOR:DEVICE to check the identity")
		->required();
}

void add_request_options(CLI::App &command, TransactionOptions &options)
{
	command.add_option("--driver", options.driver, "Driver to move the devices to")
		->capture_default_str();
	command.add_option("--owner", options.owner,
			   "Owner recorded on the claim; only it may release the devices")
		->capture_default_str();
	command.add_option("--module", options.module,
			   "Module that provides the driver (default: the driver name with '_')");
	command.add_flag("--allow-module-load", options.allow_module_load,
			 "Load the driver's module when it is missing");
	command.add_flag("--release-framebuffer", options.release_framebuffer,
			 "Unbind the firmware framebuffer from a boot GPU (bound back on release)");
	command.add_flag("--recreate-vfs", options.recreate_vfs,
			 "Remove the VFs of an SR-IOV PF for the move (they return on release)");
	command.add_option("--reset-method", options.reset_method,
			   "Require this reset method (flr, pm, bus, ...) on the requested devices");
}

void add_lock_timeout_option(CLI::App &command, TransactionOptions &options)
{
	command.add_option("--lock-timeout", options.lock_timeout_ms,
			   "Milliseconds to wait for another transaction to finish")
		->capture_default_str();
}

void add_timeout_options(CLI::App &command, TransactionOptions &options)
{
	command.add_option("--write-timeout", options.write_timeout_ms,
			   "Milliseconds one sysfs write may take before its device is in doubt")
		->capture_default_str();
	command.add_option("--bind-timeout", options.bind_timeout_ms,
			   "Milliseconds to wait for the driver link after a bind")
		->capture_default_str();
	add_lock_timeout_option(command, options);
	command.add_flag("--yes,-y", options.yes, "Do not ask for confirmation");
}

} /* namespace */

void register_transaction_commands(CLI::App &app, Context &context, int &status)
{
	auto plan_options = std::make_shared<TransactionOptions>();
	CLI::App *plan = app.add_subcommand("plan", "Show what a bind or release would do; writes "
						    "nothing");
	plan->add_option("operation", plan_options->operation, "bind or release")
		->required()
		->check(CLI::IsMember({"bind", "release"}));
	add_addresses(*plan, *plan_options);
	add_request_options(*plan, *plan_options);
	add_lock_timeout_option(*plan, *plan_options);
	plan->callback([&context, &status, plan_options]() {
		status = run_plan(context, *plan_options);
	});

	auto bind_options = std::make_shared<TransactionOptions>();
	CLI::App *bind = app.add_subcommand("bind", "Move devices and their IOMMU groups to a "
						    "driver (vfio-pci) as one transaction");
	add_addresses(*bind, *bind_options);
	add_request_options(*bind, *bind_options);
	add_timeout_options(*bind, *bind_options);
	bind->callback([&context, &status, bind_options]() {
		status = run_move(context, *bind_options, pcipass::Operation::bind);
	});

	auto release_options = std::make_shared<TransactionOptions>();
	CLI::App *release = app.add_subcommand("release", "Return devices and their groups to "
							  "the state before their claim");
	add_addresses(*release, *release_options);
	release->add_option("--owner", release_options->owner, "Owner that holds the claim")
		->capture_default_str();
	add_timeout_options(*release, *release_options);
	release->callback([&context, &status, release_options]() {
		status = run_move(context, *release_options, pcipass::Operation::release);
	});

	auto recover_options = std::make_shared<TransactionOptions>();
	CLI::App *recover = app.add_subcommand("recover", "Finish the transaction an interrupted "
							  "run left in the journal");
	add_timeout_options(*recover, *recover_options);
	recover->callback([&context, &status, recover_options]() {
		status = run_recover(context, *recover_options);
	});

	auto reconcile_options = std::make_shared<TransactionOptions>();
	CLI::App *reconcile = app.add_subcommand("reconcile", "Bring devices to a desired state "
							      "with the fewest writes");
	reconcile->add_option("file", reconcile_options->file,
			      "JSON array of {\"device\", \"driver\", \"owner\"}; an empty driver "
			      "releases")
		->required();
	add_request_options(*reconcile, *reconcile_options);
	add_timeout_options(*reconcile, *reconcile_options);
	reconcile->callback([&context, &status, reconcile_options]() {
		status = run_reconcile(context, *reconcile_options);
	});
}

} /* namespace pcipassctl */
