/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 */

#include <map>
#include <set>
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
using claim_test::make_device;
using claim_test::tekton_uid;

namespace {

/* A desktop GPU slot behind its root port: VGA, audio, xHCI and UCSI share group 12. */
std::vector<Device> desktop_gpu()
{
	std::vector<Device> devices;
	devices.push_back(make_bridge("0000:00:01.0", 12));
	devices.push_back(make_device("0000:01:00.0", 0x10de, 0x1f02, 0x030000, "nouveau", 12,
				      "NVIDIA Corporation", "TU106 [GeForce RTX 2070]"));
	devices.push_back(make_device("0000:01:00.1", 0x10de, 0x10f9, 0x040300, "snd_hda_intel", 12,
				      "NVIDIA Corporation", "TU106 High Definition Audio Controller"));
	devices.push_back(make_device("0000:01:00.2", 0x10de, 0x1ada, 0x0c0330, "xhci_hcd", 12,
				      "NVIDIA Corporation", "TU106 USB 3.1 Host Controller"));
	devices.push_back(make_device("0000:01:00.3", 0x10de, 0x1adb, 0x0c8000, {}, 12,
				      "NVIDIA Corporation", "TU106 USB Type-C UCSI Controller"));
	devices.push_back(make_device("0000:02:00.0", 0x8086, 0x15f3, 0x020000, "igc", 13,
				      "Intel Corporation", "Ethernet Controller I225-V"));
	return devices;
}

boost::json::value json(const char *text)
{
	return boost::json::parse(text);
}

} /* namespace */

TEST_CASE("pcidevice: name drops every colon and dot")
{
	CHECK(pcidevice_name("harvester", address("0000:01:00.0")).value() == "harvester-000001000");
	CHECK(pcidevice_name("tekton28a", address("0000:c1:00.0")).value() == "tekton28a-0000c1000");
	/* A VMD domain above 0xffff has more than four digits. */
	CHECK(pcidevice_name("harvester", address("10000:e1:1f.7")).value() ==
	      "harvester-10000e11f7");
}

TEST_CASE("pcidevice: the whole object")
{
	const Device gpu = make_device("0000:01:00.0", 0x10de, 0x1f02, 0x030000, "nouveau", 12,
				       "NVIDIA Corporation", "TU106 [GeForce RTX 2070]");
	auto pcidevice = make_pcidevice(gpu, "harvester");
	REQUIRE(pcidevice);

	CHECK(boost::json::value(to_json(pcidevice.value())) == json(R"({
		"apiVersion": "devices.harvesterhci.io/v1beta1",
		"kind": "PCIDevice",
		"metadata": {
			"name": "harvester-000001000",
			"labels": {"nodename": "harvester"},
			"annotations": {"harvesterhci.io/pcideviceDriver": "nouveau"}
		},
		"spec": {},
		"status": {
			"address": "0000:01:00.0",
			"vendorId": "10de",
			"deviceId": "1f02",
			"classId": "0300",
			"iommuGroup": "12",
			"nodeName": "harvester",
			"resourceName": "nvidia.com/TU106_GEFORCE_RTX_2070",
			"description": "VGA compatible controller: NVIDIA Corporation TU106 [GeForce RTX 2070]",
			"kernelDriverInUse": "nouveau"
		}
	})"));
}

TEST_CASE("pcidevice: unbound device without a group or names")
{
	const Device ucsi = make_device("0000:01:00.3", 0x10de, 0x1adb, 0x0c8000, {}, {});
	auto pcidevice = make_pcidevice(ucsi, "harvester");
	REQUIRE(pcidevice);

	const PciDeviceObject &object = pcidevice.value();
	CHECK(object.driver_at_creation.empty());
	CHECK(object.status.iommu_group.empty());
	CHECK(object.status.kernel_driver_in_use.empty());
	CHECK(object.status.description ==
	      "Serial bus controller: Vendor 10de Device 1adb");
	CHECK(object.status.resource_name == "unknown.com/1adb");

	const boost::json::object out = to_json(object);
	CHECK_FALSE(out.at("metadata").as_object().contains("annotations"));
	CHECK_FALSE(out.at("status").as_object().contains("kernelDriverInUse"));
	CHECK(out.at("status").at("iommuGroup") == "");
}

