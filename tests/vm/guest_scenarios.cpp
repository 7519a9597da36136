/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Runs inside the test guest: every scenario in /scenarios against the real
 * kernel, with plain system calls, printing one result line per step and
 * the observed record of each step for tests/vm/run to compare.
 */

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <linux/vfio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <libkmod.h>

#include "guest.hpp"
#include "scenario.hpp"

namespace {

struct KmodContextUnref {
	void operator()(kmod_ctx *context) const noexcept { kmod_unref(context); }
};
struct KmodModuleUnref {
	void operator()(kmod_module *module) const noexcept { kmod_module_unref(module); }
};
struct KmodListUnref {
	void operator()(kmod_list *list) const noexcept { kmod_module_unref_list(list); }
};

/* The running kernel through plain system calls and libkmod. */
class GuestKernel final : public scenario::Kernel
{
public:
	~GuestKernel() override
	{
		for (const auto &[path, fds] : held_) {
			/* The group before its container, as a VFIO user lets go. */
			for (const int fd : fds)
				::close(fd);
		}
	}

	int write(const std::string &path, std::string_view value) override
	{
		/* Only removing VFs races with their probes; other writes keep the step's state. */
		const std::filesystem::path file(path);
		if (file.filename() == "sriov_numvfs" && (value == "0" || value == "0\n")) {
			const std::string pf = file.parent_path().filename().string();
			if (!guest::machine::wait_for_vf_probes(pf))
				guest::print_detail("guest_scenarios",
						    "nvme still probes a VF of " + pf + " after 10 s");
		}
		return guest::sysfs::write("/" + path, value);
	}

	std::optional<std::string> read(const std::string &path) override
	{
		return guest::sysfs::read("/" + path);
	}

	std::optional<std::string> link_name(const std::string &path) override
	{
		return guest::sysfs::link_name("/" + path);
	}

	std::vector<std::string> list(const std::string &path) override
	{
		return guest::sysfs::list("/" + path);
	}

	bool exists(const std::string &path) override
	{
		return guest::sysfs::exists("/" + path);
	}

	int load_module(const std::string &name) override
	{
		std::unique_ptr<kmod_ctx, KmodContextUnref> context(kmod_new(nullptr, nullptr));
		if (!context)
			return ENOMEM;
		kmod_list *raw = nullptr;
		int ret = kmod_module_new_from_lookup(context.get(), name.c_str(), &raw);
		std::unique_ptr<kmod_list, KmodListUnref> list(raw);
		if (ret < 0)
			return -ret;
		if (!list)
			return ENOENT;
		kmod_list *entry;
		kmod_list_foreach(entry, list.get())
		{
			std::unique_ptr<kmod_module, KmodModuleUnref> module(
				kmod_module_get_module(entry));
			ret = kmod_module_probe_insert_module(module.get(), 0, nullptr, nullptr,
							      nullptr, nullptr);
			if (ret < 0)
				return -ret;
		}
		return 0;
	}

	int unload_module(const std::string &name) override
	{
		std::unique_ptr<kmod_ctx, KmodContextUnref> context(kmod_new(nullptr, nullptr));
		if (!context)
			return ENOMEM;
		kmod_module *raw = nullptr;
		const int ret = kmod_module_new_from_name(context.get(), name.c_str(), &raw);
		std::unique_ptr<kmod_module, KmodModuleUnref> module(raw);
		if (ret < 0)
			return -ret;
		/* Like rmmod: fail at once with EBUSY or EAGAIN rather than wait for users. */
		const int removed = kmod_module_remove_module(module.get(), KMOD_REMOVE_NOWAIT);
		return removed < 0 ? -removed : 0;
	}

	int hold_open(const std::string &path) override
	{
		const int fd = ::open(("/" + path).c_str(), O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return errno;
		held_[path] = {fd};
		return 0;
	}

	int attach_group(const std::string &path) override
	{
		const int container = ::open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
		if (container < 0)
			return errno;
		const int group = ::open(("/" + path).c_str(), O_RDWR | O_CLOEXEC);
		if (group < 0) {
			const int sys_errno = errno;
			::close(container);
			return sys_errno;
		}
		if (::ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) < 0) {
			const int sys_errno = errno;
			::close(group);
			::close(container);
			return sys_errno;
		}
		held_[path] = {group, container};
		return 0;
	}

	int close_held(const std::string &path) override
	{
		const auto found = held_.find(path);
		if (found == held_.end())
			return EBADF;
		int sys_errno = 0;
		for (const int fd : found->second) {
			if (::close(fd) < 0 && sys_errno == 0)
				sys_errno = errno;
		}
		held_.erase(found);
		return sys_errno;
	}

private:
	/* What open and attach hold, by path: the group first, then its container. */
	std::map<std::string, std::vector<int>> held_;
};

std::string read_file(const std::filesystem::path &path)
{
	std::ifstream file(path);
	std::stringstream content;
	content << file.rdbuf();
	return content.str();
}

} /* namespace */

int main(int, char **argv)
{
	if (!guest::inside_test_guest()) {
		std::fprintf(stderr, "%s: runs only inside the test guest booted by tests/vm/run, "
				     "because it unbinds and binds devices through sysfs\n",
			     argv[0]);
		return 2;
	}

	const std::string program = std::filesystem::path(argv[0]).filename().string();
	const std::string boot = guest::boot_name();
	const std::string directory = "/scenarios";

	int failures = 0;
	for (const std::string &name : guest::sysfs::list(directory)) {
		if (!name.ends_with(".json"))
			continue;
		const auto path = std::filesystem::path(directory) / name;
		auto parsed = scenario::parse_scenario(read_file(path), path.string());
		if (!parsed) {
			guest::print_detail(program, parsed.error().describe());
			guest::print_result(program, "fail", name + ": parse");
			++failures;
			continue;
		}
		const scenario::Scenario &scenario = parsed.value();
		if (!scenario::runs_in(scenario, boot))
			continue;

		guest::print_start(program, scenario.name);
		GuestKernel kernel;
		for (const scenario::StepReport &report : scenario::run(scenario, kernel)) {
			if (!report.record.empty())
				guest::print_observed(boost::json::serialize(report.record));
			for (const std::string &problem : report.problems)
				guest::print_detail(program, problem);
			guest::print_result(program, report.passed ? "pass" : "fail",
					    scenario.name + " #" + std::to_string(report.step) + ": " +
						    report.name);
			failures += report.passed ? 0 : 1;
		}
	}
	return failures == 0 ? 0 : 1;
}
