/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Injected faults: failures before and after a write, blocking and slow
 * writes, the side effects, and simulated crashes.
 */

#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "sim_fixture.hpp"

using namespace sim_test;
using sim::Fault;
using sim::FaultAction;
using sim::FaultTiming;
using sim::Rule;
using sim::WriteKind;

namespace {

const PciAddress nic = PciAddress(0, 3, 0, 0);

Fault fail_with(int sys_errno)
{
	Fault fault;
	fault.action = FaultAction::fail;
	fault.sys_errno = sys_errno;
	return fault;
}

sim::FaultId inject(sim::Host &host, const Fault &fault)
{
	auto id = host.inject(fault);
	REQUIRE_MESSAGE(id, id.error().describe());
	return id.value();
}

} /* namespace */

TEST_CASE("fault: fail before leaves the state unchanged")
{
	auto host = lab();
	Fault fault = fail_with(EIO);
	fault.match.kind = WriteKind::unbind;
	const auto id = inject(*host, fault);
	const auto before = host->state();

	auto unbound = host->write(driver_file("e1000e", "unbind"), "0000:03:00.0");
	REQUIRE_FALSE(unbound);
	CHECK(unbound.error().sys_errno == EIO);
	CHECK(unbound.error().code == errc::io_error);
	CHECK(host->state() == before);
	CHECK(host->fault_hits(id) == 1);

	const auto entry = host->log().back();
	CHECK(entry.rule == Rule::fault_failed);
	CHECK(entry.fault == id);
	CHECK(entry.sys_errno == EIO);
	CHECK(entry.device == nic);

	/* Other kinds pass. */
	CHECK(write_errno(*host, attribute("0000:03:00.0", "driver_override"), "vfio-pci") == 0);
}

TEST_CASE("fault: fail after applies the write and still fails")
{
	auto host = lab();
	Fault fault = fail_with(EBUSY);
	fault.timing = FaultTiming::after;
	fault.match.path = "sys/bus/pci/drivers/*/unbind";
	inject(*host, fault);

	CHECK(write_errno(*host, driver_file("e1000e", "unbind"), "0000:03:00.0") == EBUSY);
	CHECK(driver_of(*host, "0000:03:00.0").empty());
	const auto entry = host->log().back();
	CHECK(entry.rule == Rule::unbind_detached);
	CHECK(entry.sys_errno == EBUSY);
}

TEST_CASE("fault: matching by device, driver, path glob and count")
{
	auto host = lab();

	SUBCASE("device")
	{
		Fault fault = fail_with(ENODEV);
		fault.match.device = nic;
		inject(*host, fault);
		CHECK(write_errno(*host, attribute("0000:04:00.0", "driver_override"), "x") == 0);
		CHECK(write_errno(*host, attribute("0000:03:00.0", "driver_override"), "x") == ENODEV);
		/* The address written to bind, unbind and drivers_probe counts as the device. */
		CHECK(write_errno(*host, driver_file("e1000e", "unbind"), "0000:03:00.0") == ENODEV);
	}
	SUBCASE("driver")
	{
		Fault fault = fail_with(EPERM);
		fault.match.driver = "xhci_hcd";
		inject(*host, fault);
		CHECK(write_errno(*host, driver_file("e1000e", "unbind"), "0000:03:00.0") == 0);
		CHECK(write_errno(*host, driver_file("xhci_hcd", "unbind"), "0000:01:00.2") == EPERM);
	}
	SUBCASE("path glob")
	{
		Fault fault = fail_with(EACCES);
		fault.match.path = "sys/bus/pci/devices/*/driver_override";
		inject(*host, fault);
		CHECK(write_errno(*host, attribute("0000:04:00.0", "driver_override"), "x") == EACCES);
		CHECK(write_errno(*host, attribute("0000:04:00.0", "reset"), "1") == 0);
	}
	SUBCASE("the Nth matching write")
	{
		Fault fault = fail_with(EAGAIN);
		fault.match.kind = WriteKind::driver_override;
		fault.match.nth = 2;
		const auto id = inject(*host, fault);
		CHECK(write_errno(*host, attribute("0000:04:00.0", "driver_override"), "a") == 0);
		CHECK(write_errno(*host, attribute("0000:04:00.0", "reset"), "1") == 0);
		CHECK(write_errno(*host, attribute("0000:04:00.0", "driver_override"), "b") == EAGAIN);
		CHECK(write_errno(*host, attribute("0000:04:00.0", "driver_override"), "c") == 0);
		CHECK(host->fault_hits(id) == 1);
		CHECK(read_text(*host, attribute("0000:04:00.0", "driver_override")) == "c\n");
	}
}

