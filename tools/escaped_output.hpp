/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Terminal-safe standard output and error for pcipassctl.
 */

#pragma once

#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>

namespace pcipassctl {

/*
 * A stream buffer that forwards to another and prints bytes that could
 * control a terminal as "\xNN". Names that pcipassctl prints come from
 * trees under --root, from /proc/mounts and from topology files, so they
 * may contain terminal escape sequences or carriage returns that would
 * rewrite the user's screen.
 *
 * In text mode it escapes C0 controls except newline and tab, DEL, C1
 * controls encoded in UTF-8 (both bytes of 0xc2 0x80 to 0xc2 0x9f) and
 * every byte that is not part of valid UTF-8. In JSON mode "\xNN" would
 * make the document invalid. There it escapes only the C0 controls, which
 * Boost.JSON already escapes inside strings, and keeps DEL and C1
 * characters, which are valid JSON. Boost.JSON passes invalid UTF-8
 * through unchecked, so each such byte becomes U+FFFD.
 */
class EscapingBuffer final : public std::streambuf
{
public:
	enum class Mode { text, json };

	explicit EscapingBuffer(std::streambuf *target) : target_(target) {}

	void set_mode(Mode mode);
	/* Escapes the bytes of a UTF-8 sequence that the output ended in the middle of. */
	bool finish();

protected:
	int_type overflow(int_type c) override;
	std::streamsize xsputn(const char *text, std::streamsize count) override;
	int sync() override;

private:
	bool put(unsigned char byte);
	bool write_escaped(unsigned char byte);
	bool write_escaped(const std::string &bytes);
	bool write_invalid(const std::string &bytes);

	std::streambuf *target_;
	Mode mode_ = Mode::text;
	/* The start of a multi-byte UTF-8 sequence, held until it is complete or broken. */
	std::string pending_;
	size_t pending_length_ = 0;
};

/*
 * Escapes a value for one field of text output: a newline becomes \n, a
 * tab \t, a backslash \\, and each byte that the text mode of
 * EscapingBuffer escapes becomes \xNN. Text printers pass every value that
 * comes from sysfs, a file or the caller through it, so that such a value
 * can neither forge a line nor pass for an escape that pcipassctl wrote.
 */
std::string escape_text(std::string_view value);

/*
 * Escapes a message that pcipass composed, like escape_text() but keeping
 * backslashes. The library quoted each value in the message already, with
 * its backslashes escaped; escaping them again would double them.
 */
std::string escape_message(std::string_view message);

/* Routes a stream through an EscapingBuffer until destroyed. */
class EscapedStream
{
public:
	explicit EscapedStream(std::ostream &stream);
	~EscapedStream();
	EscapedStream(const EscapedStream &) = delete;
	EscapedStream &operator=(const EscapedStream &) = delete;

	void set_mode(EscapingBuffer::Mode mode) { buffer_.set_mode(mode); }

private:
	std::ostream &stream_;
	std::streambuf *original_;
	EscapingBuffer buffer_;
};

} /* namespace pcipassctl */
