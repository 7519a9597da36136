/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The transaction journal.
 */

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <fcntl.h>
#include <limits>
#include <random>
#include <unistd.h>

#include <boost/json.hpp>

#include <pcipass/address.hpp>

#include "journal.hpp"
#include "plan_json.hpp"
#include "sysfs_parse.hpp"
#include "topology_rules.hpp"

namespace json = boost::json;

namespace pcipass::detail {

namespace {

constexpr std::string_view journal_name = "journal";

const std::pair<Outcome, std::string_view> outcome_names[] = {
	{Outcome::no_change, "no_change"},
	{Outcome::committed, "committed"},
	{Outcome::refused, "refused"},
	{Outcome::rolled_back, "rolled_back"},
	{Outcome::rollback_failed, "rollback_failed"},
	{Outcome::in_doubt, "in_doubt"},
	{Outcome::recovered, "recovered"},
};

std::optional<Outcome> parse_outcome(std::string_view name)
{
	for (const auto &[value, known] : outcome_names)
		if (known == name)
			return value;
	return std::nullopt;
}

std::optional<Operation> parse_operation(std::string_view name)
{
	for (Operation operation : {Operation::bind, Operation::release, Operation::reconcile,
				    Operation::recover})
		if (operation_name(operation) == name)
			return operation;
	return std::nullopt;
}

const json::value *field(const json::object &object, std::string_view key)
{
	return object.if_contains(key);
}

/* An integer in [0, max]; anything larger would be truncated by the cast to the field's type. */
bool fits_unsigned(const json::value &value, int64_t max)
{
	return value.is_int64() && value.get_int64() >= 0 && value.get_int64() <= max;
}

std::string string_field(const json::object &object, std::string_view key, bool &ok)
{
	const json::value *value = field(object, key);
	if (!value || !value->is_string()) {
		ok = false;
		return {};
	}
	return std::string(value->get_string());
}

/*
 * Recovery joins a unit's device and driver names into sysfs paths and
 * writes there, so a name that could leave its directory makes the
 * journal corrupt. Returns the reason, or an empty string.
 */
std::string check_unit_names(const JournalUnit &unit, size_t index)
{
	const std::string unit_name = "unit " + std::to_string(index) + " (device " +
				  quote_content(unit.device) + ")";

	if (unit.framebuffer ? !is_plain_file_name(unit.device) : !is_canonical_address(unit.device))
		return unit_name + " field 'device' is not " +
		       (unit.framebuffer ? "a platform device name"
					 : "a canonical PCI address such as 0000:01:00.0");

	const std::pair<const char *, const std::string *> names[] = {
		{"state.driver", &unit.state.driver},
		{"state.override", &unit.state.override},
		{"platform_driver", &unit.platform_driver},
	};
	for (const auto &[name, text] : names)
		if (!text->empty() && !is_plain_file_name(*text))
			return unit_name + " field " + quote_content(name) + " " + quote_content(*text) +
			       " is not a valid driver name";
	return {};
}

result<JournalUnit> unit_from_json(const json::value &value)
{
	const json::object *object = value.if_object();
	if (!object)
		return make_error(errc::invalid_argument, "a unit is not an object");

	JournalUnit unit;
	bool ok = true;
	unit.device = string_field(*object, "device", ok);
	unit.platform_driver = string_field(*object, "platform_driver", ok);
	const json::value *framebuffer = field(*object, "framebuffer");
	const json::value *state = field(*object, "state");
	if (!ok || unit.device.empty() || !framebuffer || !framebuffer->is_bool() || !state)
		return make_error(errc::invalid_argument, "a unit lacks device, framebuffer or state");
	unit.framebuffer = framebuffer->get_bool();

	BOOST_OUTCOME_TRY(auto parsed, state_from_json(*state));
	unit.state = std::move(parsed);

	const json::value *num_vfs = field(*object, "num_vfs");
	if (num_vfs && !num_vfs->is_null()) {
		if (!fits_unsigned(*num_vfs, std::numeric_limits<unsigned>::max()))
			return make_error(errc::invalid_argument, "a unit has an invalid num_vfs");
		unit.num_vfs = static_cast<unsigned>(num_vfs->get_int64());
	}
	return unit;
}

json::value unit_to_json(const JournalUnit &unit)
{
	json::object object;
	object["device"] = unit.device;
	object["framebuffer"] = unit.framebuffer;
	object["state"] = state_to_json(unit.state);
	object["num_vfs"] = unit.num_vfs ? json::value(*unit.num_vfs) : json::value(nullptr);
	object["platform_driver"] = unit.platform_driver;
	return object;
}

/* Applies one parsed line to the state; returns a reason when the line does not fit. */
std::string apply_line(const json::object &line, JournalState &state, bool first)
{
	bool ok = true;
	const std::string schema = string_field(line, "schema", ok);
	const std::string type = string_field(line, "type", ok);
	const std::string transaction = string_field(line, "txn", ok);
	if (!ok)
		return "it lacks schema, type or txn";
	if (schema != journal_schema)
		return "its schema is " + quote_content(schema) + ", not " + std::string(journal_schema);
	if (first != (type == "begin"))
		return first ? "the journal does not start with a begin line"
			     : "a second begin line appears";
	if (!first && transaction != state.transaction)
		return "it belongs to transaction " + transaction + ", not " + state.transaction;

	if (type == "begin") {
		state.transaction = transaction;
		const auto operation = parse_operation(string_field(line, "operation", ok));
		state.owner = string_field(line, "owner", ok);
		state.driver = string_field(line, "driver", ok);
		const json::value *pid = field(line, "pid");
		const json::value *units = field(line, "units");
		if (!ok || !operation || !pid || !units || !units->is_array())
			return "the begin line lacks operation, owner, driver, pid or units";
		if (!fits_unsigned(*pid, std::numeric_limits<pid_t>::max()) || pid->get_int64() == 0)
			return "the begin line's pid is not a process ID";
		state.operation = *operation;
		state.pid = static_cast<long>(pid->get_int64());
		if (!state.driver.empty() && !is_plain_file_name(state.driver))
			return "the begin line's field 'driver' " + quote_content(state.driver) +
			       " is not a valid driver name";
		for (const auto &item : units->get_array()) {
			auto unit = unit_from_json(item);
			if (!unit)
				return unit.error().message;
			std::string problem = check_unit_names(unit.value(), state.units.size() + 1);
			if (!problem.empty())
				return problem;
			state.units.push_back(std::move(unit).value());
		}
		return {};
	}

	const json::value *seq = field(line, "seq");
	const bool has_seq = seq && fits_unsigned(*seq, std::numeric_limits<unsigned>::max()) &&
			     seq->get_int64() > 0;

	if (type == "intent") {
		const json::value *step = field(line, "step");
		if (!has_seq || !step || !step->is_object())
			return "the intent line lacks seq or step";
		const std::string device = string_field(step->get_object(), "device", ok);
		const std::string kind_name = string_field(step->get_object(), "kind", ok);
		if (!ok)
			return "the intent's step lacks a kind or a device";
		const auto kind = parse_step_kind(kind_name);
		if (!kind)
			return "the intent's step kind " + quote_content(kind_name) + " is unknown";
		/*
		 * Recovery restores only units, and pcipass writes intents only for
		 * them; loading a module is the one step on no device.
		 */
		if (kind.value() == StepKind::load_module && !device.empty())
			return "the intent's load_module step names device " + quote_content(device) +
			       ", but loading a module concerns no device";
		if (kind.value() != StepKind::load_module && device.empty())
			return "the intent's " + kind_name + " step has no device";
		if (!device.empty() && !state.unit(device))
			return "the intent's step names device " + quote_content(device) +
			       ", which is not a unit of the transaction";
		if (!device.empty() &&
		    std::find(state.touched.begin(), state.touched.end(), device) == state.touched.end())
			state.touched.push_back(device);
		state.last_seq = std::max<unsigned>(state.last_seq, static_cast<unsigned>(seq->get_int64()));
		return {};
	}
	if (type == "done" || type == "failed") {
		if (!has_seq)
			return "the " + type + " line lacks seq";
		return {};
	}
	if (type == "in_doubt") {
		const std::string device = string_field(line, "device", ok);
		if (!ok || device.empty())
			return "the in_doubt line lacks a device";
		if (!state.unit(device) && !is_canonical_address(device))
			return "the in_doubt line's field 'device' " + quote_content(device) +
			       " is neither a unit's device nor a canonical PCI address";
		state.in_doubt.insert(device);
		return {};
	}
	if (type == "commit") {
		const json::value *added = field(line, "claims_added");
		const json::value *removed = field(line, "claims_removed");
		if (!added || !removed || !removed->is_array())
			return "the commit line lacks claims_added or claims_removed";
		auto claims = ownerships_from_json_value(*added);
		if (!claims)
			return claims.error().message;
		/* A transaction claims and releases only its own devices. */
		for (const Ownership &claim : claims.value())
			if (!state.unit(claim.device))
				return "claims_added holds device " + claim.device +
				       ", which is not a unit of the transaction";
		state.claims_added = std::move(claims).value();
		state.claims_removed.clear();
		for (const auto &item : removed->get_array()) {
			if (!item.is_string() || !is_canonical_address(item.get_string()))
				return "claims_removed holds an entry that is not a canonical PCI address";
			if (!state.unit(item.get_string()))
				return "claims_removed holds device " + std::string(item.get_string()) +
				       ", which is not a unit of the transaction";
			state.claims_removed.emplace_back(item.get_string());
		}
		state.committed = true;
		return {};
	}
	if (type == "end") {
		const auto outcome = parse_outcome(string_field(line, "outcome", ok));
		if (!ok || !outcome)
			return "the end line lacks a known outcome";
		state.ended = true;
		state.outcome = *outcome;
		/* A later end (after recovery) replaces what the earlier one left in doubt. */
		state.in_doubt.clear();
		const json::value *doubt = field(line, "in_doubt");
		if (doubt && !doubt->is_array())
			return "the end line's in_doubt is not an array";
		if (doubt) {
			for (const auto &item : doubt->get_array()) {
				if (!item.is_string() || (!state.unit(item.get_string()) &&
							  !is_canonical_address(item.get_string())))
					return "the end line's in_doubt holds an entry that is neither a "
					       "unit's device nor a canonical PCI address";
				state.in_doubt.emplace(item.get_string());
			}
		}
		return {};
	}

	return "its type " + quote_content(type) + " is unknown";
}

} /* namespace */

bool JournalState::clean() const
{
	if (!exists)
		return true;
	if (!ended)
		return false;
	return outcome == Outcome::committed || outcome == Outcome::rolled_back ||
	       outcome == Outcome::recovered || outcome == Outcome::no_change;
}

const JournalUnit *JournalState::unit(std::string_view device) const
{
	for (const auto &unit : units)
		if (unit.device == device)
			return &unit;
	return nullptr;
}

Journal::~Journal()
{
	if (fd_ >= 0)
		::close(fd_);
}

result<JournalState> parse_journal(std::string_view content) noexcept
{
	JournalState state;
	if (content.empty())
		return state;

	std::string problem;
	size_t line_number = 0;
	size_t start = 0;
	while (start < content.size() && problem.empty()) {
		line_number++;
		const size_t end = content.find('\n', start);
		if (end == std::string_view::npos) {
			problem = "the last line is truncated (no newline)";
			break;
		}

		const std::string_view text = content.substr(start, end - start);
		start = end + 1;

		boost::system::error_code ec;
		json::value value = json::parse(text, ec);
		if (ec || !value.is_object()) {
			problem = "it is not a JSON object";
			break;
		}
		problem = apply_line(value.get_object(), state, line_number == 1);
	}

	if (!problem.empty())
		return make_error(errc::journal_corrupt,
				  "line " + std::to_string(line_number) + ": " + problem);

	state.exists = true;
	return state;
}

result<JournalState> Journal::load() const
{
	BOOST_OUTCOME_TRY(auto content, dir_.read(journal_name));

	if (!content)
		return JournalState();

	auto parsed = parse_journal(*content);
	if (parsed)
		return parsed;

	const std::string journal = path();
	auto aside = dir_.rename_aside(journal_name);
	Error error = make_error(errc::journal_corrupt,
				 "the journal " + quote_path(journal) + " is unusable at " +
					 parsed.error().message + "; ",
				 {}, journal);
	if (aside)
		error.message += "it was moved to " + quote_path(aside.value()) +
				 " for inspection; check the devices it names with 'pcipassctl "
				 "show', return them by hand if needed, then delete it";
	else
		error.message += "it could not be moved aside (" + aside.error().message +
				 "); inspect and remove it by hand";
	return error;
}

result<void> Journal::open_file(bool truncate)
{
	if (fd_ >= 0) {
		::close(fd_);
		fd_ = -1;
	}

	int flags = O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC;
	if (truncate)
		flags |= O_TRUNC;
	fd_ = ::openat(dir_.fd(), std::string(journal_name).c_str(), flags, 0600);
	if (fd_ < 0)
		return make_sys_error(errno, "cannot open the journal " + quote_path(path()), {}, path());
	return success();
}

result<void> Journal::append(json::object line)
{
	json::object full;
	full["schema"] = journal_schema;
	full["txn"] = transaction_;
	for (auto &item : line)
		full[item.key()] = std::move(item.value());

	std::string text = json::serialize(full);
	text += '\n';

	/* One write(2) per line: an O_APPEND write is never interleaved with another's. */
	std::string_view rest = text;
	while (!rest.empty()) {
		const ssize_t written = ::write(fd_, rest.data(), rest.size());
		if (written < 0 && errno == EINTR)
			continue;
		if (written < 0)
			return make_sys_error(errno, "cannot append to the journal " + quote_path(path()), {},
					      path());
		rest.remove_prefix(static_cast<size_t>(written));
	}
	if (::fdatasync(fd_) != 0)
		return make_sys_error(errno, "cannot sync the journal " + quote_path(path()), {}, path());
	return success();
}

result<void> Journal::begin(const std::string &transaction, Operation operation,
			   const std::string &owner, const std::string &driver,
			   const std::vector<JournalUnit> &units)
{
	transaction_ = transaction;
	BOOST_OUTCOME_TRY(open_file(true));

	json::array array;
	for (const auto &unit : units)
		array.push_back(unit_to_json(unit));

	json::object line;
	line["type"] = "begin";
	line["operation"] = operation_name(operation);
	line["owner"] = owner;
	line["driver"] = driver;
	line["pid"] = static_cast<int64_t>(::getpid());
	line["time"] = static_cast<int64_t>(std::time(nullptr));
	line["units"] = std::move(array);
	return append(std::move(line));
}

result<void> Journal::resume(const std::string &transaction)
{
	transaction_ = transaction;
	return open_file(false);
}

result<void> Journal::intent(unsigned seq, const Step &step, bool undo)
{
	json::object line;
	line["type"] = "intent";
	line["seq"] = seq;
	line["undo"] = undo;
	line["step"] = step_to_json(step);
	return append(std::move(line));
}

result<void> Journal::done(unsigned seq, bool skipped)
{
	json::object line;
	line["type"] = "done";
	line["seq"] = seq;
	line["status"] = skipped ? "skipped" : "done";
	return append(std::move(line));
}

result<void> Journal::failed(unsigned seq, const Error &error)
{
	json::object line;
	line["type"] = "failed";
	line["seq"] = seq;
	line["error"] = error_to_json(error);
	return append(std::move(line));
}

result<void> Journal::in_doubt(unsigned seq, const std::string &device)
{
	json::object line;
	line["type"] = "in_doubt";
	line["seq"] = seq;
	line["device"] = device;
	return append(std::move(line));
}

result<void> Journal::commit(const std::vector<Ownership> &added,
			    const std::vector<std::string> &removed)
{
	json::array removed_array;
	for (const auto &device : removed)
		removed_array.push_back(json::value(device));

	json::object line;
	line["type"] = "commit";
	line["claims_added"] = ownerships_to_json_value(added);
	line["claims_removed"] = std::move(removed_array);
	return append(std::move(line));
}

result<void> Journal::end(Outcome outcome, const std::set<std::string> &in_doubt)
{
	json::array doubt;
	for (const auto &device : in_doubt)
		doubt.push_back(json::value(device));

	json::object line;
	line["type"] = "end";
	line["outcome"] = outcome_name(outcome);
	line["in_doubt"] = std::move(doubt);
	auto appended = append(std::move(line));

	::close(fd_);
	fd_ = -1;
	return appended;
}

std::string new_transaction_id()
{
	/* A fresh random_device per call: a generator state would be shared by both sides of fork(). */
	std::random_device device;
	const uint64_t value = (uint64_t(device()) << 32) | device();
	static const char digits[] = "0123456789abcdef";
	std::string id(16, '0');
	for (int i = 15, shift = 0; i >= 0; i--, shift += 4)
		id[static_cast<size_t>(i)] = digits[(value >> shift) & 0xf];
	return id;
}

} /* namespace pcipass::detail */

namespace pcipass {

std::string_view outcome_name(Outcome outcome)
{
	for (const auto &[value, name] : detail::outcome_names)
		if (value == outcome)
			return name;
	return "unknown";
}

} /* namespace pcipass */
