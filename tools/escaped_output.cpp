/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Terminal-safe standard output and error for pcipassctl.
 */

#include "escaped_output.hpp"

namespace pcipassctl {

namespace {

/*
 * C0 controls but newline and tab. These are also the bytes that JSON must
 * escape, so JSON output never reaches this path.
 * NOTE: DEL and C1 controls encoded in UTF-8 (0xc2 0x80 to 0xc2 0x9f) pass
 * through unescaped, because "\xNN" in JSON output would make it invalid.
 */
bool needs_escape(unsigned char byte)
{
	return byte < 0x20 && byte != '\n' && byte != '\t';
}

} /* namespace */

bool EscapingBuffer::put(char c)
{
	const auto byte = static_cast<unsigned char>(c);
	if (!needs_escape(byte))
		return target_->sputc(c) != traits_type::eof();

	static constexpr char digits[] = "0123456789abcdef";
	const char escaped[4] = {'\\', 'x', digits[byte >> 4], digits[byte & 0xf]};
	return target_->sputn(escaped, 4) == 4;
}

EscapingBuffer::int_type EscapingBuffer::overflow(int_type c)
{
	if (traits_type::eq_int_type(c, traits_type::eof()))
		return traits_type::not_eof(c);
	return put(traits_type::to_char_type(c)) ? c : traits_type::eof();
}

std::streamsize EscapingBuffer::xsputn(const char *text, std::streamsize count)
{
	std::streamsize done = 0;
	while (done < count) {
		/* Plain runs go through in one call; only control bytes take the slow path. */
		std::streamsize run = 0;
		while (done + run < count) {
			if (needs_escape(static_cast<unsigned char>(text[done + run])))
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
		if (!put(text[done]))
			return done;
		done++;
	}
	return done;
}

int EscapingBuffer::sync()
{
	return target_->pubsync();
}

EscapedStream::EscapedStream(std::ostream &stream)
	: stream_(stream), original_(stream.rdbuf()), buffer_(original_)
{
	stream_.rdbuf(&buffer_);
}

EscapedStream::~EscapedStream()
{
	stream_.flush();
	stream_.rdbuf(original_);
}

} /* namespace pcipassctl */
