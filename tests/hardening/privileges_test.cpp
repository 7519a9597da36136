/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Without the right to write sysfs, pcipass reports it in one line before
 * its first write. No library or tool code starts another program.
 */

#include <algorithm>
#include <filesystem>
#include <regex>
#include <sys/stat.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <pcipass/host.hpp>
#include <pcipass/transaction.hpp>

#include "fixture.hpp"

using namespace pcipass;
using namespace hardening;
namespace fs = std::filesystem;

namespace {

const PciAddress gpu(0, 1, 0, 0);

/* The sysfs files a bind of the GPU group writes, made read-only as sysfs is to other users. */
void make_read_only(const Sandbox &sandbox)
{
	for (const char *function : {"0000:01:00.0", "0000:01:00.1", "0000:01:00.2", "0000:01:00.3"})
		fs::permissions(sandbox.device_dir(function) + "/driver_override",
				fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
	for (const char *driver : {"nouveau", "snd_hda_intel", "xhci_hcd", "vfio-pci"})
		for (const char *file : {"bind", "unbind"})
			fs::permissions(sandbox.root() + "/sys/bus/pci/drivers/" + driver + "/" + file,
					fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
}

/* A directory the unprivileged user owns, for its state directory. */
std::string private_directory(const Sandbox &sandbox, std::optional<std::pair<uid_t, gid_t>> user)
{
	const std::string path = sandbox.base() + "/user";
	fs::create_directory(path);
	if (user)
		REQUIRE(::chown(path.c_str(), user->first, user->second) == 0);
	return path;
}

/* Binds the GPU group as the calling user; true when it is refused as it should be. */
bool bind_is_refused(const std::string &root, const std::string &state_dir, std::string &text)
{
	auto host = LiveHost::open(root);
	if (!host) {
		text = host.error().describe();
		return false;
	}
	EngineOptions options;
	options.state_dir = state_dir;
	auto engine = Engine::open(*host.value(), options);
	if (!engine) {
		text = engine.error().describe();
		return false;
	}

	Request request;
	request.devices.push_back({gpu, std::nullopt});
	request.options.deadlines.bind = std::chrono::milliseconds(20);
	auto bound = engine.value()->bind(request);
	if (bound) {
		text = "the bind succeeded";
		return false;
	}
	text = bound.error().describe();
	return bound.error().code == errc::permission_denied &&
	       bound.error().message.find('\n') == std::string::npos &&
	       bound.error().message.find("nothing was changed") != std::string::npos &&
	       bound.error().path.ends_with("/driver_override") &&
	       !fs::exists(state_dir + "/journal");
}

/* The text with comments, string literals and character literals blanked out. */
std::string code_only(const std::string &source)
{
	std::string code = source;
	enum { normal, line_comment, block_comment, string_literal, char_literal } state = normal;
	for (size_t i = 0; i < code.size(); i++) {
		const char c = code[i];
		const char next = i + 1 < code.size() ? code[i + 1] : '\0';
		switch (state) {
		case normal:
			if (c == '/' && next == '/')
				state = line_comment;
			else if (c == '/' && next == '*')
				state = block_comment;
			else if (c == '"')
				state = string_literal;
			else if (c == '\'')
				state = char_literal;
			continue;
		case line_comment:
			if (c == '\n')
				state = normal;
			break;
		case block_comment:
			if (c == '*' && next == '/') {
				code[i] = code[i + 1] = ' ';
				i++;
				state = normal;
				continue;
			}
			break;
		case string_literal:
		case char_literal:
			if (c == '\\') {
				code[i] = ' ';
				if (i + 1 < code.size() && code[i + 1] != '\n')
					code[++i] = ' ';
				continue;
			}
			if (c == (state == string_literal ? '"' : '\'')) {
				state = normal;
				continue;
			}
			break;
		}
		if (c != '\n')
			code[i] = ' ';
	}
	return code;
}

const char *const process_functions[] = {
	"system", "popen", "execl", "execle", "execlp", "execv", "execve", "execvp", "execvpe",
	"fexecve", "posix_spawn", "posix_spawnp", "fork", "vfork", "clone", "clone3",
};

} /* namespace */

TEST_CASE("privileges: read-only sysfs rejected before writing")
{
	Sandbox sandbox("gpu-workstation");
	make_read_only(sandbox);
	const auto user = unprivileged_user();
	const std::string state_dir = private_directory(sandbox, user) + "/state";
	const TreePicture root = picture(sandbox.root());

	if (user) {
		auto child = run_as(*user, [&](std::string &text) {
			return bind_is_refused(sandbox.root(), state_dir, text);
		});
		REQUIRE_MESSAGE(child, "cannot switch to an unprivileged user");
		CHECK_MESSAGE(child->first == 0, child->second);
	} else if (::geteuid() != 0) {
		std::string text;
		CHECK_MESSAGE(bind_is_refused(sandbox.root(), state_dir, text), text);
	} else {
		MESSAGE("running as root without a user to switch to: root may write read-only files");
	}

	CHECK(differences(root, picture(sandbox.root())).empty());
}

TEST_CASE("privileges: pcipassctl reports no access once")
{
	Sandbox sandbox("gpu-workstation");
	make_read_only(sandbox);
	const auto user = unprivileged_user();
	if (!user && ::geteuid() == 0) {
		MESSAGE("running as root without a user to switch to: root may write read-only files");
		return;
	}
	const std::string state_dir = private_directory(sandbox, user) + "/state";
	const TreePicture root = picture(sandbox.root());

	const ProgramOutput output = run_program({PCIPASSCTL, "--root", sandbox.root(), "--state-dir",
						  state_dir, "bind", "0000:01:00.0", "--yes"},
						 user);
	CHECK(output.status == 1);
	CHECK_MESSAGE(std::count(output.err.begin(), output.err.end(), '\n') == 1, output.err);
	CHECK(output.err.find("cannot write") != std::string::npos);
	CHECK(output.err.find("driver_override") != std::string::npos);
	CHECK(output.err.find("nothing was changed") != std::string::npos);
	CHECK_MESSAGE(output.out.find("step 1") == std::string::npos, output.out);
	CHECK(differences(root, picture(sandbox.root())).empty());
	CHECK_FALSE(fs::exists(state_dir + "/journal"));
}

TEST_CASE("privileges: sources start no program")
{
	std::string pattern = "\\b(";
	for (const char *name : process_functions)
		pattern += std::string(name) + "|";
	pattern.back() = ')';
	pattern += "\\s*\\(";
	const std::regex call(pattern);

	size_t files = 0;
	for (const char *directory : {"lib", "capi", "tools"}) {
		for (const auto &entry :
		     fs::recursive_directory_iterator(std::string(PCIPASS_SOURCE_DIR) + "/" + directory)) {
			const std::string extension = entry.path().extension().string();
			if (extension != ".cpp" && extension != ".hpp" && extension != ".h" && extension != ".c")
				continue;
			files++;
			const std::string code = code_only(read_file(entry.path().string()));
			std::smatch found;
			CHECK_MESSAGE(!std::regex_search(code, found, call),
				      entry.path().string() << " calls " << found.str());
		}
	}
	CHECK(files > 20);
}

TEST_CASE("privileges: binaries import no exec functions")
{
	for (const std::string &binary : {std::string(PCIPASS_BUILD_DIR) + "/libpcipass.so",
					 std::string(PCIPASSCTL)}) {
		CAPTURE(binary);
		const ProgramOutput symbols =
			run_program({"/usr/bin/nm", "--dynamic", "--undefined-only", "--format=just-symbols", binary});
		if (symbols.status == 127) {
			MESSAGE("nm is not installed; skipping the symbol check");
			return;
		}
		REQUIRE(symbols.status == 0);
		CHECK(symbols.out.find("write") != std::string::npos);
		for (const char *name : process_functions) {
			const std::regex imported("(^|\n)" + std::string(name) + "(@[^\n]*)?(\n|$)");
			CHECK_MESSAGE(!std::regex_search(symbols.out, imported), binary << " imports " << name);
		}
	}
}
