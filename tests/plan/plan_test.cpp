/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Plans over graphs scanned from the simulated kernel: closure, preflight
 * findings, step order and inverses, JSON. No transaction runs here.
 */

#include <algorithm>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include "harness.hpp"
#include "topologies.hpp"

using namespace pcipass;
using namespace txntest;
namespace json = boost::json;

namespace {

DeviceGraph scan(const Topology &topology)
{
	auto host = sim::Host::create(topology).value();
	ScanOptions options;
	options.names = false;
	return DeviceGraph::scan(*host, options).value();
}

DeviceGraph scan(sim::Host &host)
{
	ScanOptions options;
	options.names = false;
	return DeviceGraph::scan(host, options).value();
}

std::vector<std::string> describe_steps(const Plan &plan)
{
	std::vector<std::string> lines;
	for (const auto &planned : plan.steps)
		lines.push_back(planned.step.describe() + " | " +
				(planned.inverse ? planned.inverse->describe() : std::string("-")));
	return lines;
}

const PreflightFinding *finding(const Plan &plan, errc code)
{
	for (const auto &item : plan.findings)
		if (item.code == code)
			return &item;
	return nullptr;
}

Ownership claim_of(const std::string &device, const std::string &owner, DeviceState original = {})
{
	Ownership claim;
	claim.device = device;
	claim.owner = owner;
	claim.driver = "vfio-pci";
	claim.original = std::move(original);
	return claim;
}

} /* namespace */

TEST_CASE("plan: group closure pulls in every GPU function")
{
	const DeviceGraph graph = scan(gpu_desktop().build());
	const Plan plan = plan_bind(graph, request({"0000:01:00.0"}), {});

	CHECK_FALSE(plan.blocked());
	CHECK(plan.findings.empty());
	CHECK(plan.groups == std::vector<unsigned>{7});
	REQUIRE(plan.members.size() == 4);
	for (const auto &member : plan.members) {
		CHECK(member.action == MemberAction::move);
		CHECK(member.after == DeviceState{"vfio-pci", "vfio-pci"});
		CHECK(member.requested == (member.address == address("0000:01:00.0")));
	}
	CHECK(plan.members[1].before == DeviceState{"snd_hda_intel", ""});

	CHECK(describe_steps(plan) ==
	      std::vector<std::string>{
		      "set driver_override of 0000:01:00.0 to vfio-pci | clear driver_override of 0000:01:00.0",
		      "unbind 0000:01:00.0 from nouveau | bind 0000:01:00.0 to nouveau",
		      "bind 0000:01:00.0 to vfio-pci | unbind 0000:01:00.0 from vfio-pci",
		      "set driver_override of 0000:01:00.1 to vfio-pci | clear driver_override of 0000:01:00.1",
		      "unbind 0000:01:00.1 from snd_hda_intel | bind 0000:01:00.1 to snd_hda_intel",
		      "bind 0000:01:00.1 to vfio-pci | unbind 0000:01:00.1 from vfio-pci",
		      "set driver_override of 0000:01:00.2 to vfio-pci | clear driver_override of 0000:01:00.2",
		      "unbind 0000:01:00.2 from xhci_hcd | bind 0000:01:00.2 to xhci_hcd",
		      "bind 0000:01:00.2 to vfio-pci | unbind 0000:01:00.2 from vfio-pci",
		      "set driver_override of 0000:01:00.3 to vfio-pci | clear driver_override of 0000:01:00.3",
		      "bind 0000:01:00.3 to vfio-pci | unbind 0000:01:00.3 from vfio-pci",
	      });
	CHECK(plan.steps[1].step.path == "sys/bus/pci/drivers/nouveau/unbind");
	CHECK(plan.steps[1].step.value == "0000:01:00.0");
	CHECK(plan.steps[0].step.path == "sys/bus/pci/devices/0000:01:00.0/driver_override");
	CHECK(plan.steps[0].inverse->value == "\n");

	REQUIRE(plan.claims_added.size() == 4);
	CHECK(plan.claims_added[0].original == DeviceState{"nouveau", ""});
	CHECK(plan.claims_added[0].identity == DeviceIdentity{VendorId(0x10de), DeviceId(0x1f02)});
	CHECK(plan.claims_added[0].group == 7u);
}

