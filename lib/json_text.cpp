/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Strict JSON parsing with positions and duplicate-key checks, and the
 * readable formatting every pcipass document is written in.
 */

#include "json_text.hpp"

#include <set>
#include <vector>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace pcipass::detail {

namespace {

/*
 * A basic_parser handler that builds nothing and only tracks where it is,
 * so that a duplicate key can be reported with its JSON pointer.
 */
class DuplicateKeyFinder
{
public:
	static constexpr std::size_t max_object_size = std::size_t(-1);
	static constexpr std::size_t max_array_size = std::size_t(-1);
	static constexpr std::size_t max_key_size = std::size_t(-1);
	static constexpr std::size_t max_string_size = std::size_t(-1);

	/* Set when the parse stopped at a duplicate key. */
	std::string duplicate_key;
	std::string duplicate_pointer;

	bool on_document_begin(boost::system::error_code &) { return true; }
	bool on_document_end(boost::system::error_code &) { return true; }

	bool on_array_begin(boost::system::error_code &)
	{
		count_element();
		frames_.push_back(Frame{false, {}, {}, 0});
		return true;
	}

	bool on_array_end(std::size_t, boost::system::error_code &)
	{
		frames_.pop_back();
		return true;
	}

	bool on_object_begin(boost::system::error_code &)
	{
		count_element();
		frames_.push_back(Frame{true, {}, {}, 0});
		return true;
	}

	bool on_object_end(std::size_t, boost::system::error_code &)
	{
		frames_.pop_back();
		return true;
	}

	bool on_string_part(boost::json::string_view, std::size_t, boost::system::error_code &)
	{
		return true;
	}

	bool on_string(boost::json::string_view, std::size_t, boost::system::error_code &)
	{
		count_element();
		return true;
	}

	bool on_key_part(boost::json::string_view part, std::size_t, boost::system::error_code &)
	{
		key_.append(part.data(), part.size());
		return true;
	}

	bool on_key(boost::json::string_view part, std::size_t, boost::system::error_code &ec)
	{
		key_.append(part.data(), part.size());
		Frame &frame = frames_.back();
		if (!frame.keys.insert(key_).second) {
			duplicate_key = key_;
			duplicate_pointer = pointer();
			ec = std::make_error_code(std::errc::invalid_argument);
			return false;
		}
		frame.key = std::move(key_);
		key_.clear();
		return true;
	}

	bool on_number_part(boost::json::string_view, boost::system::error_code &) { return true; }

	bool on_int64(int64_t, boost::json::string_view, boost::system::error_code &)
	{
		count_element();
		return true;
	}

	bool on_uint64(uint64_t, boost::json::string_view, boost::system::error_code &)
	{
		count_element();
		return true;
	}

	bool on_double(double, boost::json::string_view, boost::system::error_code &)
	{
		count_element();
		return true;
	}

	bool on_bool(bool, boost::system::error_code &)
	{
		count_element();
		return true;
	}

	bool on_null(boost::system::error_code &)
	{
		count_element();
		return true;
	}

	bool on_comment_part(boost::json::string_view, boost::system::error_code &) { return true; }
	bool on_comment(boost::json::string_view, boost::system::error_code &) { return true; }

private:
	struct Frame {
		bool object;
		std::set<std::string> keys;
		std::string key;   /* the member being parsed, in an object */
		size_t count;      /* elements begun so far, in an array */
	};

	/* Array elements are counted as they begin, so the count gives an open container's index. */
	void count_element()
	{
		if (!frames_.empty() && !frames_.back().object)
			frames_.back().count++;
	}

	/* The pointer of the innermost open object. */
	std::string pointer() const
	{
		std::string text;
		for (size_t i = 0; i + 1 < frames_.size(); i++) {
			const Frame &frame = frames_[i];
			text += '/';
			text += frame.object ? json_pointer_token(frame.key)
					     : std::to_string(frame.count - 1);
		}
		return text;
	}

