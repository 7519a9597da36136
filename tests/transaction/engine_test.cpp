/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The engine around the steps: journal integrity, the state directory,
 * the permission check, the lock, roll-forward and the report document.
 */

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include "harness.hpp"
#include "topologies.hpp"

using namespace pcipass;
using namespace txntest;
namespace json = boost::json;

namespace {

std::string read_file(const std::string &path)
{
	std::ifstream stream(path);
	std::stringstream content;
	content << stream.rdbuf();
	return content.str();
}

/* The one file in dir whose name starts with prefix, or an empty string. */
std::string find_aside(const std::string &dir, const std::string &prefix)
{
	for (const auto &entry : std::filesystem::directory_iterator(dir))
		if (entry.path().filename().string().starts_with(prefix))
			return entry.path().string();
	return {};
}

void check_corrupt_journal(const std::string &content, const std::string &reason)
{
	const Topology topology = usb_controller(true).build();
	Fixture fixture(topology);
	std::ofstream(fixture.state_dir + "/journal") << content;

	auto bound = fixture.engine->bind(request({"0000:02:01.0"}));
	REQUIRE_FALSE(bound);
	CHECK(bound.error().code == errc::journal_corrupt);
	CHECK(bound.error().message.find(reason) != std::string::npos);
	CHECK(bound.error().message.find("moved to") != std::string::npos);
	CHECK(fixture.host->log().empty());

	const std::string aside = find_aside(fixture.state_dir, "journal.corrupt-");
	REQUIRE_FALSE(aside.empty());
	CHECK(read_file(aside) == content);
	CHECK(bound.error().message.find(aside) != std::string::npos);

	/* Moved aside, it no longer blocks transactions. */
	auto retried = fixture.engine->bind(request({"0000:02:01.0"}));
	REQUIRE_MESSAGE(retried, retried.error().describe());
	CHECK(read_file(aside) == content);
}

} /* namespace */

TEST_CASE("engine: corrupt journal is kept aside and reported")
{
	SUBCASE("garbage")
	{
		check_corrupt_journal("this is not json\n", "line 1: it is not a JSON object");
	}
	SUBCASE("truncated")
	{
		check_corrupt_journal(R"({"schema":"pcipass.journal/v1","type":"begin","txn":"ab")",
				      "truncated");
	}
	SUBCASE("foreign")
	{
		check_corrupt_journal(R"({"schema":"other.journal/v2","type":"begin","txn":"ab"})"
				      "\n",
				      "its schema is 'other.journal/v2'");
	}
	SUBCASE("out of order")
	{
		check_corrupt_journal(R"({"schema":"pcipass.journal/v1","type":"done","txn":"ab","seq":1})"
				      "\n",
				      "does not start with a begin line");
	}
}

TEST_CASE("engine: corrupt ownership records are kept in place and reported")
{
	const Topology topology = usb_controller(true).build();
	Fixture fixture(topology);
	const std::string corrupt = R"({"schema":"pcipass.ownership/v1"})";
	std::ofstream(fixture.state_dir + "/ownership.json") << corrupt;

	/* Every read fails the same way: an empty set would let any owner release a device. */
	for (int attempt = 0; attempt < 2; attempt++) {
		CAPTURE(attempt);
		auto owners = fixture.engine->ownerships();
		REQUIRE_FALSE(owners);
		CHECK(owners.error().code == errc::journal_corrupt);
		CHECK(owners.error().message.find("it has no claims") != std::string::npos);
	}
	CHECK(find_aside(fixture.state_dir, "ownership.json.corrupt-").empty());
	std::ifstream kept(fixture.state_dir + "/ownership.json");
	const std::string content((std::istreambuf_iterator<char>(kept)), std::istreambuf_iterator<char>());
	CHECK(content == corrupt);
}

