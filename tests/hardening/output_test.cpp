/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * pcipassctl output of hostile strings read from a tree under --root:
 * text output keeps one line per row, and commands that print JSON
 * documents keep them valid without --json.
 */

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include "fixture.hpp"

using namespace hardening;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> lines_of(const std::string &text)
{
	std::vector<std::string> lines;
	size_t start = 0;
	for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
		lines.push_back(text.substr(start, end - start));
	if (start < text.size())
		lines.push_back(text.substr(start));
	return lines;
}

/* The line that starts with prefix after its indentation, or "" when none does. */
std::string line_starting(const std::string &text, const std::string &prefix)
{
	for (const std::string &line : lines_of(text)) {
		const size_t first = line.find_first_not_of(' ');
		if (first != std::string::npos && line.compare(first, prefix.size(), prefix) == 0)
			return line;
	}
	return "";
}

/* A regular file named name beneath directory whose content is content. */
std::string find_file(const std::string &directory, const std::string &name, const std::string &content)
{
	for (const auto &entry : fs::recursive_directory_iterator(directory)) {
		if (!entry.is_regular_file() || entry.path().filename() != name)
			continue;
		std::ifstream stream(entry.path());
		if (std::string((std::istreambuf_iterator<char>(stream)), {}) == content)
			return entry.path().string();
	}
	return "";
}

const boost::json::value *find_device(const boost::json::value &topology, const std::string &address)
{
	for (const boost::json::value &device : topology.at("devices").as_array())
		if (device.at("address") == address.c_str())
			return &device;
	return nullptr;
}

} /* namespace */

TEST_CASE("output: JSON commands stay valid without --json")
{
	Sandbox sandbox("gpu-workstation");
	rename_driver(sandbox, "snd_hda_intel", "snd\x7f\xff", "0000:01:00.1");
	/* DEL is valid in JSON strings and stays; the invalid byte becomes U+FFFD. */
	const std::string expected = "snd\x7f\xef\xbf\xbd";

	const ProgramOutput snapshot = run_program({PCIPASSCTL, "--root", sandbox.root(), "snapshot"});
	CHECK(snapshot.status == 0);
	CHECK(snapshot.out.find("\\x") == std::string::npos);
	boost::system::error_code ec;
	const boost::json::value topology = boost::json::parse(snapshot.out, ec);
	REQUIRE_MESSAGE(!ec, snapshot.out);
	const boost::json::value *audio = find_device(topology, "0000:01:00.1");
	REQUIRE(audio);
	CHECK(audio->at("driver") == expected.c_str());

	const ProgramOutput objects =
		run_program({PCIPASSCTL, "--root", sandbox.root(), "objects", "0000:01:00.1", "--node",
			     "node-1", "--uid", "uid-1", "--pcidevice"});
	CHECK(objects.status == 0);
	CHECK(objects.out.find("\\x") == std::string::npos);

	/* JSON documents separated by "---" lines, as `kubectl apply -f -` reads them. */
	std::vector<boost::json::value> documents;
	size_t start = 0;
	for (size_t end = 0; end != std::string::npos; start = end + 4) {
		end = objects.out.find("---\n", start);
		const std::string text = objects.out.substr(start, end == std::string::npos ? end : end - start);
		documents.push_back(boost::json::parse(text, ec));
		REQUIRE_MESSAGE(!ec, text);
	}
	REQUIRE(documents.size() == 2);
	CHECK(documents[0].at("kind") == "PCIDevice");
	CHECK(documents[0].at("status").at("kernelDriverInUse") == expected.c_str());
	CHECK(documents[1].at("kind") == "PCIDeviceClaim");
}