TEST_CASE("pcidevice: parse reads back what to_json wrote")
{
	const Device gpu = make_device("0000:01:00.0", 0x10de, 0x1f02, 0x030000, "nouveau", 12,
				       "NVIDIA Corporation", "TU106 [GeForce RTX 2070]");
	PciDeviceObject built = make_pcidevice(gpu, "harvester").value();
	built.uid = tekton_uid;

	auto parsed = parse_pcidevice(to_json(built));
	REQUIRE(parsed);
	CHECK(parsed.value() == built);
}

TEST_CASE("pcidevice: parse rejects other kinds and wrong types")
{
	auto other_kind = parse_pcidevice(json(R"({"kind": "Node", "metadata": {"name": "x"}})"));
	REQUIRE_FALSE(other_kind);
	CHECK(other_kind.error().code == errc::invalid_argument);
	CHECK(other_kind.error().message == "kind \"Node\" is not PCIDevice");

	auto no_name = parse_pcidevice(json(R"({"metadata": {}})"));
	REQUIRE_FALSE(no_name);
	CHECK(no_name.error().message == "PCIDevice has no metadata.name");

	auto wrong_type = parse_pcidevice(json(R"({"metadata": {"name": "x"}, "status": {"vendorId": 4318}})"));
	REQUIRE_FALSE(wrong_type);
	CHECK(wrong_type.error().message == "field status.vendorId must be a string");

	CHECK_FALSE(parse_pcidevice(json("[1, 2]")));
}

TEST_CASE("pcidevice: node names with dots are valid")
{
	const Device nic = make_device("0000:02:00.0", 0x8086, 0x15f3, 0x020000, "igc", 13);
	auto pcidevice = make_pcidevice(nic, "node1.rack4.example.com");
	REQUIRE(pcidevice);
	CHECK(pcidevice.value().name == "node1.rack4.example.com-000002000");
	CHECK(to_json(pcidevice.value()).at("metadata").at("labels").at("nodename") ==
	      "node1.rack4.example.com");
}

TEST_CASE("pcidevice: invalid node names are rejected")
{
	const Device nic = make_device("0000:02:00.0", 0x8086, 0x15f3, 0x020000, "igc", 13);

	for (const char *node : {"", "Node1", "node_1", "-node", "node-", "node.", "nöde"}) {
		CAPTURE(node);
		auto pcidevice = make_pcidevice(nic, node);
		REQUIRE_FALSE(pcidevice);
		CHECK(pcidevice.error().code == errc::invalid_argument);
	}

	auto upper = make_pcidevice(nic, "Node1");
	CHECK(upper.error().message ==
	      "node name \"Node1\" is invalid: Kubernetes object names (DNS-1123 subdomains) hold "
	      "only lower-case letters, digits, '-' and '.', and start and end with a letter or digit");
}

TEST_CASE("pcidevice: node names longer than a label value are rejected")
{
	const Device nic = make_device("0000:02:00.0", 0x8086, 0x15f3, 0x020000, "igc", 13);
	const std::string node_63(63, 'n');
	const std::string node_64(64, 'n');

	CHECK(make_pcidevice(nic, node_63));

	auto too_long = make_pcidevice(nic, node_64);
	REQUIRE_FALSE(too_long);
	CHECK(too_long.error().code == errc::invalid_argument);
	CHECK(too_long.error().message ==
	      "node name (the value of the nodename label) \"" + node_64 +
		      "\" is invalid: it has 64 characters; Kubernetes label values allow at most 63");
}

