/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * JSON arguments in and JSON strings out, shared by every C ABI source.
 */

#include <boost/json/serialize.hpp>

#include "capi_internal.hpp"
#include "json_fields.hpp"
#include "json_text.hpp"

namespace pcipass::capi {

result<boost::json::value> parse_argument(const char *json, std::string_view what)
{
	return detail::parse_json_strict(json, what);
}

result<void> check_schema(const boost::json::object &object, std::string_view schema)
{
	BOOST_OUTCOME_TRY(auto found, detail::string_field(object, "schema", ""));

	if (found && *found != schema)
		return make_error(errc::invalid_argument,
				  "schema " + detail::json_quote(*found) + " is not " +
					  std::string(schema) + ", the version this library reads");
	return success();
}

result<boost::json::object> parse_input(const char *json, std::string_view what,
					std::string_view schema,
					std::initializer_list<std::string_view> known)
{
	BOOST_OUTCOME_TRY(auto value, parse_argument(json, what));

	BOOST_OUTCOME_TRY(auto object, detail::as_object(value, what));

	BOOST_OUTCOME_TRY(check_schema(*object, schema));

	BOOST_OUTCOME_TRY(check_fields(*object, known, what));

	return *object;
}

result<bool> flag(const boost::json::object &object, std::string_view key, std::string_view path)
{
	BOOST_OUTCOME_TRY(auto value, detail::bool_field(object, key, path));

	return value.value_or(false);
}

result<std::optional<int64_t>> integer_field(const boost::json::object &object,
					     std::string_view key, std::string_view path,
					     int64_t min, int64_t max)
{
	const boost::json::value *value = object.if_contains(key);
	if (!value)
		return std::optional<int64_t>();

	const std::string name = path.empty() ? std::string(key)
					      : std::string(path) + "." + std::string(key);
	const std::string range = "an integer from " + std::to_string(min) + " to " +
				  std::to_string(max);

	/* Boost.JSON stores non-negative literals above INT64_MAX as uint64. */
	std::optional<int64_t> number;
	if (const int64_t *signed_value = value->if_int64())
		number = *signed_value;
	else if (const uint64_t *unsigned_value = value->if_uint64();
		 unsigned_value && *unsigned_value <= uint64_t(max))
		number = int64_t(*unsigned_value);

	if (!number || *number < min || *number > max)
		return make_error(errc::invalid_argument,
				  "field " + name + " must be " + range + ", not " +
					  boost::json::serialize(*value));
	return number;
}

int output(char **out, std::string_view text)
{
	*out = copy_string(text);
	return PCIPASS_OK;
}

int output(char **out, const boost::json::value &document)
{
	return output(out, boost::json::serialize(document));
}

result<sim::Host *> simulated(pcipass_host *host, std::string_view function)
{
	if (!host)
		return make_error(errc::invalid_argument, std::string(function) + ": host is NULL");
	if (!host->sim)
		return make_error(errc::invalid_argument,
				  std::string(function) + ": the host is " + host->host->describe() +
					  ", not a simulated kernel; create one with pcipass_sim_new");
	return host->sim;
}

} /* namespace pcipass::capi */
