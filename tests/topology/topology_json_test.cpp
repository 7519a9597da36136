/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The topology document: round trips of the catalogue, and the exact error
 * for each kind of bad field and each broken rule.
 */

#include <functional>
#include <string>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <pcipass/testing/topology.hpp>

#include "catalogue.hpp"

using namespace pcipass;
using namespace pcipass::testing;
using topology_test::catalogue_names;

namespace json = boost::json;

namespace {

/*
 * A small valid host: host bridge, root port, and a NIC PF with two VFs in
 * groups of their own. Each error case changes one thing in it.
 */
json::value base_document()
{
	return json::parse(R"({
	  "schema": "pcipass.topology/v1",
	  "kernel_cmdline": "intel_iommu=on",
	  "iommu_units": ["dmar0"],
	  "modules": ["ice", "iavf", "vfio_pci"],
	  "drivers": [
	    {"name": "pcieport", "ids": ["8086:2030"]},
	    {"name": "ice", "module": "ice", "ids": ["8086:1592"], "sriov": true},
	    {"name": "iavf", "module": "iavf", "ids": ["8086:1889"]},
	    {"name": "vfio-pci", "module": "vfio_pci"}
	  ],
	  "devices": [
	    {"address": "0000:00:00.0", "vendor": "8086", "device": "2020", "class": "060000",
	     "iommu_group": 0},
	    {"address": "0000:00:01.0", "vendor": "8086", "device": "2030", "class": "060400",
	     "header_type": "01", "driver": "pcieport", "iommu_group": 1},
	    {"address": "0000:01:00.0", "parent": "0000:00:01.0", "vendor": "8086", "device": "1592",
	     "class": "020000", "driver": "ice", "iommu_group": 2,
	     "sriov": {"total_vfs": 4, "num_vfs": 2, "vf_device": "1889", "first_vf_group": 3},
	     "consumers": [{"kind": "net_interface", "name": "ens1f0", "default_route": true}]},
	    {"address": "0000:01:00.1", "parent": "0000:00:01.0", "physfn": "0000:01:00.0",
	     "vendor": "8086", "device": "1889", "class": "020000", "driver": "iavf", "iommu_group": 3},
	    {"address": "0000:01:00.2", "parent": "0000:00:01.0", "physfn": "0000:01:00.0",
	     "vendor": "8086", "device": "1889", "class": "020000", "driver": "iavf", "iommu_group": 4}
	  ]
	})");
}

/* The error message parse_topology gives for the base document after change. */
std::string parse_error(const std::function<void(json::value &)> &change)
{
	json::value document = base_document();
	change(document);
	auto topology = parse_topology(json::serialize(document));
	REQUIRE_FALSE(topology);
	CHECK(topology.error().code == errc::invalid_argument);
	return topology.error().message;
}

json::object &device(json::value &document, size_t index)
{
	return document.at("devices").as_array().at(index).as_object();
}

} /* namespace */

TEST_CASE("topology: base document is valid")
{
	auto topology = parse_topology(json::serialize(base_document()));
	REQUIRE_MESSAGE(topology, (topology ? "" : topology.error().message));
	CHECK(topology.value().devices.size() == 5);
	CHECK(topology.value().cpu_vendor == "GenuineIntel");
	CHECK(topology.value().vfio_container);
}

TEST_CASE("topology: catalogue files round-trip exactly")
{
	for (const std::string &name : catalogue_names) {
		CAPTURE(name);
		const Topology topology = topology_test::load_catalogue(name);
		const std::string text = to_json(topology);

		auto again = parse_topology(text);
		REQUIRE_MESSAGE(again, (again ? "" : again.error().message));
		CHECK(again.value() == topology);
		CHECK(to_json(again.value()) == text);
		CHECK(text.starts_with("{\n  \"schema\": \"pcipass.topology/v1\",\n"));
	}
}

