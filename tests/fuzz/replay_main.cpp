/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Runs a fuzz target over its checked-in corpus without libFuzzer, so that
 * every input in the corpus, including each crash a fuzzing run found, is a
 * regression test in the ordinary build, under the sanitizers and under
 * valgrind. A target reports a broken invariant by aborting.
 * Usage: replay_NAME FILE_OR_DIRECTORY...
 */

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>
#include <vector>

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace {

bool replay(const fs::path &input)
{
	std::ifstream file(input, std::ios::binary);
	if (!file) {
		std::fprintf(stderr, "%s: cannot open the corpus input; check that it exists and is readable\n",
			     input.c_str());
		return false;
	}
	const std::vector<char> bytes{std::istreambuf_iterator<char>(file), {}};

	/* Announced first, so that an abort inside the target names its input. */
	std::fprintf(stderr, "replaying %s (%zu bytes)\n", input.c_str(), bytes.size());
	LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size());
	return true;
}

} /* namespace */

int main(int argc, char **argv)
{
	if (argc < 2) {
		std::fprintf(stderr, "usage: %s FILE_OR_DIRECTORY...\n", argv[0]);
		return 2;
	}

	std::vector<fs::path> inputs;
	for (int i = 1; i < argc; i++) {
		std::error_code error;
		if (!fs::is_directory(argv[i], error)) {
			inputs.emplace_back(argv[i]);
			continue;
		}
		for (const fs::directory_entry &entry : fs::directory_iterator(argv[i], error))
			if (entry.is_regular_file())
				inputs.push_back(entry.path());
		if (error) {
			std::fprintf(stderr, "%s: cannot list the corpus: %s\n", argv[i],
				     error.message().c_str());
			return 1;
		}
	}
	/* A fixed order, so that two runs replay the same sequence. */
	std::sort(inputs.begin(), inputs.end());

	if (inputs.empty()) {
		std::fprintf(stderr, "no corpus inputs in the paths given; a target needs at least one seed\n");
		return 1;
	}
	for (const fs::path &input : inputs)
		if (!replay(input))
			return 1;
	std::printf("%zu inputs replayed\n", inputs.size());
	return 0;
}