TEST_CASE("plan: S10 USB devices behind the xHCI function are consumers")
{
	const DeviceGraph graph = scan(gpu_desktop().build());
	const Device *xhci = graph.find(address("0000:01:00.2"));
	REQUIRE(xhci);
	std::vector<std::string> names;
	for (const auto &consumer : xhci->consumers)
		names.push_back(std::string(consumer_kind_name(consumer.kind)) + ":" + consumer.name);
	CHECK(names == std::vector<std::string>{"usb_device:3-1.2", "usb_hub:3-1"});

	const Plan plan = plan_bind(graph, request({"0000:01:00.0"}), {});
	CHECK_FALSE(plan.blocked());
	CHECK(plan.find(address("0000:01:00.2"))->action == MemberAction::move);
}

TEST_CASE("plan: S08 bridges are told by header type, not class")
{
	Builder builder = bridge_in_group();
	/* A bridge class code on a type 0 header: an endpoint as far as VFIO is concerned. */
	builder.device("0000:06:00.0", "1234:0001", 0x060400, "", 13);
	const DeviceGraph graph = scan(builder.build());

	const Plan endpoint = plan_bind(graph, request({"0000:05:00.0"}), {});
	CHECK_FALSE(endpoint.blocked());
	REQUIRE(endpoint.members.size() == 2);
	CHECK(endpoint.members[0].action == MemberAction::stay_bridge);
	CHECK(endpoint.members[1].action == MemberAction::move);

	const Plan bridge = plan_bind(graph, request({"0000:04:00.0"}), {});
	const auto *refused = finding(bridge, errc::bridge_requested);
	REQUIRE(refused);
	CHECK(refused->message ==
	      "0000:04:00.0 is a bridge (header type 0x01) and cannot be passed through; request the "
	      "devices behind it (0000:05:00.0) instead");

	const Plan odd = plan_bind(graph, request({"0000:06:00.0"}), {});
	CHECK_FALSE(finding(odd, errc::bridge_requested));
	CHECK_FALSE(odd.blocked());
}

TEST_CASE("plan: S08 a bridge on a non-DMA-aware driver makes the group not viable")
{
	Builder builder;
	builder.vfio();
	builder.driver("e1000e", "e1000e", {"8086:10d3"});
	builder.driver("odd_bridge", "odd_bridge", {"8086:1901"});
	builder.device("0000:00:00.0", "8086:3e30", 0x060000, "", 0);
	builder.bridge("0000:04:00.0", 12, "", "odd_bridge");
	builder.device("0000:05:00.0", "8086:10d3", 0x020000, "e1000e", 12, "0000:04:00.0");
	const Plan plan = plan_bind(scan(builder.build()), request({"0000:05:00.0"}), {});

	const auto *blocker = finding(plan, errc::not_viable);
	REQUIRE(blocker);
	CHECK(blocker->device == "0000:04:00.0");
	CHECK(blocker->message.find("odd_bridge") != std::string::npos);
}

TEST_CASE("plan: requested pci-stub device moves")
{
	const DeviceGraph graph = scan(gpu_audio_on_pci_stub().build());

	const Plan plan = plan_bind(graph, request({"0000:01:00.1"}), {});
	CHECK_FALSE(plan.blocked());
	CHECK(plan.findings.empty());
	REQUIRE(plan.members.size() == 4);
	const Member *audio = plan.find(address("0000:01:00.1"));
	REQUIRE(audio);
	CHECK(audio->requested);
	CHECK(audio->action == MemberAction::move);
	CHECK(audio->before == DeviceState{"pci-stub", ""});
	CHECK(audio->after == DeviceState{"vfio-pci", "vfio-pci"});
	for (const auto &function : {"0000:01:00.0", "0000:01:00.2", "0000:01:00.3"})
		CHECK(plan.find(address(function))->action == MemberAction::keep);
	CHECK(describe_steps(plan) ==
	      std::vector<std::string>{
		      "set driver_override of 0000:01:00.1 to vfio-pci | clear driver_override of 0000:01:00.1",
		      "unbind 0000:01:00.1 from pci-stub | bind 0000:01:00.1 to pci-stub",
		      "bind 0000:01:00.1 to vfio-pci | unbind 0000:01:00.1 from vfio-pci",
	      });
	REQUIRE(plan.claims_added.size() == 4);
	CHECK(plan.claims_added[1].device == "0000:01:00.1");
	CHECK(plan.claims_added[1].original == DeviceState{"pci-stub", ""});

	/* Asked for the GPU, the audio function on pci-stub keeps the group usable and stays. */
	const Plan gpu = plan_bind(graph, request({"0000:01:00.0"}), {});
	CHECK_FALSE(gpu.blocked());
	CHECK(gpu.find(address("0000:01:00.1"))->action == MemberAction::stay_owner_aware);
	CHECK(gpu.steps.empty());
}

