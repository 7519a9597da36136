/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 */

#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <doctest/doctest.h>

#include <pcipass/claim.hpp>

#include "devices.hpp"

using namespace pcipass;
using claim_test::address;
using claim_test::make_bridge;
using claim_test::make_consumer;
using claim_test::make_device;
using claim_test::tekton_uid;

namespace {

std::vector<Device> tekton_node()
{
	std::vector<Device> devices;
	devices.push_back(make_bridge("0000:c0:01.1", 40));
	devices.push_back(make_device("0000:c1:00.0", 0x10de, 0x24fa, 0x030000, "nvidia", 42,
				      "NVIDIA Corporation", "GA104 [RTX A4500 Embedded GPU ]"));
	devices.push_back(make_device("0000:c1:00.1", 0x10de, 0x228b, 0x040300, "snd_hda_intel", 42,
				      "NVIDIA Corporation", "GA104 High Definition Audio Controller"));
	devices.push_back(make_device("0000:c2:00.0", 0x8086, 0x15f3, 0x020000, "igc", 43,
				      "Intel Corporation", "Ethernet Controller I225-V"));
	return devices;
}

boost::json::value claim_json(const std::string &node = "tekton28a",
			      const char *bdf = "0000:c1:00.0")
{
	const Device device = make_device(bdf, 0x10de, 0x24fa, 0x030000, "nvidia", 42);
	return to_json(make_claim(device, node, tekton_uid).value());
}

boost::json::value without_owner_references(boost::json::value claim)
{
	claim.at("metadata").as_object().erase("ownerReferences");
	return claim;
}

PciDeviceObject tekton_pcidevice()
{
	const std::vector<Device> devices = tekton_node();
	PciDeviceObject pcidevice = make_pcidevice(devices[1], "tekton28a").value();
	pcidevice.uid = tekton_uid;
	return pcidevice;
}

std::vector<std::string> reasons(const ClaimCheck &check)
{
	std::vector<std::string> list;
	for (const ClaimProblem &problem : check.problems)
		list.push_back(problem.reason);
	return list;
}

} /* namespace */

TEST_CASE("validate: a correct claim passes")
{
	const ClaimCheck check = validate_claim(claim_json(), tekton_node(), "tekton28a");
	CHECK(check.valid());
	CHECK(check.problems.empty());
	CHECK(check.as_result());
	CHECK(boost::json::value(to_json(check)) ==
	      boost::json::parse(R"({"schema": "pcipass.claim-check/v1", "valid": true, "problems": []})"));
}

TEST_CASE("validate: S20 claim without ownerReferences says what to add")
{
	const ClaimCheck check =
		validate_claim(without_owner_references(claim_json()), tekton_node(), "tekton28a");

	REQUIRE(check.problems.size() == 1);
	const ClaimProblem &problem = check.problems[0];
	CHECK(problem.code == errc::missing_owner_reference);
	CHECK(problem.reason == "missing_owner_reference");
	CHECK(problem.device == "0000:c1:00.0");
	/* The uid is unknown offline, so the entry lacks it and the message explains how to read it. */
	CHECK(problem.fix == boost::json::parse(R"({
		"apiVersion": "devices.harvesterhci.io/v1beta1",
		"kind": "PCIDevice",
		"name": "tekton28a-0000c1000"
	})"));
	CHECK(problem.message ==
	      "claim \"tekton28a-0000c1000\" has no owner reference to its PCIDevice, so Harvester's "
	      "controller never processes it: add "
	      "{\"apiVersion\":\"devices.harvesterhci.io/v1beta1\",\"kind\":\"PCIDevice\","
	      "\"name\":\"tekton28a-0000c1000\"} with uid set to the PCIDevice's metadata.uid "
	      "(`kubectl get pcidevice tekton28a-0000c1000 -o jsonpath='{.metadata.uid}'`) as the "
	      "first entry of metadata.ownerReferences");

	auto error = check.as_result();
	REQUIRE_FALSE(error);
	CHECK(error.error().code == errc::missing_owner_reference);
	CHECK(error.error().message == problem.message);
}

