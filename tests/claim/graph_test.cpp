/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The objects over a scanned graph: a topology materialized as a sysfs tree,
 * read through LiveHost, and pcipassctl run against the same tree.
 */

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <doctest/doctest.h>

#include <pcipass/claim.hpp>
#include <pcipass/graph.hpp>
#include <pcipass/host.hpp>
#include <pcipass/testing/topology.hpp>

#include "devices.hpp"

using namespace pcipass;
using claim_test::address;
using claim_test::tekton_uid;

namespace {

/* A materialized copy of workstation.json, removed again at the end of the test. */
class Workstation
{
public:
	Workstation()
	{
		std::string pattern = (std::filesystem::temp_directory_path() / "pcipass-claim-XXXXXX");
		REQUIRE(mkdtemp(pattern.data()) != nullptr);
		dir_ = pattern;

		auto topology = testing::load_topology(PCIPASS_SOURCE_DIR "/tests/claim/workstation.json");
		REQUIRE(topology);
		REQUIRE(testing::materialize(topology.value(), dir_ + "/root"));
	}

	~Workstation()
	{
		std::error_code ignored;
		std::filesystem::remove_all(dir_, ignored);
	}

	std::string root() const { return dir_ + "/root"; }
	const std::string &dir() const { return dir_; }

	DeviceGraph scan() const
	{
		auto host = LiveHost::open(root());
		REQUIRE(host);
		auto graph = DeviceGraph::scan(*host.value());
		REQUIRE(graph);
		return graph.value();
	}

private:
	std::string dir_;
};

struct Run {
	int status = -1;
	std::string output;
};

std::string shell_quote(const std::string &text)
{
	std::string quoted = "'";
	for (char c : text)
		quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
	return quoted + "'";
}

/* Runs pcipassctl with the arguments (already quoted) and collects stdout. */
Run pcipassctl(const std::string &arguments)
{
	const char *binary = std::getenv("PCIPASSCTL");
	REQUIRE(binary != nullptr);

	Run run;
	FILE *pipe = popen((shell_quote(binary) + " " + arguments).c_str(), "r");
	REQUIRE(pipe != nullptr);

	std::array<char, 4096> buffer;
	size_t count;
	while ((count = fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
		run.output.append(buffer.data(), count);

	const int status = pclose(pipe);
	run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	return run;
}

} /* namespace */

TEST_CASE("graph objects: group claims skip the bridge")
{
	Workstation workstation;
	const DeviceGraph graph = workstation.scan();

	ObjectsRequest request;
	request.address = address("0000:01:00.0");
	request.node = "ws1.example.com";
	request.uids = {
		{address("0000:01:00.0"), "uid-vga"},
		{address("0000:01:00.1"), "uid-audio"},
		{address("0000:01:00.2"), "uid-xhci"},
	};
	request.siblings = true;
	request.pcidevices = true;

	auto objects = build_objects(graph, request);
	REQUIRE(objects);
	REQUIRE(objects.value().claims.size() == 3);
	CHECK(objects.value().claims[0].name == "ws1.example.com-000001000");
	CHECK(objects.value().claims[1].name == "ws1.example.com-000001001");
	CHECK(objects.value().claims[2].name == "ws1.example.com-000001002");
	CHECK(objects.value().claims[2].owner_references.at(0).uid == "uid-xhci");

	const PciDeviceStatus &vga = objects.value().pcidevices.at(0).status;
	CHECK(vga.iommu_group == "1");
	CHECK(vga.class_id == "0300");
	CHECK(vga.kernel_driver_in_use == "nouveau");
	CHECK(vga.node_name == "ws1.example.com");
	/* The names come from the udev hardware database when the machine has one. */
	if (!graph.find(address("0000:01:00.0"))->vendor_name.empty())
		CHECK(vga.resource_name.rfind("nvidia.com/", 0) == 0);
}

TEST_CASE("graph objects: validation reads the scanned consumers")
{
	Workstation workstation;
	const DeviceGraph graph = workstation.scan();

	const Device *gpu = graph.find(address("0000:01:00.0"));
	REQUIRE(gpu != nullptr);
	const boost::json::value claim = to_json(make_claim(*gpu, "ws1", tekton_uid).value());

	const ClaimCheck check = validate_claim(claim, graph, "ws1");
	REQUIRE(check.problems.size() == 1);
	CHECK(check.problems[0].reason == "usb_device_in_use");
	CHECK(check.problems[0].device == "0000:01:00.2");
	CHECK(check.problems[0].message.rfind("USB device 3-1 ", 0) == 0);

	const Device *nic = graph.find(address("0000:02:00.0"));
	REQUIRE(nic != nullptr);
	const boost::json::value nic_claim = to_json(make_claim(*nic, "ws1", tekton_uid).value());
	CHECK(validate_claim(nic_claim, graph, "ws1").valid());

	/* S21: the same address exists here, but the claim is for node ws2. */
	const boost::json::value other_node = to_json(make_claim(*nic, "ws2", tekton_uid).value());
	const ClaimCheck wrong = validate_claim(other_node, graph, "ws1");
	REQUIRE(wrong.problems.size() == 1);
	CHECK(wrong.problems[0].code == errc::wrong_node);
}

TEST_CASE("pcipassctl objects: claim JSON")
{
	Workstation workstation;

	const Run run = pcipassctl("--root " + shell_quote(workstation.root()) +
				   " objects 0000:02:00.0 --node ws1 --uid " + tekton_uid +
				   " --user admin --json");
	REQUIRE(run.status == 0);

	const boost::json::value document = boost::json::parse(run.output);
	CHECK(document.at("schema") == "pcipass.objects/v1");
	const boost::json::array &claims = document.at("claims").as_array();
	REQUIRE(claims.size() == 1);
	CHECK(claims[0] == boost::json::parse(R"({
		"apiVersion": "devices.harvesterhci.io/v1beta1",
		"kind": "PCIDeviceClaim",
		"metadata": {
			"name": "ws1-000002000",
			"ownerReferences": [{
				"apiVersion": "devices.harvesterhci.io/v1beta1",
				"kind": "PCIDevice",
				"name": "ws1-000002000",
				"uid": "cb439de7-3145-4b0f-a64e-f34a4dec2059"
			}]
		},
		"spec": {"address": "0000:02:00.0", "nodeName": "ws1", "userName": "admin"}
	})"));
	CHECK_FALSE(document.as_object().contains("pcidevices"));
}

TEST_CASE("pcipassctl objects: siblings with every part")
{
	Workstation workstation;

	const Run run = pcipassctl("--root " + shell_quote(workstation.root()) +
				   " objects 0000:01:00.1 --node ws1 --uid uid-audio"
				   " --sibling-uid 0000:01:00.0=uid-vga --sibling-uid 0000:01:00.2=uid-xhci"
				   " --siblings --pcidevice --kubevirt --libvirt --json");
	REQUIRE(run.status == 0);

	const boost::json::value document = boost::json::parse(run.output);
	CHECK(document.at("claims").as_array().size() == 3);
	CHECK(document.at("pcidevices").as_array().size() == 3);
	CHECK(document.at("hostDevices").as_array().size() == 3);
	CHECK(document.at("pciHostDevices").as_array().size() == 3);
	REQUIRE(document.at("libvirt").as_array().size() == 3);
	CHECK(document.at("libvirt").at(2).as_string().find("function='0x2'") != std::string::npos);
	CHECK(document.at("pcidevices").at(1).at("metadata").at("uid") == "uid-audio");
	CHECK(document.at("hostDevices").at(0).at("name") == "ws1-000001000");
}

TEST_CASE("pcipassctl objects: no uid, no claim")
{
	Workstation workstation;

	const Run run = pcipassctl("--root " + shell_quote(workstation.root()) +
				   " objects 0000:02:00.0 --node ws1 --json 2>/dev/null");
	CHECK(run.status == 1);
	CHECK(run.output.empty());

	const Run missing_sibling = pcipassctl("--root " + shell_quote(workstation.root()) +
					       " objects 0000:01:00.0 --node ws1 --uid u --siblings"
					       " 2>/dev/null");
	CHECK(missing_sibling.status == 1);
	CHECK(missing_sibling.output.empty());
}

TEST_CASE("pcipassctl objects: human output is a kubectl stream")
{
	Workstation workstation;

	const Run run = pcipassctl("--root " + shell_quote(workstation.root()) +
				   " objects 0000:02:00.0 --node ws1 --uid u1 --pcidevice");
	REQUIRE(run.status == 0);

	const size_t separator = run.output.find("\n---\n");
	REQUIRE(separator != std::string::npos);
	const boost::json::value pcidevice = boost::json::parse(run.output.substr(0, separator + 1));
	const boost::json::value claim = boost::json::parse(run.output.substr(separator + 5));
	CHECK(pcidevice.at("kind") == "PCIDevice");
	CHECK(claim.at("kind") == "PCIDeviceClaim");
	CHECK(claim.at("metadata").at("ownerReferences").at(0).at("uid") == "u1");
}

TEST_CASE("pcipassctl validate-claim: S20 and S21")
{
	Workstation workstation;
	const std::string root = shell_quote(workstation.root());

	const Run built = pcipassctl("--root " + root + " objects 0000:02:00.0 --node ws1 --uid u1");
	REQUIRE(built.status == 0);
	boost::json::value claim = boost::json::parse(built.output);

	const std::string file = workstation.dir() + "/claim.json";
	const auto write = [&file](const boost::json::value &value) {
		std::ofstream(file) << boost::json::serialize(value);
	};

	write(claim);
	const Run valid = pcipassctl("--root " + root + " validate-claim " + shell_quote(file) +
				     " --node ws1");
	CHECK(valid.status == 0);
	CHECK(valid.output == "claim is valid on node ws1\n");

	const Run wrong_node = pcipassctl("--root " + root + " validate-claim " +
					  shell_quote(file) + " --node ws2 --json");
	CHECK(wrong_node.status == 1);
	const boost::json::value wrong_report = boost::json::parse(wrong_node.output);
	CHECK(wrong_report.at("valid") == false);
	CHECK(wrong_report.at("problems").at(0).at("reason") == "wrong_node");

	claim.at("metadata").as_object().erase("ownerReferences");
	write(claim);
	const Run no_owner = pcipassctl("--root " + root + " validate-claim " + shell_quote(file) +
					" --node ws1");
	CHECK(no_owner.status == 1);
	CHECK(no_owner.output.rfind("missing_owner_reference: claim \"ws1-000002000\" has no owner "
				    "reference to its PCIDevice",
				    0) == 0);
	CHECK(no_owner.output.find(
		      "  entry: {\"apiVersion\":\"devices.harvesterhci.io/v1beta1\",\"kind\":"
		      "\"PCIDevice\",\"name\":\"ws1-000002000\"}\n") != std::string::npos);

	/* With the PCIDevice the entry carries its uid. */
	const Run with_pcidevice = pcipassctl("--root " + root +
					      " objects 0000:02:00.0 --node ws1 --uid u1 --pcidevice "
					      "--json");
	REQUIRE(with_pcidevice.status == 0);
	const std::string pcidevice_file = workstation.dir() + "/pcidevice.json";
	std::ofstream(pcidevice_file) << boost::json::serialize(
		boost::json::parse(with_pcidevice.output).at("pcidevices").at(0));

	const Run fixed = pcipassctl("--root " + root + " validate-claim " + shell_quote(file) +
				     " --node ws1 --pcidevice " + shell_quote(pcidevice_file) +
				     " --json");
	CHECK(fixed.status == 1);
	CHECK(boost::json::parse(fixed.output).at("problems").at(0).at("fix").at("uid") == "u1");
}
