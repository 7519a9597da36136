/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * LiveHost: real I/O beneath a root directory, never outside it.
 */

#include <pcipass/host.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <deque>
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <libkmod.h>

#include "config.h"
#include "sysfs_parse.hpp"
#include "unique_fd.hpp"

#if HAVE_OPENAT2_H
#include <linux/openat2.h>
#endif

namespace pcipass {

using detail::quote_content;
using detail::quote_path;
using detail::UniqueFd;

namespace {

/* Symlinks followed in one resolution before giving up, as the kernel's MAXSYMLINKS. */
constexpr int max_symlinks = 40;

/* Sizes of a linux_dirent64 record: the fixed part and the largest with NAME_MAX. */
constexpr size_t dirent_header_size = offsetof(struct dirent64, d_name);
constexpr size_t max_dirent_size = (dirent_header_size + NAME_MAX + 1 + 7) & ~size_t(7);

/* What a failed call did, which decides the hint for a permission error. */
enum class Access { read, write, load_module };

Access access_of(int open_flags)
{
	return (open_flags & O_ACCMODE) == O_RDONLY ? Access::read : Access::write;
}

std::string hint_for(int sys_errno, Access access)
{
	switch (sys_errno) {
	case EACCES:
	case EPERM:
		if (access == Access::write)
			return "; run as root (writing sysfs needs CAP_SYS_ADMIN)";
		if (access == Access::load_module)
			return "; run as root (loading a module needs CAP_SYS_MODULE)";
		return "; run as root, or check the permissions of the file and of the "
		       "directories above it (some sysfs attributes are readable only by root)";
	case EXDEV:
	case ELOOP:
		return "; the path leads outside the host root through a symlink, so the tree "
		       "is not trusted: check it for absolute or escaping links";
	default:
		return "";
	}
}

Error io_error(int sys_errno, std::string_view what, std::string_view path,
	       Access access = Access::read)
{
	Error error = make_sys_error(sys_errno,
				     std::string(what) + " " + quote_path(path) + " failed: " +
					     std::strerror(sys_errno) + hint_for(sys_errno, access),
				     {}, std::string(path));
	if (sys_errno == EXDEV || sys_errno == ELOOP)
		error.code = errc::escapes_root;
	return error;
}

Error escape_error(std::string_view path, std::string_view detail)
{
	std::string message = "'";
	message += path;
	message += "' ";
	message += detail;
	message += ", which leads outside the host root; pcipass does not follow it";
	return make_error(errc::escapes_root, std::move(message), {}, std::string(path));
}

std::vector<std::string_view> split_components(std::string_view path)
{
	/* "a//b/" gives "a", "", "b", "": empty components stay visible to the checks. */
	std::vector<std::string_view> components;
	size_t start = 0;
	for (;;) {
		const size_t slash = path.find('/', start);
		components.push_back(path.substr(start, slash - start));
		if (slash == std::string_view::npos)
			break;
		start = slash + 1;
	}
	return components;
}

std::string join(const std::vector<std::string> &components)
{
	std::string path;
	for (const std::string &component : components) {
		if (!path.empty())
			path += '/';
		path += component;
	}
	return path;
}

/* Names given to Directory are single components. */
result<void> check_name(std::string_view name)
{
	if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos ||
	    name.find('\0') != std::string_view::npos)
		return make_error(errc::invalid_argument,
				  "invalid file name " + quote_content(name) +
					  ": expected one path component without '/'");
	return success();
}

/*
 * A file's path for error messages, joined only when an error needs it, so
 * that the reads that succeed build no path.
 */
struct ErrorPath {
	std::string_view directory;
	std::string_view name; /* empty when directory is the whole path */

	std::string str() const
	{
		std::string path(directory);
		if (!name.empty()) {
			path += '/';
			path += name;
		}
		return path;
	}
};

/* A single path component as a NUL-terminated string, without allocating. */
class ComponentName
{
public:
	/* name must have passed check_name(), so it fits. */
	explicit ComponentName(std::string_view name)
	{
		name.copy(buffer_.data(), name.size());
		buffer_[name.size()] = '\0';
	}