TEST_CASE("fault: module loads can fail")
{
	auto host = lab();
	REQUIRE(host->unload_module("vfio_pci"));
	Fault fault = fail_with(EPERM);
	fault.match.kind = WriteKind::load_module;
	fault.match.path = "vfio*";
	inject(*host, fault);

	auto loaded = host->load_module("vfio_pci");
	REQUIRE_FALSE(loaded);
	CHECK(loaded.error().code == errc::permission_denied);
	CHECK_FALSE(host->exists("sys/bus/pci/drivers/vfio-pci"));
	CHECK(host->load_module("pci_stub"));
}

TEST_CASE("fault: a blocked write waits without blocking reads")
{
	auto host = lab();
	Fault fault;
	fault.action = FaultAction::block;
	fault.match.kind = WriteKind::unbind;
	const auto id = inject(*host, fault);

	std::thread writer([&] {
		CHECK(write_errno(*host, driver_file("e1000e", "unbind"), "0000:03:00.0") == 0);
	});
	REQUIRE(host->wait_blocked(id, 1, std::chrono::seconds(10)));

	/* Reads and other writes go on while the unbind hangs, which has not happened yet. */
	CHECK(driver_of(*host, "0000:03:00.0") == "e1000e");
	CHECK(write_errno(*host, attribute("0000:04:00.0", "driver_override"), "vfio-pci") == 0);

	std::thread releaser([&] { REQUIRE(host->release_fault(id)); });
	releaser.join();
	writer.join();
	CHECK(driver_of(*host, "0000:03:00.0").empty());

	/* A released fault lets later writes pass. */
	CHECK(write_errno(*host, driver_file("xhci_hcd", "unbind"), "0000:01:00.2") == 0);
	CHECK(host->fault_hits(id) == 1);
}

TEST_CASE("fault: a write blocked after taking effect")
{
	auto host = lab();
	Fault fault;
	fault.action = FaultAction::block;
	fault.timing = FaultTiming::after;
	fault.match.kind = WriteKind::unbind;
	const auto id = inject(*host, fault);

	std::thread writer([&] {
		CHECK(write_errno(*host, driver_file("e1000e", "unbind"), "0000:03:00.0") == 0);
	});
	REQUIRE(host->wait_blocked(id, 1, std::chrono::seconds(10)));
	CHECK(driver_of(*host, "0000:03:00.0").empty());
	host->clear_faults();
	writer.join();
}

TEST_CASE("fault: removing a fault releases its writes")
{
	auto host = lab();
	Fault fault;
	fault.action = FaultAction::block;
	fault.match.kind = WriteKind::bind;
	const auto id = inject(*host, fault);
	REQUIRE(write_errno(*host, driver_file("e1000e", "unbind"), "0000:03:00.0") == 0);

	std::thread writer([&] {
		CHECK(write_errno(*host, driver_file("e1000e", "bind"), "0000:03:00.0") == 0);
	});
	REQUIRE(host->wait_blocked(id, 1, std::chrono::seconds(10)));
	REQUIRE(host->remove_fault(id));
	writer.join();
	CHECK(driver_of(*host, "0000:03:00.0") == "e1000e");
	CHECK(host->remove_fault(id).error().code == errc::not_found);
	CHECK_FALSE(host->wait_blocked(id, 1, std::chrono::milliseconds(1)));
}

TEST_CASE("fault: a delayed write takes its time")
{
	auto host = lab();
	Fault fault;
	fault.action = FaultAction::delay;
	fault.delay = std::chrono::milliseconds(50);
	fault.match.kind = WriteKind::bind;
	inject(*host, fault);
	REQUIRE(write_errno(*host, driver_file("e1000e", "unbind"), "0000:03:00.0") == 0);

	const auto start = std::chrono::steady_clock::now();
	CHECK(write_errno(*host, driver_file("e1000e", "bind"), "0000:03:00.0") == 0);
	CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(50));
	CHECK(driver_of(*host, "0000:03:00.0") == "e1000e");
}

