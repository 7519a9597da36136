/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * An owned file descriptor, closed on destruction.
 */

#pragma once

#include <unistd.h>
#include <utility>

namespace pcipass::detail {

class UniqueFd
{
public:
	UniqueFd() = default;
	explicit UniqueFd(int fd) : fd_(fd) {}
	UniqueFd(UniqueFd &&other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
	UniqueFd &operator=(UniqueFd &&other) noexcept
	{
		if (this != &other)
			reset(std::exchange(other.fd_, -1));
		return *this;
	}
	UniqueFd(const UniqueFd &) = delete;
	UniqueFd &operator=(const UniqueFd &) = delete;
	~UniqueFd() { reset(); }

	int get() const { return fd_; }
	bool valid() const { return fd_ >= 0; }
	int release() { return std::exchange(fd_, -1); }

	void reset(int fd = -1)
	{
		/* close(2) errors on a read-only or O_PATH descriptor carry no information. */
		if (fd_ >= 0)
			(void)::close(fd_);
		fd_ = fd;
	}

private:
	int fd_ = -1;
};

} /* namespace pcipass::detail */
