/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Queries over a scanned graph: lookups, viability, readiness, refresh and
 * the JSON form.
 */

#include <algorithm>
#include <fstream>

#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

#include <pcipass/graph.hpp>
#include <pcipass/graph_json.hpp>
#include <pcipass/plan.hpp>

#include "graph_fixture.hpp"

using namespace pcipass;
using namespace pcipass::testing;
using namespace graph_test;

namespace {

const PciAddress gpu(0, 1, 0, 0);
const PciAddress gpu_audio(0, 1, 0, 1);
const PciAddress gpu_usb(0, 1, 0, 2);
const PciAddress gpu_ucsi(0, 1, 0, 3);

std::vector<std::string> reasons(const std::vector<Blocker> &blockers)
{
	std::vector<std::string> result;
	for (const Blocker &blocker : blockers)
		result.push_back(blocker.device.to_string() + " " + blocker.reason);
	return result;
}

std::vector<PciAddress> addresses(const std::vector<const Device *> &devices)
{
	std::vector<PciAddress> result;
	for (const Device *device : devices)
		result.push_back(device->address);
	return result;
}

DeviceGraph scan_catalogue(const std::string &name)
{
	MaterializedHost materialized(load_catalogue(name));
	return materialized.scan();
}

DeviceGraph scan_topology(const Topology &topology)
{
	MaterializedHost materialized(topology);
	return materialized.scan();
}

/* gpu-workstation with a driver added, for members moved onto it. */
Topology workstation_with_driver(const std::string &driver)
{
	Topology topology = load_catalogue("gpu-workstation");
	TopologyDriver added;
	added.name = driver;
	topology.drivers.push_back(added);
	return topology;
}

/* Plans a bind of the device alone. */
Plan plan_for(const DeviceGraph &graph, PciAddress device)
{
	Request request;
	request.devices = {{device, std::nullopt}};
	return plan_bind(graph, request, {});
}

std::vector<PciAddress> planned_moves(const Plan &plan)
{
	std::vector<PciAddress> moved;
	for (const Member &member : plan.members)
		if (member.action == MemberAction::move)
			moved.push_back(member.address);
	return moved;
}

std::vector<std::string> blocking_findings(const Plan &plan)
{
	std::vector<std::string> result;
	for (const PreflightFinding &finding : plan.findings)
		if (finding.blocking)
			result.push_back(finding.device + " " + std::string(errc_name(finding.code)));
	return result;
}

} /* namespace */

TEST_CASE("query: lookups by address, slot, group, ID and SR-IOV link")
{
	const DeviceGraph graph = scan_catalogue("gpu-workstation");

	CHECK(graph.find(PciAddress(0, 0x42, 0, 0)) == nullptr);
	CHECK(graph.group(99) == nullptr);
	CHECK(addresses(graph.slot_siblings(gpu)) == std::vector<PciAddress>{gpu_audio, gpu_usb, gpu_ucsi});
	CHECK(addresses(graph.group_members_of(gpu_usb)) ==
	      std::vector<PciAddress>{gpu, gpu_audio, gpu_usb, gpu_ucsi});
	CHECK(addresses(graph.bridges()) == std::vector<PciAddress>{PciAddress(0, 0, 1, 0)});
	CHECK(addresses(graph.find_by_id(VendorId(0x10de), DeviceId(0x1f02))) == std::vector<PciAddress>{gpu});
	CHECK(graph.pf_of(gpu) == nullptr);
	CHECK(graph.vfs_of(gpu).empty());

	const DeviceGraph sriov = scan_catalogue("sriov-nic");
	const PciAddress pf(0, 0x86, 0, 0);
	const PciAddress vf(0, 0x86, 1, 2);
	REQUIRE(sriov.pf_of(vf) != nullptr);
	CHECK(sriov.pf_of(vf)->address == pf);
	CHECK(addresses(sriov.vfs_of(pf)) ==
	      std::vector<PciAddress>{PciAddress(0, 0x86, 1, 0), PciAddress(0, 0x86, 1, 1), vf,
				      PciAddress(0, 0x86, 1, 3)});
	/* A VF in its own group is the only member of it. */
	CHECK(addresses(sriov.group_members_of(vf)) == std::vector<PciAddress>{vf});
}

