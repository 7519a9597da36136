/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Runs inside the test guest: the transaction engine against the real
 * kernel through LiveHost("/"). Every test returns the devices it moves to
 * their boot drivers and ends with a clean journal. It compares the driver
 * and driver_override of every PCI function with the state before it, so
 * that a write that should not have happened shows up.
 */

#include <doctest/doctest.h>

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <linux/vfio.h>
#include <map>
#include <memory>
#include <optional>
#include <poll.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include <pcipass/host.hpp>
#include <pcipass/transaction.hpp>

#include "guest.hpp"

using namespace guest;
using namespace guest::machine;
using namespace std::chrono_literals;

namespace {

const std::string state_dir = "/run/pcipass-transaction-test";

std::string override_of(const std::string &address)
{
	return sysfs::read(sysfs::device_path(address, "driver_override")).value_or("<unreadable>");
}

/* The driver and driver_override of every PCI function, as one comparable value. */
std::map<std::string, std::string> snapshot()
{
	std::map<std::string, std::string> state;
	for (const std::string &address : sysfs::list("/sys/bus/pci/devices"))
		state[address] = driver_of(address) + " / " + override_of(address);
	return state;
}

/* One line per function whose state differs, or an empty string when the states agree. */
std::string differences(const std::map<std::string, std::string> &expected,
			const std::map<std::string, std::string> &actual)
{
	std::string text;
	for (const auto &[address, state] : expected) {
		const auto found = actual.find(address);
		const std::string now = found == actual.end() ? "<absent>" : found->second;
		if (now != state)
			text += address + ": expected '" + state + "', found '" + now + "'\n";
	}
	for (const auto &[address, state] : actual) {
		if (!expected.contains(address))
			text += address + ": expected <absent>, found '" + state + "'\n";
	}
	return text;
}

/* Checks the driver state of every PCI function, naming each one that differs. */
#define CHECK_STATE(expected)                                                                      \
	do {                                                                                       \
		const auto expected_state_ = (expected);                                           \
		const auto actual_state_ = snapshot();                                             \
		CHECK_MESSAGE(actual_state_ == expected_state_,                                    \
			      differences(expected_state_, actual_state_));                        \
	} while (0)

/* The snapshot with these functions on vfio-pci through an override. */
std::map<std::string, std::string> on_vfio(std::map<std::string, std::string> state,
					   const std::vector<std::string> &moved)
{
	for (const std::string &address : moved)
		state[address] = "vfio-pci / vfio-pci";
	return state;
}

/* Removes vfio_pci the way rmmod does; 0 or the errno (ENOENT: it was not loaded). */
int unload_vfio_pci()
{
	if (::syscall(SYS_delete_module, "vfio_pci", O_NONBLOCK) == 0)
		return 0;
	return errno;
}

std::unique_ptr<pcipass::Engine> open_engine(pcipass::Host &host)
{
	pcipass::EngineOptions options;
	options.state_dir = state_dir;
	auto made = pcipass::Engine::open(host, options);
	if (!made)
		return nullptr;
	return std::move(made).value();
}

struct Fixture {
	std::unique_ptr<pcipass::LiveHost> host;
	std::unique_ptr<pcipass::Engine> engine;

	Fixture()
	{
		auto opened = pcipass::LiveHost::open("/");
		REQUIRE(opened.has_value());
		host = std::move(opened).value();
		engine = open_engine(*host);
		REQUIRE(engine != nullptr);
	}
};

/* No unfinished transaction and no ownership record: recover() has nothing to do. */
void check_journal_clean()
{
	Fixture fixture;
	auto recovered = fixture.engine->recover();
	REQUIRE(recovered.has_value());
	CHECK(recovered.value().outcome == pcipass::Outcome::no_change);
	CHECK(recovered.value().writes == 0);
	auto owned = fixture.engine->ownerships();
	REQUIRE(owned.has_value());
	CHECK(owned.value().empty());
}

pcipass::Request request_for(const std::vector<std::string> &addresses,
			     const std::string &owner = "pcipass", bool allow_module_load = true)
{
	pcipass::Request request;
	for (const std::string &address : addresses)
		request.devices.push_back({pcipass::PciAddress::parse(address).value(), std::nullopt});
	request.owner = owner;
	request.options.allow_module_load = allow_module_load;
	return request;
}

std::string describe(const pcipass::result<pcipass::Report> &result)
{
	if (result.has_value())
		return std::string(pcipass::outcome_name(result.value().outcome));
	return result.error().describe();
}

/*
 * On the boot without an IOMMU, checks that the bind is refused with
 * iommu_off and writes nothing, and returns true: the test has nothing
 * more to do there.
 */
bool refused_without_iommu(const pcipass::Request &request)
{
	if (iommu_boot())
		return false;
	const auto before = snapshot();
	const bool module_before = sysfs::exists("/sys/module/vfio_pci");
	{
		Fixture fixture;
		auto result = fixture.engine->bind(request);
		INFO(describe(result));
		REQUIRE(!result.has_value());
		CHECK(result.error().code == pcipass::errc::iommu_off);
	}
	CHECK_STATE(before);
	CHECK(sysfs::exists("/sys/module/vfio_pci") == module_before);
	check_journal_clean();
	return true;
}

/* Records the last report, which the Engine hands over even when it returns an error. */
class Recorder : public pcipass::Observer
{
public:
	void on_finish(const pcipass::Report &report) override { last = report; }