TEST_CASE("pcidevice: object names are at most 253 characters")
{
	/* The address adds '-' and nine characters. */
	std::string node_243;
	while (node_243.size() < 243)
		node_243 += node_243.size() % 60 == 59 ? '.' : 'a';
	node_243.back() = 'z';
	const std::string node_244 = node_243 + "z";

	auto fits = pcidevice_name(node_243, address("0000:01:00.0"));
	REQUIRE(fits);
	CHECK(fits.value().size() == 253);

	auto too_long = pcidevice_name(node_244, address("0000:01:00.0"));
	REQUIRE_FALSE(too_long);
	CHECK(too_long.error().code == errc::invalid_argument);
	CHECK(too_long.error().message.find("it has 254 characters; Kubernetes object names allow "
					    "at most 253, so the node name may have at most 243") !=
	      std::string::npos);

	CHECK(check_object_name(std::string(254, 'a'), "name").error().message.find(
		      "254 characters") != std::string::npos);
}

TEST_CASE("label value: rules")
{
	CHECK(check_label_value("", "value"));
	CHECK(check_label_value("A_b-c.9", "value"));
	CHECK_FALSE(check_label_value("_a", "value"));
	CHECK_FALSE(check_label_value("a.", "value"));
	CHECK_FALSE(check_label_value("a/b", "value"));
	CHECK_FALSE(check_label_value(std::string(64, 'a'), "value"));
}

TEST_CASE("claim: S20 owner reference to tekton28a-0000c1000")
{
	/* The PCIDevice as the API server returns it, uid included. */
	auto pcidevice = parse_pcidevice(json(R"({
		"apiVersion": "devices.harvesterhci.io/v1beta1",
		"kind": "PCIDevice",
		"metadata": {
			"name": "tekton28a-0000c1000",
			"uid": "cb439de7-3145-4b0f-a64e-f34a4dec2059",
			"labels": {"nodename": "tekton28a"}
		},
		"status": {"address": "0000:c1:00.0", "nodeName": "tekton28a",
			   "vendorId": "10de", "deviceId": "24fa"}
	})"));
	REQUIRE(pcidevice);

	ClaimOptions options;
	options.user_name = "admin";
	auto claim = make_claim(pcidevice.value(), options);
	REQUIRE(claim);

	CHECK(boost::json::value(to_json(claim.value())) == json(R"({
		"apiVersion": "devices.harvesterhci.io/v1beta1",
		"kind": "PCIDeviceClaim",
		"metadata": {
			"name": "tekton28a-0000c1000",
			"ownerReferences": [{
				"apiVersion": "devices.harvesterhci.io/v1beta1",
				"kind": "PCIDevice",
				"name": "tekton28a-0000c1000",
				"uid": "cb439de7-3145-4b0f-a64e-f34a4dec2059"
			}]
		},
		"spec": {"address": "0000:c1:00.0", "nodeName": "tekton28a", "userName": "admin"}
	})"));
}

TEST_CASE("claim: S20 no uid, no claim")
{
	const Device gpu = make_device("0000:c1:00.0", 0x10de, 0x24fa, 0x030000, "nvidia", 42);

	auto no_uid = make_claim(gpu, "tekton28a", "");
	REQUIRE_FALSE(no_uid);
	CHECK(no_uid.error().code == errc::missing_owner_reference);
	CHECK(no_uid.error().device == "0000:c1:00.0");
	CHECK(no_uid.error().message ==
	      "PCIDevice \"tekton28a-0000c1000\" has no metadata.uid, and Harvester never processes "
	      "a claim without an owner reference that carries it: read the uid back with "
	      "`kubectl get pcidevice tekton28a-0000c1000 -o jsonpath='{.metadata.uid}'`");

	PciDeviceObject nameless = make_pcidevice(gpu, "tekton28a").value();
	nameless.uid = tekton_uid;
	nameless.name.clear();
	auto no_name = make_claim(nameless);
	REQUIRE_FALSE(no_name);
	CHECK(no_name.error().code == errc::missing_owner_reference);
}

