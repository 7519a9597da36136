/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The field scenarios against the simulated kernel: each asserts the whole
 * final state, the error and the journal.
 */

#include <atomic>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <thread>

#include <doctest/doctest.h>

#include "harness.hpp"
#include "topologies.hpp"

using namespace pcipass;
using namespace txntest;

namespace {

const std::vector<std::string> gpu_functions = {"0000:01:00.0", "0000:01:00.1", "0000:01:00.2",
						"0000:01:00.3"};

#define CHECK_STATE(fixture, expected)                                                             \
	CHECK_MESSAGE((fixture).host->state() == (expected),                                       \
		      explain((expected), (fixture).host->state()))

/* A fault that fails the first matching write with an errno, before it takes effect by default. */
sim::Fault fail_on(sim::WriteKind kind, const std::string &device, int sys_errno,
		   sim::FaultTiming timing = sim::FaultTiming::before)
{
	sim::Fault fault;
	fault.match.kind = kind;
	fault.match.device = address(device);
	fault.match.nth = 1;
	fault.action = sim::FaultAction::fail;
	fault.timing = timing;
	fault.sys_errno = sys_errno;
	return fault;
}

/* Another program unloading a module right after the device's unbind. */
sim::Fault unload_after_unbind(const std::string &device, const std::string &module)
{
	sim::Fault fault;
	fault.match.kind = sim::WriteKind::unbind;
	fault.match.device = address(device);
	fault.action = sim::FaultAction::unload_module;
	fault.name = module;
	return fault;
}

size_t count_kind(const sim::Host &host, sim::WriteKind kind)
{
	size_t count = 0;
	for (const auto &entry : host.log())
		if (entry.kind == kind && !entry.side_effect)
			count++;
	return count;
}

size_t count_device_writes(const std::vector<sim::LogEntry> &log, const std::string &device)
{
	size_t count = 0;
	for (const auto &entry : log)
		if (entry.device && entry.device->to_string() == device && !entry.side_effect)
			count++;
	return count;
}

/* Lists the journal's write intents as "kind device path". */
std::vector<std::string> journal_intents(const std::string &state_dir)
{
	std::vector<std::string> intents;
	for (const auto &line : journal_lines(state_dir)) {
		if (line.at("type").as_string() != "intent")
			continue;
		const auto &step = line.at("step").as_object();
		intents.push_back(std::string(step.at("kind").as_string()) + " " +
				  std::string(step.at("device").as_string()) + " " +
				  std::string(step.at("path").as_string()));
	}
	return intents;
}

std::vector<std::string> journal_types(const std::string &state_dir)
{
	std::vector<std::string> types;
	for (const auto &line : journal_lines(state_dir))
		types.emplace_back(line.at("type").as_string());
	return types;
}

} /* namespace */

TEST_CASE("transaction: requested pci-stub device moves and returns")
{
	const Topology topology = gpu_audio_on_pci_stub().build();
	Fixture fixture(topology);

	auto bound = fixture.engine->bind(request({"0000:01:00.1"}));
	REQUIRE_MESSAGE(bound, bound.error().describe());
	CHECK(bound.value().outcome == Outcome::committed);
	CHECK(bound.value().writes == 3);
	CHECK_STATE(fixture, with(fixture.initial, topology, {{"0000:01:00.1", {"vfio-pci", "vfio-pci"}}}));
	CHECK(journal_types(fixture.state_dir) ==
	      std::vector<std::string>{"begin", "intent", "done", "intent", "done", "intent", "done",
				       "commit", "end"});
	CHECK(journal_intents(fixture.state_dir) ==
	      std::vector<std::string>{
		      "set_override 0000:01:00.1 sys/bus/pci/devices/0000:01:00.1/driver_override",
		      "unbind 0000:01:00.1 sys/bus/pci/drivers/pci-stub/unbind",
		      "bind 0000:01:00.1 sys/bus/pci/drivers/vfio-pci/bind",
	      });

	/* Every member gets a record, and only the audio function's record stores pci-stub as original. */
	auto owners = fixture.engine->ownerships();
	REQUIRE(owners);
	REQUIRE(owners.value().size() == 4);
	for (size_t i = 0; i < gpu_functions.size(); i++) {
		const Ownership &record = owners.value()[i];
		CHECK(record.device == gpu_functions[i]);
		CHECK(record.owner == "test");
		CHECK(record.driver == "vfio-pci");
		CHECK(record.group == 7u);
		const DeviceState original = record.device == "0000:01:00.1"
						     ? DeviceState{"pci-stub", ""}
						     : DeviceState{"vfio-pci", "vfio-pci"};
		CHECK(record.original == original);
	}

	auto released = fixture.engine->release(request({"0000:01:00.1"}));
	REQUIRE_MESSAGE(released, released.error().describe());
	CHECK(released.value().outcome == Outcome::committed);
	CHECK_STATE(fixture, fixture.initial);
	CHECK(fixture.engine->ownerships().value().empty());
	CHECK(journal_clean(fixture.state_dir));
	CHECK(journal_intents(fixture.state_dir) ==
	      std::vector<std::string>{
		      "set_override 0000:01:00.1 sys/bus/pci/devices/0000:01:00.1/driver_override",
		      "unbind 0000:01:00.1 sys/bus/pci/drivers/vfio-pci/unbind",
		      "bind 0000:01:00.1 sys/bus/pci/drivers/pci-stub/bind",
		      "set_override 0000:01:00.1 sys/bus/pci/devices/0000:01:00.1/driver_override",
	      });
}

