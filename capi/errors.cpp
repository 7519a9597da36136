/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The C ABI's status names, error objects, strings and log sink.
 */

#include <cstdlib>
#include <cstring>
#include <string>

#include <pcipass/log.hpp>

#include "capi_internal.hpp"

namespace pcipass::capi {

int fail(pcipass_error **err, const Error &error) noexcept
{
	const int code = static_cast<int>(error.code);
	if (!err)
		return code;

	try {
		*err = new pcipass_error{error};
	} catch (...) {
		*err = nullptr;
	}
	return code;
}

int null_argument(pcipass_error **err, std::string_view function, std::string_view argument) noexcept
{
	try {
		return fail(err, make_error(errc::invalid_argument,
					    std::string(function) + ": " + std::string(argument) +
						    " is NULL"));
	} catch (...) {
		return static_cast<int>(errc::invalid_argument);
	}
}

char *copy_string(std::string_view text)
{
	char *copy = static_cast<char *>(std::malloc(text.size() + 1));
	if (!copy)
		throw std::bad_alloc();

	std::memcpy(copy, text.data(), text.size());
	copy[text.size()] = '\0';
	return copy;
}

} /* namespace pcipass::capi */

using namespace pcipass;

PCIPASS_EXPORT const char *pcipass_status_name(int32_t status)
{
	if (status == PCIPASS_OK)
		return "ok";
	if (status < PCIPASS_E_INVALID_ARGUMENT || status > PCIPASS_E_INTERNAL)
		return "unknown";
	return errc_name(static_cast<errc>(status));
}

PCIPASS_EXPORT int32_t pcipass_error_code(const pcipass_error *err)
{
	return err ? static_cast<int32_t>(err->error.code) : 0;
}

PCIPASS_EXPORT int32_t pcipass_error_errno(const pcipass_error *err)
{
	return err ? err->error.sys_errno : 0;
}

PCIPASS_EXPORT const char *pcipass_error_device(const pcipass_error *err)
{
	return err ? err->error.device.c_str() : nullptr;
}

PCIPASS_EXPORT const char *pcipass_error_path(const pcipass_error *err)
{
	return err ? err->error.path.c_str() : nullptr;
}

PCIPASS_EXPORT const char *pcipass_error_step(const pcipass_error *err)
{
	return err ? err->error.step.c_str() : nullptr;
}

PCIPASS_EXPORT const char *pcipass_error_message(const pcipass_error *err)
{
	return err ? err->error.message.c_str() : nullptr;
}

PCIPASS_EXPORT void pcipass_error_free(pcipass_error *err)
{
	delete err;
}

PCIPASS_EXPORT void pcipass_string_free(char *string)
{
	std::free(string);
}

PCIPASS_EXPORT int pcipass_set_log_sink(pcipass_log_fn sink, void *userdata, int32_t level,
					pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		if (level < PCIPASS_LOG_DEBUG || level > PCIPASS_LOG_ERROR)
			return capi::fail(err, make_error(errc::invalid_argument,
							  "pcipass_set_log_sink: level " +
								  std::to_string(level) +
								  " is invalid: use PCIPASS_LOG_DEBUG "
								  "(1) to PCIPASS_LOG_ERROR (4)"));

		if (!sink) {
			set_log_sink({});
			return PCIPASS_OK;
		}

		set_log_sink(
			[sink, userdata](LogLevel log_level, LogCategory category,
					 std::string_view message) {
				/* The C side needs a terminating NUL that string_view lacks. */
				const std::string line(message);
				sink(userdata, static_cast<int32_t>(log_level),
				     static_cast<int32_t>(category), line.c_str());
			},
			static_cast<LogLevel>(level));
		return PCIPASS_OK;
	});
}

PCIPASS_EXPORT const char *pcipass_log_category_name(int32_t category)
{
	if (category < PCIPASS_LOG_CATEGORY_HOST || category > PCIPASS_LOG_CATEGORY_SIM)
		return nullptr;
	/* The names are string literals, so the view is NUL-terminated. */
	return log_category_name(static_cast<LogCategory>(category)).data();
}