TEST_CASE("viability: companion functions on host drivers block the GPU group")
{
	const DeviceGraph graph = scan_catalogue("gpu-workstation");

	const Viability viability = graph.viability(7);
	CHECK_FALSE(viability.viable);
	CHECK(reasons(viability.blockers) == std::vector<std::string>{"0000:01:00.0 host_driver",
								      "0000:01:00.1 host_driver",
								      "0000:01:00.2 host_driver"});
	CHECK(viability.blockers[1].message ==
	      "0000:01:00.1 is bound to snd_hda_intel, which is not DMA-owner-aware; move it to "
	      "vfio-pci with the rest of group 7");

	/* Towards a host driver nothing blocks while no VFIO user holds the group. */
	CHECK(graph.viability(7, "nouveau").viable);

	const Viability missing = graph.viability(99);
	CHECK_FALSE(missing.viable);
	CHECK(reasons(missing.blockers) == std::vector<std::string>{"0000:00:00.0 not_found"});
}

TEST_CASE("readiness: the GPU group moves as four functions, the driverless one included")
{
	const DeviceGraph graph = scan_catalogue("gpu-workstation");
	const std::vector<PciAddress> group{gpu, gpu_audio, gpu_usb, gpu_ucsi};

	const Readiness readiness = graph.readiness(gpu);
	CHECK(readiness.state == Readiness::State::claimable);
	CHECK(readiness.blockers.empty());
	CHECK(readiness.moves == group);
	CHECK(graph.readiness(gpu_ucsi).moves == group);

	/* The plan binds the same functions, so what show and doctor print is what bind does. */
	Request request;
	request.devices = {{gpu, std::nullopt}};
	const Plan plan = plan_bind(graph, request, {});
	std::vector<PciAddress> planned;
	for (const Member &member : plan.members)
		if (member.action == MemberAction::move)
			planned.push_back(member.address);
	CHECK(planned == readiness.moves);
}

TEST_CASE("readiness: what a transaction cannot change blocks")
{
	SUBCASE("bridge")
	{
		const DeviceGraph graph = scan_catalogue("gpu-workstation");
		const Readiness readiness = graph.readiness(PciAddress(0, 0, 1, 0));
		CHECK(reasons(readiness.blockers) == std::vector<std::string>{"0000:00:01.0 bridge"});
		/* No plan moves a bridge, and the root port is alone in group 1. */
		CHECK(readiness.moves.empty());
	}

	SUBCASE("chipset group with the default route")
	{
		const DeviceGraph graph = scan_catalogue("gpu-workstation");
		const Readiness readiness = graph.readiness(PciAddress(0, 0, 0x1f, 3));
		CHECK(readiness.state == Readiness::State::blocked);
		CHECK(reasons(readiness.blockers) == std::vector<std::string>{"0000:00:1f.6 consumer_in_use"});
		CHECK(readiness.blockers[0].message ==
		      "0000:00:1f.6 carries the default route on eno1; move the route to another "
		      "interface first");
	}

	SUBCASE("IOMMU off")
	{
		const DeviceGraph graph = scan_catalogue("iommu-off");
		const Readiness readiness = graph.readiness(PciAddress(0, 0x65, 0, 0));
		CHECK(readiness.state == Readiness::State::blocked);
		CHECK(reasons(readiness.blockers) == std::vector<std::string>{"0000:65:00.0 iommu_off"});
	}

	SUBCASE("mounted NVMe drive")
	{
		const DeviceGraph graph = scan_catalogue("nvme-mounted");
		const Readiness readiness = graph.readiness(PciAddress(0, 1, 0, 0));
		CHECK(reasons(readiness.blockers) == std::vector<std::string>{"0000:01:00.0 consumer_in_use"});
		CHECK(readiness.blockers[0].message ==
		      "0000:01:00.0 holds nvme0n1, which is mounted at '/'; unmount it first");
	}

	SUBCASE("boot framebuffer")
	{
		const DeviceGraph graph = scan_catalogue("gpu-boot-vga");
		const Readiness readiness = graph.readiness(gpu);
		CHECK(reasons(readiness.blockers) == std::vector<std::string>{"0000:01:00.0 boot_framebuffer"});
	}

	SUBCASE("PF with VFs")
	{
		const DeviceGraph graph = scan_catalogue("sriov-nic");
		const Readiness readiness = graph.readiness(PciAddress(0, 0x86, 0, 0));
		CHECK(reasons(readiness.blockers) ==
		      std::vector<std::string>{"0000:86:00.0 pf_has_vfs", "0000:86:00.0 consumer_in_use"});
	}

	SUBCASE("unknown address")
	{
		const DeviceGraph graph = scan_catalogue("chipset");
		CHECK(reasons(graph.readiness(PciAddress(0, 0x42, 0, 0)).blockers) ==
		      std::vector<std::string>{"0000:42:00.0 not_found"});
	}
}