	const char *c_str() const { return buffer_.data(); }

private:
	std::array<char, NAME_MAX + 1> buffer_;
};

result<std::string> read_fd(int fd, size_t max_size, const ErrorPath &path)
{
	/*
	 * Sysfs returns a whole attribute in one read, and a regular file
	 * returns less than requested only at its end, so a short read ends
	 * the loop without a second system call. The first read goes to the
	 * stack, so that the string is allocated once, at its final size.
	 */
	std::array<char, 4096> first;
	ssize_t n;
	do
		n = ::read(fd, first.data(), std::min(max_size, first.size()));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return io_error(errno, "reading", path.str());

	std::string content(first.data(), static_cast<size_t>(n));
	size_t chunk = first.size();
	if (content.size() < std::min(max_size, first.size()))
		return content;

	while (content.size() < max_size) {
		chunk = std::min(max_size - content.size(), chunk * 2);
		const size_t offset = content.size();
		content.resize(offset + chunk);
		n = ::read(fd, content.data() + offset, chunk);
		if (n < 0) {
			const int sys_errno = errno;
			content.resize(offset);
			if (sys_errno == EINTR)
				continue;
			return io_error(sys_errno, "reading", path.str());
		}
		content.resize(offset + static_cast<size_t>(n));
		if (static_cast<size_t>(n) < chunk)
			break;
	}
	return content;
}

result<std::string> read_link_at(int dirfd, const char *name, const ErrorPath &path)
{
	std::array<char, 4096> buffer;
	const ssize_t n = ::readlinkat(dirfd, name, buffer.data(), buffer.size());
	if (n < 0)
		return io_error(errno, "reading the link", path.str());
	if (static_cast<size_t>(n) == buffer.size())
		return make_error(errc::malformed_attribute,
				  "the link " + quote_path(path.str()) + " is longer than 4096 bytes", {},
				  path.str());
	return std::string(buffer.data(), static_cast<size_t>(n));
}

EntryType entry_type(unsigned char d_type)
{
	switch (d_type) {
	case DT_REG: return EntryType::file;
	case DT_DIR: return EntryType::directory;
	case DT_LNK: return EntryType::symlink;
	default: return EntryType::other;
	}
}

result<std::vector<DirEntry>> list_fd(int fd, bool greedy_readdir, std::string_view path)
{
	std::vector<DirEntry> entries;
	alignas(struct dirent64) std::array<char, 32768> buffer;

	for (;;) {
		const long n = ::syscall(SYS_getdents64, fd, buffer.data(), buffer.size());
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return io_error(errno, "listing", path);
		}
		if (n == 0)
			break;

		for (long offset = 0; offset < n;) {
			const auto *entry = reinterpret_cast<const struct dirent64 *>(buffer.data() + offset);
			offset += entry->d_reclen;
			const std::string_view name = entry->d_name;
			if (name == "." || name == "..")
				continue;
			entries.push_back({std::string(name), entry_type(entry->d_type)});
		}

		/*
		 * Sysfs, tmpfs and ext4 fill the buffer until the next record
		 * does not fit, so room left for the largest record means the
		 * directory has ended and the second getdents64 call that would
		 * return 0 can be skipped.
		 */
		if (greedy_readdir && buffer.size() - static_cast<size_t>(n) >= max_dirent_size)
			break;
	}

	return entries;
}

class LiveDirectory final : public Directory
{
public:
	LiveDirectory(UniqueFd fd, std::string path, int root_fd, bool use_openat2,
		      bool greedy_readdir)
		: fd_(std::make_shared<UniqueFd>(std::move(fd))), path_(std::move(path)),
		  root_fd_(root_fd), use_openat2_(use_openat2), greedy_readdir_(greedy_readdir)
	{
	}

	/* The subdirectory name of parent, opened only when a call needs its own descriptor. */
	LiveDirectory(std::shared_ptr<UniqueFd> parent, std::string_view name, std::string path,
		      int root_fd, bool use_openat2, bool greedy_readdir)
		: parent_(std::move(parent)), name_(name), path_(std::move(path)), root_fd_(root_fd),
		  use_openat2_(use_openat2), greedy_readdir_(greedy_readdir)
	{
	}

	const std::string &path() const override { return path_; }

	result<std::vector<DirEntry>> list() override
	{
		BOOST_OUTCOME_TRY(auto fd, descriptor());

		/* getdents64 continues from the descriptor's position: start over. */
		if (listed_ && ::lseek(fd, 0, SEEK_SET) < 0)
			return io_error(errno, "rewinding", path_);
		listed_ = true;
		return list_fd(fd, greedy_readdir_, path_);
	}

