/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The journal and the state directory under hostile conditions. Corrupt,
 * truncated and foreign journals reach recover() as a clear error and stay
 * for inspection. The state directory and its files are private, and one
 * that another user owns, or that is not a directory, is rejected.
 */

#include <filesystem>
#include <regex>
#include <sys/stat.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <pcipass/transaction.hpp>

#include "../transaction/harness.hpp"
#include "fixture.hpp"
#include "journal.hpp"

using namespace pcipass;
using namespace txntest;
namespace fs = std::filesystem;

namespace {

/* The journal a bind of the workstation's GPU group leaves when the process dies after three writes. */
std::string crashed_journal()
{
	Fixture fixture(catalogue("gpu-workstation"));
	struct Crash {
	};
	fixture.host->crash_after({3, true, [] { throw Crash{}; }});
	try {
		(void)fixture.engine->bind(request({"0000:01:00.0"}));
	} catch (const Crash &) {
	}
	REQUIRE(fixture.host->crashed());
	const std::string journal = hardening::read_file(fixture.state_dir + "/journal");
	REQUIRE_FALSE(journal.empty());
	REQUIRE(detail::parse_journal(journal));
	return journal;
}

std::string replace_all(std::string text, const std::string &from, const std::string &to)
{
	for (size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size()))
		text.replace(pos, from.size(), to);
	return text;
}

std::string aside_file(const std::string &state_dir)
{
	for (const auto &entry : fs::directory_iterator(state_dir))
		if (entry.path().filename().string().starts_with("journal.corrupt-"))
			return entry.path().string();
	return {};
}

mode_t mode_of(const std::string &path)
{
	struct stat info;
	REQUIRE(::lstat(path.c_str(), &info) == 0);
	return info.st_mode & 07777;
}

} /* namespace */

TEST_CASE("journal: corrupt journals kept for inspection")
{
	const std::string journal = crashed_journal();
	const std::string first_line = journal.substr(0, journal.find('\n') + 1);
	const std::string last_line = journal.substr(journal.rfind('\n', journal.size() - 2) + 1);

	const std::vector<std::pair<std::string, std::string>> cases = {
		{"torn last line", journal.substr(0, journal.size() - last_line.size() / 2)},
		{"foreign schema", replace_all(journal, "pcipass.journal/v1", "pcipass.journal/v9")},
		{"another program's file", "root:x:0:0:root:/root:/bin/bash\n"},
		{"NUL bytes in a line", journal.substr(0, 40) + std::string(8, '\0') + journal.substr(40)},
		{"empty line", first_line + "\n" + journal.substr(first_line.size())},
		{"second begin", journal + first_line},
		{"other transaction", journal + replace_all(last_line, "\"txn\":\"", "\"txn\":\"0")},
		{"pid beyond pid_t",
		 std::regex_replace(journal, std::regex("\"pid\":[0-9]+"), "\"pid\":1099511627776")},
		{"num_vfs beyond 32 bits", replace_all(journal, "\"num_vfs\":null", "\"num_vfs\":8589934592")},
		{"binary noise", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16) + "\n"},
	};

	for (const auto &[name, content] : cases) {
		CAPTURE(name);
		Fixture fixture(catalogue("gpu-workstation"));
		hardening::write_file(fixture.state_dir + "/journal", content);
		const auto claims_before = fixture.engine->ownerships();
		REQUIRE(claims_before);

		auto recovered = fixture.engine->recover(fast_deadlines());
		REQUIRE_FALSE(recovered);
		CHECK(recovered.error().code == errc::journal_corrupt);
		CHECK(recovered.error().message.find('\n') == std::string::npos);
		CHECK(recovered.error().message.find("is unusable at line ") != std::string::npos);
		CHECK(fixture.host->log().empty());

		const std::string aside = aside_file(fixture.state_dir);
		REQUIRE_FALSE(aside.empty());
		CHECK(recovered.error().message.find(aside) != std::string::npos);
		CHECK(hardening::read_file(aside) == content);
		CHECK_FALSE(fs::exists(fixture.state_dir + "/journal"));

		/* Kept aside, it blocks nothing, and nothing else in the state directory changed. */
		auto again = fixture.engine->recover(fast_deadlines());
		REQUIRE(again);
		CHECK(again.value().outcome == Outcome::no_change);
		CHECK(fixture.engine->ownerships().value() == claims_before.value());
		CHECK(hardening::read_file(aside) == content);
	}
}

