/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Fuzzes the transaction journal: its parser over arbitrary bytes, its
 * writer, and recovery from what it records. Invariants:
 * - every failure is journal_corrupt naming the line;
 * - every line-prefix of an accepted journal is accepted too, because a
 *   crash may stop the writer after any line;
 * - what an accepted journal records, written again through Journal, reads
 *   back equal;
 * - an accepted journal of an unfinished transaction is recovered against
 *   the simulated GPU workstation. Recovery fails only with a transaction
 *   error code and writes only beneath sys/. Once it succeeds, a second
 *   recovery writes nothing and reports no change.
 *
 * The seed corpus holds journals that a bind of the workstation's GPU
 * group left when the simulator crashed after 1 to 11 writes, one of a
 * release that crashed, and committed, rolled-back and failed ones.
 */

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unistd.h>

#include <pcipass/testing/sim.hpp>
#include <pcipass/testing/topology.hpp>
#include <pcipass/transaction.hpp>

#include "invariant.hpp"
#include "journal.hpp"
#include "state_dir.hpp"

using namespace pcipass;
using namespace pcipass::detail;
namespace fs = std::filesystem;

namespace {

/* A state directory on tmpfs where it exists, because every journal line is fsynced. */
const fs::path &scratch()
{
	static const fs::path directory = [] {
		const fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
		std::string pattern = (base / "pcipass-fuzz-journal-XXXXXX").string();
		fuzz::require(::mkdtemp(pattern.data()) != nullptr, "a scratch directory can be made");
		std::atexit([] { fs::remove_all(scratch()); });
		return fs::path(pattern);
	}();
	return directory;
}

const testing::Topology &workstation()
{
	static const testing::Topology topology = [] {
		auto loaded = testing::load_topology(PCIPASS_SOURCE_DIR "/tests/topologies/gpu-workstation.json");
		fuzz::require(loaded.has_value(), "the workstation topology loads");
		return std::move(loaded).value();
	}();
	return topology;
}

/*
 * A short bind deadline, so that an input naming a driver that never shows
 * up costs milliseconds. The write deadline stays long: simulated writes
 * never block, and a write abandoned under load would outlive its host.
 */
Deadlines fast_deadlines()
{
	Deadlines deadlines;
	deadlines.write = std::chrono::seconds(10);
	deadlines.bind = std::chrono::milliseconds(20);
	deadlines.poll_interval = std::chrono::milliseconds(1);
	deadlines.lock = std::chrono::milliseconds(1000);
	return deadlines;
}

void check_prefixes(std::string_view content)
{
	for (size_t end = content.find('\n'); end != std::string_view::npos;
	     end = content.find('\n', end + 1)) {
		auto prefix = parse_journal(content.substr(0, end + 1));
		fuzz::require(prefix.has_value(), "every line-prefix of an accepted journal is accepted");
	}
}

void check_units(const JournalState &state)
{
	for (const std::string &device : state.touched)
		fuzz::require(state.unit(device) != nullptr, "touched devices are recorded units");
}

/* Writes what the state records through Journal and reads it back. */
void check_rewrite(const JournalState &state, const StateDir &dir)
{
	Journal journal(dir);
	fuzz::require(bool(journal.begin(state.transaction, state.operation, state.owner, state.driver,
					 state.units)),
		      "the journal writer begins");
	if (!state.ended)
		for (const std::string &device : state.in_doubt)
			fuzz::require(bool(journal.in_doubt(1, device)), "the journal writer records doubt");
	if (state.committed)
		fuzz::require(bool(journal.commit(state.claims_added, state.claims_removed)),
			      "the journal writer commits");
	if (state.ended)
		fuzz::require(bool(journal.end(state.outcome, state.in_doubt)), "the journal writer ends");

	auto again = journal.load();
	if (!again)
		std::fprintf(stderr, "%s\n", again.error().describe().c_str());
	fuzz::require(again.has_value(), "a rewritten journal loads");
	const JournalState &read = again.value();
	fuzz::require(read.transaction == state.transaction && read.operation == state.operation &&
			      read.owner == state.owner && read.driver == state.driver &&
			      read.units == state.units,
		      "the begin line round-trips");
	fuzz::require(read.committed == state.committed && read.claims_added == state.claims_added &&
			      read.claims_removed == state.claims_removed,
		      "the commit line round-trips");
	fuzz::require(read.ended == state.ended && read.outcome == state.outcome &&
			      read.in_doubt == state.in_doubt,
		      "the end line and doubt round-trip");
}

bool transaction_error(errc code)
{
	switch (code) {
	case errc::rollback_failed:
	case errc::in_doubt:
	case errc::timed_out:
		return true;
	default:
		return false;
	}
}

void check_recovery(const fs::path &state_dir)
{
	auto created = sim::Host::create(workstation());
	fuzz::require(created.has_value(), "the simulator starts");
	sim::Host &host = *created.value();

	EngineOptions options;
	options.state_dir = state_dir.string();
	auto engine = Engine::open(host, options);
	fuzz::require(engine.has_value(), "the engine opens its state directory");

	auto recovered = engine.value()->recover(fast_deadlines());
	/* The Engine's contract: the host outlives every write that passed its deadline. */
	fuzz::require(engine.value()->wait_for_abandoned_writes(std::chrono::seconds(30)),
		      "abandoned writes return");
	for (const auto &entry : host.log())
		if (entry.kind != sim::WriteKind::load_module && entry.kind != sim::WriteKind::unload_module)
			fuzz::require(entry.path.starts_with("sys/"), "recovery writes only beneath sys/");
	if (!recovered) {
		if (!transaction_error(recovered.error().code))
			std::fprintf(stderr, "%s\n", recovered.error().describe().c_str());
		fuzz::require(transaction_error(recovered.error().code),
			      "recovery fails only with a transaction error");
		return;
	}
	fuzz::require(!recovered.value().error, "a successful recovery carries no error");

	host.clear_log();
	auto again = engine.value()->recover(fast_deadlines());
	fuzz::require(again && again.value().outcome == Outcome::no_change,
		      "a second recovery reports no change");
	fuzz::require(host.log().empty(), "a second recovery writes nothing");
}

} /* namespace */

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const std::string_view content(reinterpret_cast<const char *>(data), size);

	auto parsed = parse_journal(content);
	if (!parsed) {
		fuzz::require_error(parsed, errc::journal_corrupt, "journal errors are journal_corrupt");
		fuzz::require(parsed.error().message.starts_with("line "), "journal errors name the line");
		return 0;
	}
	const JournalState &state = parsed.value();
	fuzz::require(state.exists == !content.empty(), "only an empty journal does not exist");
	check_prefixes(content);
	check_units(state);
	if (!state.exists)
		return 0;

	const fs::path state_dir = scratch() / "state";
	fs::remove_all(state_dir);
	auto dir = StateDir::open(state_dir.string());
	fuzz::require(dir.has_value(), "the scratch state directory opens");
	check_rewrite(state, *dir.value());

	if (!state.clean()) {
		FILE *file = std::fopen((state_dir / "journal").c_str(), "w");
		fuzz::require(file && std::fwrite(content.data(), 1, content.size(), file) == content.size() &&
				      std::fclose(file) == 0,
			      "the journal is written to the state directory");
		check_recovery(state_dir);
	}
	return 0;
}
