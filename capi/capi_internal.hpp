/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The structs behind the opaque handles, the exception barrier, and the
 * conversion of results to status values, shared by every C ABI source.
 */

#pragma once

#include <cstdint>
#include <exception>
#include <initializer_list>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <pcipass/error.hpp>
#include <pcipass/graph.hpp>
#include <pcipass/host.hpp>
#include <pcipass/testing/sim.hpp>
#include <pcipass/transaction.hpp>
#include <pcipass/watch.hpp>

#include "json_fields.hpp"
#include "pcipass.h"

/* The library is built with hidden visibility; only these functions leave it. */
#define PCIPASS_EXPORT extern "C" __attribute__((visibility("default")))

struct pcipass_error {
	pcipass::Error error;
};

/* Shared, because every engine opened on the host keeps it alive. */
struct pcipass_host {
	std::shared_ptr<pcipass::Host> host;
	/* The same object as host when it is a simulated kernel, else nullptr. */
	pcipass::sim::Host *sim = nullptr;
};

struct pcipass_graph {
	pcipass::DeviceGraph graph;
};

struct pcipass_engine {
	/* Declared before engine so that it is destroyed after it. */
	std::shared_ptr<pcipass::Host> host;
	std::unique_ptr<pcipass::Engine> engine;
};

struct pcipass_watcher {
	pcipass::Watcher watcher;
};

namespace pcipass::capi {

/*
 * Stores a copy of error in *err (when err is not NULL) and returns its
 * code. When even the error object cannot be allocated, *err stays NULL
 * and the code is still returned.
 */
int fail(pcipass_error **err, const Error &error) noexcept;

/* Fails with invalid_argument because the named argument is NULL. */
int null_argument(pcipass_error **err, std::string_view function, std::string_view argument) noexcept;

/* A malloc'ed copy for pcipass_string_free. Throws std::bad_alloc. */
char *copy_string(std::string_view text);

/* Parses a JSON argument. Errors: invalid_argument naming what and the position. */
result<boost::json::value> parse_argument(const char *json, std::string_view what);

/* Checks the "schema" field of an input document: absent or the expected one. */
result<void> check_schema(const boost::json::object &object, std::string_view schema);

using detail::check_fields;

/*
 * Parses a JSON argument that must be an object of the given schema with
 * only the known fields (besides "schema").
 */
result<boost::json::object> parse_input(const char *json, std::string_view what,
					std::string_view schema,
					std::initializer_list<std::string_view> known);

/* A boolean field: absent is false. */
result<bool> flag(const boost::json::object &object, std::string_view key,
		  std::string_view path = "");

/* An integer field within [min, max]: absent is an empty optional. */
result<std::optional<int64_t>> integer_field(const boost::json::object &object,
					     std::string_view key, std::string_view path,
					     int64_t min, int64_t max);

/* Stores the text as the caller's string and returns PCIPASS_OK. Throws std::bad_alloc. */
int output(char **out, std::string_view text);

/* Stores the serialized document as the caller's string and returns PCIPASS_OK. */
int output(char **out, const boost::json::value &document);

/*
 * The simulated kernel behind host. Errors: invalid_argument when host is
 * NULL or a live host.
 */
result<sim::Host *> simulated(pcipass_host *host, std::string_view function);

/*
 * Runs body, the whole work of one exported function, and turns anything
 * it throws into a status: std::bad_alloc into out_of_memory, anything
 * else into internal. *err is cleared first, so it is NULL on success.
 * Accessors and free functions, which cannot throw, do without it.
 */
template<class Body>
int guard(pcipass_error **err, Body &&body) noexcept
{
	if (err)
		*err = nullptr;

	try {
		return body();
	} catch (const std::bad_alloc &) {
		return fail(err, make_error(errc::out_of_memory, "out of memory"));
	} catch (const std::exception &exception) {
		return fail(err, make_error(errc::internal,
					    std::string("internal error: ") + exception.what() +
						    "; please report it"));
	} catch (...) {
		return fail(err, make_error(errc::internal,
					    "internal error: unknown exception; please report it"));
	}
}

/* The status of a result: PCIPASS_OK, or the error stored in *err. */
template<class T>
int status_of(const result<T> &outcome, pcipass_error **err) noexcept
{
	if (outcome)
		return PCIPASS_OK;
	return fail(err, outcome.error());
}

} /* namespace pcipass::capi */