namespace {

/* A journal line of transaction txn: the schema and txn fields, then fields (a JSON member list). */
std::string line_of(const std::string &txn, const std::string &fields)
{
	return "{\"schema\":\"pcipass.journal/v1\",\"txn\":\"" + txn + "\"," + fields + "}\n";
}

/* One well-formed ownership record of the workstation's GPU for owner (JSON-escaped). */
std::string gpu_record(const std::string &owner)
{
	return "{\"device\":\"0000:01:00.0\",\"owner\":\"" + owner +
	       "\",\"driver\":\"vfio-pci\",\"framebuffer\":\"\",\"transaction\":\"t\",\"group\":7,"
	       "\"identity\":\"10de:1f02\",\"original\":{\"driver\":\"nouveau\",\"override\":null}}";
}

} /* namespace */

TEST_CASE("journal: path fields validated")
{
	const std::string journal = crashed_journal();
	std::smatch txn;
	REQUIRE(std::regex_search(journal, txn, std::regex("\"txn\":\"([0-9a-f]+)\"")));
	const std::string gpu_unit = "{\"device\":\"0000:01:00.0\",\"framebuffer\":false,";
	REQUIRE(journal.find(gpu_unit) != std::string::npos);

	struct Case {
		const char *name;
		std::string content;
		std::string reason; /* the part of the message that names the unit and the field */
	};
	const std::vector<Case> cases = {
		{"device climbing out",
		 replace_all(journal, gpu_unit, "{\"device\":\"../../etc\",\"framebuffer\":false,"),
		 "(device '../../etc') field 'device' is not a canonical PCI address"},
		{"device without domain",
		 replace_all(journal, gpu_unit, "{\"device\":\"01:00.0\",\"framebuffer\":false,"),
		 "(device '01:00.0') field 'device' is not a canonical PCI address"},
		{"framebuffer device with a slash",
		 replace_all(journal, gpu_unit, "{\"device\":\"../efi\",\"framebuffer\":true,"),
		 "(device '../efi') field 'device' is not a platform device name"},
		{"recorded driver climbing out",
		 replace_all(journal, "\"state\":{\"driver\":\"nouveau\"",
			     "\"state\":{\"driver\":\"../../../tmp/x\""),
		 "(device '0000:01:00.0') field 'state.driver' '../../../tmp/x' is not a valid driver name"},
		{"recorded override with a slash",
		 replace_all(journal, "\"driver\":\"nouveau\",\"override\":null",
			     "\"driver\":\"nouveau\",\"override\":\"vfio-pci/../x\""),
		 "(device '0000:01:00.0') field 'state.override' 'vfio-pci/../x' is not a valid driver name"},
		{"target driver with a space",
		 replace_all(journal, "\"driver\":\"vfio-pci\",\"pid\"", "\"driver\":\"vfio pci\",\"pid\""),
		 "the begin line's field 'driver' 'vfio pci' is not a valid driver name"},
		{"in_doubt device climbing out",
		 journal + line_of(txn[1].str(), "\"type\":\"in_doubt\",\"seq\":99,\"device\":\"../../etc\""),
		 "the in_doubt line's field 'device' '../../etc' is neither a unit's device nor a "
		 "canonical PCI address"},
		{"intent for a device outside the transaction",
		 journal + line_of(txn[1].str(), "\"type\":\"intent\",\"seq\":99,\"undo\":false,"
			 "\"step\":{\"kind\":\"unbind\",\"device\":\"0000:00:1f.2\"}"),
		 "the intent's step names device '0000:00:1f.2', which is not a unit of the transaction"},
		{"end line with an in_doubt entry climbing out",
		 journal + line_of(txn[1].str(), "\"type\":\"end\",\"outcome\":\"in_doubt\",\"in_doubt\":[\"../../etc\"]"),
		 "the end line's in_doubt holds an entry that is neither a unit's device nor a canonical "
		 "PCI address"},
		{"intent without a device",
		 journal + line_of(txn[1].str(), "\"type\":\"intent\",\"seq\":99,\"undo\":false,"
			 "\"step\":{\"kind\":\"set_override\",\"device\":\"\"}"),
		 "the intent's set_override step has no device"},
		{"intent of an unknown kind",
		 journal + line_of(txn[1].str(), "\"type\":\"intent\",\"seq\":99,\"undo\":false,"
			 "\"step\":{\"kind\":\"remove\",\"device\":\"0000:01:00.1\"}"),
		 "the intent's step kind 'remove' is unknown"},
		{"commit releasing another transaction's claim",
		 journal + line_of(txn[1].str(), "\"type\":\"commit\",\"seq\":99,\"claims_added\":[],"
			 "\"claims_removed\":[\"0000:00:02.0\"]"),
		 "claims_removed holds device 0000:00:02.0, which is not a unit of the transaction"},
		{"commit handing another device to a new owner",
		 journal + line_of(txn[1].str(), "\"type\":\"commit\",\"seq\":99,\"claims_added\":[" +
			 replace_all(gpu_record("mallory"), "0000:01:00.0", "0000:00:02.0") +
			 "],\"claims_removed\":[]"),
		 "claims_added holds device 0000:00:02.0, which is not a unit of the transaction"},
		{"released claim climbing out",
		 journal + line_of(txn[1].str(), "\"type\":\"commit\",\"seq\":99,\"claims_added\":[],"
			 "\"claims_removed\":[\"../../etc\"]"),
		 "claims_removed holds an entry that is not a canonical PCI address"},
	};

	for (const auto &[name, content, reason] : cases) {
		CAPTURE(std::string(name));
		REQUIRE(content != journal);
		auto parsed = detail::parse_journal(content);
		REQUIRE_FALSE(parsed);
		CHECK(parsed.error().code == errc::journal_corrupt);
		CHECK_MESSAGE(parsed.error().message.find(reason) != std::string::npos,
			      parsed.error().message);

		Fixture fixture(catalogue("gpu-workstation"));
		const std::string path = fixture.state_dir + "/journal";
		hardening::write_file(path, content);

		auto recovered = fixture.engine->recover(fast_deadlines());
		REQUIRE_FALSE(recovered);
		const Error &error = recovered.error();
		CHECK(error.code == errc::journal_corrupt);
		CHECK(error.path == path);
		CHECK(error.sys_errno == 0);
		CHECK(error.message.starts_with("the journal '" + path + "' is unusable at line "));
		CHECK_MESSAGE(error.message.find(reason) != std::string::npos, error.message);
		CHECK(error.message.find("for inspection") != std::string::npos);

		/* Nothing was written: every device keeps its driver and driver_override. */
		CHECK(fixture.host->log().empty());
		CHECK_MESSAGE(fixture.host->state() == fixture.initial,
			      sim::diff(fixture.initial, fixture.host->state()));
		const std::string aside = aside_file(fixture.state_dir);
		REQUIRE_FALSE(aside.empty());
		CHECK(error.message.find(aside) != std::string::npos);
		CHECK(hardening::read_file(aside) == content);
		CHECK_FALSE(fs::exists(path));
		CHECK_FALSE(fs::exists(fixture.state_dir + "/ownership.json"));
	}
}

