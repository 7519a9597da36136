/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The scenario runner on this machine, against a small in-memory kernel,
 * and the checked-in scenarios and records checked against each other so
 * that a broken file shows up without QEMU.
 */

#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "scenario.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

/*
 * A kernel of files and links in maps, with the few bind rules the tests
 * below need: an override that names another driver does not match, a
 * bound device gives EBUSY, an unbind through the wrong driver ENODEV.
 */
class MapKernel final : public scenario::Kernel
{
public:
	MapKernel()
	{
		add_device("0000:02:00.0", "8086", "10d3", "e1000e", "7");
		add_device("0000:04:01.0", "8086", "100e", "e1000", "4");
		add_device("0000:04:02.0", "8086", "100e", "e1000", "4");
		add_driver("e1000e");
		add_driver("e1000");
	}

	/* The errno a bind into a bound device gives; a test changes it to break the rule. */
	int bound_errno = EBUSY;

	int write(const std::string &path, std::string_view value) override
	{
		if (!files_.contains(path))
			return ENOENT;

		const std::string text(value);
		if (path.ends_with("/driver_override")) {
			files_[path] = text == "\n" || text.empty() ? "(null)" : text;
			return 0;
		}

		const std::string prefix = "sys/bus/pci/drivers/";
		const std::string driver = path.substr(prefix.size(), path.rfind('/') - prefix.size());
		const std::string device = "sys/bus/pci/devices/" + text;
		if (!files_.contains(device + "/vendor"))
			return ENODEV;

		if (path.ends_with("/bind")) {
			const std::string override_value = files_[device + "/driver_override"];
			if (override_value != "(null)" && override_value != driver)
				return ENODEV;
			if (links_.contains(device + "/driver"))
				return bound_errno;
			links_[device + "/driver"] = driver;
			return 0;
		}
		if (path.ends_with("/unbind")) {
			const auto link = links_.find(device + "/driver");
			if (link == links_.end() || link->second != driver)
				return ENODEV;
			links_.erase(link);
			return 0;
		}
		return EINVAL;
	}

	std::optional<std::string> read(const std::string &path) override
	{
		const auto found = files_.find(path);
		if (found == files_.end())
			return std::nullopt;
		return found->second;
	}

	std::optional<std::string> link_name(const std::string &path) override
	{
		const auto found = links_.find(path);
		if (found == links_.end())
			return std::nullopt;
		return found->second;
	}

	std::vector<std::string> list(const std::string &path) override
	{
		std::set<std::string> names;
		const std::string prefix = path + "/";
		for (const auto *entries : {&files_, &links_}) {
			for (const auto &[key, value] : *entries) {
				if (key.starts_with(prefix))
					names.insert(key.substr(prefix.size(),
								key.find('/', prefix.size()) - prefix.size()));
			}
		}
		return {names.begin(), names.end()};
	}

	bool exists(const std::string &path) override
	{
		return !list(path).empty() || files_.contains(path) || links_.contains(path);
	}

	int load_module(const std::string &name) override
	{
		if (name != "vfio_pci")
			return ENOENT;
		add_driver("vfio-pci");
		return 0;
	}

	int unload_module(const std::string &) override { return ENOENT; }
	int hold_open(const std::string &) override { return ENOENT; }
	int attach_group(const std::string &) override { return ENOENT; }
	int close_held(const std::string &) override { return EBADF; }

private:
	void add_device(const std::string &address, const std::string &vendor,
			const std::string &device, const std::string &driver, const std::string &group)
	{
		const std::string base = "sys/bus/pci/devices/" + address + "/";
		files_[base + "vendor"] = "0x" + vendor;
		files_[base + "device"] = "0x" + device;
		files_[base + "driver_override"] = "(null)";
		links_[base + "driver"] = driver;
		links_[base + "iommu_group"] = group;
	}

	void add_driver(const std::string &driver)
	{
		files_["sys/bus/pci/drivers/" + driver + "/bind"] = "";
		files_["sys/bus/pci/drivers/" + driver + "/unbind"] = "";
	}

	std::map<std::string, std::string> files_;
	std::map<std::string, std::string> links_;
};

