/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Typed reads of JSON object fields that report the field path on a type
 * mismatch, so that a malformed input document becomes an invalid_argument
 * error and never a Boost.JSON exception.
 */

#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <pcipass/error.hpp>

namespace pcipass::detail {

/* The text as a JSON string literal, quoted and escaped, for messages. */
std::string json_quote(std::string_view text);

/*
 * A field of a JSON object: absent is an empty optional (or nullptr), a
 * value of another type an invalid_argument error that names path + key.
 */
result<std::optional<std::string>> string_field(const boost::json::object &object,
						std::string_view key, std::string_view path);
result<std::optional<bool>> bool_field(const boost::json::object &object, std::string_view key,
				       std::string_view path);
result<const boost::json::object *> object_field(const boost::json::object &object,
						 std::string_view key, std::string_view path);
result<const boost::json::array *> array_field(const boost::json::object &object,
					       std::string_view key, std::string_view path);

/* The value as an object; otherwise invalid_argument naming what. */
result<const boost::json::object *> as_object(const boost::json::value &value,
					      std::string_view what);

/*
 * Checks apiVersion and kind when present: typed Go clients leave them
 * empty in objects they return, so absence is accepted.
 */
/*
 * Rejects a field that is not in known (besides "schema"), so that a
 * misspelt option is not silently ignored.
 */
result<void> check_fields(const boost::json::object &object,
			  std::initializer_list<std::string_view> known, std::string_view what);

result<void> check_type_meta(const boost::json::object &object, std::string_view api_version,
			     std::string_view kind);

} /* namespace pcipass::detail */