TEST_CASE("fault: host driver re-attaches right after unbind")
{
	auto host = lab();
	Fault fault;
	fault.action = FaultAction::reattach_after_unbind;
	fault.match.device = nic;
	const auto id = inject(*host, fault);

	REQUIRE(write_errno(*host, attribute("0000:03:00.0", "driver_override"), "vfio-pci") == 0);
	CHECK(write_errno(*host, driver_file("e1000e", "unbind"), "0000:03:00.0") == 0);
	CHECK(driver_of(*host, "0000:03:00.0") == "e1000e");
	CHECK(host->exists("sys/class/net/eth0"));
	CHECK(write_errno(*host, driver_file("vfio-pci", "bind"), "0000:03:00.0") == EBUSY);
	CHECK(host->fault_hits(id) == 1);

	const auto log = host->log();
	REQUIRE(log.size() >= 3);
	const auto &effect = log[log.size() - 2];
	CHECK(effect.side_effect);
	CHECK(effect.rule == Rule::fault_reattached);
	CHECK(effect.fault == id);
}

TEST_CASE("fault: a module unloaded after a step")
{
	auto host = lab();
	Fault fault;
	fault.action = FaultAction::unload_module;
	fault.name = "vfio_pci";
	fault.match.kind = WriteKind::unbind;
	fault.match.nth = 1;
	inject(*host, fault);

	REQUIRE(write_errno(*host, attribute("0000:03:00.0", "driver_override"), "vfio-pci") == 0);
	CHECK(write_errno(*host, driver_file("e1000e", "unbind"), "0000:03:00.0") == 0);
	CHECK_FALSE(host->exists("sys/bus/pci/drivers/vfio-pci"));
	CHECK(write_errno(*host, driver_file("vfio-pci", "bind"), "0000:03:00.0") == ENOENT);
	const auto log = host->log();
	CHECK(log[log.size() - 2].kind == WriteKind::unload_module);
	CHECK(log[log.size() - 2].rule == Rule::module_unloaded);
}

TEST_CASE("fault: a device vanishes after unbind")
{
	auto host = lab();
	Fault fault;
	fault.action = FaultAction::vanish;
	fault.match.kind = WriteKind::unbind;
	fault.match.device = nic;
	inject(*host, fault);

	CHECK(write_errno(*host, driver_file("e1000e", "unbind"), "0000:03:00.0") == 0);
	CHECK_FALSE(host->exists("sys/bus/pci/devices/0000:03:00.0"));
	CHECK_FALSE(has_device(host->state(), "0000:03:00.0"));
	CHECK(write_errno(*host, driver_file("e1000e", "bind"), "0000:03:00.0") == ENODEV);
	CHECK(write_errno(*host, "sys/bus/pci/rescan", "1") == 0);
	CHECK(driver_of(*host, "0000:03:00.0") == "e1000e");
}

TEST_CASE("fault: drivers_probe and bind attach nothing")
{
	auto host = lab();
	Fault fault;
	fault.action = FaultAction::probe_attaches_nothing;
	const auto id = inject(*host, fault);
	REQUIRE(write_errno(*host, driver_file("e1000e", "unbind"), "0000:03:00.0") == 0);

	CHECK(write_errno(*host, "sys/bus/pci/drivers_probe", "0000:03:00.0") == 0);
	CHECK(last_rule(*host) == Rule::fault_probe_attached_nothing);
	CHECK(driver_of(*host, "0000:03:00.0").empty());
	CHECK(write_errno(*host, driver_file("e1000e", "bind"), "0000:03:00.0") == 0);
	CHECK(driver_of(*host, "0000:03:00.0").empty());
	CHECK(host->fault_hits(id) == 2);
	/* Errors the kernel would give still come first. */
	CHECK(write_errno(*host, driver_file("vfio-pci", "bind"), "0000:03:00.0") == ENODEV);
}

TEST_CASE("fault: invalid faults are refused")
{
	auto host = lab();
	CHECK(host->inject(fail_with(0)).error().code == errc::invalid_argument);
	Fault unload;
	unload.action = FaultAction::unload_module;
	CHECK(host->inject(unload).error().code == errc::invalid_argument);
	Fault reattach;
	reattach.action = FaultAction::reattach_after_unbind;
	reattach.match.kind = WriteKind::bind;
	CHECK(host->inject(reattach).error().code == errc::invalid_argument);
	CHECK(host->release_fault(99).error().code == errc::not_found);
}