TEST_CASE("claim: built from a device has exactly one owner reference")
{
	const Device gpu = make_device("0000:c1:00.0", 0x10de, 0x24fa, 0x030000, "nvidia", 42);
	auto claim = make_claim(gpu, "tekton28a", tekton_uid);
	REQUIRE(claim);

	REQUIRE(claim.value().owner_references.size() == 1);
	const OwnerReference &owner = claim.value().owner_references.front();
	CHECK(owner.api_version == "devices.harvesterhci.io/v1beta1");
	CHECK(owner.kind == "PCIDevice");
	CHECK(owner.name == "tekton28a-0000c1000");
	CHECK(owner.uid == tekton_uid);
	CHECK_FALSE(owner.controller);
	CHECK_FALSE(owner.block_owner_deletion);
	CHECK(claim.value().name == "tekton28a-0000c1000");
	CHECK(claim.value().address == "0000:c1:00.0");
	CHECK(claim.value().node_name == "tekton28a");
	CHECK(claim.value().user_name == "");

	const boost::json::object out = to_json(claim.value());
	const boost::json::object &reference =
		out.at("metadata").at("ownerReferences").as_array().at(0).as_object();
	CHECK_FALSE(reference.contains("controller"));
	CHECK_FALSE(reference.contains("blockOwnerDeletion"));
}

TEST_CASE("claim: controller and blockOwnerDeletion on request")
{
	const Device gpu = make_device("0000:c1:00.0", 0x10de, 0x24fa, 0x030000, "nvidia", 42);
	ClaimOptions options;
	options.controller = true;
	options.block_owner_deletion = true;

	auto claim = make_claim(gpu, "tekton28a", tekton_uid, options);
	REQUIRE(claim);
	const boost::json::object out = to_json(claim.value());
	const boost::json::value &reference = out.at("metadata").at("ownerReferences").at(0);
	CHECK(reference.at("controller") == true);
	CHECK(reference.at("blockOwnerDeletion") == true);
}

TEST_CASE("claim: malformed uid or address is rejected")
{
	const Device gpu = make_device("0000:c1:00.0", 0x10de, 0x24fa, 0x030000, "nvidia", 42);

	auto spaced = make_claim(gpu, "tekton28a", "cb439de7 3145");
	REQUIRE_FALSE(spaced);
	CHECK(spaced.error().code == errc::invalid_argument);

	PciDeviceObject pcidevice = make_pcidevice(gpu, "tekton28a").value();
	pcidevice.uid = tekton_uid;
	pcidevice.status.address = "c1:00";
	auto bad_address = make_claim(pcidevice);
	REQUIRE_FALSE(bad_address);
	CHECK(bad_address.error().code == errc::invalid_argument);

	pcidevice.status.address = "0000:c1:00.0";
	pcidevice.status.node_name.clear();
	auto no_node = make_claim(pcidevice);
	REQUIRE_FALSE(no_node);
	CHECK(no_node.error().code == errc::invalid_argument);
}

TEST_CASE("claim: round trip keeps the owner reference")
{
	const Device gpu = make_device("0000:c1:00.0", 0x10de, 0x24fa, 0x030000, "nvidia", 42);
	ClaimOptions options;
	options.user_name = "alice";
	options.block_owner_deletion = true;
	const PciDeviceClaim built = make_claim(gpu, "tekton28a", tekton_uid, options).value();

	const std::string text = boost::json::serialize(to_json(built));
	auto parsed = parse_claim(std::string_view(text));
	REQUIRE(parsed);

	CHECK(parsed.value() == built);
	REQUIRE(parsed.value().owner_references.size() == 1);
	CHECK(parsed.value().owner_references[0].uid == tekton_uid);
	CHECK(parsed.value().owner_references[0].block_owner_deletion == true);
	CHECK_FALSE(parsed.value().owner_references[0].controller);
	CHECK(boost::json::serialize(to_json(parsed.value())) == text);
}

