/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The process-wide log sink and the PCIPASS_LOG levels.
 */

#include "log.hpp"

#include <array>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string_view>

namespace pcipass {

namespace {

constexpr size_t category_count = 9; /* indexed by LogCategory values 1..8 */

struct LogState {
	std::mutex mutex;
	std::shared_ptr<const LogSink> sink;
	/* Lowest level per category; 0 means "no sink installed". */
	std::array<std::atomic<int>, category_count> levels{};
};

LogState &state()
{
	static LogState instance;
	return instance;
}

std::string_view trim(std::string_view text)
{
	while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
		text.remove_prefix(1);
	while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
		text.remove_suffix(1);
	return text;
}

int parse_level(std::string_view name)
{
	for (LogLevel level : {LogLevel::debug, LogLevel::info, LogLevel::warning, LogLevel::error})
		if (name == log_level_name(level))
			return static_cast<int>(level);
	return 0;
}

/* Applies PCIPASS_LOG entries ("Txn:debug,Graph:info" or a bare level) over the defaults. */
void apply_environment(std::array<int, category_count> &levels)
{
	const char *value = secure_getenv("PCIPASS_LOG");
	if (value == nullptr)
		return;

	std::string_view spec = value;
	while (!spec.empty()) {
		const size_t comma = spec.find(',');
		const std::string_view entry = trim(spec.substr(0, comma));
		spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);

		const size_t colon = entry.find(':');
		if (colon == std::string_view::npos) {
			const int level = parse_level(entry);
			if (level != 0)
				levels.fill(level);
			continue;
		}

		const std::string_view category = trim(entry.substr(0, colon));
		const int level = parse_level(trim(entry.substr(colon + 1)));
		for (int i = 1; i < static_cast<int>(category_count); ++i)
			if (level != 0 && category == log_category_name(static_cast<LogCategory>(i)))
				levels[i] = level;
	}
}

} /* namespace */

std::string_view log_category_name(LogCategory category)
{
	switch (category) {
	case LogCategory::host: return "Host";
	case LogCategory::graph: return "Graph";
	case LogCategory::plan: return "Plan";
	case LogCategory::txn: return "Txn";
	case LogCategory::claim: return "Claim";
	case LogCategory::watch: return "Watch";
	case LogCategory::capi: return "Capi";
	case LogCategory::sim: return "Sim";
	}
	return "Unknown";
}

std::string_view log_level_name(LogLevel level)
{
	switch (level) {
	case LogLevel::debug: return "debug";
	case LogLevel::info: return "info";
	case LogLevel::warning: return "warning";
	case LogLevel::error: return "error";
	}
	return "unknown";
}

void set_log_sink(LogSink sink, LogLevel level)
{
	LogState &log = state();
	std::lock_guard lock(log.mutex);

	std::array<int, category_count> levels;
	levels.fill(sink ? static_cast<int>(level) : 0);
	if (sink)
		apply_environment(levels);

	log.sink = sink ? std::make_shared<const LogSink>(std::move(sink)) : nullptr;
	for (size_t i = 0; i < category_count; ++i)
		log.levels[i].store(levels[i], std::memory_order_relaxed);
}

namespace detail {

bool log_enabled(LogCategory category, LogLevel level) noexcept
{
	const size_t index = static_cast<size_t>(category);
	if (index >= category_count)
		return false;
	const int lowest = state().levels[index].load(std::memory_order_relaxed);
	return lowest != 0 && static_cast<int>(level) >= lowest;
}

void log(LogCategory category, LogLevel level, const std::string &message) noexcept
{
	if (!log_enabled(category, level))
		return;

	std::shared_ptr<const LogSink> sink;
	{
		std::lock_guard lock(state().mutex);
		sink = state().sink;
	}
	if (!sink)
		return;

	/* A sink that throws must not take the library down with it. */
	try {
		(*sink)(level, category, message);
	} catch (...) {
	}
}

} /* namespace detail */

} /* namespace pcipass */
