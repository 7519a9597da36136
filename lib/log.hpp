/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Logging inside the library. Messages above debug are rare: failures are
 * returned to the caller, not printed.
 */

#pragma once

#include <string>

#include <pcipass/log.hpp>

namespace pcipass::detail {

/* Whether a message at level in category would reach the sink; cheap, for guarding formatting. */
bool log_enabled(LogCategory category, LogLevel level) noexcept;

/* Sends one line to the sink, if one is installed and the level passes. */
void log(LogCategory category, LogLevel level, const std::string &message) noexcept;

} /* namespace pcipass::detail */

/* Formats the message only when it will be delivered. */
#define PCIPASS_LOG(category, level, message)                                                    \
	do {                                                                                     \
		if (::pcipass::detail::log_enabled(::pcipass::LogCategory::category,              \
						   ::pcipass::LogLevel::level))                   \
			::pcipass::detail::log(::pcipass::LogCategory::category,                  \
					       ::pcipass::LogLevel::level, (message));            \
	} while (0)