TEST_CASE("topology: fields read as written")
{
	const Topology topology = topology_test::load_catalogue("gpu-workstation");

	const TopologyDevice *vga = topology.find(PciAddress(0, 1, 0, 0));
	REQUIRE(vga);
	CHECK(vga->parent == PciAddress(0, 0, 1, 0));
	CHECK(vga->vendor == VendorId(0x10de));
	CHECK(vga->device == DeviceId(0x1f02));
	CHECK(vga->subsystem_vendor == VendorId(0x1043));
	CHECK(vga->subsystem_device == DeviceId(0x8670));
	CHECK(vga->class_code == ClassCode(0x030000));
	CHECK(vga->revision == 0xa1);
	CHECK(vga->header_type == 0x80);
	CHECK(vga->driver == "nouveau");
	CHECK(vga->driver_override.empty());
	CHECK(vga->iommu_group == 7u);
	CHECK(vga->numa_node == -1);
	CHECK(vga->boot_vga == false);
	CHECK(vga->reset_methods == std::vector<std::string>{"bus"});
	REQUIRE(vga->consumers.size() == 1);
	CHECK(vga->consumers[0].kind == ConsumerKind::drm_card);
	CHECK(vga->consumers[0].name == "card0");

	const TopologyDevice *audio = topology.find(PciAddress(0, 1, 0, 1));
	REQUIRE(audio);
	CHECK(audio->reset_methods.empty());
	CHECK_FALSE(audio->boot_vga.has_value());

	const TopologyDriver *xhci = topology.driver("xhci_hcd");
	REQUIRE(xhci);
	CHECK(xhci->module == "xhci_pci");
	CHECK(xhci->ids == std::vector<IdMatch>{{VendorId(0x10de), DeviceId(0x1ada)},
						{VendorId(0x8086), DeviceId(0xa36d)}});
	const TopologyDriver *vfio = topology.driver("vfio-pci");
	REQUIRE(vfio);
	CHECK(vfio->ids.empty());
	CHECK(topology.driver("nvidia") == nullptr);
}

TEST_CASE("topology: the 4,096-function host loads")
{
	const Topology topology = topology_test::load(topology_test::large_host_file());

	size_t pfs = 0;
	size_t vfs = 0;
	for (const TopologyDevice &device : topology.devices) {
		if (device.sriov) {
			pfs++;
			CHECK(device.sriov->num_vfs == 255);
		}
		if (device.physfn)
			vfs++;
	}
	CHECK(pfs == 16);
	CHECK(vfs == 16 * 255);
	CHECK(pfs + vfs == 4096);

	auto again = parse_topology(to_json(topology));
	REQUIRE(again);
	CHECK(again.value() == topology);
}

TEST_CASE("topology: JSON syntax errors give line and column")
{
	auto broken = parse_topology("{\n  \"schema\": \"pcipass.topology/v1\",\n  \"devices\": [,]\n}\n");
	REQUIRE_FALSE(broken);
	CHECK(broken.error().code == errc::invalid_argument);
	CHECK(broken.error().message == "invalid topology JSON at line 3, column 15: syntax error");

	auto trailing = parse_topology("{\"schema\": \"pcipass.topology/v1\"} {}");
	REQUIRE_FALSE(trailing);
	CHECK(trailing.error().message ==
	      "invalid topology JSON at line 1, column 35: text after the end of the document");

	auto empty = parse_topology("");
	REQUIRE_FALSE(empty);
	CHECK(empty.error().message.starts_with("invalid topology JSON at line 1, column 1: "));
}

TEST_CASE("topology: duplicate keys are rejected with their object")
{
	auto twice = parse_topology(R"({"schema": "pcipass.topology/v1", "devices": [
		{"address": "0000:00:00.0", "vendor": "8086", "device": "2020", "class": "060000"},
		{"address": "0000:00:01.0", "vendor": "8086", "vendor": "8087"}]})");
	REQUIRE_FALSE(twice);
	CHECK(twice.error().message ==
	      "invalid topology at /devices/1: field \"vendor\" appears twice; keep one");

	auto top = parse_topology(R"({"schema": "pcipass.topology/v1", "schema": "x"})");
	REQUIRE_FALSE(top);
	CHECK(top.error().message == "invalid topology at /: field \"schema\" appears twice; keep one");
}