	std::optional<pcipass::Report> last;
};

/*
 * Binds the group of the requested device, checks that exactly the moved
 * functions changed, then releases it and checks the boot state is back.
 */
void bind_and_release(const std::vector<std::string> &requested, const std::vector<std::string> &moved)
{
	const auto request = request_for(requested);
	if (refused_without_iommu(request))
		return;
	const auto before = snapshot();
	{
		Fixture fixture;
		auto bound = fixture.engine->bind(request);
		INFO(describe(bound));
		REQUIRE(bound.has_value());
		CHECK(bound.value().outcome == pcipass::Outcome::committed);
		CHECK_STATE(on_vfio(before, moved));

		auto released = fixture.engine->release(request);
		INFO(describe(released));
		REQUIRE(released.has_value());
		CHECK(released.value().outcome == pcipass::Outcome::committed);
	}
	CHECK_STATE(before);
	check_journal_clean();
}

/* The address of the PF's n-th VF; empty when it has none. */
std::string vf_of(const std::string &pf, unsigned n)
{
	return sysfs::link_name(sysfs::device_path(pf, "virtfn" + std::to_string(n))).value_or("");
}

/*
 * Creates count VFs that stay without a driver. QEMU's NVMe VFs bind to
 * nvme, which fails to initialise them and unbinds them a moment later.
 * Autoprobe off keeps their state fixed while a test compares states.
 */
void create_vfs(const std::string &pf, unsigned count)
{
	REQUIRE(sysfs::write(sysfs::device_path(pf, "sriov_drivers_autoprobe"), "0") == 0);
	REQUIRE(sysfs::write(sysfs::device_path(pf, "sriov_numvfs"), std::to_string(count)) == 0);
}

void remove_vfs(const std::string &pf)
{
	CHECK(sysfs::write(sysfs::device_path(pf, "sriov_numvfs"), "0") == 0);
	CHECK(sysfs::write(sysfs::device_path(pf, "sriov_drivers_autoprobe"), "1") == 0);
	CHECK(driver_of(pf) == "nvme");
}

/* A forked child; the parent kills it if the test leaves early. */
struct Child {
	pid_t pid = -1;

	/* Waits for the child; its wait status, or -1. */
	int wait()
	{
		int status = -1;
		if (pid > 0 && ::waitpid(pid, &status, 0) == pid)
			pid = -1;
		return status;
	}

	~Child()
	{
		if (pid > 0) {
			::kill(pid, SIGKILL);
			::waitpid(pid, nullptr, 0);
		}
	}
};

/* Reads one byte from fd within timeout; false when none came. */
bool wait_byte(int fd, int timeout_ms)
{
	pollfd descriptor{fd, POLLIN, 0};
	char byte = 0;
	return ::poll(&descriptor, 1, timeout_ms) == 1 && ::read(fd, &byte, 1) == 1;
}

} /* namespace */

TEST_CASE("transaction: the gpu-like slot binds and releases as one group")
{
	bind_and_release({display()}, {display(), audio(), xhci()});
}

TEST_CASE("transaction: the e1000e binds and releases alone")
{
	bind_and_release({nic()}, {nic()});
}

TEST_CASE("transaction: the e1000 pair binds and releases, the bridge stays")
{
	/* The bridge is part of the snapshot, so it must keep its (lack of) driver. */
	bind_and_release({e1000(0)}, {e1000(0), e1000(1)});
}

TEST_CASE("transaction: an nvme vf binds and releases alone")
{
	const std::string pf = nvme();
	create_vfs(pf, 2);
	const std::string vf = vf_of(pf, 0);
	REQUIRE(!vf.empty());
	bind_and_release({vf}, {vf});
	CHECK(driver_of(pf) == "nvme");
	remove_vfs(pf);
}