TEST_CASE("validate: S20 with the PCIDevice known the fix carries its uid")
{
	ClaimCheckOptions options;
	options.owner = tekton_pcidevice();

	const ClaimCheck check = validate_claim(without_owner_references(claim_json()),
						tekton_node(), "tekton28a", options);
	REQUIRE(check.problems.size() == 1);
	CHECK(check.problems[0].fix == boost::json::parse(R"({
		"apiVersion": "devices.harvesterhci.io/v1beta1",
		"kind": "PCIDevice",
		"name": "tekton28a-0000c1000",
		"uid": "cb439de7-3145-4b0f-a64e-f34a4dec2059"
	})"));
	CHECK(check.problems[0].message.find("with uid set to") == std::string::npos);

	/* An empty list is as bad as none. */
	boost::json::value empty_list = claim_json();
	empty_list.at("metadata").at("ownerReferences").as_array().clear();
	CHECK(reasons(validate_claim(empty_list, tekton_node(), "tekton28a", options)) ==
	      std::vector<std::string>{"missing_owner_reference"});
}

TEST_CASE("validate: owner reference must come first")
{
	boost::json::value claim = claim_json();
	boost::json::array &owners = claim.at("metadata").at("ownerReferences").as_array();
	owners.insert(owners.begin(), boost::json::object{{"apiVersion", "kubevirt.io/v1"},
							  {"kind", "VirtualMachine"},
							  {"name", "vm1"},
							  {"uid", "1234"}});

	const ClaimCheck check = validate_claim(claim, tekton_node(), "tekton28a");
	REQUIRE(check.problems.size() == 1);
	CHECK(check.problems[0].reason == "owner_reference_not_first");
	CHECK(check.problems[0].code == errc::missing_owner_reference);
	CHECK(check.problems[0].fix.at("uid") == tekton_uid);
	CHECK(check.problems[0].message.find(
		      "at metadata.ownerReferences[1], after a \"VirtualMachine\" \"vm1\"") !=
	      std::string::npos);
}

TEST_CASE("validate: owner reference fields must match the PCIDevice")
{
	boost::json::value claim = claim_json();
	boost::json::object &owner =
		claim.at("metadata").at("ownerReferences").at(0).as_object();
	owner["apiVersion"] = "devices.harvesterhci.io/v1";
	owner["name"] = "tekton28a-intel-8086-15f3-0000c2000";
	owner["uid"] = "";

	const ClaimCheck check = validate_claim(claim, tekton_node(), "tekton28a");
	REQUIRE(check.problems.size() == 1);
	CHECK(check.problems[0].reason == "owner_reference_invalid");
	CHECK(check.problems[0].message ==
	      "the PCIDevice owner reference of claim \"tekton28a-0000c1000\" is wrong: apiVersion "
	      "is \"devices.harvesterhci.io/v1\", not devices.harvesterhci.io/v1beta1; name is "
	      "\"tekton28a-intel-8086-15f3-0000c2000\", not the PCIDevice \"tekton28a-0000c1000\"; "
	      "uid is empty: replace it with "
	      "{\"apiVersion\":\"devices.harvesterhci.io/v1beta1\",\"kind\":\"PCIDevice\","
	      "\"name\":\"tekton28a-0000c1000\"} with uid set to the PCIDevice's metadata.uid "
	      "(`kubectl get pcidevice tekton28a-0000c1000 -o jsonpath='{.metadata.uid}'`)");
}

TEST_CASE("validate: a recreated PCIDevice has a new uid")
{
	ClaimCheckOptions options;
	options.owner = tekton_pcidevice();
	options.owner->uid = "0f0e0d0c-0000-4000-8000-000000000001";

	const ClaimCheck check = validate_claim(claim_json(), tekton_node(), "tekton28a", options);
	REQUIRE(check.problems.size() == 1);
	CHECK(check.problems[0].reason == "owner_reference_invalid");
	CHECK(check.problems[0].fix.at("uid") == "0f0e0d0c-0000-4000-8000-000000000001");
	CHECK(check.problems[0].message.find("(it was deleted and created again)") !=
	      std::string::npos);
}

