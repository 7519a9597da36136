/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The transaction state directory and the host-wide lock.
 */

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <sys/file.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include "state_dir.hpp"
#include "sysfs_parse.hpp"

namespace pcipass::detail {

namespace {

std::shared_ptr<ProcessState> process_state_for(const std::string &canonical)
{
	static std::mutex registry_mutex;
	static std::map<std::string, std::weak_ptr<ProcessState>> registry;

	std::lock_guard lock(registry_mutex);
	auto &slot = registry[canonical];
	auto state = slot.lock();
	if (!state) {
		state = std::make_shared<ProcessState>();
		slot = state;
	}
	return state;
}

std::string mode_string(mode_t mode)
{
	char text[8];
	std::snprintf(text, sizeof(text), "%04o", static_cast<unsigned>(mode & 07777));
	return text;
}

/* mkdir -p with mode 0700 for every directory it creates. */
result<void> make_private_directories(const std::filesystem::path &path)
{
	std::filesystem::path current;
	for (const auto &part : path) {
		current /= part;
		if (::mkdir(current.c_str(), 0700) == 0) {
			/* The umask may have removed bits, never added any; chmod makes it exact. */
			if (::chmod(current.c_str(), 0700) != 0)
				return make_sys_error(errno, "cannot set mode 0700 on " + quote_path(current.string()),
						      {}, current.string());
			continue;
		}
		if (errno != EEXIST)
			return make_sys_error(errno,
					      "cannot create the state directory " + quote_path(current.string()) +
						      "; choose another with --state-dir",
					      {}, current.string());
	}
	return success();
}

result<void> write_all(int fd, std::string_view content, const std::string &what)
{
	while (!content.empty()) {
		const ssize_t written = ::write(fd, content.data(), content.size());
		if (written < 0) {
			if (errno == EINTR)
				continue;
			return make_sys_error(errno, "cannot write " + what, {}, what);
		}
		content.remove_prefix(static_cast<size_t>(written));
	}
	return success();
}

} /* namespace */

StateDir::StateDir(std::string path, int fd, std::shared_ptr<ProcessState> process)
	: path_(std::move(path)), fd_(fd), process_(std::move(process))
{
}

StateDir::~StateDir()
{
	if (fd_ >= 0)
		::close(fd_);
}

result<std::unique_ptr<StateDir>> StateDir::open(const std::string &path)
{
	if (path.empty())
		return make_error(errc::invalid_argument, "the state directory path is empty");

	std::error_code ec;
	const std::filesystem::path absolute = std::filesystem::absolute(path, ec);
	if (ec)
		return make_sys_error(ec.value(), "cannot resolve the state directory " + quote_path(path), {},
				      path);

	BOOST_OUTCOME_TRY(make_private_directories(absolute));

	struct stat info;
	if (::lstat(absolute.c_str(), &info) != 0)
		return make_sys_error(errno, "cannot inspect the state directory " + quote_path(path), {}, path);

	if (S_ISLNK(info.st_mode) || !S_ISDIR(info.st_mode))
		return make_error(errc::state_directory_unsafe,
				  "the state directory " + quote_path(path) +
					  " is a symlink or not a directory; use a real directory "
					  "(--state-dir)",
				  {}, path);
	if (info.st_uid != ::geteuid())
		return make_error(errc::state_directory_unsafe,
				  "the state directory " + quote_path(path) + " is owned by uid " +
					  std::to_string(info.st_uid) + ", not by this user (uid " +
					  std::to_string(::geteuid()) +
					  "); another user could forge its journal, so choose another "
					  "directory (--state-dir)",
				  {}, path);
	if (info.st_mode & (S_IWGRP | S_IWOTH))
		return make_error(errc::state_directory_unsafe,
				  "the state directory " + quote_path(path) + " has mode " +
					  mode_string(info.st_mode) +
					  ", which lets other users write to it; run chmod 0700 on it or "
					  "choose another directory (--state-dir)",
				  {}, path);

	const int fd = ::open(absolute.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return make_sys_error(errno, "cannot open the state directory " + quote_path(path), {}, path);

	const std::string canonical = std::filesystem::weakly_canonical(absolute, ec).string();
	return std::unique_ptr<StateDir>(
		new StateDir(path, fd, process_state_for(ec ? absolute.string() : canonical)));
}

std::string StateDir::describe(std::string_view name) const
{
	return (std::filesystem::path(path_) / name).string();
}

result<std::optional<std::string>> StateDir::read(std::string_view name) const
{
	const std::string file(name);
	const int fd = ::openat(fd_, file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return std::optional<std::string>();
		return make_sys_error(errno, "cannot open " + quote_path(describe(name)), {}, describe(name));
	}

	std::string content;
	char buffer[65536];
	for (;;) {
		const ssize_t count = ::read(fd, buffer, sizeof(buffer));
		if (count < 0 && errno == EINTR)
			continue;
		if (count < 0) {
			const int saved = errno;
			::close(fd);
			return make_sys_error(saved, "cannot read " + quote_path(describe(name)), {},
					      describe(name));
		}
		if (count == 0)
			break;
		content.append(buffer, static_cast<size_t>(count));
	}
	::close(fd);
	return std::optional<std::string>(std::move(content));
}

result<void> StateDir::write_atomic(std::string_view name, std::string_view content) const
{
	const std::string file(name);
	const std::string temporary = file + ".tmp";

	const int fd = ::openat(fd_, temporary.c_str(),
				O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return make_sys_error(errno, "cannot create " + quote_path(describe(temporary)), {},
				      describe(temporary));

	auto written = write_all(fd, content, describe(temporary));
	if (written && ::fsync(fd) != 0)
		written = make_sys_error(errno, "cannot sync " + quote_path(describe(temporary)), {},
					 describe(temporary));
	::close(fd);
	if (!written)
		return written;

	if (::renameat(fd_, temporary.c_str(), fd_, file.c_str()) != 0)
		return make_sys_error(errno, "cannot replace " + quote_path(describe(name)), {},
				      describe(name));
	if (::fsync(fd_) != 0)
		return make_sys_error(errno, "cannot sync the state directory " + quote_path(path_), {}, path_);
	return success();
}

result<std::string> StateDir::rename_aside(std::string_view name) const
{
	const std::string file(name);
	std::string aside = file + ".corrupt-" + std::to_string(std::time(nullptr));
	for (int suffix = 1; ::faccessat(fd_, aside.c_str(), F_OK, AT_SYMLINK_NOFOLLOW) == 0; suffix++)
		aside = file + ".corrupt-" + std::to_string(std::time(nullptr)) + "-" +
			std::to_string(suffix);

	if (::renameat(fd_, file.c_str(), fd_, aside.c_str()) != 0)
		return make_sys_error(errno, "cannot move " + quote_path(describe(name)) + " aside", {},
				      describe(name));
	(void)::fsync(fd_); /* the rename is done; a lost sync only risks the old name coming back */
	return describe(aside);
}

HostLock::HostLock(std::unique_lock<std::timed_mutex> guard, int fd)
	: guard_(std::move(guard)), fd_(fd)
{
}

HostLock::~HostLock()
{
	if (fd_ >= 0) {
		/* Clearing the pid first so that a reader never blames a process that has let go. */
		if (::ftruncate(fd_, 0) != 0) {
			/* Only the diagnostic pid stays behind; the lock itself goes with close. */
		}
		::flock(fd_, LOCK_UN);
		::close(fd_);
	}
}

result<std::unique_ptr<HostLock>> HostLock::acquire(const StateDir &dir,
						    std::chrono::milliseconds deadline)
{
	const auto until = std::chrono::steady_clock::now() + deadline;
	const std::string lock_path = dir.describe("lock");

	std::unique_lock guard(dir.process().transaction_mutex, std::defer_lock);
	if (!guard.try_lock_until(until))
		return make_error(errc::lock_failed,
				  "another thread of this process held the pcipass lock for more than " +
					  std::to_string(deadline.count()) + " ms; try again later",
				  {}, lock_path);

	const int fd = ::openat(dir.fd(), "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return make_sys_error(errno, "cannot open the lock file " + quote_path(lock_path), {},
				      lock_path);

	for (;;) {
		if (::flock(fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			const int saved = errno;
			::close(fd);
			return make_sys_error(saved, "cannot lock " + quote_path(lock_path), {}, lock_path);
		}
		if (std::chrono::steady_clock::now() >= until) {
			char holder[32] = {};
			const ssize_t count = ::pread(fd, holder, sizeof(holder) - 1, 0);
			::close(fd);
			std::string pid = count > 0 ? std::string(holder, static_cast<size_t>(count)) : std::string();
			while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' '))
				pid.pop_back();
			const std::string held_by = pid.empty() ? std::string() : " by pid " + name_in_message(pid);
			Error error = make_error(errc::lock_failed,
						 "the pcipass lock " + quote_path(lock_path) + " is held" + held_by +
							 " for more than " + std::to_string(deadline.count()) +
							 " ms; wait for that transaction to finish",
						 {}, lock_path);
			error.sys_errno = EWOULDBLOCK;
			return error;
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	}

	const std::string pid = std::to_string(::getpid()) + "\n";
	if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
		/* The pid is only for messages to other waiters; the lock is held either way. */
	}

	return std::unique_ptr<HostLock>(new HostLock(std::move(guard), fd));
}

} /* namespace pcipass::detail */