TEST_CASE("readiness: requested pci-stub device moves")
{
	Topology topology = workstation_with_driver("pci-stub");
	for (TopologyDevice &device : topology.devices) {
		if (device.iommu_group != 7u)
			continue;
		device.driver = "vfio-pci";
		device.driver_override = "vfio-pci";
	}
	topology.find(gpu_audio)->driver = "pci-stub";
	topology.find(gpu_audio)->driver_override = "";
	const DeviceGraph graph = scan_topology(topology);

	const Readiness audio = graph.readiness(gpu_audio);
	CHECK(audio.state == Readiness::State::claimable);
	CHECK(audio.blockers.empty());
	CHECK(audio.moves == std::vector<PciAddress>{gpu_audio});
	const Plan audio_plan = plan_for(graph, gpu_audio);
	CHECK(blocking_findings(audio_plan).empty());
	CHECK(planned_moves(audio_plan) == audio.moves);

	/* Claiming the GPU leaves the audio function on pci-stub, which does not block. */
	const Readiness vga = graph.readiness(gpu);
	CHECK(vga.state == Readiness::State::ready);
	CHECK(vga.blockers.empty());
	CHECK(vga.moves.empty());
	const Plan vga_plan = plan_for(graph, gpu);
	CHECK(blocking_findings(vga_plan).empty());
	CHECK(planned_moves(vga_plan).empty());
}

TEST_CASE("readiness: member on a vfio-pci variant")
{
	Topology topology = workstation_with_driver("nvgrace_gpu_vfio_pci");
	topology.find(gpu_audio)->driver = "nvgrace_gpu_vfio_pci";
	const DeviceGraph graph = scan_topology(topology);

	/* The variant stays for a claim of another member, and moves when it is the one asked for. */
	const Readiness vga = graph.readiness(gpu);
	CHECK(vga.state == Readiness::State::claimable);
	CHECK(vga.blockers.empty());
	CHECK(vga.moves == std::vector<PciAddress>{gpu, gpu_usb, gpu_ucsi});
	CHECK(planned_moves(plan_for(graph, gpu)) == vga.moves);

	const Readiness audio = graph.readiness(gpu_audio);
	CHECK(audio.state == Readiness::State::claimable);
	CHECK(audio.blockers.empty());
	CHECK(audio.moves == std::vector<PciAddress>{gpu, gpu_audio, gpu_usb, gpu_ucsi});
	CHECK(planned_moves(plan_for(graph, gpu_audio)) == audio.moves);
}

TEST_CASE("readiness: inaccessible group member blocks")
{
	SUBCASE("driverless member")
	{
		Topology topology = load_catalogue("gpu-workstation");
		topology.find(gpu_ucsi)->inaccessible = true;
		const DeviceGraph graph = scan_topology(topology);

		const Readiness readiness = graph.readiness(gpu);
		CHECK(readiness.state == Readiness::State::blocked);
		CHECK(reasons(readiness.blockers) == std::vector<std::string>{"0000:01:00.3 inaccessible"});
		CHECK(readiness.blockers[0].message ==
		      "0000:01:00.3, in the same IOMMU group as 0000:01:00.0, reads all ones in config "
		      "space (D3cold or removed); wake or rescan it first");
		CHECK(readiness.moves == std::vector<PciAddress>{gpu, gpu_audio, gpu_usb, gpu_ucsi});

		const Plan plan = plan_for(graph, gpu);
		CHECK(blocking_findings(plan) ==
		      std::vector<std::string>{"0000:01:00.3 device_inaccessible"});
		CHECK(planned_moves(plan) == readiness.moves);
	}

	SUBCASE("member on a host driver")
	{
		Topology topology = load_catalogue("gpu-workstation");
		topology.find(gpu_usb)->inaccessible = true;
		const DeviceGraph graph = scan_topology(topology);

		const Readiness readiness = graph.readiness(gpu);
		CHECK(readiness.state == Readiness::State::blocked);
		CHECK(reasons(readiness.blockers) == std::vector<std::string>{"0000:01:00.2 inaccessible"});
		CHECK(readiness.moves == std::vector<PciAddress>{gpu, gpu_audio, gpu_usb, gpu_ucsi});

		const Plan plan = plan_for(graph, gpu);
		CHECK(blocking_findings(plan) ==
		      std::vector<std::string>{"0000:01:00.2 device_inaccessible"});
		CHECK(planned_moves(plan) == readiness.moves);
	}
}

