/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Terminal-safe standard output and error for pcipassctl.
 */

#pragma once

#include <ostream>
#include <streambuf>

namespace pcipassctl {

/*
 * A stream buffer that forwards to another and prints every control byte
 * below 0x20 except newline and tab as "\xNN". Names that pcipassctl
 * prints come from trees under --root, from /proc/mounts and from
 * topology files, so they may contain terminal escape sequences or
 * carriage returns that would rewrite the user's screen. JSON output passes
 * unchanged, because Boost.JSON already escapes those bytes in strings.
 */
class EscapingBuffer final : public std::streambuf
{
public:
	explicit EscapingBuffer(std::streambuf *target) : target_(target) {}

protected:
	int_type overflow(int_type c) override;
	std::streamsize xsputn(const char *text, std::streamsize count) override;
	int sync() override;

private:
	bool put(char c);

	std::streambuf *target_;
};

/* Routes a stream through an EscapingBuffer until destroyed. */
class EscapedStream
{
public:
	explicit EscapedStream(std::ostream &stream);
	~EscapedStream();
	EscapedStream(const EscapedStream &) = delete;
	EscapedStream &operator=(const EscapedStream &) = delete;

private:
	std::ostream &stream_;
	std::streambuf *original_;
	EscapingBuffer buffer_;
};

} /* namespace pcipassctl */