TEST_CASE("engine: state directory is created private and unsafe ones are rejected")
{
	const Topology topology = usb_controller(true).build();
	auto host = sim::Host::create(topology).value();
	TempDir dir;

	EngineOptions options;
	options.state_dir = dir.path() + "/a/b";
	REQUIRE(Engine::open(*host, options));
	struct stat info;
	REQUIRE(::stat(options.state_dir.c_str(), &info) == 0);
	CHECK((info.st_mode & 07777) == 0700);
	REQUIRE(::stat((dir.path() + "/a").c_str(), &info) == 0);
	CHECK((info.st_mode & 07777) == 0700);

	REQUIRE(::chmod(options.state_dir.c_str(), 0770) == 0);
	auto writable = Engine::open(*host, options);
	REQUIRE_FALSE(writable);
	CHECK(writable.error().code == errc::state_directory_unsafe);
	CHECK(writable.error().message.find("mode 0770") != std::string::npos);
	REQUIRE(::chmod(options.state_dir.c_str(), 0700) == 0);

	const std::string link = dir.path() + "/link";
	REQUIRE(::symlink(options.state_dir.c_str(), link.c_str()) == 0);
	options.state_dir = link;
	auto symlinked = Engine::open(*host, options);
	REQUIRE_FALSE(symlinked);
	CHECK(symlinked.error().code == errc::state_directory_unsafe);

	if (::geteuid() == 0) {
		const std::string foreign = dir.path() + "/foreign";
		REQUIRE(::mkdir(foreign.c_str(), 0700) == 0);
		REQUIRE(::chown(foreign.c_str(), 65534, 65534) == 0);
		options.state_dir = foreign;
		auto owned = Engine::open(*host, options);
		REQUIRE_FALSE(owned);
		CHECK(owned.error().code == errc::state_directory_unsafe);
		CHECK(owned.error().message.find("owned by uid 65534") != std::string::npos);
	}
}

TEST_CASE("engine: a file it may not write is refused before the first write")
{
	const Topology topology = gpu_desktop().build();
	Fixture fixture(topology);
	FramebufferHost host(*fixture.host);
	host.deny_writes("0000:01:00.2/driver_override");
	EngineOptions options;
	options.state_dir = fixture.state_dir;
	auto engine = Engine::open(host, options).value();

	auto bound = engine->bind(request({"0000:01:00.0"}));
	REQUIRE_FALSE(bound);
	CHECK(bound.error().code == errc::permission_denied);
	CHECK(bound.error().path == "sys/bus/pci/devices/0000:01:00.2/driver_override");
	CHECK(bound.error().message.find('\n') == std::string::npos);
	CHECK(fixture.host->log().empty());
	CHECK(journal_lines(fixture.state_dir).empty());
}

TEST_CASE("engine: a lock held past its deadline fails with lock_failed")
{
	const Topology topology = gpu_desktop().build();
	Fixture fixture(topology);

	/* Keeps the lock from inside a transaction until the test sets go. */
	class Holding final : public Observer
	{
	public:
		void on_plan(const Plan &) override
		{
			planned = true;
			while (!go)
				std::this_thread::sleep_for(std::chrono::milliseconds(1));
		}
		std::atomic<bool> planned{false};
		std::atomic<bool> go{false};
	} holding;

	std::thread first([&] { REQUIRE(fixture.engine->bind(request({"0000:01:00.0"}), &holding)); });
	while (!holding.planned)
		std::this_thread::sleep_for(std::chrono::milliseconds(1));

	auto other = fixture.open_engine();
	auto req = request({"0000:01:00.0"});
	req.options.deadlines.lock = std::chrono::milliseconds(50);
	auto waited = other->bind(req);
	REQUIRE_FALSE(waited);
	CHECK(waited.error().code == errc::lock_failed);

	auto same = fixture.engine->release(req);
	REQUIRE_FALSE(same);
	CHECK(same.error().code == errc::lock_failed);

	holding.go = true;
	first.join();
	CHECK(fixture.host->state() == on_vfio(fixture.initial, topology,
					       {"0000:01:00.0", "0000:01:00.1", "0000:01:00.2",
						"0000:01:00.3"}));
}

TEST_CASE("engine: recover rolls a committed transaction forward")
{
	const Topology topology = usb_controller(true).build();
	Fixture fixture(topology);

	/* Every step of a bind done and the commit written, then the process died. */
	REQUIRE(fixture.engine->bind(request({"0000:02:01.0"})));
	auto lines = journal_lines(fixture.state_dir);
	REQUIRE(lines.back().at("type").as_string() == "end");
	lines.pop_back();
	{
		std::ofstream journal(fixture.state_dir + "/journal", std::ios::trunc);
		for (const auto &line : lines)
			journal << json::serialize(line) << "\n";
	}
	std::filesystem::remove(fixture.state_dir + "/ownership.json");
	const auto bound = fixture.host->state();
	fixture.host->clear_log();

	auto recovered = fixture.engine->recover(fast_deadlines());
	REQUIRE_MESSAGE(recovered, recovered.error().describe());
	CHECK(recovered.value().outcome == Outcome::committed);
	CHECK(fixture.host->log().empty());
	CHECK(fixture.host->state() == bound);
	auto owners = fixture.engine->ownerships().value();
	REQUIRE(owners.size() == 1);
	CHECK(owners[0].device == "0000:02:01.0");
	CHECK(owners[0].original == DeviceState{"xhci_hcd", ""});
	CHECK(journal_outcome(fixture.state_dir) == "committed");
}