TEST_CASE("transaction: failed vfio-pci bind returns the device to pci-stub")
{
	const Topology topology = gpu_audio_on_pci_stub().build();
	Fixture fixture(topology);

	REQUIRE(fixture.host->inject(fail_on(sim::WriteKind::bind, "0000:01:00.1", EIO)));
	auto bound = fixture.engine->bind(request({"0000:01:00.1"}));
	REQUIRE_FALSE(bound);
	CHECK(bound.error().code == errc::bind_failed);
	CHECK(bound.error().device == "0000:01:00.1");
	CHECK(bound.error().path == "sys/bus/pci/drivers/vfio-pci/bind");
	CHECK(bound.error().sys_errno == EIO);
	CHECK_STATE(fixture, fixture.initial);
	CHECK(journal_outcome(fixture.state_dir) == "rolled_back");
	CHECK(fixture.engine->ownerships().value().empty());
}

TEST_CASE("transaction: GPU group goes to vfio-pci and comes back")
{
	const Topology topology = gpu_desktop().build();
	Fixture fixture(topology);
	Recorder recorder;

	auto bound = fixture.engine->bind(request({"0000:01:00.0"}), &recorder);
	REQUIRE_MESSAGE(bound, bound.error().describe());
	CHECK(bound.value().outcome == Outcome::committed);
	CHECK(bound.value().groups == std::vector<unsigned>{7});
	const auto expected = on_vfio(fixture.initial, topology, gpu_functions);
	CHECK_STATE(fixture, expected);
	CHECK(journal_outcome(fixture.state_dir) == "committed");

	/* Three writes per function with a driver, two for the driverless UCSI function. */
	CHECK(bound.value().writes == 11);
	CHECK(written_paths(*fixture.host).size() == 11);
	CHECK(recorder.steps_.size() == 22);
	CHECK(recorder.steps_.front().status == StepStatus::started);
	CHECK(recorder.steps_.back().status == StepStatus::done);
	REQUIRE(recorder.report_);
	CHECK(recorder.report_->outcome == Outcome::committed);

	auto owners = fixture.engine->ownerships();
	REQUIRE(owners);
	REQUIRE(owners.value().size() == 4);
	CHECK(owners.value()[0].device == "0000:01:00.0");
	CHECK(owners.value()[0].original == DeviceState{"nouveau", ""});
	CHECK(owners.value()[3].original == DeviceState{"", ""});

	auto released = fixture.engine->release(request({"0000:01:00.0"}));
	REQUIRE_MESSAGE(released, released.error().describe());
	CHECK(released.value().outcome == Outcome::committed);
	CHECK_STATE(fixture, fixture.initial);
	CHECK(fixture.engine->ownerships().value().empty());
	CHECK(journal_clean(fixture.state_dir));
}

TEST_CASE("transaction: S01 vfio-pci not loaded is refused without module loading")
{
	const Topology topology = usb_controller(false).build();
	Fixture fixture(topology);

	auto bound = fixture.engine->bind(request({"0000:02:01.0"}));
	REQUIRE_FALSE(bound);
	CHECK(bound.error().code == errc::driver_missing);
	CHECK(bound.error().message.find("modprobe vfio_pci") != std::string::npos);
	CHECK(bound.error().step == "preflight");
	CHECK(written_paths(*fixture.host).empty());
	CHECK_STATE(fixture, fixture.initial);
	CHECK(journal_lines(fixture.state_dir).empty());
}

TEST_CASE("transaction: S01 vfio-pci is loaded when allowed")
{
	const Topology topology = usb_controller(false).build();
	Fixture fixture(topology);

	auto req = request({"0000:02:01.0"});
	req.options.allow_module_load = true;
	auto bound = fixture.engine->bind(req);
	REQUIRE_MESSAGE(bound, bound.error().describe());

	auto reference = sim::Host::create(topology).value();
	REQUIRE(reference->load_module("vfio_pci"));
	const auto expected = on_vfio(reference->state(), topology, {"0000:02:01.0"});
	CHECK_STATE(fixture, expected);
	CHECK(bound.value().steps.front().step.kind == StepKind::load_module);
}

TEST_CASE("transaction: S01 module unloaded after unbind rolls back to xhci_hcd")
{
	const Topology topology = usb_controller(true).build();
	Fixture fixture(topology);

	REQUIRE(fixture.host->inject(unload_after_unbind("0000:02:01.0", "vfio_pci")));

	auto bound = fixture.engine->bind(request({"0000:02:01.0"}));
	REQUIRE_FALSE(bound);
	CHECK(bound.error().code == errc::driver_missing);
	CHECK(bound.error().device == "0000:02:01.0");
	CHECK(bound.error().path == "sys/bus/pci/drivers/vfio-pci");
	CHECK(bound.error().step == "bind 0000:02:01.0 to vfio-pci");
	CHECK(bound.error().message.find("rolled back") != std::string::npos);

	/* The other software's unload stays; the device is back on its driver. */
	auto reference = sim::Host::create(topology).value();
	REQUIRE(reference->unload_module("vfio_pci"));
	CHECK_STATE(fixture, reference->state());
	CHECK(journal_outcome(fixture.state_dir) == "rolled_back");
}

