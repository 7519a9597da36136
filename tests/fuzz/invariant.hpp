/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The check every fuzz target uses for its invariants: a broken invariant
 * prints what broke and aborts, so libFuzzer saves the input as a crash.
 */

#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <pcipass/error.hpp>

namespace fuzz {

inline void require(bool holds, std::string_view invariant)
{
	if (holds)
		return;
	std::fprintf(stderr, "fuzz invariant broken: %.*s\n", static_cast<int>(invariant.size()),
		     invariant.data());
	std::abort();
}

/* Requires a failed result with the expected code and a non-empty message. */
template<class Result>
void require_error(const Result &result, pcipass::errc code, std::string_view invariant)
{
	require(!result.has_value(), invariant);
	if (result.error().code != code || result.error().message.empty()) {
		std::fprintf(stderr, "unexpected error: %s\n", result.error().describe().c_str());
		require(false, invariant);
	}
}

} /* namespace fuzz */