constexpr std::string_view bind_scenario = R"({
	"name": "bind",
	"boots": ["iommu"],
	"devices": {"nic": {"id": "8086:10d3"}, "second": {"id": "8086:100e", "index": 1}},
	"drivers": ["vfio-pci"],
	"steps": [
		{"name": "override", "do": "write",
		 "path": "sys/bus/pci/devices/{nic}/driver_override", "value": "vfio-pci"},
		{"name": "load", "do": "load_module", "module": "vfio_pci",
		 "expect_state": {"drivers": {"vfio-pci": true}}},
		{"name": "bind while bound", "do": "write",
		 "path": "sys/bus/pci/drivers/vfio-pci/bind", "value": "{nic}", "expect": "EBUSY"},
		{"name": "unbind", "do": "write",
		 "path": "sys/bus/pci/drivers/e1000e/unbind", "value": "{nic}",
		 "expect_state": {"devices": {"nic": {"driver": null}}}},
		{"name": "bind", "do": "write",
		 "path": "sys/bus/pci/drivers/vfio-pci/bind", "value": "{nic}",
		 "expect_state": {"devices": {"nic": {"driver": "vfio-pci", "driver_override": "vfio-pci"}}}}
	]
})";

scenario::Scenario parse(std::string_view text)
{
	auto parsed = scenario::parse_scenario(text, "test.json");
	REQUIRE_MESSAGE(parsed.has_value(), (parsed ? std::string() : parsed.error().describe()));
	return parsed.value();
}

std::string text_of(const json::object &object, std::string_view key)
{
	const json::value *value = object.if_contains(key);
	return value ? json::serialize(*value) : "<absent>";
}

std::string read_file(const fs::path &path)
{
	std::ifstream file(path);
	std::stringstream content;
	content << file.rdbuf();
	return content.str();
}

} /* namespace */

TEST_CASE("scenario: steps run in order and record the state")
{
	MapKernel kernel;
	const auto reports = scenario::run(parse(bind_scenario), kernel);
	REQUIRE(reports.size() == 5);

	for (const scenario::StepReport &report : reports) {
		INFO(report.step << " " << report.name);
		CHECK(report.passed);
		CHECK(report.problems.empty());
	}

	const json::object &bind_busy = reports[2].record;
	CHECK(text_of(bind_busy, "scenario") == "\"bind\"");
	CHECK(text_of(bind_busy, "step") == "3");
	CHECK(text_of(bind_busy, "errno") == "\"EBUSY\"");
	CHECK(text_of(bind_busy, "expect") == "\"EBUSY\"");
	/* Paths and values keep their placeholders, so records do not depend on addresses. */
	CHECK(text_of(bind_busy, "value") == "\"{nic}\"");
	CHECK(text_of(bind_busy, "path") == "\"sys/bus/pci/drivers/vfio-pci/bind\"");

	const json::value expected_state = json::parse(R"({
		"devices": {
			"nic": {"driver": "vfio-pci", "driver_override": "vfio-pci"},
			"second": {"driver": "e1000", "driver_override": null}
		},
		"drivers": {"vfio-pci": true}
	})");
	CHECK(reports[4].record.at("state") == expected_state);
}

TEST_CASE("scenario: a wrong errno fails the step only")
{
	MapKernel kernel;
	kernel.bound_errno = ENODEV;
	const auto reports = scenario::run(parse(bind_scenario), kernel);
	REQUIRE(reports.size() == 5);

	CHECK(!reports[2].passed);
	REQUIRE(reports[2].problems.size() == 1);
	CHECK(reports[2].problems[0] == "expected EBUSY, the kernel gave ENODEV");
	CHECK(reports[3].passed);
	CHECK(reports[4].passed);
}

TEST_CASE("scenario: expect_state names the differing field")
{
	MapKernel kernel;
	const auto reports = scenario::run(parse(R"({
		"name": "state",
		"devices": {"nic": {"id": "8086:10d3"}},
		"steps": [{"name": "override", "do": "write",
			   "path": "sys/bus/pci/devices/{nic}/driver_override", "value": "vfio-pci",
			   "expect_state": {"devices": {"nic": {"driver": null, "driver_override": "vfio-pci"}}}}]
	})"),
					   kernel);
	REQUIRE(reports.size() == 1);
	CHECK(!reports[0].passed);
	REQUIRE(reports[0].problems.size() == 1);
	CHECK(reports[0].problems[0] == "state.devices.nic.driver: expected null, found \"e1000e\"");
}

TEST_CASE("scenario: group placeholders and unknown roles")
{
	MapKernel kernel;
	const auto reports = scenario::run(parse(R"({
		"name": "placeholders",
		"devices": {"nic": {"id": "8086:100e"}},
		"steps": [{"name": "group", "do": "write", "path": "sys/bus/pci/devices/{nic}/driver_override",
			   "value": "group-{group:nic}"},
			  {"name": "unknown", "do": "write", "path": "sys/bus/pci/devices/{other}/driver_override",
			   "value": "x"}]
	})"),
					   kernel);
	REQUIRE(reports.size() == 2);
	CHECK(reports[0].passed);
	CHECK(kernel.read("sys/bus/pci/devices/0000:04:01.0/driver_override") == "group-4");
	CHECK(!reports[1].passed);
	CHECK(text_of(reports[1].record, "errno") == "\"unresolved\"");
	CHECK(reports[1].problems.front().find("unknown role 'other'") != std::string::npos);

	const auto missing = scenario::run(parse(R"({
		"name": "missing",
		"devices": {"gpu": {"id": "10de:1f02"}},
		"steps": [{"name": "never", "do": "load_module", "module": "vfio_pci"}]
	})"),
					   kernel);
	REQUIRE(missing.size() == 1);
	CHECK(!missing[0].passed);
	CHECK(missing[0].problems.front() == "no device 10de:1f02 number 0 for role 'gpu'");
}

