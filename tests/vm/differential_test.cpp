/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The differential check on the simulator's side: every scenario the test
 * guest runs, run against sim::Host built from the guest's machine, and
 * compared step by step with what the real kernel did (the records in
 * tests/vm/observed). A difference is either a simulator bug or listed in
 * tests/vm/known-differences.json with the kernel behaviour behind it.
 */

#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <pcipass/testing/sim.hpp>
#include <pcipass/testing/topology.hpp>

#include "scenario.hpp"
#include "sim_kernel.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

const fs::path vm_dir = fs::path(PCIPASS_SOURCE_DIR) / "tests" / "vm";

std::string read_file(const fs::path &path)
{
	std::ifstream file(path);
	std::stringstream content;
	content << file.rdbuf();
	return content.str();
}

/*
 * The guest's machine for one boot. The boot without the IOMMU is the same
 * machine without DMAR units, so it has no groups.
 */
pcipass::testing::Topology guest_topology(const std::string &boot)
{
	auto loaded = pcipass::testing::load_topology((vm_dir / "guest-topology.json").string());
	REQUIRE_MESSAGE(loaded.has_value(), (loaded ? std::string() : loaded.error().describe()));
	pcipass::testing::Topology topology = loaded.value();
	if (boot == "noiommu") {
		topology.iommu_units.clear();
		topology.kernel_cmdline = "console=ttyS0 panic=-1 quiet pcipass.boot=noiommu";
		for (auto &device : topology.devices) {
			device.iommu_group.reset();
			if (device.sriov)
				device.sriov->first_vf_group.reset();
		}
	}
	return topology;
}

/* The scenarios by name, in the order the guest runs them (file names, sorted). */
std::map<std::string, scenario::Scenario> load_scenarios()
{
	std::map<std::string, scenario::Scenario> scenarios;
	for (const auto &entry : fs::directory_iterator(vm_dir / "scenarios")) {
		auto parsed = scenario::parse_scenario(read_file(entry.path()), entry.path().string());
		REQUIRE_MESSAGE(parsed.has_value(),
				(parsed ? std::string() : parsed.error().describe()));
		scenarios.emplace(entry.path().stem().string(), parsed.value());
	}
	return scenarios;
}

/*
 * Runs each scenario of one boot on a simulated kernel fresh from the
 * guest's topology and returns each difference from the records as
 * "BOOT/SCENARIO: sentence". The guest runs them one after the other on
 * one kernel, but every scenario leaves the boot state behind it there, so
 * a fresh start is the same start, and a difference stays in its scenario.
 */
std::vector<std::string> boot_differences(const std::string &boot,
					  const std::vector<pcipass::sim::Fault> &faults = {})
{
	std::vector<std::string> differences;
	unsigned compared = 0;
	for (const auto &[name, scenario] : load_scenarios()) {
		if (!scenario::runs_in(scenario, boot))
			continue;
		const fs::path record = vm_dir / "observed" / (boot + "-" + name + ".jsonl");
		INFO(record.string());
		REQUIRE(fs::exists(record));
		auto recorded = scenario::parse_records(read_file(record), record.filename().string());
		REQUIRE(recorded.has_value());

		auto host = pcipass::sim::Host::create(guest_topology(boot));
		REQUIRE_MESSAGE(host.has_value(), (host ? std::string() : host.error().describe()));
		for (const pcipass::sim::Fault &fault : faults)
			REQUIRE(host.value()->inject(fault).has_value());
		scenario::SimKernel kernel(*host.value());
		const auto reports = scenario::run(scenario, kernel);
		for (const std::string &difference : scenario::compare_records(recorded.value(), reports))
			differences.push_back(boot + "/" + name + ": " + difference);
		++compared;
	}
	CHECK(compared > 0);
	return differences;
}

std::vector<std::string> all_differences(const std::vector<pcipass::sim::Fault> &faults = {})
{
	std::vector<std::string> differences;
	for (const std::string boot : {"iommu", "noiommu"}) {
		auto found = boot_differences(boot, faults);
		differences.insert(differences.end(), found.begin(), found.end());
	}
	return differences;
}

/* One difference between Linux and the simulator, with every line of the comparison it causes. */
struct KnownDifference {
	std::string kernel;             /* the kernel behaviour it stands for */
	std::vector<std::string> lines; /* "BOOT/SCENARIO: sentence", as all_differences() gives them */
};

std::string string_member(const json::object &object, std::string_view key)
{
	const json::value *value = object.if_contains(key);
	REQUIRE_MESSAGE((value && value->is_string()),
			("known difference without a string \"" + std::string(key) + "\""));
	return std::string(value->as_string());
}

std::vector<KnownDifference> known_differences()
{
	const fs::path path = vm_dir / "known-differences.json";
	boost::system::error_code error;
	const json::value document = json::parse(read_file(path), error);
	REQUIRE_MESSAGE(!error, (path.string() + ": " + error.message()));
	REQUIRE(document.is_object());
	const json::value *list = document.as_object().if_contains("differences");
	REQUIRE(list);
	REQUIRE(list->is_array());

	std::vector<KnownDifference> known;
	for (const json::value &item : list->as_array()) {
		REQUIRE(item.is_object());
		const json::object &fields = item.as_object();
		const std::string prefix =
			string_member(fields, "boot") + "/" + string_member(fields, "scenario") + ": ";
		KnownDifference difference{string_member(fields, "kernel"), {}};
		/* An entry without the Linux behaviour would only silence the check. */
		CHECK(!difference.kernel.empty());
		const json::value *lines = fields.if_contains("lines");
		REQUIRE(lines != nullptr);
		REQUIRE(lines->is_array());
		REQUIRE_FALSE(lines->as_array().empty());
		for (const json::value &line : lines->as_array()) {
			REQUIRE(line.is_string());
			difference.lines.push_back(prefix + std::string(line.as_string()));
		}
		known.push_back(std::move(difference));
	}
	return known;
}

/* The differences not in the known list. */
std::vector<std::string> unknown(const std::vector<std::string> &differences)
{
	std::set<std::string> known;
	for (const KnownDifference &difference : known_differences())
		known.insert(difference.lines.begin(), difference.lines.end());
	std::vector<std::string> left;
	for (const std::string &difference : differences) {
		if (!known.contains(difference))
			left.push_back(difference);
	}
	return left;
}

} /* namespace */

TEST_CASE("differential: the simulator agrees with the recorded real kernel")
{
	const auto differences = all_differences();
	for (const std::string &difference : unknown(differences))
		FAIL_CHECK("not a known difference: " << difference);

	/* A known difference that no longer occurs was fixed: remove its entry. */
	const std::set<std::string> found(differences.begin(), differences.end());
	for (const KnownDifference &known : known_differences()) {
		for (const std::string &line : known.lines) {
			if (!found.contains(line))
				FAIL_CHECK("known difference no longer occurs: " << line);
		}
	}
}

TEST_CASE("differential: a simulator that breaks a kernel rule is caught")
{
	/* vfio-pci refusing every bind, as a simulator whose match rule was broken would. */
	pcipass::sim::Fault fault;
	fault.match.kind = pcipass::sim::WriteKind::bind;
	fault.match.driver = "vfio-pci";
	fault.sys_errno = ENODEV;
	const auto left = unknown(all_differences({fault}));
	const std::string expected = "iommu/bind-primitives: step 10 (explicit bind to vfio-pci): "
				     "errno recorded \"ok\", this run \"ENODEV\"";
	CHECK(std::find(left.begin(), left.end(), expected) != left.end());
}