TEST_CASE("crash: the callback runs after the k-th successful write")
{
	auto host = lab();
	struct Crash : std::runtime_error {
		Crash() : std::runtime_error("simulated crash") {}
	};
	sim::CrashPoint point;
	point.after_writes = 2;
	point.callback = [] { throw Crash(); };
	host->crash_after(point);

	CHECK(write_errno(*host, attribute("0000:03:00.0", "driver_override"), "vfio-pci") == 0);
	/* A failed write does not count. */
	CHECK(write_errno(*host, driver_file("vfio-pci", "bind"), "0000:03:00.0") == EBUSY);
	CHECK_THROWS_AS((void)host->write(driver_file("e1000e", "unbind"), "0000:03:00.0"), Crash);
	CHECK(driver_of(*host, "0000:03:00.0").empty());
	CHECK(host->crashed());
	const auto after_crash = host->state();

	CHECK(write_errno(*host, driver_file("vfio-pci", "bind"), "0000:03:00.0") == ESHUTDOWN);
	CHECK(last_rule(*host) == Rule::crash_stopped);
	CHECK(host->load_module("pci_stub").error().sys_errno == ESHUTDOWN);
	CHECK(host->state() == after_crash);

	host->resume();
	CHECK_FALSE(host->crashed());
	CHECK(write_errno(*host, driver_file("vfio-pci", "bind"), "0000:03:00.0") == 0);
}

TEST_CASE("crash: without stop the writes go on")
{
	auto host = lab();
	int calls = 0;
	sim::CrashPoint point;
	point.after_writes = 1;
	point.stop = false;
	point.callback = [&] { calls++; };
	host->crash_after(point);

	CHECK(write_errno(*host, attribute("0000:03:00.0", "driver_override"), "a") == 0);
	CHECK(write_errno(*host, attribute("0000:03:00.0", "driver_override"), "b") == 0);
	CHECK(calls == 1);
	CHECK_FALSE(host->crashed());
	CHECK(host->write_count() == 2);
}

TEST_CASE("fault: an asynchronous probe binds after its delay")
{
	auto host = lab();
	Fault fault;
	fault.action = FaultAction::probe_later;
	fault.delay = std::chrono::milliseconds(30);
	const auto id = inject(*host, fault);
	REQUIRE(write_errno(*host, driver_file("e1000e", "unbind"), "0000:03:00.0") == 0);

	const auto start = std::chrono::steady_clock::now();
	CHECK(write_errno(*host, driver_file("e1000e", "bind"), "0000:03:00.0") == 0);
	CHECK(last_rule(*host) == Rule::fault_probe_later);
	CHECK(write_errno(*host, "sys/bus/pci/drivers_probe", "0000:04:00.0") == 0);
	const bool early = std::chrono::steady_clock::now() - start < std::chrono::milliseconds(30);
	if (early) {
		CHECK(driver_of(*host, "0000:03:00.0").empty());
		CHECK(driver_of(*host, "0000:04:00.0").empty());
	}

	/* A reader polls the driver link, as pcipass does after every bind. */
	while (std::chrono::steady_clock::now() - start < std::chrono::seconds(10) &&
	       driver_of(*host, "0000:04:00.0").empty())
		std::this_thread::sleep_for(std::chrono::milliseconds(5));
	CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(30));
	CHECK(driver_of(*host, "0000:03:00.0") == "e1000e");
	CHECK(driver_of(*host, "0000:04:00.0") == "e1000e");
	CHECK(host->fault_hits(id) == 2);

	const auto log = host->log();
	REQUIRE(log.size() >= 2);
	CHECK(log[log.size() - 2].side_effect);
	CHECK(log[log.size() - 2].rule == Rule::bind_attached);
	CHECK(log.back().rule == Rule::drivers_probe_attached);
}

TEST_CASE("fault: an asynchronous probe finds the device taken")
{
	auto host = lab();
	Fault fault;
	fault.action = FaultAction::probe_later;
	fault.delay = std::chrono::milliseconds(20);
	fault.match.driver = "vfio-pci";
	inject(*host, fault);
	REQUIRE(write_errno(*host, attribute("0000:04:00.0", "driver_override"), "vfio-pci") == 0);

	CHECK(write_errno(*host, driver_file("vfio-pci", "bind"), "0000:04:00.0") == 0);
	REQUIRE(write_errno(*host, attribute("0000:04:00.0", "driver_override"), "\n") == 0);
	REQUIRE(write_errno(*host, "sys/bus/pci/drivers_probe", "0000:04:00.0") == 0);
	std::this_thread::sleep_for(std::chrono::milliseconds(25));
	CHECK(driver_of(*host, "0000:04:00.0") == "e1000e");
	CHECK(host->log().back().rule == Rule::drivers_probe_silent);
}