TEST_CASE("engine: an observer that throws leaves a journal that recover finishes")
{
	const Topology topology = gpu_desktop().build();
	Fixture fixture(topology);

	class Dying final : public Observer
	{
	public:
		void on_step(const StepRecord &record) override
		{
			if (record.status == StepStatus::done && ++done == 5)
				throw std::runtime_error("killed");
		}
		int done = 0;
	} dying;

	CHECK_THROWS_AS(fixture.engine->bind(request({"0000:01:00.0"}), &dying), std::runtime_error);
	CHECK_FALSE(journal_clean(fixture.state_dir));
	CHECK(fixture.host->state() != fixture.initial);

	auto recovered = fixture.engine->recover(fast_deadlines());
	REQUIRE_MESSAGE(recovered, recovered.error().describe());
	CHECK(recovered.value().outcome == Outcome::recovered);
	CHECK(recovered.value().devices.size() == 2);
	CHECK_MESSAGE(fixture.host->state() == fixture.initial,
		      explain(fixture.initial, fixture.host->state()));
}

TEST_CASE("engine: recover with no journal changes nothing")
{
	const Topology topology = usb_controller(true).build();
	Fixture fixture(topology);

	auto recovered = fixture.engine->recover(fast_deadlines());
	REQUIRE(recovered);
	CHECK(recovered.value().outcome == Outcome::no_change);
	CHECK(recovered.value().writes == 0);
	CHECK(fixture.host->log().empty());
}

TEST_CASE("engine: journal records intent before each write and done after")
{
	const Topology topology = usb_controller(true).build();
	Fixture fixture(topology);
	REQUIRE(fixture.engine->bind(request({"0000:02:01.0"})));

	std::vector<std::string> types;
	for (const auto &line : journal_lines(fixture.state_dir)) {
		CHECK(line.at("schema").as_string() == "pcipass.journal/v1");
		types.emplace_back(line.at("type").as_string());
	}
	CHECK(types == std::vector<std::string>{"begin", "intent", "done", "intent", "done", "intent",
						"done", "commit", "end"});

	const auto begin = journal_lines(fixture.state_dir).front();
	const auto &unit = begin.at("units").as_array()[0].as_object();
	CHECK(unit.at("device").as_string() == "0000:02:01.0");
	CHECK(unit.at("state").at("driver").as_string() == "xhci_hcd");
	CHECK(begin.at("pid").as_int64() == ::getpid());
}

TEST_CASE("engine: report document carries schema, steps and devices")
{
	const Topology topology = usb_controller(true).build();
	Fixture fixture(topology);
	auto bound = fixture.engine->bind(request({"0000:02:01.0"}));
	REQUIRE(bound);

	const json::object document = json::parse(to_json(bound.value())).as_object();
	CHECK(document.at("schema").as_string() == "pcipass.result/v1");
	CHECK(document.at("operation").as_string() == "bind");
	CHECK(document.at("outcome").as_string() == "committed");
	CHECK(document.at("writes").as_int64() == 3);
	CHECK(document.at("groups").as_array() == json::array{2});
	CHECK(document.at("error").is_null());
	const auto &steps = document.at("steps").as_array();
	REQUIRE(steps.size() == 3);
	CHECK(steps[1].at("step").at("description").as_string() == "unbind 0000:02:01.0 from xhci_hcd");
	CHECK(steps[1].at("status").as_string() == "done");
	const auto &device = document.at("devices").as_array()[0];
	CHECK(device.at("before").at("driver").as_string() == "xhci_hcd");
	CHECK(device.at("after").at("driver").as_string() == "vfio-pci");

	auto refused = fixture.engine->bind(request({"0000:02:01.0"}, "other"));
	REQUIRE_FALSE(refused);
	CHECK(refused.error().code == errc::owned_by_other);
}

TEST_CASE("engine: plan reads only")
{
	const Topology topology = gpu_desktop().build();
	Fixture fixture(topology);

	auto plan = fixture.engine->plan(Operation::bind, request({"0000:01:00.0"}));
	REQUIRE(plan);
	CHECK(plan.value().steps.size() == 11);
	CHECK(fixture.host->log().empty());
	CHECK(journal_lines(fixture.state_dir).empty());
	CHECK_FALSE(fixture.engine->plan(Operation::recover, request({"0000:01:00.0"})));
}