	result<std::string> read(std::string_view name, size_t max_size) override
	{
		BOOST_OUTCOME_TRY(check_name(name));
		const ComponentName file(name);
		const ErrorPath path{path_, name};

		/*
		 * Attributes are regular files, never links: O_NOFOLLOW keeps reads
		 * beneath. O_NONBLOCK, which sysfs and regular files ignore, keeps a
		 * FIFO planted in a tree from blocking the open or the read.
		 */
		constexpr int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
		if (!fd_) {
			auto opened = open_through_parent(name, flags, path);
			if (!opened)
				return opened.error();
			if (opened.value().valid())
				return read_fd(opened.value().get(), max_size, path);
		}

		BOOST_OUTCOME_TRY(auto directory_fd, descriptor());
		UniqueFd fd(::openat(directory_fd, file.c_str(), flags));
		if (!fd.valid())
			return io_error(errno, "opening", path.str());

		return read_fd(fd.get(), max_size, path);
	}

	result<std::string> read_link(std::string_view name) override
	{
		BOOST_OUTCOME_TRY(check_name(name));
		const ErrorPath path{path_, name};

		/*
		 * readlinkat() would follow name_ if it were a link, so it goes
		 * through the parent only after openat2 found name_ a directory.
		 * NOTE: when a tree's owner swaps that directory for a link between
		 * the two calls, the link text comes from the link's target. That
		 * text still passes the confinement check that every link gets.
		 */
		if (!fd_ && name_verified_) {
			ChildPath child(name_, name);
			return read_link_at(parent_->get(), child.c_str(), path);
		}

		const ComponentName file(name);
		BOOST_OUTCOME_TRY(auto fd, descriptor());
		return read_link_at(fd, file.c_str(), path);
	}

	result<std::unique_ptr<Directory>> open(std::string_view name) override;
	result<std::unique_ptr<Directory>> open_deferred(std::string_view name) override;

private:
	/* "CHILD/NAME" as a NUL-terminated string, without allocating. */
	class ChildPath
	{
	public:
		/* Both names must have passed check_name(), so they fit. */
		ChildPath(std::string_view child, std::string_view name)
		{
			child.copy(buffer_.data(), child.size());
			buffer_[child.size()] = '/';
			name.copy(buffer_.data() + child.size() + 1, name.size());
			buffer_[child.size() + 1 + name.size()] = '\0';
		}

		const char *c_str() const { return buffer_.data(); }

	private:
		std::array<char, 2 * (NAME_MAX + 1)> buffer_;
	};

	/* This directory's descriptor, opening it first when it was deferred. */
	result<int> descriptor();

	/*
	 * Opens name_/name relative to the parent, rejecting any link on the
	 * way. An invalid descriptor means the caller must open this
	 * directory and read the usual way, because openat2 is missing or
	 * because name_ or name is a link, which the usual way follows or
	 * rejects as before.
	 */
	result<UniqueFd> open_through_parent(std::string_view name, int flags, const ErrorPath &path);

	/* Set once this directory is open; a deferred one opens on first need. */
	std::shared_ptr<UniqueFd> fd_;
	/* The parent and this directory's name in it while deferred. */
	std::shared_ptr<UniqueFd> parent_;
	std::string name_;
	/* openat2 resolved name_ as a directory, not a link. */
	bool name_verified_ = false;
	std::string path_;
	int root_fd_;
	bool use_openat2_;
	bool greedy_readdir_;
	bool listed_ = false;
};

/* Set when openat2 failed with ENOSYS: kernels before 5.6, valgrind 3.19, seccomp filters. */
std::atomic<bool> openat2_unavailable{false};

} /* namespace */

result<void> check_relative_path(std::string_view path) noexcept
{
	auto invalid = [&](std::string_view why) -> Error {
		return make_error(errc::invalid_argument,
				  "invalid host path " + quote_path(path) + ": " + std::string(why),
				  {}, std::string(path));
	};

	if (path.empty())
		return invalid("it is empty");
	if (path.front() == '/')
		return invalid("it must be relative to the host root, without a leading '/'");
	if (path.find('\0') != std::string_view::npos)
		return invalid("it contains a NUL byte");

	for (std::string_view component : split_components(path)) {
		if (component.empty())
			return invalid("it has an empty component");
		if (component == "." || component == "..")
			return invalid("'.' and '..' components are not allowed");
	}

	return success();
}

