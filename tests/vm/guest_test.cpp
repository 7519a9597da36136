/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Runs inside the test guest: the real kernel's view of the emulated
 * machine read with plain sysfs reads, and pcipass's Watcher and
 * `pcipassctl watch` against real bind and unbind events. Every test that
 * changes a device puts it back before it ends, because the programs after
 * it expect the boot state.
 */

#include <doctest/doctest.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <map>
#include <poll.h>
#include <set>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <boost/json.hpp>

#include <pcipass/watch.hpp>

#include "guest.hpp"

using namespace guest;
using namespace guest::machine;
using namespace std::chrono_literals;

namespace {

/* The emulated functions, by the vendor and device IDs QEMU 7.2 gives them. */
struct Expected {
	const char *role;
	const char *vendor;
	const char *device;
	unsigned count;
	const char *driver; /* bound at boot by the drivers /init loads; empty for none */
};

constexpr Expected expected_devices[] = {
	{"display (bochs-display)", "1234", "1111", 1, "bochs-drm"},
	{"audio (intel-hda)", "8086", "2668", 1, "snd_hda_intel"},
	{"xhci (qemu-xhci)", "1b36", "000d", 1, "xhci_hcd"},
	{"root port", "1b36", "000c", 3, "pcieport"},
	{"e1000e", "8086", "10d3", 1, "e1000e"},
	{"nvme", "1b36", "0010", 1, "nvme"},
	{"pcie-pci-bridge", "1b36", "000e", 1, ""},
	{"e1000", "8086", "100e", 2, "e1000"},
	{"ICH9 LPC", "8086", "2918", 1, "lpc_ich"},
	{"ICH9 SATA", "8086", "2922", 1, "ahci"},
	{"ICH9 SMBus", "8086", "2930", 1, "i801_smbus"},
};

/* The address of the nearest bridge above a device, from its real sysfs path. */
std::string parent_of(const std::string &address)
{
	const std::string path = sysfs::real_path(sysfs::device_path(address));
	const auto slash = path.rfind('/');
	const std::string parent = path.substr(0, slash);
	return parent.substr(parent.rfind('/') + 1);
}

std::vector<std::string> sorted(std::vector<std::string> values)
{
	std::sort(values.begin(), values.end());
	return values;
}

pcipass::Watcher::Clock::time_point after(std::chrono::seconds seconds)
{
	return pcipass::Watcher::Clock::now() + seconds;
}

/* Waits for an event of this action on this PCI device; fails the test at the deadline. */
std::optional<pcipass::Event> wait_pci_event(pcipass::Watcher &watcher, pcipass::EventAction action,
					     const std::string &address)
{
	auto event = watcher.wait_for(
		[&](const pcipass::Event &candidate) {
			return candidate.action == action && candidate.subsystem == "pci" &&
			       candidate.sysname == address;
		},
		after(20s));
	REQUIRE(event.has_value());
	return event.value();
}

/* Waits until an interface is bound to usbhid again, at most 30 seconds. */
bool usb_keyboard_bound()
{
	for (int tries = 0; tries < 60; ++tries) {
		for (const std::string &name : sysfs::list("/sys/bus/usb/drivers/usbhid")) {
			if (name.find(':') != std::string::npos)
				return true;
		}
		std::this_thread::sleep_for(500ms);
	}
	return false;
}

} /* namespace */

TEST_CASE("kernel: every emulated device is present")
{
	for (const Expected &expected : expected_devices) {
		INFO(expected.role);
		for (unsigned index = 0; index < expected.count; ++index)
			CHECK(!sysfs::find_device(expected.vendor, expected.device, index).empty());
		CHECK(sysfs::find_device(expected.vendor, expected.device, expected.count).empty());
	}
}

TEST_CASE("kernel: host drivers bound at boot")
{
	for (const Expected &expected : expected_devices) {
		for (unsigned index = 0; index < expected.count; ++index) {
			const std::string address =
				sysfs::find_device(expected.vendor, expected.device, index);
			INFO(expected.role << " " << address);
			CHECK(driver_of(address) == expected.driver);
			CHECK(sysfs::read(sysfs::device_path(address, "driver_override")) == "(null)");
		}
	}
}