TEST_CASE("output: USB product cannot forge show lines")
{
	Sandbox sandbox("gpu-workstation");
	const std::vector<std::string> argv = {PCIPASSCTL, "--root", sandbox.root(), "show",
					       "0000:00:14.0"};
	const ProgramOutput before = run_program(argv);
	REQUIRE(before.status == 0);

	const std::string product = find_file(sandbox.device_dir("0000:00:14.0"), "product",
					      "USB Keyboard\n");
	REQUIRE(!product.empty());
	/* A literal backslash sequence must not pass for an escape that pcipassctl wrote. */
	write_file(product, "Keyboard\n  0000:00:14.0  is safe: claimable\\x1b\t\n");

	const ProgramOutput after = run_program(argv);
	CHECK(after.status == 0);
	CHECK(lines_of(after.out).size() == lines_of(before.out).size());
	CHECK(line_starting(before.out, "consumer") ==
	      "  consumer         usb_device 1-6 (046d:c31c USB Keyboard)");
	CHECK(line_starting(after.out, "consumer") ==
	      "  consumer         usb_device 1-6 (046d:c31c Keyboard\\n  0000:00:14.0  is safe: "
	      "claimable\\\\x1b\\t)");
	CHECK(line_starting(after.out, "0000:00:14.0  is safe") == "");
	CHECK(after.out.find('\t') == std::string::npos);
}

TEST_CASE("output: driver name cannot forge rows")
{
	Sandbox sandbox("gpu-workstation");
	const std::vector<std::vector<std::string>> commands = {
		{PCIPASSCTL, "--root", sandbox.root(), "list"},
		{PCIPASSCTL, "--root", sandbox.root(), "list", "--tree"},
	};
	std::vector<ProgramOutput> before;
	for (const auto &argv : commands) {
		before.push_back(run_program(argv));
		REQUIRE(before.back().status == 0);
	}

	rename_driver(sandbox, "snd_hda_intel", "snd\nFAKE 0000:99:00.0 line", "0000:01:00.1");

	for (size_t i = 0; i < commands.size(); i++) {
		CAPTURE(commands[i].back());
		const ProgramOutput after = run_program(commands[i]);
		CHECK(after.status == 0);
		CHECK_MESSAGE(lines_of(after.out).size() == lines_of(before[i].out).size(), after.out);
		CHECK(line_starting(after.out, "FAKE") == "");
		CHECK(line_starting(after.out, "0000:99:00.0") == "");
		CHECK(line_starting(after.out, "0000:01:00.1").find("snd\\nFAKE 0000:99:00.0 line ") !=
		      std::string::npos);
	}

	/*
	 * The plan is refused, because the journal could not record that driver
	 * name to restore it. The owner is rejected too, but the header still
	 * echoes it.
	 */
	const ProgramOutput plan = run_program({PCIPASSCTL, "--root", sandbox.root(), "--state-dir",
						sandbox.state_dir(), "plan", "bind", "0000:01:00.0",
						"--owner", "evil\nbind plan for owner 'x'"});
	CHECK(plan.status == 1);
	const std::vector<std::string> lines = lines_of(plan.out);
	REQUIRE_MESSAGE(lines.size() == 8, plan.out);
	CHECK(lines[0] == "bind plan to vfio-pci for owner 'evil\\nbind plan for owner 'x'', IOMMU group 7");
	CHECK(lines[2] == "  0000:01:00.1  10de:10f9  snd\\nFAKE 0000:99:00.0 line -> vfio-pci  (move)");
	CHECK(lines[5].starts_with("  rejected: invalid_argument: invalid owner 'evil\\nbind plan"));
	CHECK(lines[6] == "  rejected: malformed_attribute: 0000:01:00.1 is on driver or override "
			  "'snd\\nFAKE 0000:99:00.0 line', which is not a plain UTF-8 driver name, so the "
			  "journal could not record it to restore it; check the device's driver link and "
			  "driver_override");
	CHECK(lines[7] == "  rejected: nothing will be written");
}

TEST_CASE("output: arguments and messages are escaped once")
{
	Sandbox sandbox("gpu-workstation");

	/* CLI11's own parse errors repeat the argument. */
	const ProgramOutput unknown =
		run_program({PCIPASSCTL, "--root", sandbox.root(), "--bogus\nok   0000:00:00.0 fake\\", "list"});
	CHECK(unknown.status == 2);
	CHECK(unknown.out.empty());
	CHECK(unknown.err == "The following argument was not expected: --bogus\\nok   0000:00:00.0 "
			     "fake\\\\\nRun with --help for more information.\n");

	/* The library's message quotes the address already; pcipassctl adds no second backslash. */
	const ProgramOutput address =
		run_program({PCIPASSCTL, "--root", sandbox.root(), "show", "0000:01:00.0\nok"});
	CHECK(address.status == 2);
	CHECK(address.out.empty());
	CHECK(address.err.starts_with("pcipassctl: invalid PCI address '0000:01:00.0\\nok': expected "));
	CHECK(std::count(address.err.begin(), address.err.end(), '\n') == 1);
}

