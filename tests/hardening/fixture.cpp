/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Helpers for the hardening tests.
 */

#include "fixture.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace hardening {

namespace {

/* Reads both pipes to their end without letting either fill up. */
void drain(int out_fd, int err_fd, std::string &out, std::string &err)
{
	struct pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
	int open_count = 2;
	while (open_count > 0) {
		if (::poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			throw std::runtime_error("poll failed while reading a child's output");
		}
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char buffer[4096];
			const ssize_t count = ::read(fds[i].fd, buffer, sizeof(buffer));
			if (count > 0) {
				(i == 0 ? out : err).append(buffer, static_cast<size_t>(count));
				continue;
			}
			::close(fds[i].fd);
			fds[i].fd = -1;
			open_count--;
		}
	}
}

int wait_status(pid_t pid)
{
	int status = 0;
	while (::waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* In a child: drops every group and switches to the user; exits 125 when it cannot. */
void become(std::pair<uid_t, gid_t> user)
{
	if (::setgroups(0, nullptr) != 0 || ::setresgid(user.second, user.second, user.second) != 0 ||
	    ::setresuid(user.first, user.first, user.first) != 0)
		::_exit(125);
	/* Under valgrind, a log of its own: the parent's log, with this pid, is root's. */
	::setenv("PCIPASS_VALGRIND_LOG_TAG", std::to_string(user.first).c_str(), 1);
}

} /* namespace */

Sandbox::Sandbox(const std::string &topology_name)
{
	std::string pattern = (fs::temp_directory_path() / "pcipass-hardening-XXXXXX").string();
	if (!::mkdtemp(pattern.data()))
		throw std::runtime_error("cannot create a temporary directory");
	base_ = pattern;
	/* Other users (the unprivileged child) must reach the tree. */
	fs::permissions(base_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
				       fs::perms::others_read | fs::perms::others_exec);

	auto loaded = pcipass::testing::load_topology(std::string(PCIPASS_SOURCE_DIR) +
						      "/tests/topologies/" + topology_name + ".json");
	if (!loaded)
		throw std::runtime_error(loaded.error().describe());
	topology_ = std::move(loaded).value();
	auto written = pcipass::testing::materialize(topology_, root());
	if (!written)
		throw std::runtime_error(written.error().describe());

	fs::create_directories(outside() + "/device");
	fs::create_directories(outside() + "/etc");
	write_file(outside() + "/device/driver_override", "(null)\n");
	write_file(outside() + "/device/vendor", "0x10de\n");
	write_file(outside() + "/device/config", std::string(64, '\xff'));
	write_file(outside() + "/bind", "");
	write_file(outside() + "/unbind", "");
	write_file(outside() + "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
}

Sandbox::~Sandbox()
{
	std::error_code ec;
	fs::remove_all(base_, ec);
}

std::string Sandbox::device_dir(const std::string &address) const
{
	auto parsed = pcipass::PciAddress::parse(address);
	if (!parsed)
		throw std::invalid_argument("bad address in a test: " + address);
	return root() + "/" + pcipass::testing::device_sysfs_path(topology_, parsed.value());
}

TreeKernel::TreeKernel(std::unique_ptr<pcipass::LiveHost> live, std::string root)
	: live_(std::move(live)), root_(fs::canonical(root).string())
{
}

std::optional<std::string> TreeKernel::inside(const std::string &relative) const
{
	std::error_code ec;
	const std::string path = fs::canonical(root_ + "/" + relative, ec).string();
	if (ec || !path.starts_with(root_ + "/"))
		return std::nullopt;
	return path;
}

pcipass::result<void> TreeKernel::write(std::string_view path, std::string_view value)
{
	BOOST_OUTCOME_TRY(live_->write(path, value));

	const std::string file(path);
	std::string address(value);
	while (!address.empty() && address.back() == '\n')
		address.pop_back();

	if (file.ends_with("/driver_override") && value == "\n") {
		if (auto real = inside(file))
			write_file(*real, "(null)\n");
		return pcipass::success();
	}

	constexpr std::string_view drivers = "sys/bus/pci/drivers/";
	const bool unbind = file.ends_with("/unbind");
	const bool bind = file.ends_with("/bind");
	if (!file.starts_with(drivers) || (!unbind && !bind))
		return pcipass::success();

	const auto device = inside("sys/bus/pci/devices/" + address);
	const auto driver = inside(fs::path(file).parent_path().string());
	if (!device || !driver)
		return pcipass::success();
	const std::string link = *device + "/driver";
	std::error_code ec;
	fs::remove(link, ec);
	if (bind)
		fs::create_symlink(fs::relative(*driver, *device), link, ec);
	return pcipass::success();
}

TreePicture picture(const std::string &directory)
{
	TreePicture result;
	for (const auto &entry : fs::recursive_directory_iterator(directory)) {
		const std::string name = fs::relative(entry.path(), directory).string();
		struct stat info;
		if (::lstat(entry.path().c_str(), &info) != 0)
			throw std::runtime_error("cannot stat " + entry.path().string());
		const std::string mode = " mode " + std::to_string(info.st_mode & 07777);
		if (entry.is_symlink())
			result[name] = "-> " + fs::read_symlink(entry.path()).string();
		else if (entry.is_directory())
			result[name] = "<dir>" + mode;
		else
			result[name] = read_file(entry.path().string()) + mode;
	}
	return result;
}

std::string differences(const TreePicture &before, const TreePicture &after)
{
	std::string text;
	for (const auto &[name, content] : before) {
		auto found = after.find(name);
		if (found == after.end())
			text += "removed: " + name + "\n";
		else if (found->second != content)
			text += "changed: " + name + "\n";
	}
	for (const auto &[name, content] : after)
		if (!before.count(name))
			text += "added: " + name + "\n";
	return text;
}

std::string read_file(const std::string &path)
{
	std::ifstream stream(path, std::ios::binary);
	std::stringstream content;
	content << stream.rdbuf();
	return content.str();
}

void write_file(const std::string &path, const std::string &content)
{
	std::ofstream stream(path, std::ios::binary | std::ios::trunc);
	stream.write(content.data(), static_cast<std::streamsize>(content.size()));
	if (!stream)
		throw std::runtime_error("cannot write " + path);
}

void replace_with_symlink(const std::string &path, const std::string &target)
{
	fs::remove_all(path);
	fs::create_symlink(target, path);
}

void rename_driver(const Sandbox &sandbox, const std::string &old_name, const std::string &new_name,
		   const std::string &address)
{
	const std::string drivers = sandbox.root() + "/sys/bus/pci/drivers";
	fs::rename(drivers + "/" + old_name, drivers + "/" + new_name);

	/* Relative, because the link must resolve beneath the root. */
	const std::string link = sandbox.device_dir(address) + "/driver";
	replace_with_symlink(link, fs::relative(drivers + "/" + new_name, fs::path(link).parent_path()));
}

ProgramOutput run_program(const std::vector<std::string> &argv,
			  std::optional<std::pair<uid_t, gid_t>> user)
{
	int out_pipe[2];
	int err_pipe[2];
	if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0)
		throw std::runtime_error("cannot create pipes");

	std::vector<char *> args;
	for (const auto &arg : argv)
		args.push_back(const_cast<char *>(arg.c_str()));
	args.push_back(nullptr);

	const pid_t pid = ::fork();
	if (pid < 0)
		throw std::runtime_error("cannot fork");
	if (pid == 0) {
		::dup2(out_pipe[1], STDOUT_FILENO);
		::dup2(err_pipe[1], STDERR_FILENO);
		const int null_fd = ::open("/dev/null", O_RDONLY);
		if (null_fd >= 0)
			::dup2(null_fd, STDIN_FILENO);
		if (user)
			become(*user);
		::execv(args[0], args.data());
		::_exit(127);
	}
	::close(out_pipe[1]);
	::close(err_pipe[1]);

	ProgramOutput output;
	drain(out_pipe[0], err_pipe[0], output.out, output.err);
	output.status = wait_status(pid);
	return output;
}

std::optional<std::pair<uid_t, gid_t>> unprivileged_user()
{
	if (::geteuid() != 0)
		return std::nullopt;
	const struct passwd *nobody = ::getpwnam("nobody");
	if (!nobody)
		return std::pair<uid_t, gid_t>(65534, 65534);
	return std::pair<uid_t, gid_t>(nobody->pw_uid, nobody->pw_gid);
}

std::optional<std::pair<int, std::string>> run_as(std::pair<uid_t, gid_t> user,
						  const std::function<bool(std::string &text)> &body)
{
	int text_pipe[2];
	if (::pipe2(text_pipe, O_CLOEXEC) != 0)
		return std::nullopt;

	const pid_t pid = ::fork();
	if (pid < 0)
		return std::nullopt;
	if (pid == 0) {
		::close(text_pipe[0]);
		become(user);
		std::string text;
		bool passed = false;
		try {
			passed = body(text);
		} catch (const std::exception &exception) {
			text += std::string("exception: ") + exception.what();
		}
		for (size_t done = 0; done < text.size();) {
			const ssize_t count = ::write(text_pipe[1], text.data() + done, text.size() - done);
			if (count <= 0)
				break;
			done += static_cast<size_t>(count);
		}
		/* _exit: the child must not run the parent's doctest teardown or atexit handlers. */
		::_exit(passed ? 0 : 1);
	}
	::close(text_pipe[1]);

	std::string text;
	std::string unused;
	const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
	drain(text_pipe[0], null_fd, text, unused);
	const int status = wait_status(pid);
	if (status == 125)
		return std::nullopt;
	return std::pair<int, std::string>(status, text);
}

bool has_control_bytes(const std::string &text)
{
	for (unsigned char c : text)
		if (c < 0x20 && c != '\n' && c != '\t')
			return true;
	return false;
}

} /* namespace hardening */