	std::vector<Frame> frames_;
	std::string key_;
};

/* 1-based line and column of a byte offset, for messages. */
std::string position_of(std::string_view text, size_t offset)
{
	size_t line = 1;
	size_t column = 1;
	for (size_t i = 0; i < offset && i < text.size(); i++) {
		if (text[i] == '\n') {
			line++;
			column = 1;
		} else {
			column++;
		}
	}
	return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

bool is_scalar(const boost::json::value &value)
{
	return !value.is_object() && !value.is_array();
}

void format_value(const boost::json::value &value, unsigned depth, std::string &out)
{
	const std::string indent(2 * (depth + 1), ' ');
	const std::string closing_indent(2 * depth, ' ');

	if (value.is_object()) {
		const boost::json::object &object = value.get_object();
		if (object.empty()) {
			out += "{}";
			return;
		}
		out += "{\n";
		size_t i = 0;
		for (const auto &member : object) {
			out += indent;
			out += boost::json::serialize(boost::json::value(member.key()));
			out += ": ";
			format_value(member.value(), depth + 1, out);
			out += ++i < object.size() ? ",\n" : "\n";
		}
		out += closing_indent + "}";
		return;
	}

	if (value.is_array()) {
		const boost::json::array &array = value.get_array();
		if (array.empty()) {
			out += "[]";
			return;
		}

		/* Short lists of names and IDs read best on one line. */
		bool all_scalars = true;
		std::string inline_text = "[";
		for (size_t i = 0; i < array.size() && all_scalars; i++) {
			all_scalars = is_scalar(array[i]);
			inline_text += (i ? ", " : "") + boost::json::serialize(array[i]);
		}
		inline_text += "]";
		if (all_scalars && inline_text.size() + indent.size() <= 80) {
			out += inline_text;
			return;
		}

		out += "[\n";
		for (size_t i = 0; i < array.size(); i++) {
			out += indent;
			format_value(array[i], depth + 1, out);
			out += i + 1 < array.size() ? ",\n" : "\n";
		}
		out += closing_indent + "]";
		return;
	}

	out += boost::json::serialize(value);
}

} /* namespace */

result<boost::json::value> parse_json_strict(std::string_view text, std::string_view document_name)
{
	boost::json::basic_parser<DuplicateKeyFinder> checker{boost::json::parse_options{}};
	boost::system::error_code ec;
	const size_t consumed = checker.write_some(false, text.data(), text.size(), ec);

	if (!checker.handler().duplicate_key.empty()) {
		const std::string &pointer = checker.handler().duplicate_pointer;
		return make_error(errc::invalid_argument,
				  "invalid " + std::string(document_name) + " at " +
					  (pointer.empty() ? std::string("/") : pointer) +
					  ": field \"" + checker.handler().duplicate_key +
					  "\" appears twice; keep one");
	}
	if (ec)
		return make_error(errc::invalid_argument,
				  "invalid " + std::string(document_name) + " JSON at " +
					  position_of(text, consumed) + ": " + ec.message());
	const size_t extra = text.find_first_not_of(" \t\r\n", consumed);
	if (extra != std::string_view::npos)
		return make_error(errc::invalid_argument,
				  "invalid " + std::string(document_name) + " JSON at " +
					  position_of(text, extra) +
					  ": text after the end of the document");

	/* The checking pass accepted the text, so a failure here is a bug in pcipass. */
	boost::json::value value = boost::json::parse(boost::json::string_view(text.data(), text.size()), ec);
	if (ec)
		return make_error(errc::internal, "JSON parse failed after validation: " + ec.message());
	return value;
}

std::string format_json(const boost::json::value &value)
{
	std::string out;
	format_value(value, 0, out);
	out += '\n';
	return out;
}

std::string json_pointer_token(std::string_view key)
{
	std::string token;
	for (char c : key) {
		if (c == '~')
			token += "~0";
		else if (c == '/')
			token += "~1";
		else
			token += c;
	}
	return token;
}

} /* namespace pcipass::detail */
