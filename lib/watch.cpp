/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Device events through libudev's netlink monitor.
 */

#include <pcipass/watch.hpp>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <poll.h>

#include <boost/json.hpp>
#include <libudev.h>

#include "log.hpp"

namespace pcipass {

namespace {

struct UdevUnref {
	void operator()(udev *handle) const noexcept { udev_unref(handle); }
};
struct MonitorUnref {
	void operator()(udev_monitor *handle) const noexcept { udev_monitor_unref(handle); }
};
struct DeviceUnref {
	void operator()(udev_device *handle) const noexcept { udev_device_unref(handle); }
};

using UdevPtr = std::unique_ptr<udev, UdevUnref>;
using MonitorPtr = std::unique_ptr<udev_monitor, MonitorUnref>;
using DevicePtr = std::unique_ptr<udev_device, DeviceUnref>;

constexpr std::array<std::pair<EventAction, std::string_view>, 8> action_names{{
	{EventAction::add, "add"},
	{EventAction::remove, "remove"},
	{EventAction::change, "change"},
	{EventAction::move, "move"},
	{EventAction::online, "online"},
	{EventAction::offline, "offline"},
	{EventAction::bind, "bind"},
	{EventAction::unbind, "unbind"},
}};

EventAction parse_action(std::string_view name)
{
	for (const auto &[action, text] : action_names) {
		if (text == name)
			return action;
	}
	return EventAction::other;
}

/* libudev getters return NULL for anything absent; an absent string becomes empty. */
std::string text_or_empty(const char *text)
{
	return text ? std::string(text) : std::string();
}

uint64_t parse_seqnum(const char *text)
{
	if (!text)
		return 0;

	std::string_view view(text);
	uint64_t value = 0;
	auto [end, ec] = std::from_chars(view.data(), view.data() + view.size(), value);
	if (ec != std::errc() || end != view.data() + view.size())
		return 0;
	return value;
}

/* libudev reports failures as a negative errno return value, or as NULL with errno set. */
Error libudev_error(int sys_errno, std::string_view call)
{
	std::string message = "libudev " + std::string(call) + " failed";
	if (sys_errno == EPERM || sys_errno == EACCES || sys_errno == EPROTONOSUPPORT ||
	    sys_errno == EAFNOSUPPORT)
		message += ": the kernel's uevent netlink socket is not available here (a "
			   "container or a seccomp filter that blocks NETLINK_KOBJECT_UEVENT); "
			   "watch from the host instead";
	return make_sys_error(sys_errno, std::move(message));
}

} /* namespace */

std::string_view event_action_name(EventAction action)
{
	for (const auto &[value, text] : action_names) {
		if (value == action)
			return text;
	}
	return "other";
}

std::string describe(const Event &event)
{
	std::string text = event.action_name.empty() ? std::string(event_action_name(event.action))
						     : event.action_name;
	text += " " + event.subsystem + " " + event.sysname;
	if (!event.devtype.empty())
		text += " devtype=" + event.devtype;
	if (!event.driver.empty())
		text += " driver=" + event.driver;
	return text;
}

std::string to_json(const Event &event)
{
	boost::json::object object;
	object["schema"] = "pcipass.event/v1";
	object["action"] = event.action_name.empty() ? event_action_name(event.action)
						     : std::string_view(event.action_name);
	object["subsystem"] = event.subsystem;
	object["sysname"] = event.sysname;
	if (event.address)
		object["address"] = event.address->to_string();
	object["devtype"] = event.devtype;
	object["driver"] = event.driver;
	object["devpath"] = event.devpath;
	object["seqnum"] = event.seqnum;
	return boost::json::serialize(object);
}

struct Watcher::Impl {
	UdevPtr udev_handle;
	MonitorPtr monitor;
	int fd = -1;
};

Watcher::Watcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Watcher::Watcher(Watcher &&other) noexcept = default;
Watcher &Watcher::operator=(Watcher &&other) noexcept = default;
Watcher::~Watcher() = default;

result<Watcher> Watcher::open(const WatchOptions &options)
{
	auto impl = std::make_unique<Impl>();

	errno = 0;
	impl->udev_handle.reset(udev_new());
	if (!impl->udev_handle)
		return libudev_error(errno ? errno : ENOMEM, "udev_new");

	const char *source = options.source == EventSource::kernel ? "kernel" : "udev";
	errno = 0;
	impl->monitor.reset(udev_monitor_new_from_netlink(impl->udev_handle.get(), source));
	if (!impl->monitor)
		return libudev_error(errno ? errno : EIO, "udev_monitor_new_from_netlink");

	for (const std::string &subsystem : options.subsystems) {
		const int ret = udev_monitor_filter_add_match_subsystem_devtype(
			impl->monitor.get(), subsystem.c_str(), nullptr);
		if (ret < 0)
			return libudev_error(-ret, "udev_monitor_filter_add_match_subsystem_devtype");
	}

	if (options.receive_buffer_size > 0) {
		/* Best effort: without CAP_NET_ADMIN the system default stays. */
		const int size_ret = udev_monitor_set_receive_buffer_size(
			impl->monitor.get(), options.receive_buffer_size);
		if (size_ret < 0)
			PCIPASS_LOG(watch, debug,
				    "cannot set the event receive buffer to " +
					    std::to_string(options.receive_buffer_size) +
					    " bytes: " + std::strerror(-size_ret) + ", ignoring");
	}

	const int ret = udev_monitor_enable_receiving(impl->monitor.get());
	if (ret < 0)
		return libudev_error(-ret, "udev_monitor_enable_receiving");

	impl->fd = udev_monitor_get_fd(impl->monitor.get());
	if (impl->fd < 0)
		return libudev_error(-impl->fd, "udev_monitor_get_fd");

	PCIPASS_LOG(watch, debug, std::string("listening to ") + source + " device events");

	return Watcher(std::move(impl));
}

int Watcher::fd() const
{
	return impl_->fd;
}

result<std::optional<Event>> Watcher::receive()
{
	for (;;) {
		errno = 0;
		DevicePtr device(udev_monitor_receive_device(impl_->monitor.get()));
		if (!device) {
			const int sys_errno = errno;
			if (sys_errno == 0 || sys_errno == EAGAIN || sys_errno == EWOULDBLOCK ||
			    sys_errno == EINTR)
				return std::optional<Event>();
			if (sys_errno == ENOBUFS)
				return make_sys_error(sys_errno,
						      "device events were lost because the receive "
						      "buffer was full: rescan the devices, then go "
						      "on receiving");
			return libudev_error(sys_errno, "udev_monitor_receive_device");
		}

		const char *subsystem = udev_device_get_subsystem(device.get());
		const char *sysname = udev_device_get_sysname(device.get());
		/* An event without these cannot be attributed to a device: skip it. */
		if (!subsystem || !sysname)
			continue;

		Event event;
		event.action_name = text_or_empty(udev_device_get_action(device.get()));
		event.action = parse_action(event.action_name);
		event.subsystem = subsystem;
		event.sysname = sysname;
		event.devtype = text_or_empty(udev_device_get_devtype(device.get()));
		/*
		 * The uevent's own DRIVER key, not udev_device_get_driver(),
		 * which reads the sysfs link when the key is absent and so
		 * reports a later state than the event's.
		 */
		event.driver = text_or_empty(udev_device_get_property_value(device.get(), "DRIVER"));
		event.devpath = text_or_empty(udev_device_get_devpath(device.get()));
		event.seqnum = parse_seqnum(udev_device_get_property_value(device.get(), "SEQNUM"));

		if (event.subsystem == "pci") {
			auto address = PciAddress::parse(event.sysname);
			if (address)
				event.address = address.value();
		}

		PCIPASS_LOG(watch, debug, "event " + describe(event));
		return std::optional<Event>(std::move(event));
	}
}

result<std::optional<Event>> Watcher::next(Clock::time_point deadline)
{
	for (;;) {
		BOOST_OUTCOME_TRY(auto event, receive());
		if (event)
			return event;

		const auto now = Clock::now();
		if (now >= deadline)
			return std::optional<Event>();

		/* Round up so that a wait never ends just before the deadline. */
		const auto remaining = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
		const int timeout = remaining.count() > 60000 ? 60000 : int(remaining.count());

		pollfd descriptor{impl_->fd, POLLIN, 0};
		const int ready = ::poll(&descriptor, 1, timeout);
		if (ready < 0 && errno != EINTR)
			return make_sys_error(errno, "poll on the device event socket failed");
	}
}

result<std::optional<Event>> Watcher::wait_for(const std::function<bool(const Event &)> &match,
					       Clock::time_point deadline)
{
	for (;;) {
		BOOST_OUTCOME_TRY(auto event, next(deadline));
		if (!event || match(*event))
			return event;
	}
}

result<void> Watcher::run(const std::function<bool(const Event &)> &callback,
			  Clock::time_point deadline)
{
	for (;;) {
		BOOST_OUTCOME_TRY(auto event, next(deadline));
		if (!event || !callback(*event))
			return success();
	}
}

} /* namespace pcipass */