TEST_CASE("kernel: iommu groups follow the topology")
{
	if (!iommu_boot()) {
		CHECK(sysfs::list("/sys/kernel/iommu_groups").empty());
		for (const std::string &address : sysfs::list("/sys/bus/pci/devices")) {
			INFO(address);
			CHECK(!sysfs::iommu_group(address).has_value());
		}
		return;
	}

	CHECK(!sysfs::list("/sys/class/iommu").empty());

	/* The multi-function slot has no ACS, so its functions share one group. */
	const auto gpu_group = sysfs::iommu_group(display());
	REQUIRE(gpu_group.has_value());
	CHECK(sysfs::group_members(*gpu_group) == sorted({display(), audio(), xhci()}));

	/* A PCIe-to-PCI bridge groups itself with everything behind it. */
	const auto bridge_group = sysfs::iommu_group(pci_bridge());
	REQUIRE(bridge_group.has_value());
	CHECK(sysfs::group_members(*bridge_group) == sorted({pci_bridge(), e1000(0), e1000(1)}));

	const auto nic_group = sysfs::iommu_group(nic());
	REQUIRE(nic_group.has_value());
	CHECK(sysfs::group_members(*nic_group) == std::vector<std::string>{nic()});

	const auto nvme_group = sysfs::iommu_group(nvme());
	REQUIRE(nvme_group.has_value());
	CHECK(sysfs::group_members(*nvme_group) == std::vector<std::string>{nvme()});

	const std::string lpc = sysfs::find_device("8086", "2918");
	const auto chipset_group = sysfs::iommu_group(lpc);
	REQUIRE(chipset_group.has_value());
	CHECK(sysfs::group_members(*chipset_group) ==
	      sorted({lpc, sysfs::find_device("8086", "2922"), sysfs::find_device("8086", "2930")}));

	/* Every device is in exactly the group its link names. */
	for (const std::string &address : sysfs::list("/sys/bus/pci/devices")) {
		INFO(address);
		const auto group = sysfs::iommu_group(address);
		REQUIRE(group.has_value());
		const auto members = sysfs::group_members(*group);
		CHECK(std::count(members.begin(), members.end(), address) == 1);
	}
}

TEST_CASE("kernel: parents follow the bridges")
{
	const std::string gpu_port = parent_of(display());
	CHECK(driver_of(gpu_port) == "pcieport");
	CHECK(parent_of(audio()) == gpu_port);
	CHECK(parent_of(xhci()) == gpu_port);

	CHECK(parent_of(e1000(0)) == pci_bridge());
	CHECK(parent_of(e1000(1)) == pci_bridge());
	CHECK(parent_of(pci_bridge()) == "pci0000:00");

	CHECK(driver_of(parent_of(nic())) == "pcieport");
	CHECK(driver_of(parent_of(nvme())) == "pcieport");
	CHECK(parent_of(nic()) != gpu_port);
}

TEST_CASE("kernel: usb devices sit under the xhci function")
{
	const std::string controller = sysfs::real_path(sysfs::device_path(xhci()));
	REQUIRE(!controller.empty());

	unsigned hubs = 0;
	unsigned keyboards = 0;
	for (const std::string &name : sysfs::list("/sys/bus/usb/devices")) {
		const std::string path = sysfs::real_path("/sys/bus/usb/devices/" + name);
		INFO(name << " at " << path);
		CHECK(path.starts_with(controller + "/"));
		/* Root hubs are usbN; the emulated usb-hub is a device on port 1. */
		if (!name.starts_with("usb") && sysfs::read(path + "/bDeviceClass") == "09")
			++hubs;
		if (sysfs::link_name(path + "/driver") == "usbhid")
			++keyboards;
	}
	CHECK(hubs == 1);
	CHECK(keyboards == 1);
}

TEST_CASE("kernel: vfio_pci is not loaded at start")
{
	/* /init loads every host driver but this one, so that loading it can be tested. */
	CHECK(!sysfs::exists("/sys/module/vfio_pci"));
	CHECK(!sysfs::exists("/sys/bus/pci/drivers/vfio-pci"));
}

