/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * pcipassctl's transaction commands, run as a program against the
 * simulated kernel and against a kernel-shaped tree in a temporary root.
 */

#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* A /bin/sh command line; its status and stdout with stderr. */
Output run_shell(const std::string &command)
{
	Output output;
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

Output pcipassctl(const std::string &arguments)
{
	return run_shell(std::string(PCIPASSCTL) + " " + arguments + " 2>&1");
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

TEST_CASE("pcipassctl: concurrent --sim runs lose no update")
{
	TempDir dir;
	const std::string file = copy_topology(dir, "gpu-workstation");
	/*
	 * Two shells bind and release a device each, ten times, and end bound.
	 * A lost save shows as a failed release (the bind vanished) or as a
	 * device that ends unbound.
	 */
	const std::string loop = "for i in 1 2 3 4 5 6 7 8 9 10; do " + std::string(PCIPASSCTL) +
				 " --sim " + file + " bind DEV --yes >/dev/null 2>&1 || exit 1; " +
				 PCIPASSCTL + " --sim " + file +
				 " release DEV --yes >/dev/null 2>&1 || exit 1; done; " + PCIPASSCTL +
				 " --sim " + file + " bind DEV --yes >/dev/null 2>&1";
	auto with_device = [&](const std::string &device) {
		std::string command = loop;
		for (size_t at; (at = command.find("DEV")) != std::string::npos;)
			command.replace(at, 3, device);
		return command;
	};
	const Output both = run_shell("(" + with_device("0000:00:14.0") + ") & first=$!; (" +
					     with_device("0000:00:16.0") + ") & second=$!; "
					     "wait $first; a=$?; wait $second; b=$?; echo $a $b");
	CHECK(both.text == "0 0\n");
	CHECK(driver_in(file, "0000:00:14.0") == "vfio-pci");
	CHECK(driver_in(file, "0000:00:16.0") == "vfio-pci");
	CHECK(driver_in(file, "0000:01:00.0") == "nouveau");
	CHECK(driver_in(file, "0000:00:17.0") != "vfio-pci");
	CHECK(std::filesystem::exists(file + ".lock"));

	/* Both runs left no temporary file behind. */
	size_t entries = 0;
	for (const auto &entry : std::filesystem::directory_iterator(dir.path()))
		entries += entry.path().filename().string().starts_with("gpu-workstation.json.") &&
			   entry.path().extension() != ".lock" && entry.path().extension() != ".state";
	CHECK(entries == 0);
}

TEST_CASE("pcipassctl: --sim keeps a stray .tmp and rejects a symlink")
{
	TempDir dir;
	const std::string file = copy_topology(dir, "gpu-workstation");
	std::ofstream(file + ".tmp") << "someone else's file";

	const Output bound = pcipassctl("--sim " + file + " bind 0000:00:14.0 --yes");
	CHECK_MESSAGE(bound.status == 0, bound.text);
	CHECK(driver_in(file, "0000:00:14.0") == "vfio-pci");
	std::ifstream stray(file + ".tmp");
	CHECK(std::string((std::istreambuf_iterator<char>(stray)), {}) == "someone else's file");

	const std::string link = dir.path() + "/link.json";
	std::filesystem::create_symlink(file, link);
	const Output rejected = pcipassctl("--sim " + link + " release 0000:00:14.0 --yes");
	CHECK(rejected.status == 1);
	CHECK(rejected.text == "pcipassctl: the simulated state file '" + link +
				       "' is a symbolic link; pass the file it points to [path '" +
				       link + "']\n");
	CHECK(std::filesystem::is_symlink(link));
	CHECK(driver_in(file, "0000:00:14.0") == "vfio-pci");
}

TEST_CASE("pcipassctl: reading a --sim FILE takes no lock")
{
	TempDir dir;
	const std::string file = copy_topology(dir, "gpu-workstation");

	for (const char *command : {"list", "show 0000:01:00.0", "snapshot"}) {
		CAPTURE(command);
		const Output read = pcipassctl("--sim " + file + " " + command);
		CHECK_MESSAGE(read.status == 0, read.text);
	}
	CHECK_FALSE(std::filesystem::exists(file + ".lock"));

	const Output planned = pcipassctl("--sim " + file + " plan bind 0000:00:14.0");
	CHECK_MESSAGE(planned.status == 0, planned.text);
	CHECK(std::filesystem::exists(file + ".lock"));
}

TEST_CASE("pcipassctl: unknown address is a usage error")
{
	TempDir dir;
	const std::string file = copy_topology(dir, "gpu-workstation");
	auto content = [&] {
		std::ifstream stream(file);
		return std::string((std::istreambuf_iterator<char>(stream)), {});
	};
	const std::string before = content();
	const std::string error = "pcipassctl: no PCI device at 0000:42:00.0; check the address with "
				  "'pcipassctl list' [device 0000:42:00.0] [step preflight]\n";

	const Output bound = pcipassctl("--sim " + file + " bind 0000:42:00.0 --yes");
	CHECK(bound.status == 2);
	CHECK(bound.text == "bind plan to vfio-pci for owner 'pcipassctl'\n"
			    "  rejected: not_found: no PCI device at 0000:42:00.0; check the address "
			    "with 'pcipassctl list'\n"
			    "  rejected: nothing will be written\n" + error);

	const Output released = pcipassctl("--sim " + file + " release 0000:42:00.0 --yes");
	CHECK(released.status == 2);
	CHECK(released.text.ends_with(error));

	const Output planned = pcipassctl("--sim " + file + " plan release 0000:42:00.0");
	CHECK(planned.status == 2);
	CHECK(planned.text.find("rejected: not_found: no PCI device at 0000:42:00.0") != std::string::npos);

	const Output show = pcipassctl("--sim " + file + " show 0000:42:00.0");
	CHECK(show.status == 2);
	CHECK(show.text == "pcipassctl: no PCI function 0000:42:00.0; run 'pcipassctl list' for the "
			    "addresses\n");

	const Output malformed = pcipassctl("--sim " + file + " bind 42:00 --yes");
	CHECK(malformed.status == 2);
	CHECK(malformed.text == "pcipassctl: invalid PCI address '42:00': expected DDDD:BB:DD.F in hex, "
				"device at most 1f, function at most 7\n");

	/* With an expected identity preflight reports a mismatch, but no device is there either. */
	const Output identified = pcipassctl("--sim " + file + " bind 0000:42:00.0=10de:1f02 --yes");
	CHECK(identified.status == 2);
	CHECK(identified.text.ends_with("pcipassctl: no PCI device at 0000:42:00.0; a device with "
					"10de:1f02 is now at 0000:01:00.0 [device 0000:42:00.0] "
					"[step preflight]\n"));

	/* A device that exists but is in use fails with 1, not the usage status. */
	const Output in_use = pcipassctl("--sim " + file + " bind 0000:00:17.0 --yes");
	CHECK(in_use.status == 1);

	CHECK(content() == before);
	CHECK_FALSE(std::filesystem::exists(file + ".state/journal"));
}

TEST_CASE("pcipassctl: objects usage errors exit 2")
{
	TempDir dir;
	const std::string file = copy_topology(dir, "gpu-workstation");
	const std::string invalid = "invalid PCI address 'bogus': expected DDDD:BB:DD.F in hex, "
				    "device at most 1f, function at most 7";

	const Output malformed = pcipassctl("--sim " + file + " objects bogus --node n --uid u");
	CHECK(malformed.status == 2);
	CHECK(malformed.text == "pcipassctl: " + invalid + "\n");

	const Output sibling = pcipassctl("--sim " + file +
					  " objects 0000:01:00.0 --node n --uid u --sibling-uid bogus=1");
	CHECK(sibling.status == 2);
	CHECK(sibling.text == "pcipassctl: " + invalid + "\n");

	const Output unsplit = pcipassctl("--sim " + file +
					  " objects 0000:01:00.0 --node n --uid u --sibling-uid bogus");
	CHECK(unsplit.status == 2);
	CHECK(unsplit.text.starts_with("pcipassctl: --sibling-uid bogus is invalid: expected ADDR=UID"));

	const Output absent = pcipassctl("--sim " + file + " objects 0000:42:00.0 --node n --uid u");
	CHECK(absent.status == 2);
	CHECK(absent.text == "pcipassctl: no PCI function at 0000:42:00.0; check the address with "
			     "'pcipassctl list' [device 0000:42:00.0]\n");

	/* A bridge exists, so it fails with 1 rather than the usage status. */
	const Output bridge = pcipassctl("--sim " + file + " objects 0000:00:01.0 --node n --uid u");
	CHECK(bridge.status == 1);
}

TEST_CASE("pcipassctl: --sim lock wait honours --lock-timeout")
{
	TempDir dir;
	const std::string file = copy_topology(dir, "gpu-workstation");

	/* This process holds the lock; the child opens FILE.lock itself, so the locks conflict. */
	const int holder = ::open((file + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	REQUIRE(holder >= 0);
	REQUIRE(::flock(holder, LOCK_EX) == 0);

	for (const char *command : {"bind 0000:00:14.0 --yes", "plan bind 0000:00:14.0"}) {
		CAPTURE(command);
		const auto started = std::chrono::steady_clock::now();
		const Output blocked =
			pcipassctl("--sim " + file + " " + command + " --lock-timeout 200");
		const auto waited = std::chrono::steady_clock::now() - started;

		CHECK(blocked.text == "pcipassctl: the lock '" + file +
					      ".lock' of the simulated state was held by another process "
					      "for more than 200 ms; wait for that run to finish, or raise "
					      "--lock-timeout [path '" + file + ".lock']\n");
		CHECK(blocked.status == 1);
		CHECK(waited < std::chrono::seconds(10));
		CHECK(driver_in(file, "0000:00:14.0") == "xhci_hcd");
	}

	/* Once the holder lets go the same command goes through. */
	::close(holder);
	const Output bound = pcipassctl("--sim " + file + " bind 0000:00:14.0 --yes --lock-timeout 200");
	CHECK_MESSAGE(bound.status == 0, bound.text);
	CHECK(driver_in(file, "0000:00:14.0") == "vfio-pci");
}