TEST_CASE("topology: schema is required and checked")
{
	CHECK(parse_error([](json::value &d) { d.as_object().erase("schema"); }) ==
	      "invalid topology at /schema: required field is missing; expected "
	      "\"pcipass.topology/v1\"");
	CHECK(parse_error([](json::value &d) { d.at("schema") = "pcipass.topology/v2"; }) ==
	      "invalid topology at /schema: expected \"pcipass.topology/v1\", found "
	      "\"pcipass.topology/v2\"");
	CHECK(parse_error([](json::value &d) { d = json::array(); }) ==
	      "invalid topology at /: expected a topology as an object, found []");
}

TEST_CASE("topology: wrong types name the JSON pointer and the expected form")
{
	struct Case {
		const char *name;
		std::function<void(json::value &)> change;
		const char *message;
	};
	const Case cases[] = {
		{"vendor as a number", [](json::value &d) { device(d, 2)["vendor"] = 4318; },
		 "invalid topology at /devices/2/vendor: expected four hex digits such as \"10de\", "
		 "found 4318"},
		{"device with five digits", [](json::value &d) { device(d, 2)["device"] = "15920"; },
		 "invalid topology at /devices/2/device: expected four hex digits such as \"1f02\", "
		 "found \"15920\""},
		{"missing class", [](json::value &d) { device(d, 0).erase("class"); },
		 "invalid topology at /devices/0/class: required field is missing; expected six hex "
		 "digits such as \"030000\""},
		{"bad address", [](json::value &d) { device(d, 0)["address"] = "0000:00:00.8"; },
		 "invalid topology at /devices/0/address: expected a PCI address such as "
		 "\"0000:01:00.0\", found \"0000:00:00.8\""},
		{"revision with 0x", [](json::value &d) { device(d, 2)["revision"] = "0x02"; },
		 "invalid topology at /devices/2/revision: expected two hex digits such as \"a1\", "
		 "found \"0x02\""},
		{"negative group", [](json::value &d) { device(d, 1)["iommu_group"] = -1; },
		 "invalid topology at /devices/1/iommu_group: expected an integer from 0 to "
		 "4294967295, found -1"},
		{"fractional NUMA node", [](json::value &d) { device(d, 1)["numa_node"] = 0.5; },
		 "invalid topology at /devices/1/numa_node: expected an integer from -1 to 1023, "
		 "found 5E-1"},
		{"boolean as a string",
		 [](json::value &d) { d.as_object()["vfio_container"] = "yes"; },
		 "invalid topology at /vfio_container: expected true or false, found \"yes\""},
		{"driver ID without colon",
		 [](json::value &d) {
			 d.at("drivers").as_array()[1].as_object()["ids"] = json::array{"80861592"};
		 },
		 "invalid topology at /drivers/1/ids/0: expected vendor:device as \"8086:1592\" "
		 "(device \"ffff\" matches any), found \"80861592\""},
		{"module list with a number",
		 [](json::value &d) { d.at("modules").as_array().emplace_back(7); },
		 "invalid topology at /modules/3: expected a string, found 7"},
		{"unknown consumer kind",
		 [](json::value &d) {
			 device(d, 2)["consumers"].as_array()[0].as_object()["kind"] = "nic";
		 },
		 "invalid topology at /devices/2/consumers/0/kind: expected one of usb_device, "
		 "usb_hub, net_interface, block_device, drm_card, framebuffer, found \"nic\""},
		{"SR-IOV without vf_device",
		 [](json::value &d) { device(d, 2)["sriov"].as_object().erase("vf_device"); },
		 "invalid topology at /devices/2/sriov/vf_device: required field is missing; "
		 "expected four hex digits such as \"1889\""},
		{"devices as an object", [](json::value &d) { d.as_object()["devices"] = json::object(); },
		 "invalid topology at /devices: expected an array of devices, found {}"},
		{"holder without pid",
		 [](json::value &d) {
			 d.as_object()["holders"] = {{"dev/vfio/vfio", {{{"command", "qemu"}}}}};
		 },
		 "invalid topology at /holders/dev~1vfio~1vfio/0/pid: required field is missing; "
		 "expected an integer from 1 to 4194304"},
	};

	for (const Case &c : cases) {
		CAPTURE(c.name);
		CHECK(parse_error(c.change) == c.message);
	}
}

