/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The kernel boundary: every read and write pcipass makes goes through Host.
 */

#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include <pcipass/error.hpp>

namespace pcipass {

/*
 * Paths given to a Host are relative to its root and use '/' separators:
 * "sys/bus/pci/devices/0000:01:00.0/driver_override", "proc/modules",
 * "dev/vfio/12". A path that is absolute, empty, or holds an empty, "." or
 * ".." component is rejected with errc::invalid_argument before any I/O.
 */

enum class EntryType {
	file,
	directory,
	symlink,
	other,
};

struct DirEntry {
	std::string name;
	EntryType type = EntryType::other;

	bool operator==(const DirEntry &) const = default;
};

/* A process that holds a file open (for example /dev/vfio/12). */
struct Holder {
	pid_t pid = 0;
	std::string command; /* the process name from proc/PID/comm */

	bool operator==(const Holder &) const = default;
};

/*
 * A directory opened once, so that many reads beneath it need no path
 * building and, on a live host, cost one system call per name.
 */
class Directory
{
public:
	virtual ~Directory() = default;

	/* The path this directory was opened at, relative to the host root. */
	virtual const std::string &path() const = 0;

	/* Entries except "." and "..", in the order the filesystem returns them. */
	virtual result<std::vector<DirEntry>> list() = 0;

	/* The whole content of the file NAME (at most max_size bytes). */
	virtual result<std::string> read(std::string_view name, size_t max_size = 65536) = 0;

	/* The target of the symlink NAME, as stored (usually relative). */
	virtual result<std::string> read_link(std::string_view name) = 0;

	/* The subdirectory NAME; a symlink is followed only when it stays beneath the root. */
	virtual result<std::unique_ptr<Directory>> open(std::string_view name) = 0;

	/*
	 * The subdirectory NAME, as open() gives it, but an implementation may
	 * defer opening it until a call needs its own descriptor, and read its
	 * files through this directory meanwhile. A missing NAME then fails
	 * at the first call on the result, not here.
	 */
	virtual result<std::unique_ptr<Directory>> open_deferred(std::string_view name)
	{
		return open(name);
	}
};

/*
 * The kernel as pcipass sees it. LiveHost is the real machine (or a tree
 * under a root); sim::Host is the simulated kernel.
 *
 * Errors: every call returns the errno of the failed system call in
 * Error::sys_errno with the path; escapes_root when a path or a symlink
 * leads outside the root; invalid_argument for a malformed path.
 *
 * Concurrency: implementations are thread-safe. A write that blocks (some
 * drivers block unbind) blocks only the calling thread; the transaction
 * layer bounds it with a deadline.
 */
class Host
{
public:
	virtual ~Host() = default;

	/* A short description for messages: "live host at '/'" or "simulated kernel". */
	virtual std::string describe() const = 0;

	/* The whole content of a file (at most max_size bytes). */
	virtual result<std::string> read(std::string_view path, size_t max_size = 65536) = 0;

	/* The target of a symlink, as stored. */
	virtual result<std::string> read_link(std::string_view path) = 0;

	/* Entries of a directory except "." and "..". */
	virtual result<std::vector<DirEntry>> list(std::string_view path) = 0;

	/* Opens a directory for repeated reads beneath it. */
	virtual result<std::unique_ptr<Directory>> open_dir(std::string_view path) = 0;

	/*
	 * The path with every symlink resolved, relative to the root
	 * ("sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0"). Errors:
	 * escapes_root when it would leave the root.
	 */
	virtual result<std::string> resolve(std::string_view path) = 0;

	/* Whether the path exists; symlinks are not followed. */
	virtual bool exists(std::string_view path) = 0;

	/*
	 * Writes value to an existing file in one write(2) call, as sysfs
	 * expects. Writes to the host. The kernel's errno comes back unchanged
	 * in Error::sys_errno.
	 */
	virtual result<void> write(std::string_view path, std::string_view value) = 0;

	/*
	 * Loads a kernel module by name (through libkmod on a live host), with
	 * its dependencies. Changes the host. Errors: not_found when no such
	 * module exists, permission_denied without the right to load it.
	 */
	virtual result<void> load_module(std::string_view name) = 0;

	/* The processes that hold the file at path open (scanning proc/PID/fd on a live host). */
	virtual result<std::vector<Holder>> holders(std::string_view path) = 0;

	/*
	 * Whether this process may write to the file at path (access(2) with
	 * W_OK on a live host). Lets a transaction refuse in one line before
	 * its first write instead of failing half way through a group.
	 */
	virtual bool can_write(std::string_view path) = 0;
};

/*
 * Rejects absolute paths, empty paths and components that are empty, "."
 * or "..". Errors: invalid_argument naming the path.
 */
result<void> check_relative_path(std::string_view path) noexcept;

struct LiveHostOptions {
	/* Use openat2(RESOLVE_BENEATH) where the kernel has it; false forces the portable walk. */
	bool use_openat2 = true;
};

/*
 * The real machine, or a kernel-shaped tree beneath root. All I/O goes
 * through openat-family calls beneath a directory descriptor of the root;
 * openat2 with RESOLVE_BENEATH is used where the kernel has it, and a
 * component-by-component walk with O_NOFOLLOW where it does not. A symlink
 * that points outside the root or is absolute gives escapes_root.
 */
class LiveHost final : public Host
{
public:
	/* Errors: not_found or permission_denied when root cannot be opened. */
	static result<std::unique_ptr<LiveHost>> open(const std::string &root = "/",
						      const LiveHostOptions &options = {});

	~LiveHost() override;

	std::string describe() const override;
	result<std::string> read(std::string_view path, size_t max_size = 65536) override;
	result<std::string> read_link(std::string_view path) override;
	result<std::vector<DirEntry>> list(std::string_view path) override;
	result<std::unique_ptr<Directory>> open_dir(std::string_view path) override;
	result<std::string> resolve(std::string_view path) override;
	bool exists(std::string_view path) override;
	result<void> write(std::string_view path, std::string_view value) override;
	result<void> load_module(std::string_view name) override;
	result<std::vector<Holder>> holders(std::string_view path) override;
	bool can_write(std::string_view path) override;

	/* The root directory as given. */
	const std::string &root() const { return root_; }

private:
	LiveHost(std::string root, int root_fd, const LiveHostOptions &options);

	std::string root_;
	int root_fd_ = -1;
	LiveHostOptions options_;
	bool greedy_readdir_ = false;
};

} /* namespace pcipass */