TEST_CASE("validate: S21 claim for another node")
{
	/* Node tekton28b has a device at the same address. */
	const ClaimCheck check = validate_claim(claim_json("tekton28b"), tekton_node(), "tekton28a");

	REQUIRE(check.problems.size() == 1);
	CHECK(check.problems[0].code == errc::wrong_node);
	CHECK(check.problems[0].reason == "wrong_node");
	CHECK(check.problems[0].device == "0000:c1:00.0");
	CHECK(check.problems[0].message ==
	      "claim \"tekton28b-0000c1000\" is for node \"tekton28b\", but this is node "
	      "\"tekton28a\": only the pcipass instance on \"tekton28b\" may act on it");

	auto error = check.as_result();
	REQUIRE_FALSE(error);
	CHECK(error.error().code == errc::wrong_node);
}

TEST_CASE("validate: claim name must be the PCIDevice name")
{
	boost::json::value claim = claim_json();
	claim.at("metadata").as_object()["name"] = "my-gpu";

	const ClaimCheck check = validate_claim(claim, tekton_node(), "tekton28a");
	CHECK(reasons(check) == std::vector<std::string>{"name_mismatch"});
}

TEST_CASE("validate: device missing on this node")
{
	const ClaimCheck check =
		validate_claim(claim_json("tekton28a", "0000:d1:00.0"), tekton_node(), "tekton28a");
	REQUIRE(check.problems.size() == 1);
	CHECK(check.problems[0].code == errc::not_found);
	CHECK(check.problems[0].reason == "device_not_found");
	CHECK(check.problems[0].device == "0000:d1:00.0");
}

TEST_CASE("validate: identity differs from the PCIDevice")
{
	/* The PCIDevice recorded the NIC's identity at the GPU's address: the addresses shifted. */
	ClaimCheckOptions options;
	options.owner = tekton_pcidevice();
	options.owner->status.vendor_id = "8086";
	options.owner->status.device_id = "15f3";

	const ClaimCheck check = validate_claim(claim_json(), tekton_node(), "tekton28a", options);
	REQUIRE(check.problems.size() == 1);
	CHECK(check.problems[0].code == errc::identity_mismatch);
	CHECK(check.problems[0].message ==
	      "0000:c1:00.0 contains 10de:24fa, but PCIDevice \"tekton28a-0000c1000\" recorded "
	      "8086:15f3; 8086:15f3 is now at 0000:c2:00.0: claim the PCIDevice of that address "
	      "instead");

	options.owner->status.device_id = "1533";
	const ClaimCheck gone = validate_claim(claim_json(), tekton_node(), "tekton28a", options);
	REQUIRE(gone.problems.size() == 1);
	CHECK(gone.problems[0].message.find("no device on this node has 8086:1533") !=
	      std::string::npos);
}

TEST_CASE("validate: bridges are not claimable")
{
	const ClaimCheck check =
		validate_claim(claim_json("tekton28a", "0000:c0:01.1"), tekton_node(), "tekton28a");
	CHECK(reasons(check) == std::vector<std::string>{"bridge_requested"});
	CHECK(check.problems[0].code == errc::bridge_requested);
}

TEST_CASE("validate: IOMMU group required")
{
	std::vector<Device> devices = tekton_node();
	devices[1].iommu_group.reset();

	const ClaimCheck check = validate_claim(claim_json(), devices, "tekton28a");
	CHECK(reasons(check) == std::vector<std::string>{"no_iommu_group"});
	CHECK(check.problems[0].code == errc::no_iommu_group);

	for (Device &device : devices)
		device.iommu_group.reset();
	const ClaimCheck off = validate_claim(claim_json(), devices, "tekton28a");
	CHECK(reasons(off) == std::vector<std::string>{"iommu_off"});
	CHECK(off.problems[0].code == errc::iommu_off);
	CHECK(off.problems[0].message.find("intel_iommu=on") != std::string::npos);
}