TEST_CASE("topology: unknown fields are rejected")
{
	const std::string message =
		parse_error([](json::value &d) { device(d, 1)["vendr"] = "8086"; });
	CHECK(message ==
	      "invalid topology at /devices/1/vendr: unknown field; a device has the fields "
	      "address, parent, physfn, vendor, device, subsystem_vendor, subsystem_device, class, "
	      "revision, header_type, vendor_name, device_name, driver, driver_override, "
	      "iommu_group, numa_node, boot_vga, reset_methods, sriov, inaccessible, consumers");

	CHECK(parse_error([](json::value &d) { d.as_object()["kernel"] = "6.1"; })
		      .starts_with("invalid topology at /kernel: unknown field; a topology has the "
				   "fields schema, description,"));
}

TEST_CASE("topology: rules between devices are checked")
{
	struct Case {
		const char *name;
		std::function<void(json::value &)> change;
		const char *message;
	};
	const Case cases[] = {
		{"duplicate address", [](json::value &d) { device(d, 1)["address"] = "0000:00:00.0"; },
		 "invalid topology at /devices/1/address: 0000:00:00.0 is listed twice (also at "
		 "/devices/0)"},
		{"missing parent", [](json::value &d) { device(d, 2)["parent"] = "0000:00:02.0"; },
		 "invalid topology at /devices/2/parent: no device 0000:00:02.0 in the topology"},
		{"parent is no bridge", [](json::value &d) { device(d, 2)["parent"] = "0000:00:00.0"; },
		 "invalid topology at /devices/2/parent: 0000:00:00.0 is not a bridge: a parent needs "
		 "header type 01 or 02"},
		{"child on the bridge's own bus",
		 [](json::value &d) {
			 device(d, 0)["parent"] = "0000:00:01.0";
		 },
		 "invalid topology at /devices/0/parent: 0000:00:00.0 cannot sit behind 0000:00:01.0: "
		 "a device behind a bridge is in its domain on a higher bus number"},
		{"header type 3", [](json::value &d) { device(d, 0)["header_type"] = "03"; },
		 "invalid topology at /devices/0/header_type: expected header type 00 (endpoint), 01 "
		 "(PCI bridge) or 02 (CardBus bridge), with 80 added for a multi-function device"},
		{"driver not listed", [](json::value &d) { device(d, 2)["driver"] = "i40e"; },
		 "invalid topology at /devices/2/driver: driver \"i40e\" is not in /drivers; add it "
		 "there"},
		{"driver not loaded",
		 [](json::value &d) {
			 d.at("modules") = {"iavf", "vfio_pci"};
			 d.as_object()["available_modules"] = json::array{"ice"};
		 },
		 "invalid topology at /devices/2/driver: driver \"ice\" is not loaded: its module "
		 "\"ice\" is not in /modules"},
		{"module neither loaded nor available",
		 [](json::value &d) { d.at("modules") = {"iavf", "vfio_pci"}; },
		 "invalid topology at /drivers/1/module: module \"ice\" is neither loaded (in "
		 "/modules) nor available (in /available_modules); add it to one of them"},
		{"module name with a dash",
		 [](json::value &d) { d.at("modules").as_array()[2] = "vfio-pci"; },
		 "invalid topology at /modules/2: invalid module name \"vfio-pci\": expected letters, "
		 "digits and '_' (the kernel writes \"vfio_pci\", never \"vfio-pci\")"},
		{"driver name with a slash",
		 [](json::value &d) { d.at("drivers").as_array()[3].as_object()["name"] = "../x"; },
		 "invalid topology at /drivers/3/name: invalid driver name \"../x\": expected a "
		 "non-empty name without '/', whitespace, or the names \".\" and \"..\""},
		{"group with the IOMMU off", [](json::value &d) { d.at("iommu_units") = json::array(); },
		 "invalid topology at /devices/0/iommu_group: the IOMMU is off (/iommu_units is "
		 "empty), so no device has an IOMMU group; remove the group or add an IOMMU unit"},
		{"no group with the IOMMU on", [](json::value &d) { device(d, 1).erase("iommu_group"); },
		 "invalid topology at /devices/1/iommu_group: required while the IOMMU is on "
		 "(/iommu_units is not empty): the kernel puts every device in a group"},
		{"VF of a device without SR-IOV",
		 [](json::value &d) { device(d, 3)["physfn"] = "0000:00:00.0"; },
		 "invalid topology at /devices/3/physfn: 0000:00:00.0 has no \"sriov\" object, so it "
		 "has no VFs"},
		{"num_vfs above the VFs listed",
		 [](json::value &d) { device(d, 2)["sriov"].as_object()["num_vfs"] = 3; },
		 "invalid topology at /devices/2/sriov/num_vfs: is 3 but 2 devices name 0000:01:00.0 "
		 "as their physfn"},
		{"num_vfs above total_vfs",
		 [](json::value &d) { device(d, 2)["sriov"].as_object()["total_vfs"] = 1; },
		 "invalid topology at /devices/2/sriov/num_vfs: is 2, above total_vfs 1"},
		{"VF at the wrong routing ID",
		 [](json::value &d) { device(d, 4)["address"] = "0000:01:00.4"; },
		 "invalid topology at /devices/4/address: 0000:01:00.4 is not a VF routing ID of "
		 "0000:01:00.0 (first_vf_offset 1, vf_stride 1, num_vfs 2)"},
		{"VF with another ID", [](json::value &d) { device(d, 3)["device"] = "1592"; },
		 "invalid topology at /devices/3/device: a VF of 0000:01:00.0 has ID 8086:1889, not "
		 "8086:1592"},
		{"VF in the wrong group", [](json::value &d) { device(d, 4)["iommu_group"] = 3; },
		 "invalid topology at /devices/4/iommu_group: VF 1 of 0000:01:00.0 is in group 4 "
		 "(first_vf_group + VF number)"},
		{"boot_vga on a NIC", [](json::value &d) { device(d, 2)["boot_vga"] = true; },
		 "invalid topology at /devices/2/boot_vga: only VGA devices (class 0300xx) have "
		 "boot_vga, and this one has class 020000"},
		{"unknown reset method",
		 [](json::value &d) { device(d, 2)["reset_methods"] = {"flr", "warm"}; },
		 "invalid topology at /devices/2/reset_methods/1: unknown reset method \"warm\"; the "
		 "kernel knows device_specific, acpi, flr, af_flr, pm, bus and cxl_bus"},
		{"consumer of an unbound device",
		 [](json::value &d) { device(d, 2)["driver"] = ""; },
		 "invalid topology at /devices/2/consumers/0/driver: the device has no driver, so "
		 "name the driver this consumer exists under"},
		{"mountpoint on an interface",
		 [](json::value &d) {
			 device(d, 2)["consumers"].as_array()[0].as_object()["mountpoint"] = "/srv";
		 },
		 "invalid topology at /devices/2/consumers/0/mountpoint: only block devices are "
		 "mounted"},
		{"USB device behind a missing hub",
		 [](json::value &d) {
			 device(d, 2)["consumers"] = {{{"kind", "usb_device"}, {"name", "3-1.2"}}};
		 },
		 "invalid topology at /devices/2/consumers/0/name: 3-1.2 sits behind hub 3-1, which is "
		 "not a usb_hub consumer of this device"},
		{"framebuffer off the boot GPU",
		 [](json::value &d) {
			 device(d, 2)["consumers"] = {{{"kind", "framebuffer"}, {"name", "efifb"}}};
		 },
		 "invalid topology at /devices/2/consumers/0/kind: the firmware framebuffer belongs to "
		 "the boot VGA device; set \"boot_vga\": true on this device or move the consumer"},
		{"same interface name twice",
		 [](json::value &d) {
			 device(d, 3)["consumers"] = {{{"kind", "net_interface"}, {"name", "ens1f0"}}};
		 },
		 "invalid topology at /devices/3/consumers/0/name: \"ens1f0\" is also at "
		 "/devices/2/consumers/0/name"},
		{"holder of a node that does not exist",
		 [](json::value &d) {
			 d.as_object()["holders"] = {
				 {"dev/vfio/3", {{{"pid", 4242}, {"command", "qemu-system-x86"}}}}};
		 },
		 "invalid topology at /holders/dev~1vfio~13: /dev/vfio/3 does not exist: no member of "
		 "group 3 is bound to a VFIO driver"},
		{"holder with a long command",
		 [](json::value &d) {
			 device(d, 3)["driver"] = "vfio-pci";
			 d.as_object()["holders"] = {
				 {"dev/vfio/3", {{{"pid", 4242}, {"command", "qemu-system-x86_64"}}}}};
		 },
		 "invalid topology at /holders/dev~1vfio~13/0/command: expected a process name of 1 "
		 "to 15 characters without '/' (the kernel cuts comm to 15)"},
	};

	for (const Case &c : cases) {
		CAPTURE(c.name);
		CHECK(parse_error(c.change) == c.message);
	}
}

