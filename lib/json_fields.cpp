/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Typed reads of JSON object fields.
 */

#include "json_fields.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

namespace pcipass::detail {

namespace {

std::string field_path(std::string_view path, std::string_view key)
{
	if (path.empty())
		return std::string(key);
	return std::string(path) + "." + std::string(key);
}

Error wrong_type(std::string_view path, std::string_view key, std::string_view expected)
{
	return make_error(errc::invalid_argument,
			  "field " + field_path(path, key) + " must be " + std::string(expected));
}

} /* namespace */

std::string json_quote(std::string_view text)
{
	return boost::json::serialize(boost::json::string(text));
}

result<std::optional<std::string>> string_field(const boost::json::object &object,
						std::string_view key, std::string_view path)
{
	const boost::json::value *value = object.if_contains(key);
	if (!value)
		return std::optional<std::string>();

	const boost::json::string *text = value->if_string();
	if (!text)
		return wrong_type(path, key, "a string");

	return std::optional<std::string>(std::string(text->data(), text->size()));
}

result<std::optional<bool>> bool_field(const boost::json::object &object, std::string_view key,
				       std::string_view path)
{
	const boost::json::value *value = object.if_contains(key);
	if (!value)
		return std::optional<bool>();

	const bool *flag = value->if_bool();
	if (!flag)
		return wrong_type(path, key, "true or false");

	return std::optional<bool>(*flag);
}

namespace {

/* A container field: absent gives nullptr, another type an error. */
template<class T>
result<const T *> container_field(const boost::json::object &object, std::string_view key,
				  std::string_view path, const T *(boost::json::value::*get)() const,
				  std::string_view expected)
{
	const boost::json::value *value = object.if_contains(key);
	if (!value)
		return nullptr;

	const T *field = (value->*get)();
	if (!field)
		return wrong_type(path, key, expected);

	return field;
}

} /* namespace */

result<const boost::json::object *> object_field(const boost::json::object &object,
						 std::string_view key, std::string_view path)
{
	return container_field<boost::json::object>(object, key, path,
						    &boost::json::value::if_object, "an object");
}

result<const boost::json::array *> array_field(const boost::json::object &object,
					       std::string_view key, std::string_view path)
{
	return container_field<boost::json::array>(object, key, path,
						   &boost::json::value::if_array, "an array");
}

result<const boost::json::object *> as_object(const boost::json::value &value,
					      std::string_view what)
{
	const boost::json::object *object = value.if_object();
	if (!object)
		return make_error(errc::invalid_argument,
				  std::string(what) + " must be a JSON object");

	return object;
}

result<void> check_type_meta(const boost::json::object &object, std::string_view api_version,
			     std::string_view kind)
{
	BOOST_OUTCOME_TRY(auto found_api_version, string_field(object, "apiVersion", ""));

	BOOST_OUTCOME_TRY(auto found_kind, string_field(object, "kind", ""));

	if (found_api_version && !found_api_version->empty() && *found_api_version != api_version)
		return make_error(errc::invalid_argument,
				  "apiVersion " + json_quote(*found_api_version) + " is not " +
					  std::string(api_version));
	if (found_kind && !found_kind->empty() && *found_kind != kind)
		return make_error(errc::invalid_argument, "kind " + json_quote(*found_kind) +
								  " is not " + std::string(kind));

	return success();
}

result<void> check_fields(const boost::json::object &object,
			  std::initializer_list<std::string_view> known, std::string_view what)
{
	for (const auto &entry : object) {
		const std::string_view key(entry.key());
		if (key == "schema")
			continue;

		bool found = false;
		for (std::string_view name : known)
			found = found || name == key;
		if (found)
			continue;

		std::string names;
		for (std::string_view name : known)
			names += (names.empty() ? "" : ", ") + std::string(name);
		return make_error(errc::invalid_argument,
				  std::string(what) + " has an unknown field " +
					  json_quote(key) + "; the known fields are " + names);
	}
	return success();
}

} /* namespace pcipass::detail */
