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
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <unistd.h>

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

/*
 * A directory for a target's files, on tmpfs where there is one, removed
 * with everything in it when the object goes. A function-local static one
 * goes at exit, after the inputs.
 */
class ScratchDirectory {
public:
	explicit ScratchDirectory(std::string_view prefix)
	{
		const std::filesystem::path tmp = std::filesystem::exists("/dev/shm")
							  ? std::filesystem::path("/dev/shm")
							  : std::filesystem::temp_directory_path();
		std::string pattern = (tmp / (std::string(prefix) + "-XXXXXX")).string();
		require(::mkdtemp(pattern.data()) != nullptr, "a scratch directory can be made");
		path_ = pattern;
	}

	~ScratchDirectory()
	{
		std::error_code ignored;
		std::filesystem::remove_all(path_, ignored);
	}

	ScratchDirectory(const ScratchDirectory &) = delete;
	ScratchDirectory &operator=(const ScratchDirectory &) = delete;

	const std::filesystem::path &path() const { return path_; }

private:
	std::filesystem::path path_;
};

} /* namespace fuzz */