TEST_CASE("plan: S07 IOMMU off names the parameter for the CPU vendor")
{
	Builder builder = iommu_off();

	const Plan intel = plan_bind(scan(builder.build()), request({"0000:65:00.0"}), {});
	const auto *off = finding(intel, errc::iommu_off);
	REQUIRE(off);
	CHECK(off->message.find("add intel_iommu=on to the kernel command line") != std::string::npos);
	CHECK_FALSE(finding(intel, errc::no_iommu_group));

	builder.topology().cpu_vendor = "AuthenticAMD";
	const Plan amd = plan_bind(scan(builder.build()), request({"0000:65:00.0"}), {});
	REQUIRE(finding(amd, errc::iommu_off));
	CHECK(finding(amd, errc::iommu_off)->message.find("add amd_iommu=on") != std::string::npos);

	builder.topology().cpu_vendor = "GenuineIntel";
	builder.topology().kernel_cmdline = "ro quiet intel_iommu=on";
	const Plan firmware = plan_bind(scan(builder.build()), request({"0000:65:00.0"}), {});
	REQUIRE(finding(firmware, errc::iommu_off));
	CHECK(finding(firmware, errc::iommu_off)->message.find("enable VT-d in the firmware") !=
	      std::string::npos);
}

TEST_CASE("plan: S23 identity mismatch and a vanished address say where the device is")
{
	const DeviceGraph graph = scan(shifted_addresses().build());

	auto req = request({"0000:ae:00.0"});
	req.devices[0].expected = DeviceIdentity{VendorId(0x10de), DeviceId(0x1f02)};
	const Plan gone = plan_bind(graph, req, {});
	const auto *mismatch = finding(gone, errc::identity_mismatch);
	REQUIRE(mismatch);
	CHECK(mismatch->message ==
	      "no PCI device at 0000:ae:00.0; a device with 10de:1f02 is now at 0000:b0:00.0");

	req.devices[0].expected = DeviceIdentity{VendorId(0x8086), DeviceId(0x1533)};
	req.devices[0].address = address("0000:af:00.0");
	CHECK_FALSE(plan_bind(graph, req, {}).blocked());

	req.devices[0].expected = DeviceIdentity{VendorId(0x15b3), DeviceId(0x1017)};
	const Plan absent = plan_bind(graph, req, {});
	REQUIRE(finding(absent, errc::identity_mismatch));
	CHECK(finding(absent, errc::identity_mismatch)->message ==
	      "0000:af:00.0 holds 8086:1533, not the expected 15b3:1017; no device with 15b3:1017 is "
	      "present");

	const Plan unknown = plan_bind(graph, request({"0000:ae:00.0"}), {});
	REQUIRE(finding(unknown, errc::not_found));
}

TEST_CASE("plan: members in use block the bind")
{
	Builder builder;
	builder.vfio();
	builder.driver("nvme", "nvme", {"144d:a80a"});
	builder.driver("e1000e", "e1000e", {"8086:15bc"});
	builder.device("0000:00:00.0", "8086:2020", 0x060000, "", 0);
	builder.device("0000:01:00.0", "144d:a80a", 0x010802, "nvme", 3)
		.consumers.push_back({ConsumerKind::block_device, "nvme0n1", {}, false, "/", {}});
	builder.device("0000:00:1f.6", "8086:15bc", 0x020000, "e1000e", 6)
		.consumers.push_back({ConsumerKind::net_interface, "eno1", {}, true, {}, {}});
	const DeviceGraph graph = scan(builder.build());

	const Plan mounted = plan_bind(graph, request({"0000:01:00.0"}), {});
	REQUIRE(finding(mounted, errc::device_in_use));
	CHECK(finding(mounted, errc::device_in_use)->message ==
	      "block device nvme0n1 on 0000:01:00.0 is mounted at '/'; unmount it first");

	const Plan routed = plan_bind(graph, request({"0000:00:1f.6"}), {});
	REQUIRE(finding(routed, errc::device_in_use));
	CHECK(finding(routed, errc::device_in_use)->message.find("eno1") != std::string::npos);
	CHECK(finding(routed, errc::device_in_use)->message.find("default route") != std::string::npos);
}

