/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Library logging: silent unless the application installs a sink.
 */

#pragma once

#include <functional>
#include <string_view>

namespace pcipass {

/* Values match the C ABI's PCIPASS_LOG_* constants. */
enum class LogLevel : int {
	debug = 1,
	info = 2,
	warning = 3,
	error = 4,
};

/* The layer a message comes from, tunable one by one through PCIPASS_LOG. */
enum class LogCategory : int {
	host = 1,
	graph = 2,
	plan = 3,
	txn = 4,
	claim = 5,
	watch = 6,
	capi = 7,
	sim = 8,
};

/* "Host", "Graph", "Plan", "Txn", "Claim", "Watch", "Capi", "Sim" */
std::string_view log_category_name(LogCategory category);
std::string_view log_level_name(LogLevel level);

/*
 * Receives finished log lines. Called on the thread that logs; it must not
 * call back into pcipass. The message is valid only during the call.
 */
using LogSink = std::function<void(LogLevel level, LogCategory category, std::string_view message)>;

/*
 * Installs the process-wide sink (an empty function removes it) and the
 * lowest level it receives. Thread-safe. Without a sink pcipass prints
 * nothing. PCIPASS_LOG ("Txn:debug,Graph:info" or "debug" for all
 * categories) overrides the level per category; it is read with
 * secure_getenv, so set-user-ID programs ignore it.
 */
void set_log_sink(LogSink sink, LogLevel level = LogLevel::info);

} /* namespace pcipass */
