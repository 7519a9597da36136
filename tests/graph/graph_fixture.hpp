/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Materialized topologies and the graph each one must scan to, shared by
 * the graph tests.
 */

#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <pcipass/graph.hpp>
#include <pcipass/host.hpp>
#include <pcipass/testing/topology.hpp>

namespace graph_test {

namespace fs = std::filesystem;

/*
 * A fresh directory, removed with its content. In memory (/dev/shm) when
 * asked and available: a tree of 110,000 files takes minutes to delete
 * from a busy disk and seconds from tmpfs.
 */
class TempDir
{
public:
	explicit TempDir(bool in_memory = false);
	~TempDir();
	TempDir(const TempDir &) = delete;
	TempDir &operator=(const TempDir &) = delete;

	const fs::path &path() const { return path_; }

private:
	fs::path path_;
};

/* The checked-in catalogue files (the JSON files in tests/topologies), sorted. */
std::vector<std::string> catalogue_files();

/* The 4,096-function host the build generates. */
std::string large_host_file();

pcipass::testing::Topology load(const std::string &file);
pcipass::testing::Topology load_catalogue(const std::string &name);

/* A topology written out under a temporary root, with a LiveHost on it. */
class MaterializedHost
{
public:
	explicit MaterializedHost(const pcipass::testing::Topology &topology, bool in_memory = false);

	const fs::path &root() const { return root_; }
	pcipass::LiveHost &host() { return *host_; }

	/* The scan with names off, which the test requires to succeed. */
	pcipass::DeviceGraph scan(const pcipass::ScanOptions &options = no_names());

	static pcipass::ScanOptions no_names();

private:
	TempDir directory_;
	fs::path root_;
	std::unique_ptr<pcipass::LiveHost> host_;
};

/* Every device, group and host fact that a scan of the materialized topology must return. */
struct ExpectedGraph {
	std::vector<pcipass::Device> devices;
	std::vector<pcipass::IommuGroup> groups;
	pcipass::HostFacts host;
};

ExpectedGraph expected_graph(const pcipass::testing::Topology &topology,
			     const pcipass::ScanOptions &options = MaterializedHost::no_names());

/* Checks every field of every device, group and host fact, naming the first difference. */
void check_graph(const pcipass::DeviceGraph &graph, const ExpectedGraph &expected);

/* Checks every field of one device. */
void check_device(const pcipass::Device &actual, const pcipass::Device &expected);

/* The output of a command run through the shell; the test fails when it cannot run. */
std::string run_command(const std::string &command);

} /* namespace graph_test */