TEST_CASE("claim: parse reports the malformed field")
{
	auto not_json = parse_claim(std::string_view("{\"metadata\": "));
	REQUIRE_FALSE(not_json);
	CHECK(not_json.error().code == errc::invalid_argument);
	CHECK(not_json.error().message ==
	      "invalid PCIDeviceClaim JSON at line 1, column 14: incomplete JSON");

	auto bad_owner = parse_claim(json(R"({"metadata": {"name": "x", "ownerReferences": [{"uid": 7}]},
					      "spec": {}})"));
	REQUIRE_FALSE(bad_owner);
	CHECK(bad_owner.error().message ==
	      "field metadata.ownerReferences[0].uid must be a string");

	auto bad_flag = parse_claim(json(R"({"metadata": {"ownerReferences": [{"controller": "yes"}]},
					     "spec": {}})"));
	REQUIRE_FALSE(bad_flag);
	CHECK(bad_flag.error().message ==
	      "field metadata.ownerReferences[0].controller must be true or false");

	auto other_version = parse_claim(json(R"({"apiVersion": "devices.harvesterhci.io/v1",
						  "metadata": {}, "spec": {}})"));
	REQUIRE_FALSE(other_version);
	CHECK(other_version.error().message ==
	      "apiVersion \"devices.harvesterhci.io/v1\" is not devices.harvesterhci.io/v1beta1");

	/* A second key would hide the first from one reader and not another. */
	auto twice = parse_claim(std::string_view(
		R"({"metadata": {"name": "a", "ownerReferences": [], "ownerReferences": []}, "spec": {}})"));
	REQUIRE_FALSE(twice);
	CHECK(twice.error().code == errc::invalid_argument);

	CHECK_FALSE(parse_claim(json(R"({"metadata": {}})")));
	CHECK_FALSE(parse_claim(json("null")));
}

TEST_CASE("claim: S22 three identical devices give three distinct claims")
{
	std::vector<Device> devices;
	for (const char *bdf : {"0000:3b:00.0", "0000:5e:00.0", "0000:86:00.0"})
		devices.push_back(make_device(bdf, 0x10de, 0x20b5, 0x030200, "nvidia",
					      devices.size() + 30, "NVIDIA Corporation",
					      "GA100 [A100 PCIe 80GB]"));

	std::set<std::string> names;
	std::set<std::string> addresses;
	std::set<std::string> resources;
	for (const Device &device : devices) {
		const std::string uid = "uid-" + device.address.to_string().substr(5, 2);
		auto claim = make_claim(device, "gpu-node", uid);
		REQUIRE(claim);
		CHECK(claim.value().address == device.address.to_string());
		CHECK(claim.value().node_name == "gpu-node");
		CHECK(claim.value().owner_references.at(0).uid == uid);
		CHECK(claim.value().owner_references.at(0).name == claim.value().name);
		names.insert(claim.value().name);
		addresses.insert(claim.value().address);
		resources.insert(make_pcidevice(device, "gpu-node").value().status.resource_name);
	}

	CHECK(names == std::set<std::string>{"gpu-node-00003b000", "gpu-node-00005e000",
					     "gpu-node-000086000"});
	CHECK(addresses.size() == 3);
	/* The resource name is per model: all three serve one resource. */
	CHECK(resources == std::set<std::string>{"nvidia.com/GA100_A100_PCIE_80GB"});
}

TEST_CASE("claim: group claims cover every endpoint but the bridge")
{
	const std::vector<Device> devices = desktop_gpu();
	const std::map<PciAddress, std::string> uids = {
		{address("0000:01:00.0"), "uid-vga"},
		{address("0000:01:00.1"), "uid-audio"},
		{address("0000:01:00.2"), "uid-xhci"},
		{address("0000:01:00.3"), "uid-ucsi"},
	};

	auto claims = make_group_claims(devices, address("0000:01:00.1"), "harvester", uids);
	REQUIRE(claims);
	REQUIRE(claims.value().size() == 4);

	const char *expected[][3] = {
		{"harvester-000001000", "0000:01:00.0", "uid-vga"},
		{"harvester-000001001", "0000:01:00.1", "uid-audio"},
		{"harvester-000001002", "0000:01:00.2", "uid-xhci"},
		{"harvester-000001003", "0000:01:00.3", "uid-ucsi"},
	};
	for (size_t i = 0; i < 4; i++) {
		const PciDeviceClaim &claim = claims.value()[i];
		CHECK(claim.name == expected[i][0]);
		CHECK(claim.address == expected[i][1]);
		REQUIRE(claim.owner_references.size() == 1);
		CHECK(claim.owner_references[0].name == expected[i][0]);
		CHECK(claim.owner_references[0].uid == expected[i][2]);
	}
}