TEST_CASE("plan: USB device claimed by another owner blocks its controller")
{
	const DeviceGraph graph = scan(gpu_desktop().build());
	const std::vector<Ownership> claims{claim_of("usb:3-1.2", "usb-passthrough")};

	const Plan plan = plan_bind(graph, request({"0000:01:00.0"}), claims);
	const auto *in_use = finding(plan, errc::device_in_use);
	REQUIRE(in_use);
	CHECK(in_use->device == "0000:01:00.2");
	CHECK(in_use->message.find("'usb-passthrough'") != std::string::npos);

	const std::vector<Ownership> own{claim_of("usb:3-1.2", "test")};
	CHECK_FALSE(plan_bind(graph, request({"0000:01:00.0"}), own).blocked());
}

TEST_CASE("plan: S16 an open group blocks changes but not a bind that holds")
{
	const Topology topology = gpu_desktop().build();
	auto host = sim::Host::create(topology).value();
	for (const auto &function : {"0000:01:00.0", "0000:01:00.1", "0000:01:00.2", "0000:01:00.3"}) {
		std::string bdf = function;
		REQUIRE(host->write("sys/bus/pci/devices/" + bdf + "/driver_override", "vfio-pci"));
		auto driver = host->read_link("sys/bus/pci/devices/" + bdf + "/driver");
		if (driver)
			REQUIRE(host->write("sys/bus/pci/devices/" + bdf + "/driver/unbind", bdf));
		REQUIRE(host->write("sys/bus/pci/drivers/vfio-pci/bind", bdf));
	}
	REQUIRE(host->open_node("dev/vfio/7", 4242, "qemu-system-x86"));
	const DeviceGraph graph = scan(*host);

	const Plan holds = plan_bind(graph, request({"0000:01:00.0"}), {});
	CHECK_FALSE(holds.blocked());
	CHECK(holds.steps.empty());

	const Plan release = plan_release(graph, request({"0000:01:00.0"}), {});
	const auto *in_use = finding(release, errc::device_in_use);
	REQUIRE(in_use);
	CHECK(in_use->message ==
	      "dev/vfio/7 (IOMMU group 7) is open by qemu-system-x86 (pid 4242); stop that process "
	      "or detach the devices from its virtual machine first");
}

TEST_CASE("plan: S11 boot framebuffer needs the option, and its step has an inverse")
{
	Builder builder = gpu_desktop();
	builder.find("0000:01:00.0").boot_vga = true;
	builder.find("0000:01:00.0").consumers.push_back(
		{ConsumerKind::framebuffer, "efifb", "EFI VGA", false, {}, {}});
	const DeviceGraph graph = scan(builder.build());

	const Plan refused = plan_bind(graph, request({"0000:01:00.0"}), {});
	REQUIRE(finding(refused, errc::boot_framebuffer));
	CHECK(finding(refused, errc::boot_framebuffer)->message.find("--release-framebuffer") !=
	      std::string::npos);

	auto req = request({"0000:01:00.0"});
	req.options.release_framebuffer = true;
	const Plan plan = plan_bind(graph, req, {});
	CHECK_FALSE(plan.blocked());
	REQUIRE_FALSE(plan.steps.empty());
	CHECK(plan.steps[0].step.kind == StepKind::unbind_framebuffer);
	CHECK(plan.steps[0].step.path == "sys/bus/platform/drivers/efi-framebuffer/unbind");
	CHECK(plan.steps[0].step.value == "efi-framebuffer.0");
	REQUIRE(plan.steps[0].inverse);
	CHECK(plan.steps[0].inverse->kind == StepKind::bind_framebuffer);
	CHECK(plan.claims_added[0].framebuffer == "efifb");
}