TEST_CASE("transaction: S01 module unloaded after unbind is loaded again when allowed")
{
	const Topology topology = usb_controller(true).build();
	Fixture fixture(topology);

	REQUIRE(fixture.host->inject(unload_after_unbind("0000:02:01.0", "vfio_pci")));

	auto req = request({"0000:02:01.0"});
	req.options.allow_module_load = true;
	auto bound = fixture.engine->bind(req);
	REQUIRE_MESSAGE(bound, bound.error().describe());
	CHECK_STATE(fixture, on_vfio(fixture.initial, topology, {"0000:02:01.0"}));
}

TEST_CASE("transaction: S02 ID already registered and EEXIST decide nothing")
{
	Builder builder;
	builder.vfio();
	builder.topology().drivers.back().dynamic_ids.push_back({VendorId(0x8086), DeviceId(0x1533)});
	builder.driver("igb", "igb", {"8086:1533"});
	builder.device("0000:00:00.0", "8086:3e30", 0x060000, "", 0);
	builder.device("0000:03:00.0", "8086:1533", 0x020000, "", 3);
	builder.device("0000:04:00.0", "8086:1533", 0x020000, "igb", 4);
	const Topology topology = builder.build();
	Fixture fixture(topology);

	/* The bind takes effect, then reports EEXIST: the driver link decides. */
	REQUIRE(fixture.host->inject(fail_on(sim::WriteKind::bind, "0000:03:00.0", EEXIST,
					     sim::FaultTiming::after)));

	auto bound = fixture.engine->bind(request({"0000:03:00.0"}));
	REQUIRE_MESSAGE(bound, bound.error().describe());
	CHECK_STATE(fixture, on_vfio(fixture.initial, topology, {"0000:03:00.0"}));
	CHECK(count_kind(*fixture.host, sim::WriteKind::new_id) == 0);
	CHECK(count_kind(*fixture.host, sim::WriteKind::remove_id) == 0);
}

TEST_CASE("transaction: S03 a driverless twin stays untouched, now and after a re-probe")
{
	Builder builder;
	builder.vfio();
	builder.driver("e1000e", "e1000e", {"8086:10d3"});
	builder.device("0000:00:00.0", "8086:3e30", 0x060000, "", 0);
	builder.device("0000:03:00.0", "8086:10d3", 0x020000, "e1000e", 3);
	builder.device("0000:04:00.0", "8086:10d3", 0x020000, "", 4).driver_override = "none";
	const Topology topology = builder.build();
	Fixture fixture(topology);

	auto bound = fixture.engine->bind(request({"0000:03:00.0"}));
	REQUIRE_MESSAGE(bound, bound.error().describe());
	const auto expected = on_vfio(fixture.initial, topology, {"0000:03:00.0"});
	CHECK_STATE(fixture, expected);

	REQUIRE(fixture.host->write("sys/bus/pci/drivers_probe", "0000:04:00.0"));
	CHECK_STATE(fixture, expected);
	CHECK(fixture.host->state().dynamic_ids.empty());
	CHECK(count_kind(*fixture.host, sim::WriteKind::new_id) == 0);
}

TEST_CASE("transaction: S04 host driver re-attaching after unbind fails and names it")
{
	const Topology topology = single_nic().build();
	Fixture fixture(topology);

	sim::Fault reattach;
	reattach.match.kind = sim::WriteKind::unbind;
	reattach.match.device = address("0000:03:00.0");
	reattach.action = sim::FaultAction::reattach_after_unbind;
	REQUIRE(fixture.host->inject(reattach));

	auto bound = fixture.engine->bind(request({"0000:03:00.0"}));
	REQUIRE_FALSE(bound);
	CHECK(bound.error().code == errc::busy);
	CHECK(bound.error().device == "0000:03:00.0");
	CHECK(bound.error().message.find("e1000e") != std::string::npos);
	CHECK_STATE(fixture, fixture.initial);
	CHECK(journal_outcome(fixture.state_dir) == "rolled_back");
}

TEST_CASE("transaction: S04 EBUSY from a bind that took effect is success")
{
	const Topology topology = single_nic().build();
	Fixture fixture(topology);

	REQUIRE(fixture.host->inject(fail_on(sim::WriteKind::bind, "0000:03:00.0", EBUSY,
					     sim::FaultTiming::after)));
	auto bound = fixture.engine->bind(request({"0000:03:00.0"}));
	REQUIRE_MESSAGE(bound, bound.error().describe());
	CHECK_STATE(fixture, on_vfio(fixture.initial, topology, {"0000:03:00.0"}));
}

