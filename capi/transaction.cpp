/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The C ABI's transaction engine: requests and desired sets from JSON,
 * plans and results to JSON, and transaction steps to a C callback.
 */

#include <chrono>
#include <string>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <pcipass/plan.hpp>
#include <pcipass/transaction.hpp>

#include "capi_internal.hpp"
#include "json_fields.hpp"
#include "plan_json.hpp"

namespace pcipass::capi {

namespace {

namespace json = boost::json;

/* A day is far beyond any sysfs write and keeps every deadline in range of milliseconds. */
constexpr int64_t max_deadline_ms = 24 * 60 * 60 * 1000;

result<void> read_milliseconds(const json::object &object, std::string_view key,
			       std::string_view path, int64_t min, std::chrono::milliseconds &out)
{
	BOOST_OUTCOME_TRY(auto value, integer_field(object, key, path, min, max_deadline_ms));

	if (value)
		out = std::chrono::milliseconds(*value);
	return success();
}

result<Deadlines> parse_deadlines(const json::object &parent, std::string_view path)
{
	Deadlines deadlines;
	BOOST_OUTCOME_TRY(auto object, detail::object_field(parent, "deadlines", path));
	if (!object)
		return deadlines;

	const std::string where = std::string(path) + (path.empty() ? "" : ".") + "deadlines";
	BOOST_OUTCOME_TRY(check_fields(*object, {"write_ms", "bind_ms", "poll_interval_ms", "lock_ms"},
				       where));

	BOOST_OUTCOME_TRY(read_milliseconds(*object, "write_ms", where, 1, deadlines.write));

	BOOST_OUTCOME_TRY(read_milliseconds(*object, "bind_ms", where, 1, deadlines.bind));

	BOOST_OUTCOME_TRY(read_milliseconds(*object, "poll_interval_ms", where, 1,
					    deadlines.poll_interval));

	BOOST_OUTCOME_TRY(read_milliseconds(*object, "lock_ms", where, 0, deadlines.lock));

	return deadlines;
}

result<RequestOptions> parse_request_options(const json::object &parent, std::string_view what)
{
	RequestOptions options;
	BOOST_OUTCOME_TRY(auto object, detail::object_field(parent, "options", what));
	if (!object)
		return options;

	const std::string where = std::string(what) + ".options";
	BOOST_OUTCOME_TRY(check_fields(*object,
				       {"allow_module_load", "release_framebuffer", "recreate_vfs",
					"reset_method", "module", "deadlines"},
				       where));

	BOOST_OUTCOME_TRY(options.allow_module_load, flag(*object, "allow_module_load", where));

	BOOST_OUTCOME_TRY(options.release_framebuffer, flag(*object, "release_framebuffer", where));

	BOOST_OUTCOME_TRY(options.recreate_vfs, flag(*object, "recreate_vfs", where));

	BOOST_OUTCOME_TRY(auto reset_method, detail::string_field(*object, "reset_method", where));
	options.reset_method = reset_method.value_or("");

	BOOST_OUTCOME_TRY(auto module, detail::string_field(*object, "module", where));
	options.module = module.value_or("");

	BOOST_OUTCOME_TRY(options.deadlines, parse_deadlines(*object, where));

	return options;
}

/* A device of a request: "0000:01:00.0" or {"address", "expected"}. */
result<RequestedDevice> parse_requested_device(const json::value &value, size_t index)
{
	const std::string where = "request.devices[" + std::to_string(index) + "]";
	if (const json::string *text = value.if_string()) {
		BOOST_OUTCOME_TRY(auto address, PciAddress::parse(std::string_view(*text)));
		return RequestedDevice{address, std::nullopt};
	}

	const json::object *object = value.if_object();
	if (!object)
		return make_error(errc::invalid_argument,
				  where + " must be an address string or an object with \"address\"");

	BOOST_OUTCOME_TRY(check_fields(*object, {"address", "expected"}, where));

	BOOST_OUTCOME_TRY(auto address_text, detail::string_field(*object, "address", where));
	if (!address_text)
		return make_error(errc::invalid_argument, where + " has no \"address\"");

	RequestedDevice device;
	BOOST_OUTCOME_TRY(device.address, PciAddress::parse(*address_text));

	BOOST_OUTCOME_TRY(auto expected, detail::string_field(*object, "expected", where));
	if (expected) {
		BOOST_OUTCOME_TRY(device.expected, DeviceIdentity::parse(*expected));
	}

	return device;
}

result<Request> parse_request(const char *request_json)
{
	BOOST_OUTCOME_TRY(auto object,
			  parse_input(request_json, "request", "pcipass.request/v1",
				      {"devices", "driver", "owner", "options"}));

	BOOST_OUTCOME_TRY(auto devices, detail::array_field(object, "devices", "request"));
	if (!devices || devices->empty())
		return make_error(errc::invalid_argument,
				  "request has no \"devices\": list at least one PCI address");

	Request request;
	for (size_t i = 0; i < devices->size(); i++) {
		BOOST_OUTCOME_TRY(auto device, parse_requested_device((*devices)[i], i));
		request.devices.push_back(device);
	}

	BOOST_OUTCOME_TRY(auto driver, detail::string_field(object, "driver", "request"));
	if (driver)
		request.driver = *driver;

	BOOST_OUTCOME_TRY(auto owner, detail::string_field(object, "owner", "request"));
	if (owner)
		request.owner = *owner;

	BOOST_OUTCOME_TRY(request.options, parse_request_options(object, "request"));

	return request;
}

struct DesiredSet {
	std::vector<Desired> desired;
	RequestOptions options;
};

result<DesiredSet> parse_desired_set(const char *desired_json)
{
	BOOST_OUTCOME_TRY(auto object, parse_input(desired_json, "desired set",
						   "pcipass.desired/v1", {"desired", "options"}));

	BOOST_OUTCOME_TRY(auto entries, detail::array_field(object, "desired", "desired set"));
	if (!entries)
		return make_error(errc::invalid_argument,
				  "desired set has no \"desired\" array of {device, driver, owner}");

	DesiredSet set;
	for (size_t i = 0; i < entries->size(); i++) {
		BOOST_OUTCOME_TRY(auto desired,
				   detail::desired_from_json((*entries)[i], "desired[" + std::to_string(i) + "]", {}));
		set.desired.push_back(std::move(desired));
	}

	BOOST_OUTCOME_TRY(set.options, parse_request_options(object, "desired set"));

	return set;
}

result<Deadlines> parse_recover_options(const char *options_json)
{
	if (!options_json)
		return Deadlines{};

	BOOST_OUTCOME_TRY(auto object, parse_input(options_json, "recover options",
						   "pcipass.recover-options/v1", {"deadlines"}));

	return parse_deadlines(object, "");
}

/* Forwards each step of a transaction to the C callback as a "pcipass.step/v1" document. */
class StepForwarder final : public Observer
{
public:
	StepForwarder(pcipass_step_fn on_step, void *userdata)
		: on_step_(on_step), userdata_(userdata)
	{
	}

