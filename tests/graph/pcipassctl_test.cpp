/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The read-only pcipassctl commands, run as a user would: on materialized
 * catalogue trees, and on this machine's own /sys, which they only read.
 */

#include <cstdlib>
#include <fstream>
#include <sys/wait.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

#include <pcipass/graph.hpp>
#include <pcipass/testing/snapshot.hpp>

#include "graph_fixture.hpp"

using namespace pcipass;
using namespace pcipass::testing;
using namespace graph_test;

namespace {

struct Run {
	int status = -1;
	std::string out;
	std::string err;
};

/* pcipassctl with arguments; stdout and stderr captured apart. */
Run pcipassctl(const std::string &arguments)
{
	const char *binary = std::getenv("PCIPASSCTL");
	REQUIRE_MESSAGE(binary != nullptr, "PCIPASSCTL names the binary under test");

	TempDir directory;
	const fs::path out = directory.path() / "out";
	const fs::path err = directory.path() / "err";
	const std::string command = std::string(binary) + " " + arguments + " >" + out.string() +
				    " 2>" + err.string();
	const int raw = std::system(command.c_str());
	REQUIRE(WIFEXITED(raw));

	Run run;
	run.status = WEXITSTATUS(raw);
	std::ifstream out_file(out), err_file(err);
	run.out.assign(std::istreambuf_iterator<char>(out_file), std::istreambuf_iterator<char>());
	run.err.assign(std::istreambuf_iterator<char>(err_file), std::istreambuf_iterator<char>());
	return run;
}

bool contains(const std::string &text, const std::string &part)
{
	return text.find(part) != std::string::npos;
}

std::string first_line(const std::string &path)
{
	std::ifstream file(path);
	std::string line;
	std::getline(file, line);
	return line;
}

} /* namespace */

TEST_CASE("pcipassctl: list --json gives every device with the documented fields")
{
	MaterializedHost materialized(load_catalogue("gpu-workstation"));
	const DeviceGraph graph = materialized.scan();

	const Run run = pcipassctl("--root " + materialized.root().string() + " list --json");
	REQUIRE(run.status == 0);
	CHECK(run.err.empty());

	const boost::json::array devices = boost::json::parse(run.out).as_array();
	REQUIRE(devices.size() == graph.devices().size());
	for (const char *field : {"address", "vendor", "device", "class", "driver", "driver_override",
				  "iommu_group", "parent", "physfn", "vfs", "consumers", "readiness"})
		for (const auto &device : devices)
			CHECK_MESSAGE(device.as_object().contains(field), field);

	const boost::json::object &usb = devices[13].as_object();
	CHECK(usb.at("address") == "0000:01:00.2");
	CHECK(usb.at("driver") == "xhci_hcd");
	CHECK(usb.at("iommu_group") == 7);
	CHECK(usb.at("parent") == "0000:00:01.0");
	CHECK(usb.at("readiness").at("state") == "claimable");
	CHECK(boost::json::serialize(usb.at("consumers")) ==
	      R"([{"kind":"usb_device","name":"3-1.2","description":"046d:c52b USB Receiver","default_route":false,"mountpoint":""},)"
	      R"({"kind":"usb_hub","name":"3-1","description":"05e3:0610 USB2.0 Hub","default_route":false,"mountpoint":""}])");
}

TEST_CASE("pcipassctl: list and list --tree print one row per function")
{
	MaterializedHost materialized(load_catalogue("pcie-pci-bridge"));

	const Run flat = pcipassctl("--root " + materialized.root().string() + " list");
	REQUIRE(flat.status == 0);
	CHECK(contains(flat.out, "ADDRESS       ID         CLASS"));
	CHECK(contains(flat.out, "0000:02:01.0  8086:100e  Ethernet controller  e1000"));

	const Run tree = pcipassctl("--root " + materialized.root().string() + " list --tree");
	REQUIRE(tree.status == 0);
	/* Behind the root port, the PCIe-to-PCI bridge, and behind it the two NICs. */
	CHECK(contains(tree.out, "\n0000:00:02.0 "));
	CHECK(contains(tree.out, "\n  0000:01:00.0 "));
	CHECK(contains(tree.out, "\n    0000:02:01.0 "));
	CHECK(contains(tree.out, "\n    0000:02:02.0 "));
}