TEST_CASE("transaction: S05 stale override is cleared without a bind write")
{
	const Topology topology = stale_override().build();
	Fixture fixture(topology);

	auto released = fixture.engine->release(request({"0000:3b:00.0"}));
	REQUIRE_MESSAGE(released, released.error().describe());
	CHECK(written_paths(*fixture.host) ==
	      std::vector<std::string>{"sys/bus/pci/devices/0000:3b:00.0/driver_override"});
	CHECK(fixture.host->log().front().value == "\n");
	CHECK_STATE(fixture, with(fixture.initial, topology, {{"0000:3b:00.0", {"bnx2x", ""}}}));
}

TEST_CASE("transaction: S06 release whose override clearing fails reports that file")
{
	const Topology topology = usb_controller(true).build();
	Fixture fixture(topology);

	REQUIRE(fixture.engine->bind(request({"0000:02:01.0"})));
	const auto bound_state = fixture.host->state();

	/* The pinned override goes through; the final clearing write fails. */
	sim::Fault fault = fail_on(sim::WriteKind::driver_override, "0000:02:01.0", EIO);
	fault.match.nth = 2;
	REQUIRE(fixture.host->inject(fault));

	auto released = fixture.engine->release(request({"0000:02:01.0"}));
	REQUIRE_FALSE(released);
	CHECK(released.error().code == errc::io_error);
	CHECK(released.error().sys_errno == EIO);
	CHECK(released.error().path == "sys/bus/pci/devices/0000:02:01.0/driver_override");
	CHECK(released.error().step == "clear driver_override of 0000:02:01.0");
	CHECK_STATE(fixture, bound_state);
	CHECK(fixture.engine->ownerships().value().size() == 1);
}

TEST_CASE("transaction: S07 IOMMU off is refused with the kernel parameter")
{
	const Topology topology = iommu_off().build();
	Fixture fixture(topology);

	auto bound = fixture.engine->bind(request({"0000:65:00.0"}));
	REQUIRE_FALSE(bound);
	CHECK(bound.error().code == errc::iommu_off);
	CHECK(bound.error().message.find("intel_iommu=on") != std::string::npos);
	CHECK(fixture.host->log().empty());
	CHECK_STATE(fixture, fixture.initial);
}

TEST_CASE("transaction: S07 vfio-pci probe EINVAL returns the GPU to nouveau")
{
	Builder builder = gpu_desktop();
	for (auto &driver : builder.topology().drivers)
		if (driver.name == "vfio-pci")
			driver.probe_errno = EINVAL;
	const Topology topology = builder.build();
	Fixture fixture(topology);

	auto bound = fixture.engine->bind(request({"0000:01:00.0"}));
	REQUIRE_FALSE(bound);
	CHECK(bound.error().code == errc::bind_failed);
	CHECK(bound.error().sys_errno == EINVAL);
	CHECK(bound.error().path == "sys/bus/pci/drivers/vfio-pci/bind");
	CHECK(bound.error().device == "0000:01:00.0");
	CHECK(bound.error().message.find("no driver") != std::string::npos);
	CHECK_STATE(fixture, fixture.initial);
	CHECK(journal_outcome(fixture.state_dir) == "rolled_back");
}

TEST_CASE("transaction: S08 bridge in the group stays, and requesting it writes nothing")
{
	const Topology topology = bridge_in_group().build();
	Fixture fixture(topology);

	auto refused = fixture.engine->bind(request({"0000:04:00.0"}));
	REQUIRE_FALSE(refused);
	CHECK(refused.error().code == errc::bridge_requested);
	CHECK(refused.error().message.find("0000:05:00.0") != std::string::npos);
	CHECK(fixture.host->log().empty());

	auto bound = fixture.engine->bind(request({"0000:05:00.0"}));
	REQUIRE_MESSAGE(bound, bound.error().describe());
	CHECK_STATE(fixture, on_vfio(fixture.initial, topology, {"0000:05:00.0"}));
	CHECK(count_device_writes(fixture.host->log(), "0000:04:00.0") == 0);
}

TEST_CASE("transaction: S09 companion audio moves and returns with the GPU")
{
	Builder builder;
	builder.vfio();
	builder.driver("nouveau", "nouveau", {"10de:1f02"});
	builder.driver("snd_hda_intel", "snd_hda_intel", {"10de:10f9"});
	builder.device("0000:00:00.0", "8086:3e30", 0x060000, "", 0);
	builder.bridge("0000:00:01.0", 1);
	builder.device("0000:01:00.0", "10de:1f02", 0x030000, "nouveau", 9, "0000:00:01.0").header_type =
		0x80;
	builder.device("0000:01:00.1", "10de:10f9", 0x040300, "snd_hda_intel", 9, "0000:00:01.0")
		.header_type = 0x80;
	const Topology topology = builder.build();
	Fixture fixture(topology);

	REQUIRE(fixture.host->inject(fail_on(sim::WriteKind::bind, "0000:01:00.1", EIO)));
	auto bound = fixture.engine->bind(request({"0000:01:00.0"}));
	REQUIRE_FALSE(bound);
	CHECK(bound.error().code == errc::bind_failed);
	CHECK(bound.error().device == "0000:01:00.1");
	CHECK(bound.error().sys_errno == EIO);
	CHECK_STATE(fixture, fixture.initial);

	fixture.host->clear_faults();
	auto retried = fixture.engine->bind(request({"0000:01:00.0"}));
	REQUIRE_MESSAGE(retried, retried.error().describe());
	CHECK_STATE(fixture, on_vfio(fixture.initial, topology, {"0000:01:00.0", "0000:01:00.1"}));
}