TEST_CASE("ownership: corrupt records reject requests")
{
	const std::vector<std::pair<std::string, std::string>> cases = {
		{"it is not valid JSON (", "{\"schema\":\"pcipass.ownership/v1\",\"claims\":[{\"dev"},
		{"it is not a JSON object", "[]\n"},
		{"its schema is not pcipass.ownership/v1", "{\"schema\":\"pcipass.ownership/v9\",\"claims\":[]}\n"},
		{"it has no claims", "{\"schema\":\"pcipass.ownership/v1\"}\n"},
		{"ownership records are not a JSON array",
		 "{\"schema\":\"pcipass.ownership/v1\",\"claims\":{}}\n"},
		{"ownership record field 'device' is missing or not a canonical PCI address such as "
		 "0000:01:00.0",
		 "{\"schema\":\"pcipass.ownership/v1\",\"claims\":[{\"device\":\"../../etc\","
		 "\"owner\":\"alice\",\"driver\":\"nouveau\",\"framebuffer\":\"\",\"transaction\":\"t\"}]}\n"},
		{"ownership record field 'owner' is missing or not 1 to 512 bytes of UTF-8 without control "
		 "characters",
		 "{\"schema\":\"pcipass.ownership/v1\",\"claims\":[" + gpu_record("alice\\nmallory") +
			 "]}\n"},
		{"ownership record field 'original.driver' is missing or not null or a driver name",
		 "{\"schema\":\"pcipass.ownership/v1\",\"claims\":[" +
			 replace_all(gpu_record("alice"), "\"nouveau\"", "\"../../../etc\"") + "]}\n"},
		{"two ownership records name device 0000:01:00.0",
		 "{\"schema\":\"pcipass.ownership/v1\",\"claims\":[" + gpu_record("alice") + "," +
			 gpu_record("mallory") + "]}\n"},
	};

	for (const auto &[problem, corrupt] : cases) {
		CAPTURE(problem);
		Fixture fixture(catalogue("gpu-workstation"));
		auto bound = fixture.engine->bind(request({"0000:01:00.0"}, "alice"));
		REQUIRE_MESSAGE(bound, bound.error().describe());
		REQUIRE(bound.value().outcome == Outcome::committed);
		const sim::State after_bind = fixture.host->state();
		fixture.host->clear_log();

		const std::string path = fixture.state_dir + "/ownership.json";
		const std::string records = hardening::read_file(path);
		REQUIRE(records.find("alice") != std::string::npos);
		const std::string journal = hardening::read_file(fixture.state_dir + "/journal");
		hardening::write_file(path, corrupt);

		auto check_rejected = [&](const result<Report> &rejected, const std::string &device) {
			REQUIRE_FALSE(rejected);
			const Error &error = rejected.error();
			CHECK(error.code == errc::journal_corrupt);
			CHECK(error.device == device);
			CHECK(error.path == path);
			CHECK(error.sys_errno == 0);
			CHECK(error.message.starts_with("the ownership records '" + path +
							"' are unusable: " + problem));
			CHECK(error.message.find("inspect the file, then repair it") != std::string::npos);
			CHECK(error.message.find("remove it (which drops every claim)") != std::string::npos);
			CHECK(error.message.find('\n') == std::string::npos);
		};

		/* Twice: a rejection must not drop the records so that the next request finds none. */
		for (int attempt = 0; attempt < 2; attempt++) {
			CAPTURE(attempt);
			check_rejected(fixture.engine->release(request({"0000:01:00.0"}, "mallory")),
				      "0000:01:00.0");
			check_rejected(fixture.engine->release(request({"0000:01:00.1"}, "alice")),
				      "0000:01:00.1");
			check_rejected(fixture.engine->bind(request({"0000:01:00.2"}, "mallory")),
				      "0000:01:00.2");
			const Desired desired[] = {{address("0000:01:00.0"), "vfio-pci", "mallory"}};
			check_rejected(fixture.engine->reconcile(desired, request({}).options),
				      "0000:01:00.0");
			CHECK_FALSE(fixture.engine->ownerships());
			CHECK_FALSE(fixture.engine->plan(Operation::release,
							 request({"0000:01:00.0"}, "mallory")));
		}

		/* Nothing was written, and the corrupt file stays in place for inspection. */
		CHECK(fixture.host->log().empty());
		CHECK_MESSAGE(fixture.host->state() == after_bind,
			      sim::diff(after_bind, fixture.host->state()));
		CHECK(hardening::read_file(path) == corrupt);
		CHECK(hardening::read_file(fixture.state_dir + "/journal") == journal);
		for (const auto &entry : fs::directory_iterator(fixture.state_dir)) {
			const std::string file = entry.path().filename().string();
			CAPTURE(file);
			CHECK((file == "journal" || file == "lock" || file == "ownership.json"));
		}

		/* Repaired, the records hold again: another owner is rejected and the owner releases. */
		hardening::write_file(path, records);
		auto foreign = fixture.engine->release(request({"0000:01:00.0"}, "mallory"));
		REQUIRE_FALSE(foreign);
		CHECK(foreign.error().code == errc::owned_by_other);
		auto released = fixture.engine->release(request({"0000:01:00.0"}, "alice"));
		REQUIRE_MESSAGE(released, released.error().describe());
		CHECK(released.value().outcome == Outcome::committed);
		CHECK_MESSAGE(fixture.host->state() == fixture.initial,
			      sim::diff(fixture.initial, fixture.host->state()));
	}
}