TEST_CASE("claim: group claims need every endpoint's uid")
{
	const std::vector<Device> devices = desktop_gpu();
	const std::map<PciAddress, std::string> uids = {
		{address("0000:01:00.0"), "uid-vga"},
		{address("0000:01:00.2"), ""},
	};

	auto claims = make_group_claims(devices, address("0000:01:00.0"), "harvester", uids);
	REQUIRE_FALSE(claims);
	CHECK(claims.error().code == errc::missing_owner_reference);
	CHECK(claims.error().message ==
	      "the group of 0000:01:00.0 needs a claim for every endpoint, each owned by its "
	      "PCIDevice, but the uid of these PCIDevices is missing: harvester-000001001, "
	      "harvester-000001002, harvester-000001003; read each with `kubectl get pcidevice "
	      "NAME -o jsonpath='{.metadata.uid}'`");
}

TEST_CASE("claim: group endpoints")
{
	const std::vector<Device> devices = desktop_gpu();

	auto single = group_endpoints(devices, address("0000:02:00.0"));
	REQUIRE(single);
	REQUIRE(single.value().size() == 1);
	CHECK(single.value()[0]->address == address("0000:02:00.0"));

	auto bridge = group_endpoints(devices, address("0000:00:01.0"));
	REQUIRE_FALSE(bridge);
	CHECK(bridge.error().code == errc::bridge_requested);

	auto missing = group_endpoints(devices, address("0000:09:00.0"));
	REQUIRE_FALSE(missing);
	CHECK(missing.error().code == errc::not_found);
	CHECK(missing.error().device == "0000:09:00.0");

	/* Without an IOMMU group the device is its only endpoint. */
	std::vector<Device> no_iommu = devices;
	for (Device &device : no_iommu)
		device.iommu_group.reset();
	auto alone = group_endpoints(no_iommu, address("0000:01:00.0"));
	REQUIRE(alone);
	CHECK(alone.value().size() == 1);
}

TEST_CASE("kubevirt: host device and permitted entries")
{
	const std::vector<Device> devices = desktop_gpu();
	std::vector<PciDeviceObject> pcidevices;
	for (const char *bdf : {"0000:01:00.0", "0000:01:00.1"}) {
		for (const Device &device : devices)
			if (device.address == address(bdf))
				pcidevices.push_back(make_pcidevice(device, "harvester").value());
	}
	/* A second identical GPU adds no permitted entry. */
	Device twin = devices[1];
	twin.address = address("0000:81:00.0");
	pcidevices.push_back(make_pcidevice(twin, "harvester").value());

	CHECK(boost::json::value(to_json(kubevirt_host_device(pcidevices[0]))) == json(R"({
		"name": "harvester-000001000",
		"deviceName": "nvidia.com/TU106_GEFORCE_RTX_2070"
	})"));

	const std::vector<PermittedPciHostDevice> permitted = permitted_pci_host_devices(pcidevices);
	REQUIRE(permitted.size() == 2);
	CHECK(boost::json::value(to_json(permitted[0])) == json(R"({
		"pciVendorSelector": "10de:1f02",
		"resourceName": "nvidia.com/TU106_GEFORCE_RTX_2070",
		"externalResourceProvider": true
	})"));
	CHECK(permitted[1].pci_vendor_selector == "10de:10f9");
	CHECK(permitted[1].resource_name == "nvidia.com/TU106_HIGH_DEFINITION_AUDIO_CONTROLLER");
}

TEST_CASE("libvirt: hostdev XML")
{
	CHECK(libvirt_hostdev_xml(address("0000:01:00.1")) ==
	      "<hostdev mode='subsystem' type='pci' managed='no'>\n"
	      "  <source>\n"
	      "    <address domain='0x0000' bus='0x01' slot='0x00' function='0x1'/>\n"
	      "  </source>\n"
	      "</hostdev>\n");
	CHECK(libvirt_hostdev_xml(address("10000:e1:1f.7")).find(
		      "<address domain='0x10000' bus='0xe1' slot='0x1f' function='0x7'/>") !=
	      std::string::npos);
}

