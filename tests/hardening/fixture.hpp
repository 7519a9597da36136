/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Helpers for the hardening tests. A sandbox contains a materialized host
 * root with decoy files beside it that pcipass must never touch. A picture
 * records a directory byte for byte. Programs and code run in a child
 * process, optionally as another user, with their output captured.
 */

#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include <pcipass/host.hpp>
#include <pcipass/testing/topology.hpp>

namespace hardening {

/*
 * A temporary directory that contains:
 *   root/     a materialized catalogue topology, the host root.
 *   outside/  decoys beside the root: a device directory, bind and unbind
 *             files, and etc/passwd. Each must stay byte-identical.
 *   state/    where tests put the transaction state directory. It is not
 *             created.
 * Readable by every user, so a child process that dropped root can use it.
 */
class Sandbox
{
public:
	explicit Sandbox(const std::string &topology_name);
	~Sandbox();
	Sandbox(const Sandbox &) = delete;
	Sandbox &operator=(const Sandbox &) = delete;

	const std::string &base() const { return base_; }
	std::string root() const { return base_ + "/root"; }
	std::string outside() const { return base_ + "/outside"; }
	std::string state_dir() const { return base_ + "/state"; }
	const pcipass::testing::Topology &topology() const { return topology_; }

	/* root + "/" + the device's directory under sys/devices. */
	std::string device_dir(const std::string &address) const;

private:
	std::string base_;
	pcipass::testing::Topology topology_;
};

/*
 * LiveHost over a materialized tree, plus the kernel's reaction to the
 * writes a transaction makes, so that one can run to the end on a file
 * tree: an address written to drivers/X/unbind removes the device's
 * driver link, one written to drivers/X/bind creates it, and "\n" written
 * to driver_override leaves it reading "(null)". Every write goes through
 * LiveHost first; the reaction touches only paths that resolve beneath
 * the root.
 */
class TreeKernel final : public pcipass::Host
{
public:
	TreeKernel(std::unique_ptr<pcipass::LiveHost> live, std::string root);

	std::string describe() const override { return live_->describe(); }
	pcipass::result<std::string> read(std::string_view path, size_t max_size) override
	{
		return live_->read(path, max_size);
	}
	pcipass::result<std::string> read_link(std::string_view path) override
	{
		return live_->read_link(path);
	}
	pcipass::result<std::vector<pcipass::DirEntry>> list(std::string_view path) override
	{
		return live_->list(path);
	}
	pcipass::result<std::unique_ptr<pcipass::Directory>> open_dir(std::string_view path) override
	{
		return live_->open_dir(path);
	}
	pcipass::result<std::string> resolve(std::string_view path) override
	{
		return live_->resolve(path);
	}
	bool exists(std::string_view path) override { return live_->exists(path); }
	pcipass::result<void> write(std::string_view path, std::string_view value) override;
	pcipass::result<void> load_module(std::string_view name) override
	{
		return live_->load_module(name);
	}
	pcipass::result<std::vector<pcipass::Holder>> holders(std::string_view path) override
	{
		return live_->holders(path);
	}
	bool can_write(std::string_view path) override { return live_->can_write(path); }

private:
	/* The canonical path of root/relative when it stays beneath the root. */
	std::optional<std::string> inside(const std::string &relative) const;

	std::unique_ptr<pcipass::LiveHost> live_;
	std::string root_;
};

/* Every entry beneath a directory: file content, link target or "<dir>", with its mode. */
using TreePicture = std::map<std::string, std::string>;
TreePicture picture(const std::string &directory);

/* The paths whose entry differs between two pictures, for messages. */
std::string differences(const TreePicture &before, const TreePicture &after);

std::string read_file(const std::string &path);
void write_file(const std::string &path, const std::string &content);

/* Replaces path (a file, directory or link) with a symlink to target. */
void replace_with_symlink(const std::string &path, const std::string &target);

/*
 * Renames the driver directory old_name under sys/bus/pci/drivers to
 * new_name, and points the driver link of the device at address to it.
 */
void rename_driver(const Sandbox &sandbox, const std::string &old_name, const std::string &new_name,
		   const std::string &address);

struct ProgramOutput {
	int status = -1; /* the exit status, or -1 when the program did not exit normally */
	std::string out;
	std::string err;
};

/* Runs a program with arguments, no shell involved, optionally as uid:gid. */
ProgramOutput run_program(const std::vector<std::string> &argv,
			  std::optional<std::pair<uid_t, gid_t>> user = std::nullopt);

/* The uid and gid of "nobody", when this process may switch to it (it runs as root). */
std::optional<std::pair<uid_t, gid_t>> unprivileged_user();

/*
 * Runs body in a child process as the user; the child's text goes back
 * through a pipe. Returns the child's exit status (0 when body returned
 * true) and its text, or nothing when fork or the switch failed.
 */
std::optional<std::pair<int, std::string>> run_as(std::pair<uid_t, gid_t> user,
						  const std::function<bool(std::string &text)> &body);

/* True when text contains a byte below 0x20 other than newline and tab (DEL is inert in terminals). */
bool has_control_bytes(const std::string &text);

} /* namespace hardening */