TEST_CASE("validate: USB devices behind the group are reported")
{
	std::vector<Device> devices = tekton_node();
	Device xhci = make_device("0000:c1:00.2", 0x10de, 0x1ada, 0x0c0330, "xhci_hcd", 42);
	xhci.consumers.push_back(make_consumer(ConsumerKind::usb_hub, "usb3", "1d6b:0003 root hub"));
	xhci.consumers.push_back(
		make_consumer(ConsumerKind::usb_device, "3-1", "046d:c52b Unifying Receiver"));
	devices.push_back(xhci);

	const ClaimCheck check = validate_claim(claim_json(), devices, "tekton28a");
	REQUIRE(check.problems.size() == 1);
	CHECK(check.problems[0].code == errc::device_in_use);
	CHECK(check.problems[0].reason == "usb_device_in_use");
	CHECK(check.problems[0].device == "0000:c1:00.2");
	CHECK(check.problems[0].message ==
	      "USB device 3-1 (046d:c52b Unifying Receiver) is connected behind 0000:c1:00.2 in "
	      "IOMMU group 42 of 0000:c1:00.0; passing the group through disconnects it from the "
	      "host: unplug it or move it to another USB controller");
}

TEST_CASE("validate: inaccessible device")
{
	std::vector<Device> devices = tekton_node();
	devices[1].inaccessible = true;

	const ClaimCheck check = validate_claim(claim_json(), devices, "tekton28a");
	CHECK(reasons(check) == std::vector<std::string>{"device_inaccessible"});
}

TEST_CASE("validate: malformed claims are problems, not crashes")
{
	const std::vector<Device> devices = tekton_node();
	const char *inputs[] = {
		"null",
		"[]",
		"\"claim\"",
		R"({"kind": "PCIDevice", "metadata": {}, "spec": {}})",
		R"({"metadata": {"name": 3}, "spec": {}})",
		R"({"metadata": {"name": "x", "ownerReferences": {}}, "spec": {}})",
		R"({"metadata": {"name": "x"}, "spec": {"address": "c1:00", "nodeName": "tekton28a"}})",
		R"({"metadata": {"name": "x"}, "spec": {"address": "0000:c1:00.0", "nodeName": ""}})",
		R"({"metadata": {"name": "x"}, "spec": {"address": "0000:c1:00.0", "nodeName": "Tekton"}})",
	};
	for (const char *input : inputs) {
		CAPTURE(input);
		const ClaimCheck check = validate_claim(boost::json::parse(input), devices, "tekton28a");
		REQUIRE(check.problems.size() == 1);
		CHECK(check.problems[0].reason == "invalid_claim");
		CHECK(check.problems[0].code == errc::invalid_argument);
	}
}

TEST_CASE("validate: report JSON")
{
	const ClaimCheck check = validate_claim(without_owner_references(claim_json("tekton28b")),
						tekton_node(), "tekton28a");
	const boost::json::object report = to_json(check);

	CHECK(report.at("schema") == "pcipass.claim-check/v1");
	CHECK(report.at("valid") == false);
	const boost::json::array &problems = report.at("problems").as_array();
	REQUIRE(problems.size() == 2);
	CHECK(problems[0].at("reason") == "missing_owner_reference");
	CHECK(problems[0].at("code") == "missing_owner_reference");
	CHECK(problems[0].at("fix").at("name") == "tekton28b-0000c1000");
	CHECK(problems[1].at("reason") == "wrong_node");
	CHECK(problems[1].at("code") == "wrong_node");
	CHECK(problems[1].at("device") == "0000:c1:00.0");
	CHECK_FALSE(problems[1].as_object().contains("fix"));
}