TEST_CASE("journal: symlinked journal not followed")
{
	Fixture fixture(catalogue("gpu-workstation"));
	hardening::Sandbox sandbox("chipset");
	const std::string decoy = sandbox.outside() + "/etc/passwd";
	const std::string before = hardening::read_file(decoy);
	REQUIRE(::symlink(decoy.c_str(), (fixture.state_dir + "/journal").c_str()) == 0);

	auto recovered = fixture.engine->recover(fast_deadlines());
	REQUIRE_FALSE(recovered);
	CHECK(recovered.error().sys_errno == ELOOP);
	CHECK(recovered.error().message.find(fixture.state_dir + "/journal") != std::string::npos);

	auto bound = fixture.engine->bind(request({"0000:01:00.0"}));
	REQUIRE_FALSE(bound);
	CHECK(bound.error().sys_errno == ELOOP);
	CHECK(fixture.host->log().empty());
	CHECK(hardening::read_file(decoy) == before);
	CHECK(fs::is_symlink(fixture.state_dir + "/journal"));
}

TEST_CASE("state directory: private modes under any umask")
{
	TempDir dir;
	const std::string state_dir = dir.path() + "/run/pcipass";
	auto host = sim::Host::create(catalogue("gpu-workstation")).value();

	const mode_t saved = ::umask(0);
	EngineOptions options;
	options.state_dir = state_dir;
	auto engine = Engine::open(*host, options);
	::umask(saved);
	REQUIRE_MESSAGE(engine, engine.error().describe());

	::umask(0);
	auto bound = engine.value()->bind(request({"0000:01:00.0"}));
	::umask(saved);
	REQUIRE_MESSAGE(bound, bound.error().describe());

	CHECK(mode_of(dir.path() + "/run") == 0700);
	CHECK(mode_of(state_dir) == 0700);
	for (const char *file : {"journal", "lock", "ownership.json"}) {
		CAPTURE(file);
		CHECK(mode_of(state_dir + "/" + file) == 0600);
	}
}