TEST_CASE("transaction: S10 failure on the xHCI function returns all four functions")
{
	const Topology topology = gpu_desktop().build();
	Fixture fixture(topology);

	REQUIRE(fixture.host->inject(fail_on(sim::WriteKind::bind, "0000:01:00.2", EAGAIN)));
	Recorder recorder;
	auto bound = fixture.engine->bind(request({"0000:01:00.0"}), &recorder);
	REQUIRE_FALSE(bound);
	CHECK(bound.error().code == errc::bind_failed);
	CHECK(bound.error().device == "0000:01:00.2");
	CHECK(bound.error().sys_errno == EAGAIN);
	CHECK_STATE(fixture, fixture.initial);

	REQUIRE(recorder.plan_);
	CHECK(recorder.plan_->members.size() == 4);
	REQUIRE(recorder.report_);
	CHECK(recorder.report_->outcome == Outcome::rolled_back);
	CHECK(recorder.report_->devices.size() == 4);
	for (const auto &device : recorder.report_->devices)
		CHECK(device.after == device.before);
}

TEST_CASE("transaction: failed undo says where each device is, and recover finishes it")
{
	const Topology topology = gpu_desktop().build();
	Fixture fixture(topology);

	/* The bind of the audio function fails, and so does every bind back to its driver. */
	REQUIRE(fixture.host->inject(fail_on(sim::WriteKind::bind, "0000:01:00.1", EIO)));
	sim::Fault stuck;
	stuck.match.path = "sys/bus/pci/drivers/snd_hda_intel/bind";
	stuck.action = sim::FaultAction::fail;
	stuck.sys_errno = ENODEV;
	REQUIRE(fixture.host->inject(stuck));

	auto bound = fixture.engine->bind(request({"0000:01:00.0"}));
	REQUIRE_FALSE(bound);
	CHECK(bound.error().code == errc::rollback_failed);
	CHECK(bound.error().device == "0000:01:00.1");
	CHECK(bound.error().sys_errno == EIO);
	CHECK(bound.error().path == "sys/bus/pci/drivers/vfio-pci/bind");
	CHECK(bound.error().message.find("0000:01:00.1 is on no driver with driver_override "
					 "snd_hda_intel (recorded: on snd_hda_intel)") != std::string::npos);
	CHECK(journal_outcome(fixture.state_dir) == "rollback_failed");
	CHECK_FALSE(journal_clean(fixture.state_dir));

	/* The GPU function itself went back. */
	CHECK_STATE(fixture, with(fixture.initial, topology, {{"0000:01:00.1", {"", "snd_hda_intel"}}}));

	fixture.host->clear_faults();
	auto recovered = fixture.engine->recover(fast_deadlines());
	REQUIRE_MESSAGE(recovered, recovered.error().describe());
	CHECK(recovered.value().outcome == Outcome::recovered);
	CHECK_STATE(fixture, fixture.initial);
	CHECK(journal_clean(fixture.state_dir));
}

TEST_CASE("transaction: S11 boot framebuffer is released only when allowed, and restored")
{
	Builder builder = gpu_desktop();
	builder.find("0000:01:00.0").boot_vga = true;
	builder.find("0000:01:00.0").consumers.push_back(
		{ConsumerKind::framebuffer, "efifb", {}, false, {}, {}});
	const Topology topology = builder.build();
	Fixture fixture(topology);
	FramebufferHost host(*fixture.host);
	EngineOptions options;
	options.state_dir = fixture.state_dir;
	options.scan.names = false;
	auto engine = Engine::open(host, options).value();

	auto refused = engine->bind(request({"0000:01:00.0"}));
	REQUIRE_FALSE(refused);
	CHECK(refused.error().code == errc::boot_framebuffer);
	CHECK(refused.error().message.find("efifb") != std::string::npos);
	CHECK(refused.error().message.find("0000:01:00.0") != std::string::npos);
	CHECK(fixture.host->log().empty());
	CHECK(host.bound());

	auto req = request({"0000:01:00.0"});
	req.options.release_framebuffer = true;

	/* A failure after the release binds the framebuffer back. */
	REQUIRE(fixture.host->inject(fail_on(sim::WriteKind::bind, "0000:01:00.3", EIO)));
	auto failed = engine->bind(req);
	REQUIRE_FALSE(failed);
	CHECK(host.bound());
	CHECK_STATE(fixture, fixture.initial);

	fixture.host->clear_faults();
	auto bound = engine->bind(req);
	REQUIRE_MESSAGE(bound, bound.error().describe());
	CHECK_FALSE(host.bound());
	CHECK_STATE(fixture, on_vfio(fixture.initial, topology, gpu_functions));

	auto released = engine->release(request({"0000:01:00.0"}));
	REQUIRE_MESSAGE(released, released.error().describe());
	CHECK(host.bound());
	CHECK_STATE(fixture, fixture.initial);
}