TEST_CASE("pcipassctl: show explains the GPU group")
{
	MaterializedHost materialized(load_catalogue("gpu-workstation"));
	const std::string root = "--root " + materialized.root().string();

	const Run run = pcipassctl(root + " show 0000:01:00.0");
	REQUIRE(run.status == 0);
	CHECK(contains(run.out, "  driver           nouveau\n"));
	CHECK(contains(run.out, "IOMMU group 7, /dev/vfio/7 absent\n"));
	CHECK(contains(run.out, "  0000:01:00.3  10de:1adb"));
	CHECK(contains(run.out, "Passthrough to vfio-pci: claimable\n"
				"  a claim moves 0000:01:00.0 0000:01:00.1 0000:01:00.2 0000:01:00.3 to vfio-pci\n"));

	const Run json = pcipassctl(root + " show 0000:01:00.0 --json");
	REQUIRE(json.status == 0);
	const boost::json::value document = boost::json::parse(json.out);
	CHECK(document.at("group").at("number") == 7);
	CHECK(document.at("group_members").as_array().size() == 4);
	CHECK(document.at("viability").at("viable") == false);

	const Run bad = pcipassctl(root + " show 01:00");
	CHECK(bad.status == 2);
	CHECK(bad.err == "pcipassctl: invalid PCI address '01:00': expected DDDD:BB:DD.F in hex, "
			 "device at most 1f, function at most 7; run 'pcipassctl list' for the addresses\n");

	const Run missing = pcipassctl(root + " show 0000:42:00.0");
	CHECK(missing.status == 2);
	CHECK(missing.err == "pcipassctl: no PCI function 0000:42:00.0; run 'pcipassctl list' for the addresses\n");
}

TEST_CASE("pcipassctl: doctor names the kernel parameter for the CPU vendor")
{
	Topology intel = load_catalogue("iommu-off");
	intel.cpu_vendor = "GenuineIntel";
	MaterializedHost intel_host(intel);
	const Run intel_run = pcipassctl("--root " + intel_host.root().string() + " doctor");
	CHECK(intel_run.status == 1);
	CHECK(contains(intel_run.out, "FAIL  IOMMU off: no groups in /sys/kernel/iommu_groups and no "
				      "units in /sys/class/iommu\n"));
	CHECK(contains(intel_run.out, "add intel_iommu=on to the kernel command line"));
	CHECK(contains(intel_run.out, "enable VT-d in the firmware setup"));

	Topology amd = load_catalogue("iommu-off");
	amd.cpu_vendor = "AuthenticAMD";
	amd.kernel_cmdline += " amd_iommu=off";
	MaterializedHost amd_host(amd);
	const Run amd_run = pcipassctl("--root " + amd_host.root().string() + " doctor --json");
	CHECK(amd_run.status == 1);
	const boost::json::value document = boost::json::parse(amd_run.out);
	CHECK(document.at("ok") == false);
	const boost::json::object &iommu = document.at("checks").at(0).as_object();
	CHECK(iommu.at("check") == "iommu");
	CHECK(iommu.at("status") == "failed");
	CHECK(iommu.at("fix") ==
	      "remove amd_iommu=off from the kernel command line; enable the IOMMU (AMD-Vi) in the "
	      "firmware setup; the kernel turns the AMD IOMMU on by itself, so no kernel parameter is "
	      "needed (iommu=pt is optional and only skips translation for host drivers)");
}