TEST_CASE("kernel: sriov_numvfs creates virtual functions")
{
	const std::string pf = nvme();
	REQUIRE(!pf.empty());
	CHECK(sysfs::read(sysfs::device_path(pf, "sriov_totalvfs")) == "4");
	CHECK(sysfs::read(sysfs::device_path(pf, "sriov_numvfs")) == "0");

	REQUIRE(sysfs::write(sysfs::device_path(pf, "sriov_numvfs"), "2") == 0);

	std::vector<std::string> vfs;
	for (const char *link : {"virtfn0", "virtfn1"}) {
		const auto vf = sysfs::link_name(sysfs::device_path(pf, link));
		REQUIRE(vf.has_value());
		vfs.push_back(*vf);
	}
	CHECK(!sysfs::exists(sysfs::device_path(pf, "virtfn2")));

	std::set<unsigned> groups;
	for (const std::string &vf : vfs) {
		INFO(vf);
		CHECK(sysfs::link_name(sysfs::device_path(vf, "physfn")) == pf);
		/* sriov_drivers_autoprobe is 1, so each VF binds to the PF's driver. */
		CHECK(driver_of(vf) == "nvme");
		CHECK(!sysfs::exists(sysfs::device_path(vf, "sriov_totalvfs")));
		if (iommu_boot()) {
			const auto group = sysfs::iommu_group(vf);
			REQUIRE(group.has_value());
			CHECK(sysfs::group_members(*group) == std::vector<std::string>{vf});
			groups.insert(*group);
		}
	}
	if (iommu_boot()) {
		CHECK(groups.size() == 2);
		CHECK(!groups.contains(sysfs::iommu_group(pf).value_or(0)));
	}

	REQUIRE(wait_for_vf_probes(pf));
	REQUIRE(sysfs::write(sysfs::device_path(pf, "sriov_numvfs"), "0") == 0);
	CHECK(!sysfs::exists(sysfs::device_path(pf, "virtfn0")));
	for (const std::string &vf : vfs)
		CHECK(!sysfs::exists(sysfs::device_path(vf)));
}

TEST_CASE("watch: times out with no events")
{
	auto watcher = pcipass::Watcher::open();
	REQUIRE(watcher.has_value());

	const auto start = pcipass::Watcher::Clock::now();
	auto event = watcher.value().next(start + 300ms);
	REQUIRE(event.has_value());
	CHECK(!event.value().has_value());
	CHECK(pcipass::Watcher::Clock::now() - start >= 300ms);
}

TEST_CASE("watch: reports unbind and bind of a pci device")
{
	const std::string address = nic();
	auto opened = pcipass::Watcher::open();
	REQUIRE(opened.has_value());
	pcipass::Watcher &watcher = opened.value();

	REQUIRE(sysfs::write("/sys/bus/pci/drivers/e1000e/unbind", address) == 0);
	auto unbound = wait_pci_event(watcher, pcipass::EventAction::unbind, address);
	CHECK(unbound->driver.empty());
	REQUIRE(unbound->address.has_value());
	CHECK(unbound->address->to_string() == address);
	CHECK(unbound->devpath.ends_with("/" + address));
	CHECK(unbound->seqnum > 0);

	REQUIRE(sysfs::write("/sys/bus/pci/drivers/e1000e/bind", address) == 0);
	auto bound = wait_pci_event(watcher, pcipass::EventAction::bind, address);
	CHECK(bound->driver == "e1000e");
	CHECK(bound->seqnum > unbound->seqnum);
	CHECK(driver_of(address) == "e1000e");
}

TEST_CASE("watch: reports usb removal when the xhci controller unbinds")
{
	const std::string address = xhci();
	auto opened = pcipass::Watcher::open();
	REQUIRE(opened.has_value());
	pcipass::Watcher &watcher = opened.value();

	REQUIRE(sysfs::write("/sys/bus/pci/drivers/xhci_hcd/unbind", address) == 0);

	/* The hub, the keyboard and their interfaces go before the controller unbinds. */
	std::set<std::string> removed;
	auto unbound = watcher.wait_for(
		[&](const pcipass::Event &event) {
			if (event.subsystem == "usb" && event.action == pcipass::EventAction::remove)
				removed.insert(event.devtype);
			return event.subsystem == "pci" && event.sysname == address &&
			       event.action == pcipass::EventAction::unbind;
		},
		after(20s));
	REQUIRE(unbound.has_value());
	CHECK(unbound.value().has_value());
	CHECK(removed == std::set<std::string>{"usb_device", "usb_interface"});
	CHECK(sysfs::list("/sys/bus/usb/devices").empty());

	REQUIRE(sysfs::write("/sys/bus/pci/drivers/xhci_hcd/bind", address) == 0);
	auto keyboard = watcher.wait_for(
		[](const pcipass::Event &event) {
			return event.subsystem == "usb" && event.action == pcipass::EventAction::bind &&
			       event.driver == "usbhid";
		},
		after(30s));
	REQUIRE(keyboard.has_value());
	CHECK(keyboard.value().has_value());
	CHECK(driver_of(address) == "xhci_hcd");
	CHECK(usb_keyboard_bound());
}

