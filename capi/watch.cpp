/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The C ABI's device event watcher.
 */

#include <chrono>
#include <climits>
#include <string>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <pcipass/watch.hpp>

#include "capi_internal.hpp"
#include "json_fields.hpp"

namespace pcipass::capi {

namespace {

result<WatchOptions> parse_watch_options(const char *options_json)
{
	WatchOptions options;
	if (!options_json)
		return options;

	BOOST_OUTCOME_TRY(auto object,
			  parse_input(options_json, "watch options", "pcipass.watch-options/v1",
				      {"source", "subsystems", "receive_buffer_size"}));

	BOOST_OUTCOME_TRY(auto source, detail::string_field(object, "source", "watch options"));
	if (source && *source == "udev")
		options.source = EventSource::udev;
	else if (source && *source != "kernel")
		return make_error(errc::invalid_argument,
				  "watch options: source " + detail::json_quote(*source) +
					  " is unknown; use \"kernel\" or \"udev\"");

	BOOST_OUTCOME_TRY(auto subsystems,
			  detail::array_field(object, "subsystems", "watch options"));
	if (subsystems) {
		options.subsystems.clear();
		for (const boost::json::value &subsystem : *subsystems) {
			const boost::json::string *name = subsystem.if_string();
			if (!name)
				return make_error(errc::invalid_argument,
						  "watch options: subsystems must be strings "
						  "such as \"pci\"");
			options.subsystems.emplace_back(name->data(), name->size());
		}
	}

	BOOST_OUTCOME_TRY(auto buffer, integer_field(object, "receive_buffer_size",
						     "watch options", 0, INT_MAX));
	if (buffer)
		options.receive_buffer_size = int(*buffer);

	return options;
}

/* timeout_ms from now; negative waits without a limit. */
Watcher::Clock::time_point deadline_after(int32_t timeout_ms)
{
	if (timeout_ms < 0)
		return Watcher::Clock::time_point::max();
	return Watcher::Clock::now() + std::chrono::milliseconds(timeout_ms);
}

} /* namespace */

} /* namespace pcipass::capi */

using namespace pcipass;

PCIPASS_EXPORT int pcipass_watcher_open(const char *options_json, pcipass_watcher **watcher,
					pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		if (!watcher)
			return capi::null_argument(err, "pcipass_watcher_open", "watcher");
		*watcher = nullptr;

		auto options = capi::parse_watch_options(options_json);
		if (!options)
			return capi::fail(err, options.error());

		auto opened = Watcher::open(options.value());
		if (!opened)
			return capi::fail(err, opened.error());

		*watcher = new pcipass_watcher{std::move(opened).value()};
		return PCIPASS_OK;
	});
}

PCIPASS_EXPORT void pcipass_watcher_close(pcipass_watcher *watcher)
{
	delete watcher;
}

PCIPASS_EXPORT int pcipass_watcher_fd(pcipass_watcher *watcher, int32_t *fd, pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		if (!fd)
			return capi::null_argument(err, "pcipass_watcher_fd", "fd");
		*fd = -1;
		if (!watcher)
			return capi::null_argument(err, "pcipass_watcher_fd", "watcher");

		*fd = watcher->watcher.fd();
		return PCIPASS_OK;
	});
}

PCIPASS_EXPORT int pcipass_watcher_next(pcipass_watcher *watcher, int32_t timeout_ms,
					char **event_json, pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		if (!event_json)
			return capi::null_argument(err, "pcipass_watcher_next", "event_json");
		*event_json = nullptr;
		if (!watcher)
			return capi::null_argument(err, "pcipass_watcher_next", "watcher");

		auto event = watcher->watcher.next(capi::deadline_after(timeout_ms));
		if (!event)
			return capi::fail(err, event.error());

		if (event.value())
			return capi::output(event_json, std::string_view(to_json(*event.value())));
		return PCIPASS_OK;
	});
}

PCIPASS_EXPORT int pcipass_watcher_run(pcipass_watcher *watcher, int32_t timeout_ms,
				       pcipass_event_fn on_event, void *userdata,
				       pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		if (!watcher)
			return capi::null_argument(err, "pcipass_watcher_run", "watcher");
		if (!on_event)
			return capi::null_argument(err, "pcipass_watcher_run", "on_event");

		auto ran = watcher->watcher.run(
			[&](const Event &event) {
				const std::string text = to_json(event);
				return on_event(userdata, text.c_str());
			},
			capi::deadline_after(timeout_ms));
		return capi::status_of(ran, err);
	});
}