	void on_step(const StepRecord &record) override
	{
		if (!on_step_)
			return;

		const json::object document{
			{"schema", "pcipass.step/v1"},
			{"seq", record.seq},
			{"undo", record.undo},
			{"status", step_status_name(record.status)},
			{"step", detail::step_to_json(record.step)},
			{"error", record.error ? detail::error_to_json(*record.error)
					       : json::value(nullptr)},
		};
		const std::string text = json::serialize(document);
		on_step_(userdata_, text.c_str());
	}

private:
	pcipass_step_fn on_step_;
	void *userdata_;
};

/* The report as the caller's string, or the error. */
int finish(const result<Report> &report, char **result_json, pcipass_error **err)
{
	if (!report)
		return fail(err, report.error());
	return output(result_json, std::string_view(to_json(report.value())));
}

/* Clears the out-pointer and checks it and the engine, as every engine call starts. */
int check_call(pcipass_engine *engine, char **out, std::string_view out_name,
	       std::string_view function, pcipass_error **err)
{
	if (!out)
		return null_argument(err, function, out_name);
	*out = nullptr;
	if (!engine)
		return null_argument(err, function, "engine");
	return PCIPASS_OK;
}

using RequestMethod = result<Report> (Engine::*)(const Request &, Observer *);

/* The body of pcipass_engine_bind and pcipass_engine_release, which differ only in method. */
int run_request(pcipass_engine *engine, RequestMethod method, const char *request_json,
		pcipass_step_fn on_step, void *userdata, char **result_json,
		std::string_view function, pcipass_error **err)
{
	const int checked = check_call(engine, result_json, "result_json", function, err);
	if (checked != PCIPASS_OK)
		return checked;
	if (!request_json)
		return null_argument(err, function, "request_json");

	auto request = parse_request(request_json);
	if (!request)
		return fail(err, request.error());

	StepForwarder forwarder(on_step, userdata);
	return finish((engine->engine.get()->*method)(request.value(), &forwarder), result_json,
		      err);
}

} /* namespace */

} /* namespace pcipass::capi */

using namespace pcipass;

PCIPASS_EXPORT int pcipass_engine_open(pcipass_host *host, const char *state_dir,
				       pcipass_engine **engine, pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		if (!engine)
			return capi::null_argument(err, "pcipass_engine_open", "engine");
		*engine = nullptr;
		if (!host)
			return capi::null_argument(err, "pcipass_engine_open", "host");

		EngineOptions options;
		options.state_dir = state_dir ? state_dir : "";
		auto opened = Engine::open(*host->host, options);
		if (!opened)
			return capi::fail(err, opened.error());

		*engine = new pcipass_engine{host->host, std::move(opened).value()};
		return PCIPASS_OK;
	});
}

