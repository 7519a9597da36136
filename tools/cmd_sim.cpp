/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * pcipassctl --sim FILE: the simulated kernel loaded from a topology file,
 * and its state written back so that a sequence of commands behaves like a
 * sequence on one host.
 */

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <sys/file.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include <pcipass/testing/sim.hpp>
#include <pcipass/testing/topology.hpp>

#include "commands.hpp"

namespace pcipassctl {

namespace {

/*
 * A symbolic link at FILE is rejected rather than followed or replaced:
 * the rename in save_simulated_host() would put a regular file in place
 * of the link and leave its target stale.
 */
pcipass::result<void> reject_symlink(const std::string &file)
{
	struct stat status;
	if (::lstat(file.c_str(), &status) == 0 && S_ISLNK(status.st_mode))
		return pcipass::make_error(pcipass::errc::invalid_argument,
					   "the simulated state file '" + file +
						   "' is a symbolic link; pass the file it points to",
					   {}, file);
	return pcipass::success();
}

pcipass::result<void> write_all(int fd, const std::string &text, const std::string &path)
{
	size_t done = 0;
	while (done < text.size()) {
		const ssize_t written = ::write(fd, text.data() + done, text.size() - done);
		if (written < 0 && errno == EINTR)
			continue;
		if (written < 0)
			return pcipass::make_sys_error(errno,
						       "cannot write the simulated state to '" + path +
							       "'; check the free space on its file system",
						       {}, path);
		done += static_cast<size_t>(written);
	}
	return pcipass::success();
}

/* Writes text to a new file beside file and returns its name; the caller renames or removes it. */
pcipass::result<std::string> write_temporary(const std::string &file, const std::string &text)
{
	/* mkstemp creates the file with O_EXCL, so a file left by someone else is never reused. */
	std::string temporary = file + ".XXXXXX";
	pcipass::detail::UniqueFd fd(::mkostemp(temporary.data(), O_CLOEXEC));
	if (!fd.valid())
		return pcipass::make_sys_error(errno,
					       "cannot create a temporary file beside '" + file +
						       "'; check that its directory is writable",
					       {}, file);

	/* Keep the mode of the file being replaced; mkstemp creates 0600. */
	struct stat status;
	pcipass::result<void> written = pcipass::success();
	if (::stat(file.c_str(), &status) == 0 && ::fchmod(fd.get(), status.st_mode & 07777) != 0)
		written = pcipass::make_sys_error(errno, "cannot set the mode of '" + temporary + "'",
						  {}, temporary);
	if (written)
		written = write_all(fd.get(), text, temporary);
	if (written && ::fsync(fd.get()) != 0)
		written = pcipass::make_sys_error(errno,
						  "cannot flush the simulated state to '" + temporary + "'",
						  {}, temporary);
	if (!written) {
		(void)::unlink(temporary.c_str());
		return written.error();
	}
	return temporary;
}

/* Makes the rename durable; a failure here leaves the new state in place, so it is ignored. */
void sync_directory(const std::string &file)
{
	std::string directory = std::filesystem::path(file).parent_path().string();
	if (directory.empty())
		directory = ".";
	pcipass::detail::UniqueFd fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	if (fd.valid())
		(void)::fsync(fd.get());
}

} /* namespace */

pcipass::result<pcipass::detail::UniqueFd> lock_simulated_file(const std::string &file,
								std::chrono::milliseconds timeout)
{
	const std::string lock_path = file + ".lock";
	pcipass::detail::UniqueFd fd(
		::open(lock_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644));
	if (!fd.valid())
		return pcipass::make_sys_error(errno,
					       "cannot open the lock file '" + lock_path +
						       "' of the simulated state; check that its "
						       "directory is writable and that it is not a "
						       "symbolic link",
					       {}, lock_path);

	/* flock has no timeout, so poll it like the lock of the state directory. */
	const auto until = std::chrono::steady_clock::now() + timeout;
	while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			return pcipass::make_sys_error(errno, "cannot lock '" + lock_path + "'", {},
						       lock_path);
		if (std::chrono::steady_clock::now() >= until)
			return pcipass::make_error(
				pcipass::errc::lock_failed,
				"the lock '" + lock_path +
					"' of the simulated state was held by another process for more "
					"than " + std::to_string(timeout.count()) +
					" ms; wait for that run to finish, or raise --lock-timeout",
				{}, lock_path);
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	}
	return fd;
}

pcipass::result<std::unique_ptr<pcipass::Host>> open_simulated_host(const std::string &file)
{
	BOOST_OUTCOME_TRY(reject_symlink(file));

	BOOST_OUTCOME_TRY(auto topology, pcipass::testing::load_topology(file));

	BOOST_OUTCOME_TRY(auto host, pcipass::sim::Host::create(topology));

	return std::unique_ptr<pcipass::Host>(std::move(host));
}

pcipass::result<void> save_simulated_host(pcipass::Host &host, const std::string &file)
{
	auto *simulated = dynamic_cast<pcipass::sim::Host *>(&host);
	if (!simulated)
		return pcipass::make_error(pcipass::errc::internal,
					   "cannot save '" + file + "': the host is " + host.describe() +
						   ", not the simulated kernel",
					   {}, file);

	BOOST_OUTCOME_TRY(reject_symlink(file));

	/* Write beside the file and rename, so an interrupted save leaves the old state whole. */
	BOOST_OUTCOME_TRY(auto temporary,
			  write_temporary(file, pcipass::testing::to_json(simulated->to_topology())));

	if (std::rename(temporary.c_str(), file.c_str()) != 0) {
		const int sys_errno = errno;
		(void)::unlink(temporary.c_str());
		return pcipass::make_sys_error(sys_errno,
					       "cannot replace '" + file + "' with the new simulated state",
					       {}, file);
	}
	sync_directory(file);
	return pcipass::success();
}

} /* namespace pcipassctl */