TEST_CASE("plan: PF with live VFs needs recreate_vfs, which removes them first")
{
	const DeviceGraph graph = scan(sriov_nic().build());

	const Plan refused = plan_bind(graph, request({"0000:86:00.0"}), {});
	REQUIRE(finding(refused, errc::pf_has_vfs));
	CHECK(finding(refused, errc::pf_has_vfs)->message.find("4 live virtual functions") !=
	      std::string::npos);

	auto req = request({"0000:86:00.0"});
	req.options.recreate_vfs = true;
	const Plan plan = plan_bind(graph, req, {});
	CHECK_FALSE(plan.blocked());
	REQUIRE_FALSE(plan.steps.empty());
	CHECK(plan.steps[0].step.describe() == "set sriov_numvfs of 0000:86:00.0 to 0");
	CHECK(plan.steps[0].inverse->describe() == "set sriov_numvfs of 0000:86:00.0 to 4");
	REQUIRE(plan.claims_added.size() == 1);
	CHECK(plan.claims_added[0].original_num_vfs == 4u);

	const std::vector<Ownership> claims{claim_of("0000:86:01.2", "tenant")};
	const Plan taken = plan_bind(graph, req, claims);
	REQUIRE(finding(taken, errc::device_in_use));
	CHECK(finding(taken, errc::device_in_use)->message.find("0000:86:01.2") != std::string::npos);
}

TEST_CASE("plan: S24 a device held by another owner is refused naming it")
{
	const DeviceGraph graph = scan(gpu_desktop().build());
	const std::vector<Ownership> claims{claim_of("0000:01:00.1", "owner-a", {"snd_hda_intel", ""})};

	const Plan bind = plan_bind(graph, request({"0000:01:00.0"}, "owner-b"), claims);
	const auto *held = finding(bind, errc::owned_by_other);
	REQUIRE(held);
	CHECK(held->device == "0000:01:00.1");
	CHECK(held->message.find("'owner-a'") != std::string::npos);

	const Plan release = plan_release(graph, request({"0000:01:00.1"}, "owner-b"), claims);
	REQUIRE(finding(release, errc::owned_by_other));
}

TEST_CASE("plan: S01 missing target driver is refused or loaded first")
{
	const DeviceGraph graph = scan(usb_controller(false).build());

	const Plan refused = plan_bind(graph, request({"0000:02:01.0"}), {});
	const auto *missing = finding(refused, errc::driver_missing);
	REQUIRE(missing);
	CHECK(missing->message ==
	      "driver vfio-pci is not loaded ('sys/bus/pci/drivers/vfio-pci' is missing); load it "
	      "with modprobe vfio_pci or allow module loading (--allow-module-load)");

	auto req = request({"0000:02:01.0"});
	req.options.allow_module_load = true;
	const Plan plan = plan_bind(graph, req, {});
	CHECK_FALSE(plan.blocked());
	REQUIRE(plan.steps.size() == 4);
	CHECK(plan.steps[0].step.describe() == "load module vfio_pci");
	CHECK_FALSE(plan.steps[0].inverse);

	req.options.module = "vfio_pci_custom";
	CHECK(plan_bind(graph, req, {}).steps[0].step.driver == "vfio_pci_custom");
}

TEST_CASE("plan: S18 reset methods and bus resets")
{
	Builder builder = gpu_desktop();
	builder.driver("e1000e", "e1000e", {"8086:10d3"});
	builder.device("0000:01:01.0", "8086:10d3", 0x020000, "e1000e", 8, "0000:00:01.0");
	const DeviceGraph graph = scan(builder.build());

	auto req = request({"0000:01:00.0"});
	req.options.reset_method = "flr";
	const Plan flr = plan_bind(graph, req, {});
	REQUIRE(finding(flr, errc::reset_unsupported));
	CHECK(finding(flr, errc::reset_unsupported)->message ==
	      "0000:01:00.0 does not offer the 'flr' reset method; it has: bus");

	req.options.reset_method = "bus";
	const Plan bus = plan_bind(graph, req, {});
	REQUIRE(finding(bus, errc::reset_unsupported));
	CHECK(finding(bus, errc::reset_unsupported)->message ==
	      "a bus reset of 0000:01:00.0 would also reset 0000:01:01.0, which this transaction "
	      "does not include; request them too");

	auto both = request({"0000:01:00.0", "0000:01:01.0"});
	both.options.reset_method = "bus";
	const Plan whole = plan_bind(graph, both, {});
	REQUIRE(finding(whole, errc::reset_unsupported));
	CHECK(finding(whole, errc::reset_unsupported)->device == "0000:01:01.0");
}

