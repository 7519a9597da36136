/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * pcipassctl --sim: loading the simulated kernel from a file and saving its
 * state back.
 */

#include <cerrno>
#include <fcntl.h>
#include <fstream>
#include <sys/file.h>
#include <unistd.h>

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

TEST_CASE("cmd_sim: the lock on a state file is exclusive")
{
	TempDir dir;
	const std::string file = (dir.path() / "host.json").string();

	auto held = pcipassctl::lock_simulated_file(file, std::chrono::milliseconds(1000));
	REQUIRE_MESSAGE(held, held.error().describe());

	auto waited = pcipassctl::lock_simulated_file(file, std::chrono::milliseconds(50));
	REQUIRE_FALSE(waited);
	CHECK(waited.error().code == pcipass::errc::lock_failed);
	CHECK(waited.error().path == file + ".lock");

	/* flock(2) locks belong to the open file, so a second open conflicts in one process too. */
	const std::string lock_path = file + ".lock";
	const int other = ::open(lock_path.c_str(), O_RDWR | O_CLOEXEC);
	REQUIRE(other >= 0);
	CHECK(::flock(other, LOCK_EX | LOCK_NB) == -1);
	CHECK(errno == EWOULDBLOCK);

	held.value().reset();
	CHECK(::flock(other, LOCK_EX | LOCK_NB) == 0);
	::close(other);

	std::filesystem::remove(lock_path);
	std::filesystem::create_symlink(dir.path() / "elsewhere", lock_path);
	auto linked = pcipassctl::lock_simulated_file(file, std::chrono::milliseconds(1000));
	REQUIRE_FALSE(linked);
	CHECK(linked.error().sys_errno == ELOOP);
	CHECK_FALSE(std::filesystem::exists(dir.path() / "elsewhere"));
}

TEST_CASE("cmd_sim: saving keeps the mode and rejects a symlink")
{
	TempDir dir;
	const std::string file = (dir.path() / "host.json").string();
	std::filesystem::copy_file(std::string(PCIPASS_SOURCE_DIR) + "/tests/sim/lab.json", file);
	std::filesystem::permissions(file, std::filesystem::perms(0640));

	auto host = lab();
	REQUIRE(pcipassctl::save_simulated_host(*host, file));
	CHECK(std::filesystem::status(file).permissions() == std::filesystem::perms(0640));
	CHECK(std::distance(std::filesystem::directory_iterator(dir.path()),
			    std::filesystem::directory_iterator()) == 1);

	const std::string link = (dir.path() / "link.json").string();
	std::filesystem::create_symlink(file, link);
	auto saved = pcipassctl::save_simulated_host(*host, link);
	REQUIRE_FALSE(saved);
	CHECK(saved.error().code == errc::invalid_argument);
	CHECK(saved.error().message == "the simulated state file '" + link +
					       "' is a symbolic link; pass the file it points to");
	CHECK(std::filesystem::is_symlink(link));

	auto opened = pcipassctl::open_simulated_host(link);
	REQUIRE_FALSE(opened);
	CHECK(opened.error().code == errc::invalid_argument);
}