TEST_CASE("transaction: vfio-pci is loaded through libkmod when allowed")
{
	const int unloaded = unload_vfio_pci();
	CHECK((unloaded == 0 || unloaded == ENOENT));
	REQUIRE(!sysfs::exists("/sys/module/vfio_pci"));
	const auto before = snapshot();

	{
		Fixture fixture;
		auto refused = fixture.engine->bind(request_for({nic()}, "pcipass", false));
		INFO(describe(refused));
		REQUIRE(!refused.has_value());
		CHECK(refused.error().code ==
		      (iommu_boot() ? pcipass::errc::driver_missing : pcipass::errc::iommu_off));
	}
	CHECK_STATE(before);
	CHECK(!sysfs::exists("/sys/module/vfio_pci"));
	check_journal_clean();

	bind_and_release({nic()}, {nic()});
	if (iommu_boot())
		CHECK(sysfs::exists("/sys/bus/pci/drivers/vfio-pci"));
}

namespace {

/* Removes vfio_pci right after the first unbind, as an administrator's rmmod would. */
class RemoveModuleAfterUnbind : public Recorder
{
public:
	void on_step(const pcipass::StepRecord &record) override
	{
		if (removed < 0 && !record.undo && record.step.kind == pcipass::StepKind::unbind &&
		    record.status == pcipass::StepStatus::done)
			removed = unload_vfio_pci();
	}

	int removed = -1;
};

} /* namespace */

TEST_CASE("transaction: vfio-pci removed after the unbind rolls back to the host driver")
{
	/* Without module loading, the check before the bind finds vfio-pci gone. */
	const auto request = request_for({nic()}, "pcipass", false);
	if (refused_without_iommu(request))
		return;
	{
		Fixture fixture;
		REQUIRE(fixture.host->load_module("vfio_pci").has_value());
	}
	const auto before = snapshot();

	{
		Fixture fixture;
		RemoveModuleAfterUnbind observer;
		auto result = fixture.engine->bind(request, &observer);
		INFO(describe(result));
		CHECK(observer.removed == 0);
		REQUIRE(!result.has_value());
		CHECK(result.error().code == pcipass::errc::driver_missing);
		CHECK(result.error().device == nic());
		REQUIRE(observer.last.has_value());
		CHECK(observer.last->outcome == pcipass::Outcome::rolled_back);
	}
	CHECK_STATE(before);
	CHECK(driver_of(nic()) == "e1000e");
	CHECK(!sysfs::exists("/sys/bus/pci/drivers/vfio-pci"));
	check_journal_clean();
}

TEST_CASE("transaction: vfio-pci removed after the unbind is loaded again when allowed")
{
	const auto request = request_for({nic()});
	if (refused_without_iommu(request))
		return;
	{
		Fixture fixture;
		REQUIRE(fixture.host->load_module("vfio_pci").has_value());
	}
	const auto before = snapshot();

	{
		Fixture fixture;
		RemoveModuleAfterUnbind observer;
		auto bound = fixture.engine->bind(request, &observer);
		INFO(describe(bound));
		CHECK(observer.removed == 0);
		REQUIRE(bound.has_value());
		CHECK(bound.value().outcome == pcipass::Outcome::committed);
		CHECK_STATE(on_vfio(before, {nic()}));

		auto released = fixture.engine->release(request);
		INFO(describe(released));
		REQUIRE(released.has_value());
	}
	CHECK_STATE(before);
	check_journal_clean();
}

TEST_CASE("transaction: a bridge is refused")
{
	const auto before = snapshot();
	{
		Fixture fixture;
		auto result = fixture.engine->bind(request_for({pci_bridge()}));
		INFO(describe(result));
		REQUIRE(!result.has_value());
		CHECK(result.error().code ==
		      (iommu_boot() ? pcipass::errc::bridge_requested : pcipass::errc::iommu_off));
		if (iommu_boot())
			CHECK(result.error().device == pci_bridge());
	}
	CHECK_STATE(before);
	check_journal_clean();
}

TEST_CASE("transaction: a pf with live vfs is refused")
{
	const std::string pf = nvme();
	create_vfs(pf, 2);
	const auto before = snapshot();
	{
		Fixture fixture;
		auto result = fixture.engine->bind(request_for({pf}));
		INFO(describe(result));
		REQUIRE(!result.has_value());
		CHECK(result.error().code ==
		      (iommu_boot() ? pcipass::errc::pf_has_vfs : pcipass::errc::iommu_off));
		if (iommu_boot())
			CHECK(result.error().device == pf);
	}
	CHECK_STATE(before);
	check_journal_clean();
	remove_vfs(pf);
}