TEST_CASE("plan: S17 an inaccessible group member blocks")
{
	Builder builder = gpu_desktop();
	builder.find("0000:01:00.1").inaccessible = true;
	const Plan plan = plan_bind(scan(builder.build()), request({"0000:01:00.0"}), {});
	const auto *asleep = finding(plan, errc::device_inaccessible);
	REQUIRE(asleep);
	CHECK(asleep->device == "0000:01:00.1");
	CHECK_FALSE(finding(plan, errc::identity_mismatch));
}

TEST_CASE("plan: S12 a group moved since the claim is a warning")
{
	const DeviceGraph graph = scan(gpu_desktop().build());
	Ownership claim = claim_of("0000:01:00.0", "test", {"nouveau", ""});
	claim.group = 100;

	const Plan plan = plan_bind(graph, request({"0000:01:00.0"}), std::vector<Ownership>{claim});
	CHECK_FALSE(plan.blocked());
	const auto *moved = finding(plan, errc::no_iommu_group);
	REQUIRE(moved);
	CHECK_FALSE(moved->blocking);
	CHECK(moved->message ==
	      "the claim on 0000:01:00.0 names IOMMU group 100 but the kernel now puts it in group "
	      "7; use dev/vfio/7");
	CHECK(plan.check());
}

TEST_CASE("plan: release restores the recorded state with the fewest writes")
{
	const Topology topology = sriov_nic(true).build();
	const DeviceGraph graph = scan(topology);

	SUBCASE("S14 recorded vfio-pci: nothing to write")
	{
		const std::vector<Ownership> claims{claim_of("0000:86:01.0", "test", {"vfio-pci", "vfio-pci"})};
		const Plan plan = plan_release(graph, request({"0000:86:01.0"}), claims);
		CHECK_FALSE(plan.blocked());
		CHECK(plan.steps.empty());
		CHECK(plan.claims_removed == std::vector<std::string>{"0000:86:01.0"});
	}

	SUBCASE("recorded no driver: unbind and clear")
	{
		const std::vector<Ownership> claims{claim_of("0000:86:01.0", "test", {"", ""})};
		const Plan plan = plan_release(graph, request({"0000:86:01.0"}), claims);
		CHECK(describe_steps(plan) ==
		      std::vector<std::string>{
			      "clear driver_override of 0000:86:01.0 | set driver_override of 0000:86:01.0 to vfio-pci",
			      "unbind 0000:86:01.0 from vfio-pci | bind 0000:86:01.0 to vfio-pci",
		      });
	}

	SUBCASE("recorded iavf: pin, unbind, bind, clear")
	{
		const std::vector<Ownership> claims{claim_of("0000:86:01.0", "test", {"iavf", ""})};
		const Plan plan = plan_release(graph, request({"0000:86:01.0"}), claims);
		CHECK(describe_steps(plan) ==
		      std::vector<std::string>{
			      "set driver_override of 0000:86:01.0 to iavf | set driver_override of 0000:86:01.0 to vfio-pci",
			      "unbind 0000:86:01.0 from vfio-pci | bind 0000:86:01.0 to vfio-pci",
			      "bind 0000:86:01.0 to iavf | unbind 0000:86:01.0 from iavf",
			      "clear driver_override of 0000:86:01.0 | set driver_override of 0000:86:01.0 to iavf",
		      });
	}

	SUBCASE("no record: the kernel probes")
	{
		const Plan plan = plan_release(graph, request({"0000:86:01.0"}), {});
		CHECK(describe_steps(plan) ==
		      std::vector<std::string>{
			      "clear driver_override of 0000:86:01.0 | set driver_override of 0000:86:01.0 to vfio-pci",
			      "unbind 0000:86:01.0 from vfio-pci | bind 0000:86:01.0 to vfio-pci",
			      "probe 0000:86:01.0 for a driver | -",
		      });
	}
}

