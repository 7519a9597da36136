/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The Watcher on this machine: it opens, polls and times out; nothing here
 * provokes events, which would take writes to the real /sys.
 */

#include <doctest/doctest.h>

#include <chrono>
#include <poll.h>

#include <boost/json.hpp>

#include <pcipass/watch.hpp>

using namespace std::chrono_literals;
using Clock = pcipass::Watcher::Clock;

TEST_CASE("watch: opens the kernel source and times out")
{
	auto watcher = pcipass::Watcher::open();
	REQUIRE_MESSAGE(watcher.has_value(),
			(watcher ? std::string() : watcher.error().describe()));

	CHECK(watcher.value().fd() >= 0);

	/* A predicate that matches nothing makes the wait end at the deadline even if the
	 * machine happens to send an event meanwhile. */
	const auto start = Clock::now();
	auto event = watcher.value().wait_for([](const pcipass::Event &) { return false; },
					      start + 200ms);
	const auto elapsed = Clock::now() - start;
	REQUIRE(event.has_value());
	CHECK(!event.value().has_value());
	CHECK(elapsed >= 200ms);
	CHECK(elapsed < 2s);
}

TEST_CASE("watch: opens the udev source")
{
	pcipass::WatchOptions options;
	options.source = pcipass::EventSource::udev;
	options.subsystems = {"pci"};
	auto watcher = pcipass::Watcher::open(options);
	REQUIRE(watcher.has_value());

	auto event = watcher.value().next(Clock::now() + 50ms);
	REQUIRE(event.has_value());
	CHECK(!event.value().has_value());
}

TEST_CASE("watch: receive does not block and the fd polls quiet")
{
	auto watcher = pcipass::Watcher::open();
	REQUIRE(watcher.has_value());

	const auto start = Clock::now();
	auto event = watcher.value().receive();
	REQUIRE(event.has_value());
	CHECK(!event.value().has_value());
	CHECK(Clock::now() - start < 100ms);

	pollfd descriptor{watcher.value().fd(), POLLIN, 0};
	CHECK(::poll(&descriptor, 1, 0) == 0);
}

TEST_CASE("watch: a past deadline returns at once")
{
	auto watcher = pcipass::Watcher::open();
	REQUIRE(watcher.has_value());

	const auto start = Clock::now();
	auto event = watcher.value().wait_for([](const pcipass::Event &) { return true; },
					      start - 1s);
	REQUIRE(event.has_value());
	CHECK(!event.value().has_value());
	CHECK(Clock::now() - start < 100ms);
}

TEST_CASE("watch: a moved watcher keeps its socket")
{
	auto opened = pcipass::Watcher::open();
	REQUIRE(opened.has_value());
	const int fd = opened.value().fd();

	pcipass::Watcher moved = std::move(opened.value());
	CHECK(moved.fd() == fd);
	auto event = moved.next(Clock::now() + 10ms);
	REQUIRE(event.has_value());
	CHECK(!event.value().has_value());
}

TEST_CASE("watch: action names follow the kernel's spelling")
{
	CHECK(pcipass::event_action_name(pcipass::EventAction::add) == "add");
	CHECK(pcipass::event_action_name(pcipass::EventAction::remove) == "remove");
	CHECK(pcipass::event_action_name(pcipass::EventAction::change) == "change");
	CHECK(pcipass::event_action_name(pcipass::EventAction::move) == "move");
	CHECK(pcipass::event_action_name(pcipass::EventAction::online) == "online");
	CHECK(pcipass::event_action_name(pcipass::EventAction::offline) == "offline");
	CHECK(pcipass::event_action_name(pcipass::EventAction::bind) == "bind");
	CHECK(pcipass::event_action_name(pcipass::EventAction::unbind) == "unbind");
	CHECK(pcipass::event_action_name(pcipass::EventAction::other) == "other");
}

TEST_CASE("watch: an event as json and as text")
{
	pcipass::Event event;
	event.action = pcipass::EventAction::bind;
	event.action_name = "bind";
	event.subsystem = "pci";
	event.sysname = "0000:02:00.0";
	event.address = pcipass::PciAddress(0, 2, 0, 0);
	event.driver = "e1000e";
	event.devpath = "/devices/pci0000:00/0000:00:05.0/0000:02:00.0";
	event.seqnum = 1234;

	CHECK(pcipass::describe(event) == "bind pci 0000:02:00.0 driver=e1000e");

	const boost::json::value parsed = boost::json::parse(pcipass::to_json(event));
	const boost::json::object expected{
		{"schema", "pcipass.event/v1"},
		{"action", "bind"},
		{"subsystem", "pci"},
		{"sysname", "0000:02:00.0"},
		{"address", "0000:02:00.0"},
		{"devtype", ""},
		{"driver", "e1000e"},
		{"devpath", "/devices/pci0000:00/0000:00:05.0/0000:02:00.0"},
		{"seqnum", 1234},
	};
	CHECK(parsed == boost::json::value(expected));
}

TEST_CASE("watch: a usb event has no address")
{
	pcipass::Event event;
	event.action = pcipass::EventAction::remove;
	event.action_name = "remove";
	event.subsystem = "usb";
	event.sysname = "1-1.1";
	event.devtype = "usb_device";

	CHECK(pcipass::describe(event) == "remove usb 1-1.1 devtype=usb_device");
	const boost::json::value parsed = boost::json::parse(pcipass::to_json(event));
	CHECK(!parsed.as_object().contains("address"));
	CHECK(parsed.at("devtype") == "usb_device");
	CHECK(parsed.at("driver") == "");
}