namespace {

/*
 * Resolution beneath the root. With openat2 the kernel enforces it; without,
 * a walk one component at a time reads each link, refuses absolute targets
 * and ".." above the root, then opens every component with O_NOFOLLOW so a
 * link swapped in after the check fails instead of being followed.
 */
class Resolver
{
public:
	Resolver(int root_fd, bool use_openat2) : root_fd_(root_fd), use_openat2_(use_openat2) {}

	/* The symlink-free path relative to the root. follow_last: resolve a final link too. */
	result<std::string> resolve(std::string_view path, bool follow_last) const
	{
		std::deque<std::string> pending;
		for (std::string_view component : split_components(path))
			pending.emplace_back(component);

		std::vector<std::string> resolved;
		int links = 0;
		while (!pending.empty()) {
			std::string component = std::move(pending.front());
			pending.pop_front();

			if (component.empty() || component == ".")
				continue;
			if (component == "..") {
				if (resolved.empty())
					return escape_error(path, "climbs above the root with '..'");
				resolved.pop_back();
				continue;
			}

			resolved.push_back(component);
			if (pending.empty() && !follow_last)
				break;

			const std::string candidate = join(resolved);
			std::array<char, 4096> target;
			const ssize_t n = ::readlinkat(root_fd_, candidate.c_str(), target.data(),
						       target.size());
			if (n < 0) {
				if (errno == EINVAL)
					continue; /* not a link */
				if (errno == ENOENT && pending.empty())
					break; /* the caller's open reports the missing file */
				return io_error(errno, "resolving", path);
			}
			if (static_cast<size_t>(n) == target.size())
				return io_error(ENAMETOOLONG, "resolving", path);
			if (++links > max_symlinks)
				return io_error(ELOOP, "resolving", path);

			const std::string_view link(target.data(), static_cast<size_t>(n));
			if (link.empty() || link.front() == '/')
				return escape_error(path, "goes through the absolute link " +
								  quote_path(link));

			resolved.pop_back();
			const auto link_components = split_components(link);
			for (auto it = link_components.rbegin(); it != link_components.rend(); ++it)
				pending.emplace_front(*it);
		}

		if (resolved.empty())
			return std::string(".");
		return join(resolved);
	}

	/* Opens path beneath the root with flags (O_CLOEXEC is added). */
	result<UniqueFd> open(std::string_view path, int flags) const
	{
		const std::string file(path);

#if HAVE_OPENAT2_H
		if (use_openat2_) {
			struct open_how how = {};
			how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
			how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
			const long fd = ::syscall(SYS_openat2, root_fd_, file.c_str(), &how, sizeof(how));
			if (fd >= 0)
				return UniqueFd(static_cast<int>(fd));
			if (errno != ENOSYS)
				return io_error(errno, "opening", path, access_of(flags));
			/* Kernels before 5.6 lack openat2: fall through to the walk. */
		}
#endif

		BOOST_OUTCOME_TRY(auto resolved, resolve(path, true));
		return open_components(resolved, flags, path);
	}

	/* The directory holding the last component, and that component's name. */
	result<std::pair<UniqueFd, std::string>> open_parent(std::string_view path) const
	{
		const size_t slash = path.rfind('/');
		if (slash == std::string_view::npos) {
			UniqueFd fd(::fcntl(root_fd_, F_DUPFD_CLOEXEC, 0));
			if (!fd.valid())
				return io_error(errno, "opening the root for", path);
			return std::pair(std::move(fd), std::string(path));
		}

		BOOST_OUTCOME_TRY(auto parent, open(path.substr(0, slash), O_PATH | O_DIRECTORY));
		return std::pair(std::move(parent), std::string(path.substr(slash + 1)));
	}

private:
	result<UniqueFd> open_components(const std::string &resolved, int flags,
					 std::string_view path) const
	{
		UniqueFd current(::fcntl(root_fd_, F_DUPFD_CLOEXEC, 0));
		if (!current.valid())
			return io_error(errno, "opening the root for", path);
		if (resolved == ".")
			return current;

		const auto components = split_components(resolved);
		for (size_t i = 0; i < components.size(); ++i) {
			const bool last = i + 1 == components.size();
			const std::string name(components[i]);
			const int component_flags =
				last ? flags | O_NOFOLLOW : O_PATH | O_DIRECTORY | O_NOFOLLOW;
			UniqueFd next(::openat(current.get(), name.c_str(), component_flags | O_CLOEXEC));
			if (!next.valid())
				return io_error(errno, "opening", path,
						last ? access_of(flags) : Access::read);
			current = std::move(next);
		}
		return current;
	}