TEST_CASE("topology: validate_topology checks topologies built in code")
{
	Topology topology = topology_test::load_catalogue("sriov-nic");
	CHECK(validate_topology(topology));

	topology.devices[2].sriov->num_vfs = 5;
	auto checked = validate_topology(topology);
	REQUIRE_FALSE(checked);
	CHECK(checked.error().code == errc::invalid_argument);
	CHECK(checked.error().message ==
	      "invalid topology at /devices/2/sriov/num_vfs: is 5 but 4 devices name 0000:86:00.0 as "
	      "their physfn");
}

TEST_CASE("topology: load_topology names the file")
{
	auto missing = load_topology("/nonexistent/host.json");
	REQUIRE_FALSE(missing);
	CHECK(missing.error().sys_errno == ENOENT);
	CHECK(missing.error().code == errc::not_found);
	CHECK(missing.error().path == "/nonexistent/host.json");
	CHECK(missing.error().message == "cannot open topology file '/nonexistent/host.json'");

	topology_test::TempDir dir;
	const std::string file = (dir.path() / "bad.json").string();
	FILE *out = std::fopen(file.c_str(), "w");
	REQUIRE(out);
	std::fputs("{\"schema\": \"pcipass.topology/v0\"}", out);
	std::fclose(out);

	auto bad = load_topology(file);
	REQUIRE_FALSE(bad);
	CHECK(bad.error().path == file);
	CHECK(bad.error().message == "invalid topology at /schema: expected \"pcipass.topology/v1\", "
				     "found \"pcipass.topology/v0\" (in '" + file + "')");
}

TEST_CASE("topology: device_sysfs_path nests under bridges")
{
	const Topology nic = topology_test::load_catalogue("sriov-nic");
	CHECK(device_sysfs_path(nic, PciAddress(0, 0x86, 1, 2)) ==
	      "sys/devices/pci0000:85/0000:85:02.0/0000:86:01.2");
	CHECK(device_sysfs_path(nic, PciAddress(0, 0, 0, 0)) == "sys/devices/pci0000:00/0000:00:00.0");
	CHECK(device_sysfs_path(nic, PciAddress(0, 0x99, 0, 0)).empty());

	const Topology bridge = topology_test::load_catalogue("pcie-pci-bridge");
	CHECK(device_sysfs_path(bridge, PciAddress(0, 2, 2, 0)) ==
	      "sys/devices/pci0000:00/0000:00:02.0/0000:01:00.0/0000:02:02.0");
}
