/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Writes the sysfs tree of a topology, for tests written in languages
 * without access to the C++ testing API.
 * Usage: make_tree TOPOLOGY DIR
 */

#include <iostream>

#include <pcipass/testing/topology.hpp>

int main(int argc, char **argv)
{
	if (argc != 3) {
		std::cerr << "usage: make_tree TOPOLOGY DIR\n";
		return 2;
	}

	auto topology = pcipass::testing::load_topology(argv[1]);
	if (!topology) {
		std::cerr << "make_tree: " << topology.error().describe() << "\n";
		return 1;
	}

	auto written = pcipass::testing::materialize(topology.value(), argv[2]);
	if (!written) {
		std::cerr << "make_tree: " << written.error().describe() << "\n";
		return 1;
	}

	return 0;
}