TEST_CASE("plan: S05 release clears a stale override with a newline")
{
	const Plan plan = plan_release(scan(stale_override().build()), request({"0000:3b:00.0"}), {});
	CHECK_FALSE(plan.blocked());
	REQUIRE(plan.steps.size() == 1);
	CHECK(plan.steps[0].step.kind == StepKind::set_override);
	CHECK(plan.steps[0].step.value == "\n");
}

TEST_CASE("plan: reconcile writes nothing for a state that holds")
{
	const Topology topology = sriov_nic(true).build();
	const DeviceGraph graph = scan(topology);
	std::vector<Ownership> claims{claim_of("0000:86:01.0", "ctl", {"vfio-pci", "vfio-pci"})};
	claims[0].group = 32;

	const std::vector<Desired> holds{{address("0000:86:01.0"), "vfio-pci", "ctl"}};
	const Plan same = plan_reconcile(graph, holds, {}, claims);
	CHECK_FALSE(same.blocked());
	CHECK(same.steps.empty());
	CHECK(same.claims_added.empty());

	const std::vector<Desired> twice{{address("0000:86:01.0"), "vfio-pci", "ctl"},
					 {address("0000:86:01.0"), "", "ctl"}};
	const Plan duplicate = plan_reconcile(graph, twice, {}, claims);
	REQUIRE(finding(duplicate, errc::invalid_argument));

	const std::vector<Desired> mixed{{address("0000:86:01.0"), "", "ctl"},
					 {address("0000:86:01.1"), "vfio-pci", "ctl"},
					 {address("0000:86:00.0"), "ice", "ctl"}};
	const Plan plan = plan_reconcile(graph, mixed, {}, claims);
	CHECK_FALSE(plan.blocked());
	CHECK(plan.steps.empty());
	CHECK(plan.claims_removed == std::vector<std::string>{"0000:86:01.0"});
	REQUIRE(plan.claims_added.size() == 2);
}

TEST_CASE("plan: JSON document carries schema, members, findings and inverses")
{
	const DeviceGraph graph = scan(usb_controller(false).build());
	const Plan plan = plan_bind(graph, request({"0000:02:01.0"}), {});
	const json::object document = json::parse(to_json(plan)).as_object();

	CHECK(document.at("schema").as_string() == "pcipass.plan/v1");
	CHECK(document.at("operation").as_string() == "bind");
	CHECK(document.at("blocked").as_bool());
	CHECK(document.at("findings").as_array()[0].at("code").as_string() == "driver_missing");
	const auto &member = document.at("members").as_array()[0].as_object();
	CHECK(member.at("address").as_string() == "0000:02:01.0");
	CHECK(member.at("before").at("driver").as_string() == "xhci_hcd");
	CHECK(member.at("before").at("override").is_null());
	const auto &step = document.at("steps").as_array()[0].as_object();
	CHECK(step.at("kind").as_string() == "set_override");
	CHECK(step.at("inverse").at("value").as_string() == "\n");
}

TEST_CASE("plan: ownership records round-trip and bad ones name the field")
{
	Ownership claim = claim_of("0000:01:00.0", "ctl", {"nouveau", ""});
	claim.group = 7;
	claim.identity = DeviceIdentity{VendorId(0x10de), DeviceId(0x1f02)};
	claim.original_num_vfs = 4;
	claim.transaction = "0123456789abcdef";
	const std::vector<Ownership> claims{claim};

	auto parsed = parse_ownerships(to_json(claims));
	REQUIRE(parsed);
	CHECK(parsed.value() == claims);

	auto bad = parse_ownerships(R"([{"device":"0000:01:00.0","owner":7}])");
	REQUIRE_FALSE(bad);
	CHECK(bad.error().code == errc::invalid_argument);
	CHECK(bad.error().message.find("'owner'") != std::string::npos);
	CHECK_FALSE(parse_ownerships("[{"));
}

TEST_CASE("plan: identities parse as vendor:device")
{
	auto identity = DeviceIdentity::parse("10DE:1f02");
	REQUIRE(identity);
	CHECK(identity.value().to_string() == "10de:1f02");
	CHECK_FALSE(DeviceIdentity::parse("10de"));
	CHECK_FALSE(DeviceIdentity::parse("10de:1f0"));
	CHECK(module_for_driver("vfio-pci") == "vfio_pci");
	CHECK(module_for_driver("xhci_hcd", "xhci_pci") == "xhci_pci");
}