TEST_CASE("state directory: file, link or foreign owner rejected")
{
	auto host = sim::Host::create(catalogue("gpu-workstation")).value();
	TempDir dir;

	const std::string file = dir.path() + "/file";
	hardening::write_file(file, "not a directory\n");
	EngineOptions options;
	options.state_dir = file;
	auto on_file = Engine::open(*host, options);
	REQUIRE_FALSE(on_file);
	CHECK(on_file.error().code == errc::state_directory_unsafe);
	CHECK(hardening::read_file(file) == "not a directory\n");

	const std::string target = dir.path() + "/target";
	REQUIRE(::mkdir(target.c_str(), 0700) == 0);
	const std::string link = dir.path() + "/link";
	REQUIRE(::symlink(target.c_str(), link.c_str()) == 0);
	options.state_dir = link;
	auto on_link = Engine::open(*host, options);
	REQUIRE_FALSE(on_link);
	CHECK(on_link.error().code == errc::state_directory_unsafe);
	CHECK(fs::is_empty(target));

	const auto user = hardening::unprivileged_user();
	if (!user) {
		MESSAGE("not root: cannot test a state directory owned by another user");
		return;
	}
	/* The root-owned directory, opened by an unprivileged process. */
	const std::string owned = dir.path() + "/owned";
	REQUIRE(::mkdir(owned.c_str(), 0755) == 0);
	REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
	auto child = hardening::run_as(*user, [&](std::string &text) {
		auto simulated = sim::Host::create(catalogue("gpu-workstation"));
		if (!simulated)
			return false;
		EngineOptions foreign;
		foreign.state_dir = owned;
		auto opened = Engine::open(*simulated.value(), foreign);
		if (opened) {
			text = "a root-owned state directory was accepted";
			return false;
		}
		text = opened.error().describe();
		return opened.error().code == errc::state_directory_unsafe &&
		       opened.error().message.find("owned by uid 0") != std::string::npos;
	});
	REQUIRE(child);
	CHECK_MESSAGE(child->first == 0, child->second);
	CHECK(fs::is_empty(owned));
}