namespace {

/*
 * Forks a VFIO user that attaches the group to a new container and waits
 * until it has. Attaching is what claims the group, because a plain open
 * of /dev/vfio/N does not. The child keeps the group until it is killed.
 */
void hold_group(Child &child, unsigned group)
{
	int pipe_fds[2];
	REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
	child.pid = ::fork();
	REQUIRE(child.pid >= 0);
	if (child.pid == 0) {
		::close(pipe_fds[0]);
		const int container = ::open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
		const int fd = ::open(("/dev/vfio/" + std::to_string(group)).c_str(), O_RDWR | O_CLOEXEC);
		if (container < 0 || fd < 0 || ::ioctl(fd, VFIO_GROUP_SET_CONTAINER, &container) < 0)
			::_exit(2);
		const char byte = 'h';
		if (::write(pipe_fds[1], &byte, 1) != 1)
			::_exit(3);
		for (;;)
			::pause();
	}
	::close(pipe_fds[1]);
	const bool attached = wait_byte(pipe_fds[0], 30000);
	::close(pipe_fds[0]);
	REQUIRE(attached);
}

} /* namespace */

TEST_CASE("transaction: a group held by a vfio user is refused naming the holder")
{
	const auto request = request_for({nic()});
	if (refused_without_iommu(request))
		return;
	const auto boot = snapshot();
	{
		Fixture fixture;
		auto bound = fixture.engine->bind(request);
		INFO(describe(bound));
		REQUIRE(bound.has_value());
	}
	const auto group = sysfs::iommu_group(nic());
	REQUIRE(group.has_value());

	{
		Child holder;
		hold_group(holder, *group);
		const auto held = snapshot();
		CHECK(held == on_vfio(boot, {nic()}));

		Fixture fixture;
		auto refused = fixture.engine->release(request);
		INFO(describe(refused));
		REQUIRE(!refused.has_value());
		CHECK(refused.error().code == pcipass::errc::device_in_use);
		CHECK(refused.error().message.find("pid " + std::to_string(holder.pid)) !=
		      std::string::npos);
		CHECK_STATE(held);

		/* Another owner's bind of the held group is refused before the holder matters. */
		auto other = fixture.engine->bind(request_for({nic()}, "other"));
		INFO(describe(other));
		REQUIRE(!other.has_value());
		CHECK(other.error().code == pcipass::errc::owned_by_other);
		CHECK_STATE(held);
	}

	Fixture fixture;
	auto released = fixture.engine->release(request);
	INFO(describe(released));
	REQUIRE(released.has_value());
	CHECK(released.value().outcome == pcipass::Outcome::committed);
	CHECK_STATE(boot);
	check_journal_clean();
}

namespace {

/* In a child: raises SIGKILL at the stop-th step event (each step gives "started" and its result). */
class KillAtStep : public pcipass::Observer
{
public:
	explicit KillAtStep(unsigned stop) : stop_(stop) {}

	void on_step(const pcipass::StepRecord &) override
	{
		if (++seen_ == stop_)
			::raise(SIGKILL);
	}

private:
	unsigned stop_;
	unsigned seen_ = 0;
};

/*
 * Forks a child that binds request and is killed at the stop-th step
 * event. True when it died there, false when the bind finished first.
 */
bool kill_bind_at(const pcipass::Request &request, unsigned stop)
{
	Child child;
	child.pid = ::fork();
	REQUIRE(child.pid >= 0);
	if (child.pid == 0) {
		auto host = pcipass::LiveHost::open("/");
		if (!host)
			::_exit(2);
		auto engine = open_engine(*host.value());
		if (!engine)
			::_exit(2);
		KillAtStep observer(stop);
		auto result = engine->bind(request, &observer);
		::_exit(result ? 0 : 1);
	}
	const int status = child.wait();
	if (WIFSIGNALED(status)) {
		CHECK(WTERMSIG(status) == SIGKILL);
		return true;
	}
	CHECK(WIFEXITED(status));
	CHECK(WEXITSTATUS(status) == 0);
	return false;
}

} /* namespace */