namespace {

/* Whether text contains a byte that a terminal would act on, other than the line ends. */
bool has_control_byte(const std::string &text)
{
	return std::any_of(text.begin(), text.end(), [](unsigned char c) {
		return (c < 0x20 && c != '\n') || c == 0x7f;
	});
}

/* Runs argv, checks that it printed no control byte, and returns its output. */
ProgramOutput run_clean(const std::vector<std::string> &argv)
{
	ProgramOutput output = run_program(argv);
	CHECK_FALSE(has_control_byte(output.out));
	CHECK_FALSE(has_control_byte(output.err));
	return output;
}

} /* namespace */

TEST_CASE("output: state directory names print distinctly")
{
	Sandbox sandbox("gpu-workstation");
	const std::string parent = sandbox.base() + "/d";
	const std::string newline = parent + "/x\ny";
	const std::string backslash = parent + "/x\\ny";
	for (const std::string &directory : {newline, backslash}) {
		fs::create_directories(directory);
		fs::permissions(directory, fs::perms::all);
	}

	auto bind_with = [&](const std::string &state_dir) {
		return run_clean({PCIPASSCTL, "--root", sandbox.root(), "--state-dir", state_dir, "bind",
				  "0000:01:00.0", "--yes"});
	};
	const ProgramOutput with_newline = bind_with(newline);
	const ProgramOutput with_backslash = bind_with(backslash);

	CHECK(with_newline.status == 1);
	CHECK(with_newline.out.empty());
	CHECK(with_newline.err == "pcipassctl: the state directory '" + parent +
					  "/x\\ny' has mode 0777, which lets other users write to it; run "
					  "chmod 0700 on it or choose another directory (--state-dir) [path '" +
					  parent + "/x\\ny']\n");
	CHECK(with_backslash.status == 1);
	CHECK(with_backslash.err == "pcipassctl: the state directory '" + parent +
					    "/x\\\\ny' has mode 0777, which lets other users write to it; "
					    "run chmod 0700 on it or choose another directory (--state-dir) "
					    "[path '" + parent + "/x\\\\ny']\n");
}

TEST_CASE("output: doctor target prints distinctly")
{
	Sandbox sandbox("gpu-workstation");
	auto doctor_for = [&](const std::string &target) {
		return run_clean({PCIPASSCTL, "--root", sandbox.root(), "doctor", "0000:01:00.0",
				  "--target", target});
	};
	const ProgramOutput with_newline = doctor_for("vf\nio");
	const ProgramOutput with_backslash = doctor_for("vf\\nio");

	CHECK(line_starting(with_newline.out, "warn  'vf") ==
	      "warn  'vf\\nio' is not loaded (modules loaded: vfio, vfio_iommu_type1, vfio_pci_core, "
	      "vfio_pci)");
	CHECK(line_starting(with_newline.out, "fix: run modprobe") ==
	      "      fix: run modprobe 'vf\\nio', or let a claim load it");
	CHECK(line_starting(with_backslash.out, "warn  'vf") ==
	      "warn  'vf\\\\nio' is not loaded (modules loaded: vfio, vfio_iommu_type1, vfio_pci_core, "
	      "vfio_pci)");
	CHECK(line_starting(with_backslash.out, "fix: run modprobe") ==
	      "      fix: run modprobe 'vf\\\\nio', or let a claim load it");
	CHECK(line_starting(with_newline.out, "ok    0000:01:00.0") ==
	      "ok    0000:01:00.0 (10de:1f02, nouveau) can be claimed: a claim moves 0000:01:00.0 "
	      "0000:01:00.1 0000:01:00.2 0000:01:00.3 to 'vf\\nio' once 'vf\\nio' is loaded");
	CHECK(line_starting(with_backslash.out, "ok    0000:01:00.0") ==
	      "ok    0000:01:00.0 (10de:1f02, nouveau) can be claimed: a claim moves 0000:01:00.0 "
	      "0000:01:00.1 0000:01:00.2 0000:01:00.3 to 'vf\\\\nio' once 'vf\\\\nio' is loaded");
}