TEST_CASE("transaction: S11 framebuffer that cannot come back is named")
{
	Builder builder = gpu_desktop();
	builder.find("0000:01:00.0").boot_vga = true;
	const Topology topology = builder.build();
	Fixture fixture(topology);
	FramebufferHost host(*fixture.host);
	EngineOptions options;
	options.state_dir = fixture.state_dir;
	options.scan.names = false;
	auto engine = Engine::open(host, options).value();

	auto req = request({"0000:01:00.0"});
	req.options.release_framebuffer = true;
	REQUIRE(fixture.host->inject(fail_on(sim::WriteKind::bind, "0000:01:00.1", EIO)));
	host.fail_bind(true);

	auto bound = engine->bind(req);
	REQUIRE_FALSE(bound);
	CHECK(bound.error().code == errc::rollback_failed);
	CHECK(bound.error().message.find("efi-framebuffer.0 is unbound (recorded: on efi-framebuffer)") !=
	      std::string::npos);
	CHECK_FALSE(host.bound());
	CHECK_STATE(fixture, fixture.initial);

	host.fail_bind(false);
	auto recovered = engine->recover(fast_deadlines());
	REQUIRE_MESSAGE(recovered, recovered.error().describe());
	CHECK(host.bound());
	CHECK(journal_clean(fixture.state_dir));
}

TEST_CASE("transaction: S12 moved group number is reported and the new one used")
{
	const Topology topology = gpu_desktop().build();
	Fixture fixture(topology);

	REQUIRE(fixture.engine->bind(request({"0000:01:00.0"})));
	REQUIRE(fixture.engine->release(request({"0000:01:00.0"})));

	/* A controller kept its claim from before a reboot that renumbered the groups. */
	Ownership stale;
	stale.device = "0000:01:00.0";
	stale.owner = "test";
	stale.driver = "vfio-pci";
	stale.group = 100;
	stale.original = {"nouveau", ""};
	const std::vector<Ownership> claims{stale};
	std::ofstream(fixture.state_dir + "/ownership.json")
		<< R"({"schema":"pcipass.ownership/v1","claims":)" << to_json(claims) << "}\n";

	auto bound = fixture.engine->bind(request({"0000:01:00.0"}));
	REQUIRE_MESSAGE(bound, bound.error().describe());
	CHECK(bound.value().groups == std::vector<unsigned>{7});
	REQUIRE(bound.value().findings.size() == 1);
	CHECK_FALSE(bound.value().findings[0].blocking);
	CHECK(bound.value().findings[0].message.find("group 100") != std::string::npos);
	CHECK(bound.value().findings[0].message.find("dev/vfio/7") != std::string::npos);
	CHECK_STATE(fixture, on_vfio(fixture.initial, topology, gpu_functions));

	auto owners = fixture.engine->ownerships().value();
	REQUIRE(owners.size() == 4);
	CHECK(owners[0].group == 7u);
	CHECK(owners[0].original == DeviceState{"nouveau", ""});
}

TEST_CASE("transaction: S13 VFs return to iavf with autoprobe off, sriov_numvfs untouched")
{
	const Topology topology = sriov_nic().build();
	Fixture fixture(topology);
	const std::vector<std::string> vfs = {"0000:86:01.0", "0000:86:01.1", "0000:86:01.2",
					      "0000:86:01.3"};

	REQUIRE(fixture.engine->bind(request(vfs)));
	REQUIRE(fixture.host->write("sys/bus/pci/devices/0000:86:00.0/sriov_drivers_autoprobe", "0"));
	const auto before_release = fixture.host->state();
	fixture.host->clear_log();

	const auto start = std::chrono::steady_clock::now();
	auto released = fixture.engine->release(request(vfs));
	REQUIRE_MESSAGE(released, released.error().describe());
	CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));

	std::map<std::string, Binding> iavf;
	for (const auto &vf : vfs)
		iavf[vf] = {"iavf", ""};
	CHECK_STATE(fixture, with(before_release, topology, iavf));
	CHECK(count_kind(*fixture.host, sim::WriteKind::sriov_numvfs) == 0);
	CHECK(count_kind(*fixture.host, sim::WriteKind::bind) == 4);
}

TEST_CASE("transaction: S14 VF on vfio-pci before the claim stays there on release")
{
	const Topology topology = sriov_nic(true).build();
	Fixture fixture(topology);

	auto bound = fixture.engine->bind(request({"0000:86:01.1"}));
	REQUIRE_MESSAGE(bound, bound.error().describe());
	CHECK(bound.value().outcome == Outcome::no_change);
	CHECK(fixture.engine->ownerships().value().at(0).original == DeviceState{"vfio-pci", "vfio-pci"});

	auto released = fixture.engine->release(request({"0000:86:01.1"}));
	REQUIRE_MESSAGE(released, released.error().describe());
	CHECK(released.value().outcome == Outcome::no_change);
	CHECK(fixture.host->log().empty());
	CHECK_STATE(fixture, fixture.initial);
	CHECK(fixture.engine->ownerships().value().empty());
}