TEST_CASE("objects: only the claim by default")
{
	ObjectsRequest request;
	request.address = address("0000:01:00.0");
	request.node = "harvester";
	request.uids[request.address] = "uid-vga";

	auto objects = build_objects(desktop_gpu(), request);
	REQUIRE(objects);
	REQUIRE(objects.value().claims.size() == 1);
	CHECK(objects.value().claims[0].name == "harvester-000001000");
	CHECK(objects.value().pcidevices.empty());
	CHECK(objects.value().host_devices.empty());
	CHECK(objects.value().permitted_host_devices.empty());
	CHECK(objects.value().libvirt_hostdevs.empty());

	const boost::json::object document = to_json(objects.value(), request);
	CHECK(document.size() == 2);
	CHECK(document.at("schema") == "pcipass.objects/v1");
	CHECK(document.at("claims").as_array().at(0) == to_json(objects.value().claims[0]));
}

TEST_CASE("objects: siblings with every part")
{
	ObjectsRequest request;
	request.address = address("0000:01:00.0");
	request.node = "harvester";
	request.uids = {
		{address("0000:01:00.0"), "uid-vga"},
		{address("0000:01:00.1"), "uid-audio"},
		{address("0000:01:00.2"), "uid-xhci"},
		{address("0000:01:00.3"), "uid-ucsi"},
	};
	request.claim.user_name = "admin";
	request.siblings = true;
	request.pcidevices = true;
	request.kubevirt = true;
	request.libvirt = true;

	auto objects = build_objects(desktop_gpu(), request);
	REQUIRE(objects);
	const Objects &built = objects.value();
	REQUIRE(built.claims.size() == 4);
	REQUIRE(built.pcidevices.size() == 4);
	REQUIRE(built.host_devices.size() == 4);
	REQUIRE(built.permitted_host_devices.size() == 4);
	REQUIRE(built.libvirt_hostdevs.size() == 4);

	CHECK(built.claims[3].name == "harvester-000001003");
	CHECK(built.claims[3].user_name == "admin");
	CHECK(built.pcidevices[2].uid == "uid-xhci");
	CHECK(built.pcidevices[2].status.kernel_driver_in_use == "xhci_hcd");
	CHECK(built.host_devices[1].name == "harvester-000001001");
	CHECK(built.host_devices[1].device_name ==
	      "nvidia.com/TU106_HIGH_DEFINITION_AUDIO_CONTROLLER");
	CHECK(built.permitted_host_devices[2].pci_vendor_selector == "10de:1ada");
	CHECK(built.libvirt_hostdevs[3] == libvirt_hostdev_xml(address("0000:01:00.3")));

	const boost::json::object document = to_json(built, request);
	CHECK(document.at("pcidevices").as_array().size() == 4);
	CHECK(document.at("hostDevices").as_array().size() == 4);
	CHECK(document.at("pciHostDevices").as_array().size() == 4);
	CHECK(document.at("libvirt").as_array().at(0).as_string() ==
	      libvirt_hostdev_xml(address("0000:01:00.0")));
}

TEST_CASE("objects: failures of the parts")
{
	ObjectsRequest request;
	request.address = address("0000:01:00.0");
	request.node = "harvester";

	auto no_uid = build_objects(desktop_gpu(), request);
	REQUIRE_FALSE(no_uid);
	CHECK(no_uid.error().code == errc::missing_owner_reference);

	request.address = address("0000:00:01.0");
	request.uids[request.address] = "uid-bridge";
	auto bridge = build_objects(desktop_gpu(), request);
	REQUIRE_FALSE(bridge);
	CHECK(bridge.error().code == errc::bridge_requested);

	request.address = address("0000:02:00.0");
	request.uids[request.address] = "uid-nic";
	request.node = "Harvester";
	auto bad_node = build_objects(desktop_gpu(), request);
	REQUIRE_FALSE(bad_node);
	CHECK(bad_node.error().code == errc::invalid_argument);
}