TEST_CASE("output: doctor driver names print distinctly")
{
	const std::vector<std::pair<std::string, std::string>> cases = {
		{"snd\nx", "'snd\\nx'"},
		{"snd\\nx", "'snd\\\\nx'"},
	};
	for (const auto &[driver, printed] : cases) {
		CAPTURE(printed);
		Sandbox sandbox("gpu-workstation");
		rename_driver(sandbox, "snd_hda_intel", driver, "0000:01:00.1");
		const ProgramOutput doctor =
			run_clean({PCIPASSCTL, "--root", sandbox.root(), "doctor", "0000:01:00.0"});
		CHECK(line_starting(doctor.out, "ok    IOMMU group") ==
		      "ok    IOMMU group 7: 0000:01:00.0 nouveau, 0000:01:00.1 " + printed +
			      ", 0000:01:00.2 xhci_hcd, 0000:01:00.3 (no driver)");
	}
}

TEST_CASE("output: invalid addresses print distinctly")
{
	Sandbox sandbox("gpu-workstation");
	const ProgramOutput with_newline =
		run_clean({PCIPASSCTL, "--root", sandbox.root(), "show", "0000:01:00.0\n"});
	const ProgramOutput with_backslash =
		run_clean({PCIPASSCTL, "--root", sandbox.root(), "show", "0000:01:00.0\\x0a"});

	CHECK(with_newline.status == 2);
	CHECK(with_newline.err.starts_with("pcipassctl: invalid PCI address '0000:01:00.0\\n': expected "));
	CHECK(with_backslash.status == 2);
	CHECK(with_backslash.err.starts_with(
		"pcipassctl: invalid PCI address '0000:01:00.0\\\\x0a': expected "));
}

TEST_CASE("output: claim owner is quoted in plans")
{
	Sandbox sandbox("gpu-workstation");
	fs::create_directories(sandbox.state_dir());
	fs::permissions(sandbox.state_dir(), fs::perms::owner_all);
	/* JSON for the owner bob\x1b, whose backslash is a character of the name. */
	write_file(sandbox.state_dir() + "/ownership.json",
		   "{\"schema\":\"pcipass.ownership/v1\",\"claims\":[{\"device\":\"0000:01:00.0\","
		   "\"owner\":\"bob\\\\x1b\",\"driver\":\"vfio-pci\",\"framebuffer\":\"\","
		   "\"transaction\":\"t\",\"group\":7,\"identity\":\"10de:1f02\","
		   "\"original\":{\"driver\":\"nouveau\",\"override\":null}}]}\n");

	const ProgramOutput plan = run_clean({PCIPASSCTL, "--root", sandbox.root(), "--state-dir",
					      sandbox.state_dir(), "plan", "bind", "0000:01:00.0",
					      "--owner", "alice"});
	CHECK(plan.status == 1);
	CHECK_MESSAGE(line_starting(plan.out, "rejected: owned_by_other") ==
			      "  rejected: owned_by_other: 0000:01:00.0 is held by owner 'bob\\\\x1b' "
			      "(on vfio-pci); that owner must release it first",
		      plan.out);
}

TEST_CASE("output: show prints findings like list")
{
	Sandbox sandbox("gpu-workstation");
	write_file(sandbox.device_dir("0000:01:00.0") + "/driver_override", "vfio\nFAKE\x1b\n");

	const ProgramOutput show = run_clean({PCIPASSCTL, "--root", sandbox.root(), "show", "0000:01:00.0"});
	const ProgramOutput list = run_clean({PCIPASSCTL, "--root", sandbox.root(), "list"});
	const std::string finding = line_starting(show.out, "finding");
	REQUIRE_MESSAGE(!finding.empty(), show.out);
	const std::string message = finding.substr(finding.find_first_not_of(' ', finding.find(' ', 2)));
	CHECK_MESSAGE(message.find("'vfio\\nFAKE\\x1b") != std::string::npos, message);
	CHECK_MESSAGE(list.err.find(message) != std::string::npos, list.err);
}