TEST_CASE("transaction: S15 unbind that never returns leaves its device in doubt")
{
	const Topology topology = gpu_desktop().build();
	Fixture fixture(topology);

	sim::Fault block;
	block.match.kind = sim::WriteKind::unbind;
	block.match.device = address("0000:01:00.0");
	block.action = sim::FaultAction::block;
	auto fault = fixture.host->inject(block);
	REQUIRE(fault);

	auto req = request({"0000:01:00.0"});
	req.options.deadlines.write = std::chrono::milliseconds(100);
	const auto start = std::chrono::steady_clock::now();
	auto bound = fixture.engine->bind(req);
	const auto elapsed = std::chrono::steady_clock::now() - start;

	REQUIRE_FALSE(bound);
	CHECK(bound.error().code == errc::timed_out);
	CHECK(bound.error().device == "0000:01:00.0");
	CHECK(bound.error().path == "sys/bus/pci/drivers/nouveau/unbind");
	CHECK(bound.error().message.find("nouveau") != std::string::npos);
	CHECK(elapsed < std::chrono::milliseconds(1000));
	CHECK(journal_outcome(fixture.state_dir) == "in_doubt");
	CHECK_FALSE(journal_clean(fixture.state_dir));
	CHECK(fixture.engine->abandoned_writes() == 1);

	/* Only the override reached the device; it got nothing after the blocked write. */
	CHECK(count_device_writes(fixture.host->log(), "0000:01:00.0") == 1);
	CHECK_STATE(fixture, with(fixture.initial, topology, {{"0000:01:00.0", {"nouveau", "vfio-pci"}}}));

	auto again = fixture.engine->bind(req);
	REQUIRE_FALSE(again);
	CHECK(again.error().code == errc::in_doubt);

	auto early = fixture.engine->recover(fast_deadlines());
	REQUIRE_FALSE(early);
	CHECK(early.error().code == errc::in_doubt);
	CHECK(count_device_writes(fixture.host->log(), "0000:01:00.0") == 1);

	REQUIRE(fixture.host->release_fault(fault.value()));
	REQUIRE(fixture.engine->wait_for_abandoned_writes(std::chrono::seconds(5)));
	auto recovered = fixture.engine->recover(fast_deadlines());
	REQUIRE_MESSAGE(recovered, recovered.error().describe());
	CHECK(recovered.value().outcome == Outcome::recovered);
	CHECK_STATE(fixture, fixture.initial);
	CHECK(journal_clean(fixture.state_dir));
}

TEST_CASE("transaction: S16 release of a group a VM holds open is refused")
{
	const Topology topology = gpu_desktop().build();
	Fixture fixture(topology);

	REQUIRE(fixture.engine->bind(request({"0000:01:00.0"})));
	REQUIRE(fixture.host->open_node("dev/vfio/7", 4242, "qemu-system-x86"));
	const auto held = fixture.host->state();
	fixture.host->clear_log();

	auto released = fixture.engine->release(request({"0000:01:00.0"}));
	REQUIRE_FALSE(released);
	CHECK(released.error().code == errc::device_in_use);
	CHECK(released.error().message.find("qemu-system-x86 (pid 4242)") != std::string::npos);
	CHECK(released.error().message.find("dev/vfio/7") != std::string::npos);
	CHECK(fixture.host->log().empty());
	CHECK_STATE(fixture, held);
}

TEST_CASE("transaction: S17 inaccessible device is refused, not treated as new")
{
	Builder builder = gpu_desktop();
	builder.find("0000:01:00.0").inaccessible = true;
	const Topology topology = builder.build();
	Fixture fixture(topology);

	auto req = request({"0000:01:00.0"});
	req.devices[0].expected = DeviceIdentity{VendorId(0x10de), DeviceId(0x1f02)};
	auto bound = fixture.engine->bind(req);
	REQUIRE_FALSE(bound);
	CHECK(bound.error().code == errc::device_inaccessible);
	CHECK(bound.error().message.find("all ones") != std::string::npos);
	CHECK(fixture.host->log().empty());
	CHECK_STATE(fixture, fixture.initial);
}

TEST_CASE("transaction: S18 missing reset method is refused with what the device has")
{
	const Topology topology = gpu_desktop().build();
	Fixture fixture(topology);

	auto req = request({"0000:01:00.0"});
	req.options.reset_method = "flr";
	auto refused = fixture.engine->bind(req);
	REQUIRE_FALSE(refused);
	CHECK(refused.error().code == errc::reset_unsupported);
	CHECK(refused.error().message.find("it has: bus") != std::string::npos);
	CHECK(fixture.host->log().empty());

	/* Every function on bus 01 is in the group, so a bus reset is allowed. */
	req.options.reset_method = "bus";
	auto bound = fixture.engine->bind(req);
	REQUIRE_MESSAGE(bound, bound.error().describe());
	CHECK_STATE(fixture, on_vfio(fixture.initial, topology, gpu_functions));
}

