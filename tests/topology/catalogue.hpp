/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The topology catalogue and temporary roots, shared by the topology tests.
 */

#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

#include <doctest/doctest.h>

#include <pcipass/testing/topology.hpp>

namespace topology_test {

namespace fs = std::filesystem;

/* The checked-in hosts, by file name without ".json". */
inline const std::vector<std::string> catalogue_names = {
	"chipset",     "gpu-boot-vga",    "gpu-workstation", "iommu-off",
	"no-vfio",     "nvme-mounted",    "pcie-pci-bridge", "sriov-nic",
};

inline std::string catalogue_file(const std::string &name)
{
	return std::string(PCIPASS_SOURCE_DIR) + "/tests/topologies/" + name + ".json";
}

/* The 4,096-function host, generated at build time into the build directory. */
inline std::string large_host_file()
{
	const char *build = std::getenv("PCIPASS_BUILD_DIR");
	return std::string(build ? build : ".") + "/tests/topologies/sriov-4096.json";
}

inline pcipass::testing::Topology load(const std::string &file)
{
	auto topology = pcipass::testing::load_topology(file);
	REQUIRE_MESSAGE(topology, "cannot load " << file << ": "
						 << (topology ? "" : topology.error().message));
	return std::move(topology).value();
}

inline pcipass::testing::Topology load_catalogue(const std::string &name)
{
	return load(catalogue_file(name));
}

/*
 * Where materialized trees go: /dev/shm when it is there, because creating
 * a file on the ext4 root of the development and CI machines costs about a
 * millisecond of system time, and a tree has up to 110,000 of them.
 */
inline fs::path scratch_directory()
{
	if (::access("/dev/shm", W_OK) == 0 && fs::is_directory("/dev/shm"))
		return "/dev/shm";
	return fs::temp_directory_path();
}

/* A fresh directory for scratch trees, removed with everything in it. */
class TempDir
{
public:
	TempDir()
	{
		std::string pattern = (scratch_directory() / "pcipass-topology-XXXXXX").string();
		REQUIRE(mkdtemp(pattern.data()) != nullptr);
		path_ = pattern;
	}
	~TempDir()
	{
		std::error_code ignored;
		fs::remove_all(path_, ignored);
	}
	TempDir(const TempDir &) = delete;
	TempDir &operator=(const TempDir &) = delete;

	const fs::path &path() const { return path_; }
	/* A root that does not exist yet, for materialize() to create. */
	std::string root(const std::string &name = "root") const { return (path_ / name).string(); }

private:
	fs::path path_;
};

} /* namespace topology_test */