TEST_CASE("readiness: bridge on a host driver blocks its group")
{
	const PciAddress root_port(0, 0, 1, 0);
	Topology topology = workstation_with_driver("shpchp");
	topology.find(root_port)->driver = "shpchp";
	topology.find(root_port)->iommu_group = 7;
	const DeviceGraph graph = scan_topology(topology);
	const std::vector<PciAddress> endpoints{gpu, gpu_audio, gpu_usb, gpu_ucsi};
	const std::string message = "bridge 0000:00:01.0 in IOMMU group 7 is on driver shpchp, which "
				    "is not DMA-owner-aware; bind it to pcieport or unbind it first";

	const Viability viability = graph.viability(7);
	CHECK(reasons(viability.blockers) ==
	      std::vector<std::string>{"0000:00:01.0 bridge_driver", "0000:01:00.0 host_driver",
				       "0000:01:00.1 host_driver", "0000:01:00.2 host_driver"});

	const Readiness readiness = graph.readiness(gpu);
	CHECK(readiness.state == Readiness::State::blocked);
	REQUIRE(reasons(readiness.blockers) ==
		std::vector<std::string>{"0000:00:01.0 bridge_driver"});
	CHECK(readiness.blockers[0].message == message);
	CHECK(readiness.moves == endpoints);
	const Plan plan = plan_for(graph, gpu);
	CHECK(blocking_findings(plan) == std::vector<std::string>{"0000:00:01.0 not_viable"});
	CHECK(planned_moves(plan) == readiness.moves);

	/* Asked for itself, the bridge is never among the members that move. */
	const Readiness bridge = graph.readiness(root_port);
	CHECK(bridge.state == Readiness::State::blocked);
	CHECK(reasons(bridge.blockers) ==
	      std::vector<std::string>{"0000:00:01.0 bridge", "0000:00:01.0 bridge_driver"});
	CHECK(bridge.moves == endpoints);
	CHECK(planned_moves(plan_for(graph, root_port)) == bridge.moves);
}

TEST_CASE("viability: an open group blocks changes and names its holder")
{
	Topology topology = load_catalogue("gpu-workstation");
	for (TopologyDevice &device : topology.devices)
		if (device.iommu_group == 7u)
			device.driver = "vfio-pci";
	topology.holders["dev/vfio/7"] = {Holder{4242, "qemu-system-x86"}};
	MaterializedHost materialized(topology);
	const DeviceGraph graph = materialized.scan();

	const IommuGroup *group = graph.group(7);
	REQUIRE(group != nullptr);
	CHECK(group->device_node);
	REQUIRE(group->holders.size() == 1);
	CHECK(group->holders[0].pid == 4242);

	CHECK(graph.viability(7).viable);
	CHECK(graph.readiness(gpu).state == Readiness::State::in_use);

	const Viability release = graph.viability(7, "nouveau");
	CHECK_FALSE(release.viable);
	REQUIRE(release.blockers.size() == 1);
	CHECK(release.blockers[0].reason == "vfio_group_open");
	CHECK(release.blockers[0].message ==
	      "/dev/vfio/7 is open by qemu-system-x86 (pid 4242); stop that VFIO user first");
}