PCIPASS_EXPORT void pcipass_engine_close(pcipass_engine *engine)
{
	if (!engine)
		return;

	/*
	 * An abandoned write still calls into the host on its worker thread.
	 * One reference is kept forever so that the host is not freed under it.
	 */
	if (engine->engine->abandoned_writes() > 0)
		(void)new (std::nothrow) std::shared_ptr<Host>(engine->host);
	delete engine;
}

PCIPASS_EXPORT int pcipass_engine_plan(pcipass_engine *engine, int32_t operation,
				       const char *request_json, char **plan_json,
				       pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		constexpr std::string_view function = "pcipass_engine_plan";
		const int checked = capi::check_call(engine, plan_json, "plan_json", function, err);
		if (checked != PCIPASS_OK)
			return checked;
		if (!request_json)
			return capi::null_argument(err, function, "request_json");

		if (operation != PCIPASS_OPERATION_BIND && operation != PCIPASS_OPERATION_RELEASE)
			return capi::fail(err, make_error(errc::invalid_argument,
							  "pcipass_engine_plan: operation " +
								  std::to_string(operation) +
								  " is invalid: use PCIPASS_OPERATION_BIND "
								  "(1) or PCIPASS_OPERATION_RELEASE (2)"));

		auto request = capi::parse_request(request_json);
		if (!request)
			return capi::fail(err, request.error());

		const Operation kind = operation == PCIPASS_OPERATION_BIND ? Operation::bind
									   : Operation::release;
		auto plan = engine->engine->plan(kind, request.value());
		if (!plan)
			return capi::fail(err, plan.error());

		return capi::output(plan_json, std::string_view(to_json(plan.value())));
	});
}

PCIPASS_EXPORT int pcipass_engine_bind(pcipass_engine *engine, const char *request_json,
				       pcipass_step_fn on_step, void *userdata, char **result_json,
				       pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		return capi::run_request(engine, &Engine::bind, request_json, on_step, userdata,
					 result_json, "pcipass_engine_bind", err);
	});
}

PCIPASS_EXPORT int pcipass_engine_release(pcipass_engine *engine, const char *request_json,
					  pcipass_step_fn on_step, void *userdata,
					  char **result_json, pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		return capi::run_request(engine, &Engine::release, request_json, on_step, userdata,
					 result_json, "pcipass_engine_release", err);
	});
}

PCIPASS_EXPORT int pcipass_engine_recover(pcipass_engine *engine, const char *options_json,
					  pcipass_step_fn on_step, void *userdata,
					  char **result_json, pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		const int checked = capi::check_call(engine, result_json, "result_json",
						     "pcipass_engine_recover", err);
		if (checked != PCIPASS_OK)
			return checked;

		auto deadlines = capi::parse_recover_options(options_json);
		if (!deadlines)
			return capi::fail(err, deadlines.error());

		capi::StepForwarder forwarder(on_step, userdata);
		return capi::finish(engine->engine->recover(deadlines.value(), &forwarder),
				    result_json, err);
	});
}

PCIPASS_EXPORT int pcipass_engine_reconcile(pcipass_engine *engine, const char *desired_json,
					    pcipass_step_fn on_step, void *userdata,
					    char **result_json, pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		constexpr std::string_view function = "pcipass_engine_reconcile";
		const int checked = capi::check_call(engine, result_json, "result_json", function,
						     err);
		if (checked != PCIPASS_OK)
			return checked;
		if (!desired_json)
			return capi::null_argument(err, function, "desired_json");

		auto set = capi::parse_desired_set(desired_json);
		if (!set)
			return capi::fail(err, set.error());

		capi::StepForwarder forwarder(on_step, userdata);
		return capi::finish(engine->engine->reconcile(set.value().desired,
							      set.value().options, &forwarder),
				    result_json, err);
	});
}

PCIPASS_EXPORT int pcipass_engine_ownerships(pcipass_engine *engine, char **ownerships_json,
					     pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		const int checked = capi::check_call(engine, ownerships_json, "ownerships_json",
						     "pcipass_engine_ownerships", err);
		if (checked != PCIPASS_OK)
			return checked;

		auto claims = engine->engine->ownerships();
		if (!claims)
			return capi::fail(err, claims.error());

		return capi::output(ownerships_json,
				    boost::json::object{
					    {"schema", "pcipass.ownerships/v1"},
					    {"ownerships", detail::ownerships_to_json_value(claims.value())},
				    });
	});
}