namespace {

/* A child process with its stdout and stderr on pipes. */
struct Child {
	pid_t pid = -1;
	int out = -1;
	int err = -1;
};

Child spawn(const std::vector<std::string> &arguments)
{
	int out[2];
	int err[2];
	REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
	REQUIRE(::pipe2(err, O_CLOEXEC) == 0);

	posix_spawn_file_actions_t actions;
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_adddup2(&actions, out[1], 1);
	posix_spawn_file_actions_adddup2(&actions, err[1], 2);

	std::vector<char *> argv;
	for (const std::string &argument : arguments)
		argv.push_back(const_cast<char *>(argument.c_str()));
	argv.push_back(nullptr);

	Child child;
	const int ret = ::posix_spawnp(&child.pid, argv[0], &actions, nullptr, argv.data(), environ);
	posix_spawn_file_actions_destroy(&actions);
	::close(out[1]);
	::close(err[1]);
	REQUIRE(ret == 0);
	child.out = out[0];
	child.err = err[0];
	return child;
}

/* Reads from fd until the text contains needle, EOF, or 20 seconds pass. */
std::string read_until(int fd, std::string_view needle)
{
	std::string text;
	const auto deadline = std::chrono::steady_clock::now() + 20s;
	while (text.find(needle) == std::string::npos) {
		const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
			deadline - std::chrono::steady_clock::now());
		if (left.count() <= 0)
			break;
		pollfd descriptor{fd, POLLIN, 0};
		if (::poll(&descriptor, 1, int(left.count())) <= 0)
			break;
		char buffer[4096];
		const ssize_t got = ::read(fd, buffer, sizeof(buffer));
		if (got <= 0)
			break;
		text.append(buffer, size_t(got));
	}
	return text;
}

/* A string member of a JSON object; "<absent>" when missing or not a string. */
std::string text_field(const boost::json::object &object, std::string_view key)
{
	const boost::json::value *value = object.if_contains(key);
	if (!value || !value->is_string())
		return "<absent>";
	return std::string(value->as_string());
}

} /* namespace */

TEST_CASE("watch: pcipassctl watch prints the events as json")
{
	const std::string address = nic();
	Child child = spawn({"pcipassctl", "watch", "--json", "--subsystem", "pci", "--count", "2",
			     "--timeout", "60"});

	/* The command announces itself once it receives, so no event is missed. */
	const std::string announced = read_until(child.err, "watching");
	CHECK(announced.find("watching device events") != std::string::npos);

	CHECK(sysfs::write("/sys/bus/pci/drivers/e1000e/unbind", address) == 0);
	CHECK(sysfs::write("/sys/bus/pci/drivers/e1000e/bind", address) == 0);

	const std::string output = read_until(child.out, "\"bind\"");
	int status = 0;
	REQUIRE(::waitpid(child.pid, &status, 0) == child.pid);
	::close(child.out);
	::close(child.err);
	CHECK(WIFEXITED(status));
	CHECK(WEXITSTATUS(status) == 0);

	std::vector<boost::json::object> events;
	std::istringstream lines(output);
	std::string line;
	while (std::getline(lines, line)) {
		INFO(line);
		boost::system::error_code error;
		auto value = boost::json::parse(line, error);
		REQUIRE(!error);
		REQUIRE(value.is_object());
		events.push_back(value.as_object());
	}
	REQUIRE(events.size() == 2);
	CHECK(text_field(events[0], "schema") == "pcipass.event/v1");
	CHECK(text_field(events[0], "action") == "unbind");
	CHECK(text_field(events[0], "address") == address);
	CHECK(text_field(events[0], "driver") == "");
	CHECK(text_field(events[1], "action") == "bind");
	CHECK(text_field(events[1], "address") == address);
	CHECK(text_field(events[1], "driver") == "e1000e");
	CHECK(driver_of(address) == "e1000e");
}
