/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Terminal-safe standard output and error for pcipassctl.
 */

#include <sstream>

#include "escaped_output.hpp"

namespace pcipassctl {

namespace {

/* C0 controls but newline and tab: escaped in both modes. */
bool is_c0_control(unsigned char byte)
{
	return byte < 0x20 && byte != '\n' && byte != '\t';
}

/* Bytes written as they are without looking further; JSON mode keeps DEL too. */
bool is_plain_ascii(unsigned char byte, EscapingBuffer::Mode mode)
{
	const unsigned char end = mode == EscapingBuffer::Mode::text ? 0x7f : 0x80;
	return byte < end && !is_c0_control(byte);
}

/* The length of the UTF-8 sequence that lead starts, or 0 when lead cannot start one (RFC 3629). */
size_t sequence_length(unsigned char lead)
{
	if (lead >= 0xc2 && lead <= 0xdf)
		return 2;
	if (lead >= 0xe0 && lead <= 0xef)
		return 3;
	if (lead >= 0xf0 && lead <= 0xf4)
		return 4;
	return 0;
}

/*
 * Whether byte may follow the bytes in sequence. The second byte has
 * narrower ranges after some leads, which rule out overlong forms,
 * UTF-16 surrogates and code points above U+10FFFF.
 */
bool continues(const std::string &sequence, unsigned char byte)
{
	if (sequence.size() == 1) {
		switch (static_cast<unsigned char>(sequence[0])) {
		case 0xe0:
			return byte >= 0xa0 && byte <= 0xbf;
		case 0xed:
			return byte >= 0x80 && byte <= 0x9f;
		case 0xf0:
			return byte >= 0x90 && byte <= 0xbf;
		case 0xf4:
			return byte >= 0x80 && byte <= 0x8f;
		default:
			break;
		}
	}
	return byte >= 0x80 && byte <= 0xbf;
}

bool is_c1_control(const std::string &sequence)
{
	return sequence.size() == 2 && static_cast<unsigned char>(sequence[0]) == 0xc2 &&
	       static_cast<unsigned char>(sequence[1]) <= 0x9f;
}

} /* namespace */

void EscapingBuffer::set_mode(Mode mode)
{
	(void)finish();
	mode_ = mode;
}

bool EscapingBuffer::finish()
{
	const std::string broken = std::move(pending_);
	pending_.clear();
	return write_invalid(broken);
}

/*
 * Invalid UTF-8 becomes "\xNN" in text, and U+FFFD per byte in JSON, where
 * such bytes can only sit inside strings and would make the document
 * invalid.
 */
bool EscapingBuffer::write_invalid(const std::string &bytes)
{
	if (mode_ == Mode::text)
		return write_escaped(bytes);

	static constexpr char replacement[] = "\xef\xbf\xbd";
	for (size_t i = 0; i < bytes.size(); i++)
		if (target_->sputn(replacement, 3) != 3)
			return false;
	return true;
}

bool EscapingBuffer::write_escaped(unsigned char byte)
{
	static constexpr char digits[] = "0123456789abcdef";
	const char escaped[4] = {'\\', 'x', digits[byte >> 4], digits[byte & 0xf]};
	return target_->sputn(escaped, 4) == 4;
}

bool EscapingBuffer::write_escaped(const std::string &bytes)
{
	for (char c : bytes)
		if (!write_escaped(static_cast<unsigned char>(c)))
			return false;
	return true;
}

bool EscapingBuffer::put(unsigned char byte)
{
	if (!pending_.empty()) {
		if (!continues(pending_, byte)) {
			/* The sequence broke off: its bytes are invalid, and byte starts afresh. */
			if (!finish())
				return false;
			return put(byte);
		}
		pending_ += static_cast<char>(byte);
		if (pending_.size() < pending_length_)
			return true;

		const std::string sequence = std::move(pending_);
		pending_.clear();
		if (mode_ == Mode::text && is_c1_control(sequence))
			return write_escaped(sequence);
		const auto size = static_cast<std::streamsize>(sequence.size());
		return target_->sputn(sequence.data(), size) == size;
	}

	if (is_plain_ascii(byte, mode_))
		return target_->sputc(static_cast<char>(byte)) != traits_type::eof();
	if (byte < 0x80)
		return write_escaped(byte);

	pending_length_ = sequence_length(byte);
	if (pending_length_ == 0)
		return write_invalid(std::string(1, static_cast<char>(byte)));
	pending_ += static_cast<char>(byte);
	return true;
}

EscapingBuffer::int_type EscapingBuffer::overflow(int_type c)
{
	if (traits_type::eq_int_type(c, traits_type::eof()))
		return traits_type::not_eof(c);
	return put(static_cast<unsigned char>(traits_type::to_char_type(c))) ? c : traits_type::eof();
}

std::streamsize EscapingBuffer::xsputn(const char *text, std::streamsize count)
{
	std::streamsize done = 0;
	while (done < count) {
		/* Plain runs go through in one call; other bytes take the slow path. */
		std::streamsize run = 0;
		if (pending_.empty())
			while (done + run < count) {
				const auto byte = static_cast<unsigned char>(text[done + run]);
				if (!is_plain_ascii(byte, mode_))
					break;
				run++;
			}
		if (run > 0) {
			const std::streamsize written = target_->sputn(text + done, run);
			done += written;
			if (written != run)
				return done;
			continue;
		}
		if (!put(static_cast<unsigned char>(text[done])))
			return done;
		done++;
	}
	return done;
}

/* A sequence split across a flush stays pending, so that it is judged whole. */
int EscapingBuffer::sync()
{
	return target_->pubsync();
}

namespace {

std::string escape(std::string_view value, bool backslash)
{
	std::stringbuf escaped;
	EscapingBuffer buffer(&escaped);
	std::ostream stream(&buffer);
	for (char c : value) {
		/* The escapes are plain ASCII, so the buffer passes them through as they are. */
		switch (c) {
		case '\\':
			stream << (backslash ? "\\\\" : "\\");
			break;
		case '\n':
			stream << "\\n";
			break;
		case '\t':
			stream << "\\t";
			break;
		default:
			stream.put(c);
			break;
		}
	}
	(void)buffer.finish();
	return escaped.str();
}

} /* namespace */

std::string escape_text(std::string_view value)
{
	return escape(value, true);
}

std::string escape_message(std::string_view message)
{
	return escape(message, false);
}

EscapedStream::EscapedStream(std::ostream &stream)
	: stream_(stream), original_(stream.rdbuf()), buffer_(original_)
{
	stream_.rdbuf(&buffer_);
}

EscapedStream::~EscapedStream()
{
	(void)buffer_.finish();
	stream_.flush();
	stream_.rdbuf(original_);
}

} /* namespace pcipassctl */
