/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * pcipassctl's transaction commands, run as a program against the
 * simulated kernel and against a kernel-shaped tree in a temporary root.
 */

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include "harness.hpp"

using namespace pcipass;
using namespace txntest;
namespace json = boost::json;

namespace {

struct Output {
	int status = -1;
	std::string text; /* stdout and stderr */
};

Output pcipassctl(const std::string &arguments)
{
	Output output;
	const std::string command = std::string(PCIPASSCTL) + " " + arguments + " 2>&1";
	FILE *pipe = ::popen(command.c_str(), "r");
	REQUIRE(pipe);
	char buffer[4096];
	size_t count;
	while ((count = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0)
		output.text.append(buffer, count);
	const int status = ::pclose(pipe);
	output.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	return output;
}

/* Copies a catalogue topology into dir and returns the copy's path. */
std::string copy_topology(const TempDir &dir, const std::string &name)
{
	const std::string file = dir.path() + "/" + name + ".json";
	std::filesystem::copy_file(std::string(PCIPASS_SOURCE_DIR) + "/tests/topologies/" + name + ".json",
				   file);
	return file;
}

std::string driver_in(const std::string &file, const std::string &device)
{
	auto topology = testing::load_topology(file);
	REQUIRE(topology);
	const auto *found = topology.value().find(address(device));
	REQUIRE(found);
	return found->driver;
}

} /* namespace */

TEST_CASE("pcipassctl: bind and release the simulated GPU workstation")
{
	TempDir dir;
	const std::string file = copy_topology(dir, "gpu-workstation");

	const Output bound = pcipassctl("--sim " + file + " bind 0000:01:00.0 --yes");
	CHECK_MESSAGE(bound.status == 0, bound.text);
	CHECK(bound.text.find("step 11: bind 0000:01:00.3 to vfio-pci ... done") != std::string::npos);
	CHECK(bound.text.find("bind: committed") != std::string::npos);
	CHECK(bound.text.find("VFIO group node: /dev/vfio/7") != std::string::npos);
	for (const char *function : {"0000:01:00.0", "0000:01:00.1", "0000:01:00.2", "0000:01:00.3"})
		CHECK(driver_in(file, function) == "vfio-pci");
	CHECK(std::filesystem::exists(file + ".state/journal"));

	const Output released = pcipassctl("--sim " + file + " release 0000:01:00.0 --yes");
	CHECK_MESSAGE(released.status == 0, released.text);
	CHECK(released.text.find("release: committed") != std::string::npos);
	CHECK(driver_in(file, "0000:01:00.0") == "nouveau");
	CHECK(driver_in(file, "0000:01:00.1") == "snd_hda_intel");
	CHECK(driver_in(file, "0000:01:00.2") == "xhci_hcd");
	CHECK(driver_in(file, "0000:01:00.3") == "");
}

TEST_CASE("pcipassctl: JSON report, refused plan, reconcile and recover")
{
	TempDir dir;
	const std::string file = copy_topology(dir, "gpu-workstation");
	const std::string state = "--state-dir " + dir.path() + "/state";

	const Output refused = pcipassctl("--sim " + file + " " + state +
					  " plan bind 0000:00:17.0 --json");
	CHECK(refused.status == 1);
	const json::object plan = json::parse(refused.text).as_object();
	CHECK(plan.at("schema").as_string() == "pcipass.plan/v1");
	CHECK(plan.at("blocked").as_bool());
	CHECK(plan.at("findings").as_array()[0].at("code").as_string() == "device_in_use");

	const Output bound = pcipassctl("--sim " + file + " " + state +
					" bind 0000:00:14.0=8086:a36d --json --yes");
	CHECK_MESSAGE(bound.status == 0, bound.text);
	const json::object report = json::parse(bound.text).as_object();
	CHECK(report.at("schema").as_string() == "pcipass.result/v1");
	CHECK(report.at("outcome").as_string() == "committed");
	CHECK(report.at("owner").as_string() == "pcipassctl");

	const std::string desired = dir.path() + "/desired.json";
	std::ofstream(desired) << R"({"desired": [{"device": "0000:00:14.0", "driver": "vfio-pci", "owner": "pcipassctl"}]})";
	const Output same = pcipassctl("--sim " + file + " " + state + " reconcile " + desired);
	CHECK_MESSAGE(same.status == 0, same.text);
	CHECK(same.text.find("reconcile: no_change, 0 writes") != std::string::npos);

	std::ofstream(desired, std::ios::trunc) << R"([{"device": "0000:00:14.0", "driver": null, "owner": "pcipassctl"}])";
	const Output released = pcipassctl("--sim " + file + " " + state + " reconcile " + desired);
	CHECK_MESSAGE(released.status == 0, released.text);
	CHECK(driver_in(file, "0000:00:14.0") == "xhci_hcd");

	const Output recovered = pcipassctl("--sim " + file + " " + state + " recover");
	CHECK(recovered.status == 0);
	CHECK(recovered.text.find("recover: no_change") != std::string::npos);
	CHECK(recovered.text.find(", 0 writes") != std::string::npos);

	const Output mismatch = pcipassctl("--sim " + file + " " + state + " bind 0000:00:14.0=10de:1f02 --yes");
	CHECK(mismatch.status == 1);
	CHECK(mismatch.text.find("not the expected 10de:1f02") != std::string::npos);
}

TEST_CASE("pcipassctl: a live root asks first and refuses without an answer")
{
	TempDir dir;
	const std::string root = dir.path() + "/root";
	REQUIRE(testing::materialize(catalogue("gpu-workstation"), root));
	const std::string override_file = root + "/sys/bus/pci/devices/0000:01:00.0/driver_override";
	std::ifstream before_stream(override_file);
	std::string before((std::istreambuf_iterator<char>(before_stream)), {});

	const Output refused = pcipassctl("--root " + root + " --state-dir " + dir.path() +
					  "/state bind 0000:01:00.0 < /dev/null");
	CHECK(refused.status == 1);
	CHECK(refused.text.find("? [y/N]") != std::string::npos);
	CHECK(refused.text.find("not confirmed; nothing was changed") != std::string::npos);

	std::ifstream after_stream(override_file);
	std::string after((std::istreambuf_iterator<char>(after_stream)), {});
	CHECK(after == before);
	CHECK_FALSE(std::filesystem::exists(dir.path() + "/state/journal"));
}

TEST_CASE("pcipassctl: mistyped reconcile entries and owners change nothing")
{
	TempDir dir;
	const std::string file = copy_topology(dir, "gpu-workstation");
	const std::string state = "--state-dir " + dir.path() + "/state";

	const Output bound = pcipassctl("--sim " + file + " " + state + " bind 0000:00:14.0 --owner a --yes");
	REQUIRE_MESSAGE(bound.status == 0, bound.text);

	/* Each of these once read as a release of 00:14.0. */
	const std::string desired = dir.path() + "/desired.json";
	for (const char *entry : {R"({"device": "0000:00:14.0", "driver": ["vfio-pci"], "owner": "a"})",
				  R"({"device": "0000:00:14.0", "driver": 5, "owner": "a"})",
				  R"({"device": "0000:00:14.0", "driver": "vfio-pci", "owner": 7})",
				  R"({"device": "0000:00:14.0", "driver": "vfio-pci", "owner": "a", "extra": 1})"}) {
		CAPTURE(std::string(entry));
		std::ofstream(desired, std::ios::trunc) << "[" << entry << "]";
		const Output refused = pcipassctl("--sim " + file + " " + state + " reconcile " + desired);
		CHECK(refused.status == 1);
		CHECK_MESSAGE(refused.text.find("'" + desired + "': ") != std::string::npos, refused.text);
		CHECK(refused.text.find("desired[0]") != std::string::npos);
		CHECK(refused.text.find("nothing was changed") != std::string::npos);
		CHECK(driver_in(file, "0000:00:14.0") == "vfio-pci");
	}

	/* Quoted for /bin/sh: an empty owner and one with a newline in it. */
	for (const std::string owner : {"''", "'a\nbind: committed'"}) {
		CAPTURE(owner);
		const Output refused = pcipassctl("--sim " + file + " " + state +
						  " bind 0000:00:16.0 --yes --owner " + owner);
		CHECK(refused.status == 1);
		CHECK_MESSAGE(refused.text.find("invalid owner") != std::string::npos, refused.text);
		CHECK(driver_in(file, "0000:00:16.0") != "vfio-pci");
	}
}