TEST_CASE("ownership: owners the records cannot hold are refused before any write")
{
	Fixture fixture(catalogue("gpu-workstation"));

	/* JSON holds only UTF-8: such an owner would make the journal and the records unreadable. */
	for (const std::string &owner : {std::string("bad\xffowner"), std::string("\xc0\xaf"),
					std::string("\xed\xa0\x80"), std::string("cut\xe2\x82")}) {
		CAPTURE(owner);
		auto refused = fixture.engine->bind(request({"0000:01:00.0"}, owner));
		REQUIRE_FALSE(refused);
		CHECK(refused.error().code == errc::invalid_argument);
		CHECK(refused.error().message.starts_with("invalid owner '"));
		CHECK(refused.error().message.find("bytes of UTF-8 without control characters") !=
		      std::string::npos);
		CHECK(fixture.host->log().empty());
		CHECK(fixture.host->state() == fixture.initial);
		CHECK_FALSE(fs::exists(fixture.state_dir + "/journal"));
		CHECK_FALSE(fs::exists(fixture.state_dir + "/ownership.json"));
	}

	/* 512 bytes of multi-byte UTF-8 with quotes and a backslash bind, load back and release. */
	std::string owner = "vm \"\\\" ";
	while (owner.size() + 3 <= 512)
		owner += "\xe2\x82\xac";
	owner.append(512 - owner.size(), 'x');
	REQUIRE(owner.size() == 512);
	auto bound = fixture.engine->bind(request({"0000:01:00.0"}, owner));
	REQUIRE_MESSAGE(bound, bound.error().describe());
	CHECK(bound.value().outcome == Outcome::committed);
	auto claims = fixture.engine->ownerships();
	REQUIRE(claims);
	REQUIRE(claims.value().size() == 4);
	for (const Ownership &claim : claims.value())
		CHECK(claim.owner == owner);
	auto released = fixture.engine->release(request({"0000:01:00.0"}, owner));
	REQUIRE_MESSAGE(released, released.error().describe());
	CHECK(released.value().outcome == Outcome::committed);
	CHECK_MESSAGE(fixture.host->state() == fixture.initial,
		      sim::diff(fixture.initial, fixture.host->state()));
	CHECK(fixture.engine->ownerships().value().empty());
}
