/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Strict JSON text in and readable JSON text out, for every pcipass document.
 */

#pragma once

#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include <pcipass/error.hpp>

namespace pcipass::detail {

/*
 * Parses one JSON document. Rejects what Boost.JSON alone would accept
 * silently: an object with the same key twice (Boost.JSON keeps the last).
 * document_name names the document in messages ("topology"). Errors:
 * invalid_argument with the line and column of a syntax error, or the JSON
 * pointer of the object holding a duplicate key.
 */
result<boost::json::value> parse_json_strict(std::string_view text, std::string_view document_name);

/*
 * Formats a value with two-space indentation, one member per line. Arrays
 * of scalars that fit on one line stay on one line. Keys keep their order.
 * Ends with a newline.
 */
std::string format_json(const boost::json::value &value);

/* A reference token escaped for a JSON pointer (RFC 6901): '~' as "~0", '/' as "~1". */
std::string json_pointer_token(std::string_view key);

} /* namespace pcipass::detail */