TEST_CASE("pcipassctl: doctor on a ready host and on a missing vfio-pci")
{
	MaterializedHost ready(load_catalogue("gpu-workstation"));
	const Run ok = pcipassctl("--root " + ready.root().string() + " doctor 0000:01:00.0");
	CHECK(ok.status == 0);
	CHECK(contains(ok.out, "ok    IOMMU on (units: dmar0, dmar1)\n"));
	CHECK(contains(ok.out, "ok    vfio-pci driver loaded"));
	CHECK(contains(ok.out, "ok    0000:01:00.0 (10de:1f02, nouveau) can be claimed: a claim moves "
			       "0000:01:00.0 0000:01:00.1 0000:01:00.2 0000:01:00.3 to vfio-pci\n"));

	MaterializedHost missing(load_catalogue("no-vfio"));
	const Run warn = pcipassctl("--root " + missing.root().string() + " doctor");
	CHECK(warn.status == 0);
	CHECK(contains(warn.out, "warn  vfio-pci is not loaded"));
	CHECK(contains(warn.out, "fix: run modprobe vfio-pci, or let a claim load it\n"));

	MaterializedHost mounted(load_catalogue("nvme-mounted"));
	const Run blocked = pcipassctl("--root " + mounted.root().string() + " doctor 0000:01:00.0");
	CHECK(blocked.status == 1);
	CHECK(contains(blocked.out, "FAIL  0000:01:00.0 holds nvme0n1, which is mounted at '/'\n"
				    "      fix: unmount it first\n"));
}

TEST_CASE("pcipassctl: snapshot prints the host as a topology that loads again")
{
	MaterializedHost materialized(load_catalogue("sriov-nic"));
	const Run run = pcipassctl("--root " + materialized.root().string() + " snapshot");
	REQUIRE(run.status == 0);
	CHECK(run.err.empty());

	auto parsed = parse_topology(run.out);
	REQUIRE_MESSAGE(parsed, (parsed ? "" : parsed.error().describe()));
	ScanOptions options;
	options.driver_modules = true;
	Topology expected = topology_from_graph(materialized.scan(options), "");
	expected.description = parsed.value().description;
	CHECK(parsed.value() == expected);
	CHECK(parsed.value().description ==
	      "Snapshot of the live host at '" + materialized.root().string() + "' taken by pcipassctl");
}

TEST_CASE("pcipassctl: list and doctor tell the truth about this machine")
{
	/* Read-only commands against the real /sys of whatever machine runs the tests. */
	const Run list = pcipassctl("list --json");
	REQUIRE(list.status == 0);
	const boost::json::array devices = boost::json::parse(list.out).as_array();

	size_t functions = 0;
	for (const auto &entry : fs::directory_iterator("/sys/bus/pci/devices")) {
		const std::string address = entry.path().filename().string();
		CAPTURE(address);
		functions++;
		const boost::json::object *device = nullptr;
		for (const auto &candidate : devices)
			if (candidate.at("address") == address.c_str())
				device = &candidate.as_object();
		REQUIRE(device != nullptr);

		CHECK(("0x" + std::string(device->at("vendor").as_string())) ==
		      first_line(entry.path() / "vendor"));
		CHECK(("0x" + std::string(device->at("device").as_string())) ==
		      first_line(entry.path() / "device"));
		CHECK(("0x" + std::string(device->at("class").as_string())) ==
		      first_line(entry.path() / "class"));
		std::error_code ec;
		const fs::path driver = fs::read_symlink(entry.path() / "driver", ec);
		CHECK(device->at("driver") ==
		      (ec ? boost::json::value(nullptr) : boost::json::value(driver.filename().string())));
		const fs::path group = fs::read_symlink(entry.path() / "iommu_group", ec);
		CHECK(device->at("iommu_group") ==
		      (ec ? boost::json::value(nullptr) : boost::json::value(std::stoi(group.filename().string()))));
	}
	CHECK(devices.size() == functions);

	/* doctor fails when the IOMMU is off, and its first check names the fix. */
	const bool iommu_on = !fs::is_empty("/sys/kernel/iommu_groups");
	const Run doctor = pcipassctl("doctor --json");
	const boost::json::value report = boost::json::parse(doctor.out);
	const boost::json::object &iommu = report.at("checks").at(0).as_object();
	CHECK(iommu.at("status") == (iommu_on ? "ok" : "failed"));
	if (!iommu_on) {
		CHECK(doctor.status == 1);
		CHECK(report.at("ok") == false);
		CHECK_FALSE(iommu.at("fix").as_string().empty());
	}
}