	int root_fd_;
	bool use_openat2_;
};

/* The subdirectory name of parent_fd: a real one opens relative to it, a link through the root. */
result<UniqueFd> open_subdirectory(int parent_fd, const char *name, std::string_view path, int root_fd,
				   bool use_openat2)
{
	UniqueFd fd(::openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
	if (fd.valid())
		return fd;
	if (errno != ELOOP && errno != ENOTDIR)
		return io_error(errno, "opening", path);

	BOOST_OUTCOME_TRY(check_relative_path(path));
	Resolver resolver(root_fd, use_openat2);
	return resolver.open(path, O_RDONLY | O_DIRECTORY);
}

result<std::unique_ptr<Directory>> open_directory(int root_fd, bool use_openat2,
						  bool greedy_readdir, std::string_view path)
{
	BOOST_OUTCOME_TRY(check_relative_path(path));

	Resolver resolver(root_fd, use_openat2);
	BOOST_OUTCOME_TRY(auto fd, resolver.open(path, O_RDONLY | O_DIRECTORY));
	return std::unique_ptr<Directory>(
		new LiveDirectory(std::move(fd), std::string(path), root_fd, use_openat2,
				  greedy_readdir));
}

} /* namespace */

result<std::unique_ptr<Directory>> LiveDirectory::open(std::string_view name)
{
	BOOST_OUTCOME_TRY(check_name(name));
	const ComponentName file(name);
	std::string path = ErrorPath{path_, name}.str();

	BOOST_OUTCOME_TRY(auto directory_fd, descriptor());
	BOOST_OUTCOME_TRY(auto fd, open_subdirectory(directory_fd, file.c_str(), path, root_fd_,
						     use_openat2_));
	return std::unique_ptr<Directory>(new LiveDirectory(std::move(fd), std::move(path), root_fd_,
							    use_openat2_, greedy_readdir_));
}

result<std::unique_ptr<Directory>> LiveDirectory::open_deferred(std::string_view name)
{
	if (!use_openat2_ || !HAVE_OPENAT2_H || openat2_unavailable.load(std::memory_order_relaxed))
		return open(name);

	BOOST_OUTCOME_TRY(check_name(name));
	BOOST_OUTCOME_TRY(descriptor());
	return std::unique_ptr<Directory>(new LiveDirectory(fd_, name, ErrorPath{path_, name}.str(),
							    root_fd_, use_openat2_, greedy_readdir_));
}

result<int> LiveDirectory::descriptor()
{
	if (fd_)
		return fd_->get();

	const ComponentName name(name_);
	BOOST_OUTCOME_TRY(auto fd, open_subdirectory(parent_->get(), name.c_str(), path_, root_fd_,
						     use_openat2_));
	fd_ = std::make_shared<UniqueFd>(std::move(fd));
	parent_.reset();
	return fd_->get();
}

result<UniqueFd> LiveDirectory::open_through_parent([[maybe_unused]] std::string_view name,
						    [[maybe_unused]] int flags,
						    [[maybe_unused]] const ErrorPath &path)
{
#if HAVE_OPENAT2_H
	if (!openat2_unavailable.load(std::memory_order_relaxed)) {
		const ChildPath child(name_, name);
		struct open_how how = {};
		how.flags = static_cast<uint64_t>(flags);
		how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
		const long fd = ::syscall(SYS_openat2, parent_->get(), child.c_str(), &how, sizeof(how));
		if (fd >= 0) {
			name_verified_ = true;
			return UniqueFd(static_cast<int>(fd));
		}

		/* A missing file fails as the usual open would; a missing directory fails on its listing. */
		if (errno == ENOENT)
			return io_error(errno, "opening", path.str());
		if (errno == ENOSYS)
			openat2_unavailable.store(true, std::memory_order_relaxed);
	}
#endif
	return UniqueFd();
}

LiveHost::LiveHost(std::string root, int root_fd, const LiveHostOptions &options)
	: root_(std::move(root)), root_fd_(root_fd), options_(options)
{
	/*
	 * Only filesystems known to fill getdents64 buffers greedily may skip
	 * the final empty call; anything else (NFS, FUSE) lists to the end.
	 */
	struct statfs fs;
	if (::fstatfs(root_fd_, &fs) == 0)
		greedy_readdir_ = fs.f_type == TMPFS_MAGIC || fs.f_type == EXT4_SUPER_MAGIC;

	UniqueFd sys(::openat(root_fd_, "sys", O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
	if (sys.valid() && ::fstatfs(sys.get(), &fs) == 0)
		greedy_readdir_ = fs.f_type == SYSFS_MAGIC || fs.f_type == TMPFS_MAGIC ||
				  fs.f_type == EXT4_SUPER_MAGIC;
}

LiveHost::~LiveHost()
{
	UniqueFd owned(root_fd_);
}

result<std::unique_ptr<LiveHost>> LiveHost::open(const std::string &root,
						 const LiveHostOptions &options)
{
	if (root.empty())
		return make_error(errc::invalid_argument,
				  "the host root is empty: give a directory such as '/'");

	const int fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		Error error = make_sys_error(errno,
					     "cannot open the host root " + quote_path(root) + ": " +
						     std::strerror(errno) +
						     "; give an existing directory with --root",
					     {}, root);
		return error;
	}

	return std::unique_ptr<LiveHost>(new LiveHost(root, fd, options));
}

std::string LiveHost::describe() const
{
	return "live host at " + quote_path(root_);
}

result<std::string> LiveHost::read(std::string_view path, size_t max_size)
{
	BOOST_OUTCOME_TRY(check_relative_path(path));

	Resolver resolver(root_fd_, options_.use_openat2);
	/* O_NONBLOCK: as in LiveDirectory::read, a FIFO must not block. */
	BOOST_OUTCOME_TRY(auto fd, resolver.open(path, O_RDONLY | O_NONBLOCK));
	return read_fd(fd.get(), max_size, ErrorPath{path, {}});
}

result<std::string> LiveHost::read_link(std::string_view path)
{
	BOOST_OUTCOME_TRY(check_relative_path(path));

	Resolver resolver(root_fd_, options_.use_openat2);
	BOOST_OUTCOME_TRY(auto parent, resolver.open_parent(path));
	return read_link_at(parent.first.get(), parent.second.c_str(), ErrorPath{path, {}});
}

result<std::vector<DirEntry>> LiveHost::list(std::string_view path)
{
	BOOST_OUTCOME_TRY(auto directory, open_dir(path));
	return directory->list();
}

result<std::unique_ptr<Directory>> LiveHost::open_dir(std::string_view path)
{
	return open_directory(root_fd_, options_.use_openat2, greedy_readdir_, path);
}

result<std::string> LiveHost::resolve(std::string_view path)
{
	BOOST_OUTCOME_TRY(check_relative_path(path));

	Resolver resolver(root_fd_, options_.use_openat2);
	BOOST_OUTCOME_TRY(auto resolved, resolver.resolve(path, true));

	/* The walk tolerates a missing last component; resolve() promises an existing path. */
	struct stat st;
	if (::fstatat(root_fd_, resolved.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
		return io_error(errno, "resolving", path);
	return resolved;
}

bool LiveHost::exists(std::string_view path)
{
	if (!check_relative_path(path))
		return false;

	Resolver resolver(root_fd_, options_.use_openat2);
	auto parent = resolver.open_parent(path);
	if (!parent)
		return false;

	struct stat st;
	return ::fstatat(parent.value().first.get(), parent.value().second.c_str(), &st,
			 AT_SYMLINK_NOFOLLOW) == 0;
}

result<void> LiveHost::write(std::string_view path, std::string_view value)
{
	BOOST_OUTCOME_TRY(check_relative_path(path));

	/* Never O_CREAT: every file pcipass writes is one the kernel made. */
	Resolver resolver(root_fd_, options_.use_openat2);
	BOOST_OUTCOME_TRY(auto fd, resolver.open(path, O_WRONLY | O_TRUNC));

	for (;;) {
		const ssize_t n = ::write(fd.get(), value.data(), value.size());
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return io_error(errno, "writing " + quote_content(value) + " to",
					path, Access::write);
		if (static_cast<size_t>(n) != value.size())
			return make_error(errc::io_error,
					  "short write to " + quote_path(path) + ": " +
						  std::to_string(n) + " of " +
						  std::to_string(value.size()) + " bytes",
					  {}, std::string(path));
		return success();
	}
}

result<void> LiveHost::load_module(std::string_view name)
{
	/* libkmod reads /lib/modules of the running kernel; a tree under another root has none. */
	if (root_ != "/")
		return make_error(errc::unsupported,
				  "cannot load module " + quote_content(name) + " under the root " +
					  quote_path(root_) + ": modules load only on the running host ('/')");

	struct kmod_ctx *raw_ctx = kmod_new(nullptr, nullptr);
	if (raw_ctx == nullptr)
		return make_sys_error(ENOMEM, "cannot create a libkmod context to load " +
						      quote_content(name));
	std::unique_ptr<struct kmod_ctx, decltype(&kmod_unref)> ctx(raw_ctx, kmod_unref);

	struct kmod_list *raw_list = nullptr;
	const std::string module(name);
	int ret = kmod_module_new_from_lookup(ctx.get(), module.c_str(), &raw_list);
	std::unique_ptr<struct kmod_list, decltype(&kmod_module_unref_list)> list(
		raw_list, kmod_module_unref_list);
	if (ret < 0)
		return make_sys_error(-ret, "looking up module " + quote_content(module) + " failed: " +
						    std::strerror(-ret));
	if (list == nullptr)
		return make_error(errc::not_found,
				  "no kernel module named " + quote_content(module) +
					  " for the running kernel; install the kernel's modules package");

	struct kmod_list *entry;
	kmod_list_foreach(entry, list.get())
	{
		std::unique_ptr<struct kmod_module, decltype(&kmod_module_unref)> mod(
			kmod_module_get_module(entry), kmod_module_unref);
		ret = kmod_module_probe_insert_module(mod.get(), KMOD_PROBE_APPLY_BLACKLIST, nullptr,
						      nullptr, nullptr, nullptr);
		if (ret < 0)
			return make_sys_error(-ret, "loading module " + quote_content(module) + " failed: " +
							    std::strerror(-ret) +
							    hint_for(-ret, Access::load_module));
		if (ret > 0)
			return make_error(errc::permission_denied,
					  "module " + quote_content(module) +
						  " is blacklisted; remove it from the modprobe "
						  "blacklist to load it");
	}

	return success();
}

result<std::vector<Holder>> LiveHost::holders(std::string_view path)
{
	BOOST_OUTCOME_TRY(check_relative_path(path));

	/* The kernel shows open files as absolute links in proc/PID/fd. */
	std::string target = "/";
	target += path;
	std::vector<Holder> holders;

	BOOST_OUTCOME_TRY(auto processes, list("proc"));
	for (const DirEntry &process : processes) {
		pid_t pid = 0;
		const char *end = process.name.data() + process.name.size();
		if (std::from_chars(process.name.data(), end, pid).ptr != end || pid <= 0)
			continue;

		/*
		 * Processes come and go, and without root other users' fd
		 * directories are unreadable: skip those, as lsof does.
		 */
		auto fds = open_dir("proc/" + process.name + "/fd");
		if (!fds)
			continue;
		auto entries = fds.value()->list();
		if (!entries)
			continue;

		for (const DirEntry &fd : entries.value()) {
			auto link = fds.value()->read_link(fd.name);
			if (!link || link.value() != target)
				continue;

			auto comm = read("proc/" + process.name + "/comm", 256);
			std::string command = comm ? comm.value() : std::string();
			if (!command.empty() && command.back() == '\n')
				command.pop_back();
			holders.push_back({pid, std::move(command)});
			break;
		}
	}

	return holders;
}

bool LiveHost::can_write(std::string_view path)
{
	if (!check_relative_path(path))
		return false;

	Resolver resolver(root_fd_, options_.use_openat2);
	auto parent = resolver.open_parent(path);
	if (!parent)
		return false;

	return ::faccessat(parent.value().first.get(), parent.value().second.c_str(), W_OK,
			   AT_EACCESS | AT_SYMLINK_NOFOLLOW) == 0;
}

} /* namespace pcipass */