TEST_CASE("refresh: one rebound device is read again and the rest is shared")
{
	Topology topology = load_catalogue("gpu-workstation");
	MaterializedHost materialized(topology);
	const DeviceGraph before = materialized.scan();

	/* Move the audio function to vfio-pci on disk, as the kernel would show it. */
	const fs::path root = materialized.root();
	const fs::path audio = root / device_sysfs_path(topology, gpu_audio);
	fs::remove(audio / "driver");
	fs::remove(root / "sys/bus/pci/drivers/snd_hda_intel/0000:01:00.1");
	fs::create_symlink("../../../../bus/pci/drivers/vfio-pci", audio / "driver");
	fs::create_symlink("../../../../devices/pci0000:00/0000:00:01.0/0000:01:00.1",
			   root / "sys/bus/pci/drivers/vfio-pci/0000:01:00.1");
	fs::create_directories(audio / "vfio-dev/vfio0");
	std::ofstream(root / "dev/vfio/7").put('\0');

	const std::vector<PciAddress> changed{gpu_audio};
	auto refreshed = before.refresh(materialized.host(), changed, MaterializedHost::no_names());
	REQUIRE(refreshed);
	const DeviceGraph after = std::move(refreshed).value();

	for (TopologyDevice &device : topology.devices)
		if (device.address == gpu_audio)
			device.driver = "vfio-pci";
	check_graph(after, expected_graph(topology));
	check_graph(materialized.scan(), expected_graph(topology));

	/* Devices that were not read again are the very same objects. */
	for (const Device &device : before.devices()) {
		CAPTURE(device.address.to_string());
		if (device.address == gpu_audio)
			CHECK(after.find(device.address) != &device);
		else
			CHECK(after.find(device.address) == &device);
	}
	CHECK(before.find(gpu_audio)->driver == "snd_hda_intel");
}

TEST_CASE("refresh: a device that vanished is dropped")
{
	const Topology topology = load_catalogue("chipset");
	MaterializedHost materialized(topology);
	const DeviceGraph before = materialized.scan();
	const PciAddress sata(0, 0, 0x1f, 2);
	fs::remove_all(materialized.root() / device_sysfs_path(topology, sata));

	const std::vector<PciAddress> changed{sata};
	auto after = before.refresh(materialized.host(), changed, MaterializedHost::no_names());
	REQUIRE(after);
	CHECK(after.value().find(sata) == nullptr);
	CHECK(after.value().devices().size() == before.devices().size() - 1);
	REQUIRE(after.value().host().findings.size() == 1);
	CHECK(after.value().host().findings[0].message.starts_with("0000:00:1f.2 vanished during the scan"));
	for (const IommuGroup &group : after.value().groups())
		CHECK(std::find(group.members.begin(), group.members.end(), sata) == group.members.end());
}

TEST_CASE("json: the graph document names its schema and every device field")
{
	const DeviceGraph graph = scan_catalogue("sriov-nic");
	const boost::json::value document = to_json(graph);

	CHECK(document.at("schema") == "pcipass.graph/v1");
	const auto &devices = document.at("devices").as_array();
	REQUIRE(devices.size() == graph.devices().size());

	const boost::json::object &vf = devices[3].as_object();
	CHECK(vf.at("address") == "0000:86:01.0");
	CHECK(vf.at("vendor") == "8086");
	CHECK(vf.at("device") == "1889");
	CHECK(vf.at("class") == "020000");
	CHECK(vf.at("driver") == "iavf");
	CHECK(vf.at("driver_override").is_null());
	CHECK(vf.at("iommu_group") == 32);
	CHECK(vf.at("parent") == "0000:85:02.0");
	CHECK(vf.at("physfn") == "0000:86:00.0");
	CHECK(vf.at("vfs").as_array().empty());
	CHECK(boost::json::serialize(vf.at("consumers")) ==
	      R"([{"kind":"net_interface","name":"ens2f0v0","description":"","default_route":false,"mountpoint":""}])");

	const boost::json::object &pf = devices[2].as_object();
	CHECK(boost::json::serialize(pf.at("vfs")) ==
	      R"(["0000:86:01.0","0000:86:01.1","0000:86:01.2","0000:86:01.3"])");
	CHECK(boost::json::serialize(pf.at("consumers")) ==
	      R"([{"kind":"net_interface","name":"ens2f0","description":"","default_route":true,"mountpoint":""}])");
}