TEST_CASE("transaction: S19 reconcile to the state that holds writes nothing")
{
	const Topology topology = gpu_desktop().build();
	Fixture fixture(topology);

	REQUIRE(fixture.engine->bind(request({"0000:01:00.0"})));
	REQUIRE(fixture.host->open_node("dev/vfio/7", 4242, "qemu-system-x86"));
	const auto held = fixture.host->state();
	const auto journal = journal_lines(fixture.state_dir);
	fixture.host->clear_log();

	/* A restarted controller: a new engine, the same desired state. */
	auto engine = fixture.open_engine();
	std::vector<Desired> desired;
	for (const auto &function : gpu_functions)
		desired.push_back({address(function), "vfio-pci", "test"});
	auto reconciled = engine->reconcile(desired, RequestOptions{{}, {}, {}, {}, {}, fast_deadlines()});
	REQUIRE_MESSAGE(reconciled, reconciled.error().describe());
	CHECK(reconciled.value().outcome == Outcome::no_change);
	CHECK(reconciled.value().writes == 0);
	CHECK(fixture.host->log().empty());
	CHECK_STATE(fixture, held);
	CHECK(journal_lines(fixture.state_dir) == journal);
}

TEST_CASE("transaction: S19 crash between unbind and bind is recovered, twice is a no-op")
{
	const Topology topology = usb_controller(true).build();
	Fixture fixture(topology);

	struct Crash {
	};
	fixture.host->crash_after({2, true, [] { throw Crash{}; }});
	CHECK_THROWS_AS(fixture.engine->bind(request({"0000:02:01.0"})), Crash);
	CHECK(fixture.host->crashed());
	CHECK_STATE(fixture, with(fixture.initial, topology, {{"0000:02:01.0", {"", "vfio-pci"}}}));
	CHECK(journal_outcome(fixture.state_dir).empty());

	fixture.host->resume();
	auto engine = fixture.open_engine();
	auto recovered = engine->recover(fast_deadlines());
	REQUIRE_MESSAGE(recovered, recovered.error().describe());
	CHECK(recovered.value().outcome == Outcome::recovered);
	CHECK_STATE(fixture, fixture.initial);
	CHECK(journal_outcome(fixture.state_dir) == "recovered");

	fixture.host->clear_log();
	auto again = engine->recover(fast_deadlines());
	REQUIRE(again);
	CHECK(again.value().outcome == Outcome::no_change);
	CHECK(fixture.host->log().empty());
	CHECK_STATE(fixture, fixture.initial);
}

TEST_CASE("transaction: S23 shifted address is refused with where the device went")
{
	const Topology topology = shifted_addresses().build();
	Fixture fixture(topology);

	auto req = request({"0000:af:00.0"});
	req.devices[0].expected = DeviceIdentity{VendorId(0x10de), DeviceId(0x1f02)};
	auto bound = fixture.engine->bind(req);
	REQUIRE_FALSE(bound);
	CHECK(bound.error().code == errc::identity_mismatch);
	CHECK(bound.error().device == "0000:af:00.0");
	CHECK(bound.error().message ==
	      "0000:af:00.0 holds 8086:1533, not the expected 10de:1f02; a device with 10de:1f02 is "
	      "now at 0000:b0:00.0");
	CHECK(fixture.host->log().empty());
	CHECK_STATE(fixture, fixture.initial);
}

TEST_CASE("transaction: S24 second owner is refused, and one of two racers wins")
{
	const Topology topology = gpu_desktop().build();

	SUBCASE("sequential")
	{
		Fixture fixture(topology);
		REQUIRE(fixture.engine->bind(request({"0000:01:00.0"}, "owner-a")));
		const auto held = fixture.host->state();
		fixture.host->clear_log();

		auto other = fixture.engine->bind(request({"0000:01:00.1"}, "owner-b"));
		REQUIRE_FALSE(other);
		CHECK(other.error().code == errc::owned_by_other);
		CHECK(other.error().message.find("'owner-a'") != std::string::npos);

		auto release = fixture.engine->release(request({"0000:01:00.0"}, "owner-b"));
		REQUIRE_FALSE(release);
		CHECK(release.error().code == errc::owned_by_other);
		CHECK(fixture.host->log().empty());
		CHECK_STATE(fixture, held);
	}

	SUBCASE("concurrent")
	{
		Fixture fixture(topology);
		auto second = fixture.open_engine();
		std::atomic<int> ready{0};
		result<Report> results[2] = {make_error(errc::internal, "not run"),
					     make_error(errc::internal, "not run")};
		auto attempt = [&](Engine &engine, int index, const char *owner) {
			ready++;
			while (ready < 2)
				std::this_thread::yield();
			results[index] = engine.bind(request({"0000:01:00.0"}, owner));
		};
		std::thread a(attempt, std::ref(*fixture.engine), 0, "owner-a");
		std::thread b(attempt, std::ref(*second), 1, "owner-b");
		a.join();
		b.join();

		const int wins = int(bool(results[0])) + int(bool(results[1]));
		CHECK(wins == 1);
		const auto &loser = results[0] ? results[1] : results[0];
		REQUIRE_FALSE(loser);
		CHECK(loser.error().code == errc::owned_by_other);
		CHECK_STATE(fixture, on_vfio(fixture.initial, topology, gpu_functions));
	}
}
