/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 */

#include <cstdlib>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "log.hpp"

using namespace pcipass;

namespace {

struct Line {
	LogLevel level;
	LogCategory category;
	std::string message;
};

} /* namespace */

TEST_CASE("log: silent without a sink")
{
	set_log_sink({});
	CHECK_FALSE(detail::log_enabled(LogCategory::txn, LogLevel::error));
}

TEST_CASE("log: sink receives lines at or above its level")
{
	std::vector<Line> lines;
	unsetenv("PCIPASS_LOG");
	set_log_sink([&](LogLevel level, LogCategory category,
			 std::string_view message) { lines.push_back({level, category, std::string(message)}); },
		     LogLevel::info);

	PCIPASS_LOG(txn, debug, "hidden");
	PCIPASS_LOG(txn, info, "writing 'vfio-pci' to 'driver_override'");
	PCIPASS_LOG(graph, error, "shown");

	REQUIRE(lines.size() == 2);
	CHECK(lines[0].category == LogCategory::txn);
	CHECK(lines[0].message == "writing 'vfio-pci' to 'driver_override'");
	CHECK(lines[1].level == LogLevel::error);
	set_log_sink({});
}

TEST_CASE("log: PCIPASS_LOG sets levels per category")
{
	std::vector<Line> lines;
	setenv("PCIPASS_LOG", "Txn:debug, Graph:error,Bogus:info,Plan:loud", 1);
	set_log_sink([&](LogLevel level, LogCategory category,
			 std::string_view message) { lines.push_back({level, category, std::string(message)}); },
		     LogLevel::warning);
	unsetenv("PCIPASS_LOG");

	CHECK(detail::log_enabled(LogCategory::txn, LogLevel::debug));
	CHECK_FALSE(detail::log_enabled(LogCategory::graph, LogLevel::warning));
	CHECK(detail::log_enabled(LogCategory::plan, LogLevel::warning));
	CHECK_FALSE(detail::log_enabled(LogCategory::plan, LogLevel::info));
	CHECK(log_category_name(LogCategory::capi) == "Capi");
	set_log_sink({});
}
