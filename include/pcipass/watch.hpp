/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Device events from the kernel: PCI and USB add, remove, bind, unbind and change.
 */

#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pcipass/address.hpp>
#include <pcipass/error.hpp>

namespace pcipass {

/* The kernel's uevent actions (include/linux/kobject.h); other is any name added later. */
enum class EventAction {
	add,
	remove,
	change,
	move,
	online,
	offline,
	bind,
	unbind,
	other,
};

/* "add", "bind", ... as the kernel spells them; "other" for EventAction::other. */
std::string_view event_action_name(EventAction action);

/* One uevent, copied out of libudev so it outlives the Watcher. */
struct Event {
	EventAction action = EventAction::other;
	std::string action_name;           /* as received, useful when action is other */
	std::string subsystem;             /* "pci" or "usb" */
	std::string sysname;               /* "0000:02:00.0", "1-1.1", "1-1.1:1.0" */
	std::optional<PciAddress> address; /* set for PCI events */
	std::string devtype;               /* "usb_device", "usb_interface"; empty for PCI */
	/*
	 * The DRIVER key of the uevent: the driver bound when the event was
	 * sent. The kernel sends unbind after the driver is gone, so unbind
	 * and remove events carry none.
	 */
	std::string driver;
	std::string devpath; /* "/devices/pci0000:00/0000:00:05.0/0000:02:00.0" */
	uint64_t seqnum = 0; /* the kernel's event counter; 0 when absent */

	bool operator==(const Event &) const = default;
};

/* "bind pci 0000:02:00.0 driver=e1000e" */
std::string describe(const Event &event);

/*
 * The event as one JSON object with "schema": "pcipass.event/v1" and the
 * fields action, subsystem, sysname, address (PCI only), devtype, driver,
 * devpath and seqnum. Absent strings are empty, never null.
 */
std::string to_json(const Event &event);

/* The event stream a Watcher subscribes to. */
enum class EventSource {
	/*
	 * Raw uevents as the kernel sends them: no daemon needed, and the
	 * first to arrive, which suits waiting for a driver to bind.
	 */
	kernel,
	/*
	 * Events re-sent by systemd-udevd after its rules ran (device nodes
	 * exist, properties added). Nothing arrives when udevd is not running.
	 */
	udev,
};

struct WatchOptions {
	EventSource source = EventSource::kernel;
	/* Subsystems to report; empty reports every subsystem. */
	std::vector<std::string> subsystems = {"pci", "usb"};
	/*
	 * Socket receive buffer in bytes, so that a burst (a controller with
	 * many USB devices going away) is not dropped. Raising it above the
	 * system limit needs CAP_NET_ADMIN; without it the default is kept
	 * silently. 0 keeps the default.
	 */
	int receive_buffer_size = 4 * 1024 * 1024;
};

/*
 * A subscription to device events through libudev's monitor. Events that
 * happened before open() are not reported: open the watcher, then make
 * the change, then wait.
 *
 * The kernel (lib/kobject_uevent.c) sends device uevents only to network
 * namespaces owned by the initial user namespace, so a watcher in an
 * unprivileged container with its own user namespace receives nothing.
 *
 * Reads only; never writes to the host. A Watcher is not thread-safe: use
 * it from one thread at a time (it may move between threads). A moved-from
 * Watcher may only be destroyed or assigned to.
 */
class Watcher
{
public:
	using Clock = std::chrono::steady_clock;

	/*
	 * Opens the netlink socket and starts receiving. Errors: io_error or
	 * permission_denied with the errno of the failed libudev call;
	 * out_of_memory.
	 */
	static result<Watcher> open(const WatchOptions &options = {});

	Watcher(Watcher &&other) noexcept;
	Watcher &operator=(Watcher &&other) noexcept;
	~Watcher();

	/*
	 * A file descriptor that polls readable when an event may be waiting,
	 * for callers with their own event loop; then call receive(). It stays
	 * owned by the Watcher.
	 */
	int fd() const;

	/*
	 * The next waiting event without blocking, or nullopt when none is
	 * waiting (a readable fd can still give nullopt when the message did
	 * not pass the subsystem filter). Errors: io_error with ENOBUFS when
	 * the kernel dropped events because the buffer was full. The watcher
	 * stays usable, so rescan the devices and go on receiving. Any other
	 * failure gives io_error with its errno.
	 */
	result<std::optional<Event>> receive();

	/* Waits for the next event until deadline; nullopt when the deadline passed. */
	result<std::optional<Event>> next(Clock::time_point deadline);

	/*
	 * Waits until an event satisfies match, discarding the others, and
	 * returns it; nullopt when the deadline passed first.
	 */
	result<std::optional<Event>> wait_for(const std::function<bool(const Event &)> &match,
					      Clock::time_point deadline);

	/*
	 * Calls callback for every event until it returns false or the
	 * deadline passes (use Clock::time_point::max() to run until stopped).
	 */
	result<void> run(const std::function<bool(const Event &)> &callback,
			 Clock::time_point deadline);

private:
	struct Impl;

	explicit Watcher(std::unique_ptr<Impl> impl);

	std::unique_ptr<Impl> impl_;
};

} /* namespace pcipass */