TEST_CASE("transaction: recover after kill -9 at each step restores every device")
{
	/* The gpu-like slot: three functions on three drivers give the most step positions. */
	const auto request = request_for({display()});
	if (refused_without_iommu(request))
		return;
	const auto before = snapshot();

	unsigned stops = 0;
	for (unsigned stop = 1; stop <= 40; ++stop) {
		/* Every other time without the module, so loading it is one of the steps killed in. */
		if (stop % 2 == 1)
			unload_vfio_pci();
		INFO("killed at step event " << stop);
		const bool killed = kill_bind_at(request, stop);
		Fixture fixture;
		if (!killed) {
			/* The bind finished before this event: release it and stop. */
			CHECK_STATE(on_vfio(before, {display(), audio(), xhci()}));
			auto released = fixture.engine->release(request);
			INFO(describe(released));
			CHECK(released.has_value());
			CHECK_STATE(before);
			break;
		}
		++stops;
		auto recovered = fixture.engine->recover();
		INFO(describe(recovered));
		REQUIRE(recovered.has_value());
		CHECK_STATE(before);
		auto again = fixture.engine->recover();
		REQUIRE(again.has_value());
		CHECK(again.value().outcome == pcipass::Outcome::no_change);
		CHECK(again.value().writes == 0);
	}
	/* load, three overrides, three unbinds, three binds: two events each. */
	CHECK(stops >= 10);
	check_journal_clean();
}

namespace {

/*
 * Forks a child that waits on the start pipe, then binds request; its
 * exit status is 0 when committed, 100 + the errc code otherwise.
 */
void bind_in_child(Child &child, const int start[2], const pcipass::Request &request)
{
	child.pid = ::fork();
	REQUIRE(child.pid >= 0);
	if (child.pid != 0)
		return;
	/* Only the parent may keep the write end open, or closing it wakes no reader. */
	::close(start[1]);
	const int start_fd = start[0];
	auto host = pcipass::LiveHost::open("/");
	if (!host)
		::_exit(2);
	auto engine = open_engine(*host.value());
	if (!engine)
		::_exit(2);
	pollfd descriptor{start_fd, POLLIN, 0};
	if (::poll(&descriptor, 1, 30000) != 1)
		::_exit(3);
	auto result = engine->bind(request);
	if (result)
		::_exit(result.value().outcome == pcipass::Outcome::committed ? 0 : 4);
	::_exit(100 + int(result.error().code));
}

} /* namespace */

TEST_CASE("transaction: two processes racing for one group, exactly one wins")
{
	/* a: the e1000e and the e1000 pair; b: the e1000 pair. They overlap in one group. */
	const auto request_a = request_for({nic(), e1000(0)}, "vm-a");
	const auto request_b = request_for({e1000(1)}, "vm-b");
	if (refused_without_iommu(request_a))
		return;
	const auto before = snapshot();

	for (const auto lock_wait : {0ms, 30000ms}) {
		INFO("lock deadline " << lock_wait.count() << " ms");
		auto a = request_a;
		auto b = request_b;
		a.options.deadlines.lock = lock_wait;
		b.options.deadlines.lock = lock_wait;

		int start[2];
		REQUIRE(::pipe2(start, O_CLOEXEC) == 0);
		Child first;
		Child second;
		bind_in_child(first, start, a);
		bind_in_child(second, start, b);
		::close(start[0]);
		/* Closing the write end wakes both children at once. */
		::close(start[1]);
		const int status_a = first.wait();
		const int status_b = second.wait();
		REQUIRE(WIFEXITED(status_a));
		REQUIRE(WIFEXITED(status_b));
		const int exit_a = WEXITSTATUS(status_a);
		const int exit_b = WEXITSTATUS(status_b);
		INFO("exit statuses " << exit_a << " and " << exit_b);
		REQUIRE(((exit_a == 0) != (exit_b == 0)));

		const int loser = exit_a == 0 ? exit_b : exit_a;
		/* Overlapping in time: the lock; one after the other: the winner's claim. */
		CHECK((loser == 100 + int(pcipass::errc::lock_failed) ||
		       loser == 100 + int(pcipass::errc::owned_by_other)));
		if (lock_wait > 0ms)
			CHECK(loser == 100 + int(pcipass::errc::owned_by_other));

		const bool a_won = exit_a == 0;
		const std::vector<std::string> moved =
			a_won ? std::vector<std::string>{nic(), e1000(0), e1000(1)}
			      : std::vector<std::string>{e1000(0), e1000(1)};
		CHECK_STATE(on_vfio(before, moved));

		Fixture fixture;
		auto owned = fixture.engine->ownerships();
		REQUIRE(owned.has_value());
		CHECK(owned.value().size() == moved.size());
		for (const auto &ownership : owned.value())
			CHECK(ownership.owner == (a_won ? "vm-a" : "vm-b"));

		auto released = fixture.engine->release(a_won ? a : b);
		INFO(describe(released));
		REQUIRE(released.has_value());
		CHECK_STATE(before);
	}
	check_journal_clean();
}
