/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 */

#include "guest.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;

namespace guest {

namespace {

std::string boot_from_cmdline()
{
	std::ifstream cmdline("/proc/cmdline");
	std::string word;
	const std::string key = "pcipass.boot=";
	while (cmdline >> word) {
		if (word.starts_with(key))
			return word.substr(key.size());
	}
	return {};
}

void print_line(std::string_view kind, std::string_view rest)
{
	/* One fwrite per line: the console is shared with other writers. */
	std::string line = "@pcipass ";
	line += kind;
	line += ' ';
	line += rest;
	line += '\n';
	std::fwrite(line.data(), 1, line.size(), stdout);
	std::fflush(stdout);
}

} /* namespace */

bool inside_test_guest()
{
	return !boot_from_cmdline().empty();
}

std::string boot_name()
{
	return boot_from_cmdline();
}

bool iommu_boot()
{
	return boot_name() == "iommu";
}

void print_start(std::string_view program, std::string_view test_case)
{
	print_line("start", std::string(program) + " " + std::string(test_case));
}

void print_result(std::string_view program, std::string_view status, std::string_view test_case)
{
	print_line("result", std::string(status) + " " + std::string(program) + " " +
				     std::string(test_case));
}

void print_detail(std::string_view program, std::string_view text)
{
	/* The protocol is line based: a multi-line text becomes several details. */
	std::istringstream lines{std::string(text)};
	std::string line;
	while (std::getline(lines, line))
		print_line("detail", std::string(program) + " " + line);
}

void print_observed(std::string_view json)
{
	print_line("observed", json);
}

namespace sysfs {

std::optional<std::string> read(const std::string &path)
{
	std::ifstream file(path);
	if (!file)
		return std::nullopt;
	std::stringstream content;
	content << file.rdbuf();
	if (file.bad())
		return std::nullopt;
	std::string text = content.str();
	while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
		text.pop_back();
	return text;
}

std::optional<std::string> link_name(const std::string &path)
{
	std::error_code error;
	const fs::path target = fs::read_symlink(path, error);
	if (error)
		return std::nullopt;
	return target.filename().string();
}

std::vector<std::string> list(const std::string &path)
{
	std::vector<std::string> names;
	std::error_code error;
	for (const auto &entry : fs::directory_iterator(path, error))
		names.push_back(entry.path().filename().string());
	std::sort(names.begin(), names.end());
	return names;
}

bool exists(const std::string &path)
{
	std::error_code error;
	return fs::exists(fs::symlink_status(path, error));
}

std::string real_path(const std::string &path)
{
	std::error_code error;
	const fs::path canonical = fs::canonical(path, error);
	return error ? std::string() : canonical.string();
}

int write(const std::string &path, std::string_view value)
{
	const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	const ssize_t written = ::write(fd, value.data(), value.size());
	const int sys_errno = written < 0 ? errno : 0;
	::close(fd);
	if (sys_errno == 0 && size_t(written) != value.size())
		return EIO;
	return sys_errno;
}

std::string device_path(const std::string &address, std::string_view name)
{
	std::string path = "/sys/bus/pci/devices/" + address;
	if (!name.empty()) {
		path += '/';
		path += name;
	}
	return path;
}

std::string find_device(std::string_view vendor, std::string_view device, unsigned index)
{
	const std::string want_vendor = "0x" + std::string(vendor);
	const std::string want_device = "0x" + std::string(device);
	for (const std::string &address : list("/sys/bus/pci/devices")) {
		if (read(device_path(address, "vendor")) != want_vendor ||
		    read(device_path(address, "device")) != want_device)
			continue;
		if (index == 0)
			return address;
		--index;
	}
	return {};
}

std::optional<unsigned> iommu_group(const std::string &address)
{
	const auto name = link_name(device_path(address, "iommu_group"));
	if (!name)
		return std::nullopt;
	return unsigned(std::stoul(*name));
}

std::vector<std::string> group_members(unsigned group)
{
	return list("/sys/kernel/iommu_groups/" + std::to_string(group) + "/devices");
}

} /* namespace sysfs */

namespace machine {

std::string display() { return sysfs::find_device("1234", "1111"); }
std::string audio() { return sysfs::find_device("8086", "2668"); }
std::string xhci() { return sysfs::find_device("1b36", "000d"); }
std::string nic() { return sysfs::find_device("8086", "10d3"); }
std::string nvme() { return sysfs::find_device("1b36", "0010"); }
std::string pci_bridge() { return sysfs::find_device("1b36", "000e"); }
std::string e1000(unsigned index) { return sysfs::find_device("8086", "100e", index); }

std::string driver_of(const std::string &address)
{
	return sysfs::link_name(sysfs::device_path(address, "driver")).value_or("");
}

namespace {

/* True while a VF is bound to nvme and its controller is not live: the probe has not ended. */
bool nvme_probing(const std::string &vf)
{
	if (driver_of(vf) != "nvme")
		return false;
	for (const std::string &controller : sysfs::list(sysfs::device_path(vf, "nvme"))) {
		if (sysfs::read(sysfs::device_path(vf, "nvme/" + controller + "/state")) == "live")
			return false;
	}
	return true;
}

} /* namespace */

bool wait_for_vf_probes(const std::string &pf, std::chrono::milliseconds timeout)
{
	const auto deadline = std::chrono::steady_clock::now() + timeout;
	for (;;) {
		bool probing = false;
		for (const std::string &entry : sysfs::list(sysfs::device_path(pf))) {
			if (!entry.starts_with("virtfn"))
				continue;
			const auto vf = sysfs::link_name(sysfs::device_path(pf, entry));
			probing = probing || (vf && nvme_probing(*vf));
		}
		if (!probing)
			return true;
		if (std::chrono::steady_clock::now() >= deadline)
			return false;
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
	}
}

} /* namespace machine */

} /* namespace guest */
