/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 */

#include "sim_kernel.hpp"

#include <algorithm>
#include <cerrno>
#include <unistd.h>

namespace scenario {

namespace {

/* The errno of a failed call, or EIO for an error without one (which would be a simulator bug). */
template<class T>
int errno_of(const pcipass::result<T> &result)
{
	if (result)
		return 0;
	return result.error().sys_errno != 0 ? result.error().sys_errno : EIO;
}

/* The name the test guest's VFIO user shows in proc/PID/comm. */
constexpr std::string_view holder_command = "guest_scenario";

} /* namespace */

SimKernel::SimKernel(pcipass::sim::Host &host) : host_(host) {}

SimKernel::~SimKernel()
{
	for (const std::string &path : attached_)
		(void)host_.close_node(path, ::getpid());
}

int SimKernel::write(const std::string &path, std::string_view value)
{
	return errno_of(host_.write(path, value));
}

std::optional<std::string> SimKernel::read(const std::string &path)
{
	auto content = host_.read(path);
	if (!content)
		return std::nullopt;
	std::string text = std::move(content).value();
	while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
		text.pop_back();
	return text;
}

std::optional<std::string> SimKernel::link_name(const std::string &path)
{
	auto target = host_.read_link(path);
	if (!target)
		return std::nullopt;
	const std::string &text = target.value();
	return text.substr(text.rfind('/') + 1);
}

std::vector<std::string> SimKernel::list(const std::string &path)
{
	std::vector<std::string> names;
	auto entries = host_.list(path);
	if (!entries)
		return names;
	for (const pcipass::DirEntry &entry : entries.value())
		names.push_back(entry.name);
	std::sort(names.begin(), names.end());
	return names;
}

bool SimKernel::exists(const std::string &path)
{
	return host_.exists(path);
}

int SimKernel::load_module(const std::string &name)
{
	return errno_of(host_.load_module(name));
}

int SimKernel::unload_module(const std::string &name)
{
	return errno_of(host_.unload_module(name));
}

int SimKernel::hold_open(const std::string &path)
{
	if (!host_.exists(path))
		return ENOENT;
	opened_.insert(path);
	return 0;
}

int SimKernel::attach_group(const std::string &path)
{
	const int sys_errno = errno_of(host_.open_node(path, ::getpid(), holder_command));
	if (sys_errno == 0)
		attached_.insert(path);
	return sys_errno;
}

int SimKernel::close_held(const std::string &path)
{
	if (attached_.erase(path) != 0)
		return errno_of(host_.close_node(path, ::getpid()));
	if (opened_.erase(path) != 0)
		return 0;
	return EBADF;
}

} /* namespace scenario */