TEST_CASE("scenario: malformed documents are rejected")
{
	const std::pair<std::string_view, std::string_view> cases[] = {
		{"[]", "the document is not an object"},
		{R"({"steps": []})", "\"name\" is missing"},
		{R"({"name": "x"})", "\"steps\" is missing or not an array"},
		{R"({"name": "x", "devices": {"a": {"id": "8086"}}, "steps": []})",
		 "device role 'a' needs \"id\": \"vvvv:dddd\", found '8086'"},
		{R"({"name": "x", "boots": "iommu", "steps": []})", "\"boots\" is not an array"},
		{R"({"name": "x", "steps": [{"do": "reboot"}]})", "step 1 has an unknown \"do\": 'reboot'"},
		{R"({"name": "x", "steps": [{"do": "write", "path": "p"}]})", "step 1 needs \"value\""},
		{R"({"name": "x", "steps": [{"do": "load_module"}]})", "step 1 needs \"module\""},
	};
	for (const auto &[text, message] : cases) {
		INFO(text);
		auto parsed = scenario::parse_scenario(text, "bad.json");
		REQUIRE(!parsed.has_value());
		CHECK(parsed.error().code == pcipass::errc::invalid_argument);
		CHECK(parsed.error().message == "scenario 'bad.json': " + std::string(message));
	}
}

TEST_CASE("scenario: a changed kernel rule shows in the comparison")
{
	MapKernel reference;
	const auto recorded_reports = scenario::run(parse(bind_scenario), reference);
	std::string text;
	for (const scenario::StepReport &report : recorded_reports)
		text += json::serialize(report.record) + "\n";
	auto recorded = scenario::parse_records(text, "recorded.jsonl");
	REQUIRE(recorded.has_value());

	MapKernel same;
	CHECK(scenario::compare_records(recorded.value(), scenario::run(parse(bind_scenario), same))
		      .empty());

	MapKernel broken;
	broken.bound_errno = ENODEV;
	const auto differences =
		scenario::compare_records(recorded.value(), scenario::run(parse(bind_scenario), broken));
	REQUIRE(differences.size() == 1);
	CHECK(differences[0] ==
	      "step 3 (bind while bound): errno recorded \"EBUSY\", this run \"ENODEV\"");
}

TEST_CASE("scenario: checked-in records follow their scenarios")
{
	const fs::path directory = fs::path(PCIPASS_SOURCE_DIR) / "tests" / "vm";
	std::map<std::string, scenario::Scenario> scenarios;
	for (const auto &entry : fs::directory_iterator(directory / "scenarios")) {
		INFO(entry.path().string());
		auto parsed = scenario::parse_scenario(read_file(entry.path()), entry.path().string());
		REQUIRE_MESSAGE(parsed.has_value(),
				(parsed ? std::string() : parsed.error().describe()));
		CHECK(parsed.value().name == entry.path().stem().string());
		scenarios.emplace(parsed.value().name, parsed.value());
	}
	CHECK(!scenarios.empty());

	unsigned records_checked = 0;
	for (const auto &entry : fs::directory_iterator(directory / "observed")) {
		const std::string file = entry.path().filename().string();
		INFO(file);
		const std::string stem = entry.path().stem().string();
		const std::string boot = stem.substr(0, stem.find('-'));
		const std::string name = stem.substr(stem.find('-') + 1);
		REQUIRE(scenarios.contains(name));
		const scenario::Scenario &scenario = scenarios.at(name);
		CHECK(scenario::runs_in(scenario, boot));

		auto records = scenario::parse_records(read_file(entry.path()), file);
		REQUIRE(records.has_value());
		REQUIRE(records.value().size() == scenario.steps.size());
		for (size_t index = 0; index < scenario.steps.size(); ++index) {
			const json::object &step = scenario.steps[index];
			const json::object &record = records.value()[index];
			INFO("step " << index + 1);
			for (const char *key : {"name", "do", "path", "value", "module"})
				CHECK(text_of(record, key) == text_of(step, key));
			++records_checked;
		}
	}
	CHECK(records_checked > 0);
}
