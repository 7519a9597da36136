/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * pcipassctl --sim: loading the simulated kernel from a file and saving its
 * state back.
 */

#include <cerrno>
#include <fstream>

#include "commands.hpp"
#include "sim_fixture.hpp"

using namespace sim_test;

TEST_CASE("cmd_sim: a saved state loads back equal")
{
	TempDir dir;
	const std::string file = (dir.path() / "host.json").string();
	std::filesystem::copy_file(std::string(PCIPASS_SOURCE_DIR) + "/tests/sim/lab.json", file);

	auto opened = pcipassctl::open_simulated_host(file);
	REQUIRE_MESSAGE(opened, opened.error().describe());
	auto &host = dynamic_cast<sim::Host &>(*opened.value());
	move_to(host, "0000:03:00.0", "vfio-pci");
	REQUIRE(write_errno(host, attribute("0000:06:00.0", "sriov_numvfs"), "2") == 0);
	REQUIRE(pcipassctl::save_simulated_host(host, file));
	CHECK_FALSE(std::filesystem::exists(file + ".tmp"));

	auto reopened = pcipassctl::open_simulated_host(file);
	REQUIRE_MESSAGE(reopened, reopened.error().describe());
	CHECK(dynamic_cast<sim::Host &>(*reopened.value()).state() == host.state());
	CHECK(driver_of(dynamic_cast<sim::Host &>(*reopened.value()), "0000:03:00.0") == "vfio-pci");
}

TEST_CASE("cmd_sim: errors name the file")
{
	auto missing = pcipassctl::open_simulated_host("/nonexistent/host.json");
	REQUIRE_FALSE(missing);
	CHECK(missing.error().describe().find("/nonexistent/host.json") != std::string::npos);

	auto host = lab();
	auto saved = pcipassctl::save_simulated_host(*host, "/nonexistent/dir/host.json");
	REQUIRE_FALSE(saved);
	CHECK(saved.error().sys_errno == ENOENT);

	auto live = LiveHost::open("/");
	REQUIRE(live);
	auto rejected = pcipassctl::save_simulated_host(*live.value(), "/nonexistent/host.json");
	REQUIRE_FALSE(rejected);
	CHECK(rejected.error().code == errc::internal);
}
