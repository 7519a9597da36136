/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * LiveHost on trees under a temporary root: reads, links, writes, and every
 * way a tree might try to lead pcipass outside its root.
 */

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <pcipass/host.hpp>

using namespace pcipass;
namespace fs = std::filesystem;

namespace {

/* A temporary directory holding a root and, beside it, a file the root must never reach. */
class Sandbox
{
public:
	Sandbox()
	{
		std::string pattern = (fs::temp_directory_path() / "pcipass-host-XXXXXX").string();
		base_ = mkdtemp(pattern.data());
		root_ = base_ / "root";
		fs::create_directories(root_ / "sys/devices/pci0000:00/0000:00:01.0");
		fs::create_directories(root_ / "sys/bus/pci/devices");
		put("sys/devices/pci0000:00/0000:00:01.0/vendor", "0x8086\n");
		put("sys/devices/pci0000:00/0000:00:01.0/driver_override", "(null)\n");
		fs::create_directory_symlink("../../../devices/pci0000:00/0000:00:01.0",
					     root_ / "sys/bus/pci/devices/0000:00:01.0");
		std::ofstream(base_ / "secret") << "outside\n";
	}
	~Sandbox() { fs::remove_all(base_); }

	void put(const std::string &path, const std::string &content)
	{
		std::ofstream(root_ / path) << content;
	}

	std::string get(const std::string &path) const
	{
		std::ifstream in(root_ / path);
		return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
	}

	const fs::path &root() const { return root_; }
	const fs::path &base() const { return base_; }

private:
	fs::path base_;
	fs::path root_;
};

std::unique_ptr<LiveHost> open_host(const Sandbox &sandbox, bool use_openat2)
{
	auto host = LiveHost::open(sandbox.root().string(), {.use_openat2 = use_openat2});
	REQUIRE(host);
	return std::move(host).value();
}

} /* namespace */

TEST_CASE("host: relative path rules")
{
	CHECK(check_relative_path("sys/bus/pci/devices"));
	for (const char *bad : {"", "/sys", "sys//bus", "sys/./bus", "sys/../etc", "..", "sys/",
				"sys/bus/"}) {
		CAPTURE(std::string(bad));
		auto checked = check_relative_path(bad);
		REQUIRE_FALSE(checked);
		CHECK(checked.error().code == errc::invalid_argument);
		CHECK(checked.error().message.find("invalid host path") == 0);
	}
}

TEST_CASE("host: reads through relative links in both resolution modes")
{
	Sandbox sandbox;
	for (bool use_openat2 : {true, false}) {
		CAPTURE(use_openat2);
		auto host = open_host(sandbox, use_openat2);

		CHECK(host->read("sys/bus/pci/devices/0000:00:01.0/vendor").value() == "0x8086\n");
		CHECK(host->read_link("sys/bus/pci/devices/0000:00:01.0").value() ==
		      "../../../devices/pci0000:00/0000:00:01.0");
		CHECK(host->resolve("sys/bus/pci/devices/0000:00:01.0").value() ==
		      "sys/devices/pci0000:00/0000:00:01.0");
		CHECK(host->exists("sys/bus/pci/devices/0000:00:01.0"));
		CHECK_FALSE(host->exists("sys/bus/pci/devices/0000:00:02.0"));

		auto missing = host->read("sys/bus/pci/devices/0000:00:01.0/device");
		REQUIRE_FALSE(missing);
		CHECK(missing.error().code == errc::not_found);
		CHECK(missing.error().sys_errno == ENOENT);
		CHECK(missing.error().path == "sys/bus/pci/devices/0000:00:01.0/device");
	}
}

TEST_CASE("host: directories list and read relative to their descriptor")
{
	Sandbox sandbox;
	auto host = open_host(sandbox, true);

	auto directory = host->open_dir("sys/bus/pci/devices/0000:00:01.0");
	REQUIRE(directory);
	auto entries = directory.value()->list();
	REQUIRE(entries);
	auto names = entries.value();
	std::sort(names.begin(), names.end(),
		  [](const DirEntry &a, const DirEntry &b) { return a.name < b.name; });
	REQUIRE(names.size() == 2);
	CHECK(names[0] == DirEntry{"driver_override", EntryType::file});
	CHECK(names[1] == DirEntry{"vendor", EntryType::file});

	/* Listing twice starts over. */
	CHECK(directory.value()->list().value().size() == 2);
	CHECK(directory.value()->read("vendor").value() == "0x8086\n");
	CHECK(directory.value()->path() == "sys/bus/pci/devices/0000:00:01.0");

	for (const char *bad : {"..", ".", "a/b", ""}) {
		CAPTURE(std::string(bad));
		CHECK(directory.value()->read(bad).error().code == errc::invalid_argument);
	}
}

TEST_CASE("host: writes replace the content and never create files")
{
	Sandbox sandbox;
	auto host = open_host(sandbox, true);

	REQUIRE(host->write("sys/bus/pci/devices/0000:00:01.0/driver_override", "vfio-pci"));
	CHECK(sandbox.get("sys/devices/pci0000:00/0000:00:01.0/driver_override") == "vfio-pci");

	auto created = host->write("sys/bus/pci/devices/0000:00:01.0/new_file", "x");
	REQUIRE_FALSE(created);
	CHECK(created.error().sys_errno == ENOENT);
	CHECK_FALSE(fs::exists(sandbox.root() / "sys/devices/pci0000:00/0000:00:01.0/new_file"));
	CHECK(host->can_write("sys/bus/pci/devices/0000:00:01.0/driver_override") ==
	      (access((sandbox.root() / "sys/devices/pci0000:00/0000:00:01.0/driver_override").c_str(),
		      W_OK) == 0));
}

TEST_CASE("host: links that leave the root are refused")
{
	Sandbox sandbox;
	fs::create_symlink("/", sandbox.root() / "sys/bus/pci/devices/0000:00:02.0");
	fs::create_symlink("../../../../../secret", sandbox.root() / "sys/bus/pci/devices/0000:00:03.0");
	fs::create_symlink((sandbox.base() / "secret").string(),
			   sandbox.root() / "sys/devices/pci0000:00/0000:00:01.0/config");
	fs::create_symlink("../../../../..",
			   sandbox.root() / "sys/devices/pci0000:00/0000:00:01.0/driver");

	for (bool use_openat2 : {true, false}) {
		CAPTURE(use_openat2);
		auto host = open_host(sandbox, use_openat2);

		auto absolute = host->read("sys/bus/pci/devices/0000:00:02.0/etc/hostname");
		REQUIRE_FALSE(absolute);
		CHECK(absolute.error().code == errc::escapes_root);

		auto climbing = host->read("sys/bus/pci/devices/0000:00:03.0");
		REQUIRE_FALSE(climbing);
		CHECK(climbing.error().code == errc::escapes_root);

		auto config = host->read("sys/bus/pci/devices/0000:00:01.0/config");
		REQUIRE_FALSE(config);
		CHECK(config.error().code == errc::escapes_root);

		auto driver = host->list("sys/bus/pci/devices/0000:00:01.0/driver");
		REQUIRE_FALSE(driver);
		CHECK(driver.error().code == errc::escapes_root);

		auto resolved = host->resolve("sys/bus/pci/devices/0000:00:03.0");
		REQUIRE_FALSE(resolved);
		CHECK(resolved.error().code == errc::escapes_root);

		auto written = host->write("sys/bus/pci/devices/0000:00:03.0", "x");
		REQUIRE_FALSE(written);
		CHECK(written.error().code == errc::escapes_root);
		CHECK(fs::exists(sandbox.base() / "secret"));
	}

	std::ifstream secret(sandbox.base() / "secret");
	std::string line;
	std::getline(secret, line);
	CHECK(line == "outside");
}

TEST_CASE("host: a directory's links are read, not followed, through Directory")
{
	Sandbox sandbox;
	fs::create_symlink((sandbox.base() / "secret").string(),
			   sandbox.root() / "sys/devices/pci0000:00/0000:00:01.0/resource");
	fs::create_directory_symlink(sandbox.base().string(),
				     sandbox.root() / "sys/devices/pci0000:00/0000:00:01.0/net");
	auto host = open_host(sandbox, true);
	auto directory = host->open_dir("sys/devices/pci0000:00/0000:00:01.0").value();

	CHECK(directory->read("resource").error().code == errc::escapes_root);
	CHECK(directory->open("net").error().code == errc::escapes_root);
	CHECK(directory->read_link("resource").value() == (sandbox.base() / "secret").string());
}

TEST_CASE("host: permission hints match read and write")
{
	Sandbox sandbox;
	auto host = open_host(sandbox, true);
	const std::string attribute = "sys/bus/pci/devices/0000:00:01.0/driver_override";
	fs::permissions(sandbox.root() / "sys/devices/pci0000:00/0000:00:01.0/driver_override",
			fs::perms::none);

	/*
	 * Root passes every permission check, so the checks run with file-system
	 * user ID 65534. Moving it off 0 also drops CAP_DAC_OVERRIDE for this thread.
	 */
	const bool root = ::geteuid() == 0;
	if (root)
		(void)::setfsuid(65534);
	auto read = host->read(attribute);
	auto written = host->write(attribute, "vfio-pci");
	if (root)
		(void)::setfsuid(0);

	REQUIRE_FALSE(read);
	CHECK(read.error().code == errc::permission_denied);
	CHECK(read.error().sys_errno == EACCES);
	CHECK(read.error().message ==
	      "opening '" + attribute + "' failed: Permission denied; run as root, or check the "
	      "permissions of the file and of the directories above it (some sysfs attributes are "
	      "readable only by root)");

	REQUIRE_FALSE(written);
	CHECK(written.error().code == errc::permission_denied);
	CHECK(written.error().sys_errno == EACCES);
	CHECK(written.error().message == "opening '" + attribute +
						 "' failed: Permission denied; run as root (writing "
						 "sysfs needs CAP_SYS_ADMIN)");
}

TEST_CASE("host: swapped device link not written")
{
	Sandbox sandbox;
	fs::create_directories(sandbox.base() / "elsewhere");
	std::ofstream(sandbox.base() / "elsewhere/driver_override") << "(null)\n";
	auto host = open_host(sandbox, true);
	REQUIRE(host->read("sys/bus/pci/devices/0000:00:01.0/driver_override"));

	fs::remove(sandbox.root() / "sys/bus/pci/devices/0000:00:01.0");
	fs::create_directory_symlink(sandbox.base() / "elsewhere",
				     sandbox.root() / "sys/bus/pci/devices/0000:00:01.0");

	auto written = host->write("sys/bus/pci/devices/0000:00:01.0/driver_override", "vfio-pci");
	REQUIRE_FALSE(written);
	CHECK(written.error().code == errc::escapes_root);
	std::ifstream untouched(sandbox.base() / "elsewhere/driver_override");
	std::string content;
	std::getline(untouched, content);
	CHECK(content == "(null)");
}

TEST_CASE("host: holders are found through proc fd links")
{
	Sandbox sandbox;
	fs::create_directories(sandbox.root() / "proc/4242/fd");
	fs::create_directories(sandbox.root() / "proc/77/fd");
	fs::create_directories(sandbox.root() / "proc/self");
	std::ofstream(sandbox.root() / "proc/4242/comm") << "qemu-system-x86\n";
	fs::create_symlink("/dev/vfio/12", sandbox.root() / "proc/4242/fd/9");
	fs::create_symlink("/dev/null", sandbox.root() / "proc/77/fd/0");
	auto host = open_host(sandbox, true);

	auto holders = host->holders("dev/vfio/12");
	REQUIRE(holders);
	REQUIRE(holders.value().size() == 1);
	CHECK(holders.value()[0] == Holder{4242, "qemu-system-x86"});
	CHECK(host->holders("dev/vfio/13").value().empty());
}

TEST_CASE("host: modules load only on the running host")
{
	Sandbox sandbox;
	auto host = open_host(sandbox, true);
	auto loaded = host->load_module("vfio_pci");
	REQUIRE_FALSE(loaded);
	CHECK(loaded.error().code == errc::unsupported);
}

TEST_CASE("host: the real /sys reads")
{
	auto host = LiveHost::open("/");
	REQUIRE(host);
	auto devices = host.value()->list("sys/bus/pci/devices");
	if (!devices)
		return; /* no PCI bus here (a container without /sys) */

	for (const DirEntry &entry : devices.value()) {
		CAPTURE(entry.name);
		auto resolved = host.value()->resolve("sys/bus/pci/devices/" + entry.name);
		REQUIRE(resolved);
		CHECK(resolved.value().rfind("sys/devices/", 0) == 0);
		auto vendor = host.value()->read("sys/bus/pci/devices/" + entry.name + "/vendor");
		REQUIRE(vendor);
		CHECK(vendor.value().rfind("0x", 0) == 0);
	}
}

TEST_CASE("host: the root must be an existing directory")
{
	CHECK(LiveHost::open("").error().code == errc::invalid_argument);
	auto missing = LiveHost::open("/nonexistent/pcipass-root");
	REQUIRE_FALSE(missing);
	CHECK(missing.error().code == errc::not_found);
	CHECK(missing.error().message.find("--root") != std::string::npos);
}

TEST_CASE("host: a FIFO in place of an attribute reads as empty")
{
	Sandbox sandbox;
	const fs::path device = sandbox.root() / "sys/devices/pci0000:00/0000:00:01.0";
	REQUIRE(::mkfifo((device / "config").c_str(), 0600) == 0);
	REQUIRE(::mkfifo((sandbox.root() / "sys/cmdline").c_str(), 0600) == 0);

	/* Without O_NONBLOCK each read would wait for a writer forever. */
	for (bool use_openat2 : {true, false}) {
		CAPTURE(use_openat2);
		auto host = open_host(sandbox, use_openat2);

		auto content = host->read("sys/cmdline");
		REQUIRE(content);
		CHECK(content.value().empty());

		auto directory = host->open_dir("sys/devices/pci0000:00/0000:00:01.0");
		REQUIRE(directory);
		auto config = directory.value()->read("config");
		REQUIRE(config);
		CHECK(config.value().empty());
	}
}

TEST_CASE("host: deferred directories read as opened ones")
{
	Sandbox sandbox;
	const std::string bridge = "sys/devices/pci0000:00/0000:00:01.0";
	fs::create_directories(sandbox.root() / bridge / "0000:01:00.1");
	fs::create_directories(sandbox.root() / bridge / "elsewhere");
	sandbox.put(bridge + "/0000:01:00.1/driver_override", "(null)\n");
	sandbox.put(bridge + "/elsewhere/driver_override", "vfio-pci\n");
	fs::create_symlink("../../../kernel/iommu_groups/7",
			   sandbox.root() / bridge / "0000:01:00.1/iommu_group");
	fs::create_symlink((sandbox.base() / "secret").string(),
			   sandbox.root() / bridge / "0000:01:00.1/resource");
	fs::create_directory_symlink(sandbox.base().string(), sandbox.root() / bridge / "0000:01:00.2");
	fs::create_directory_symlink("elsewhere", sandbox.root() / bridge / "0000:01:00.3");

	for (bool use_openat2 : {true, false}) {
		CAPTURE(use_openat2);
		auto host = open_host(sandbox, use_openat2);
		auto directory = host->open_dir(bridge).value();

		auto vf = directory->open_deferred("0000:01:00.1");
		REQUIRE(vf);
		CHECK(vf.value()->path() == bridge + "/0000:01:00.1");
		CHECK(vf.value()->read("driver_override").value() == "(null)\n");
		CHECK(vf.value()->read_link("iommu_group").value() == "../../../kernel/iommu_groups/7");
		CHECK(vf.value()->read("resource").error().code == errc::escapes_root);
		auto absent = vf.value()->read("reset_method");
		REQUIRE_FALSE(absent);
		CHECK(absent.error().sys_errno == ENOENT);
		CHECK(absent.error().path == bridge + "/0000:01:00.1/reset_method");
		auto entries = vf.value()->list();
		REQUIRE(entries);
		CHECK(entries.value().size() == 3);

		/* A link leaving the root fails on first use, however the directory opens. */
		auto escaping = directory->open_deferred("0000:01:00.2");
		if (escaping) {
			CHECK(escaping.value()->read("driver_override").error().code ==
			      errc::escapes_root);
			CHECK(escaping.value()->read_link("iommu_group").error().code ==
			      errc::escapes_root);
			CHECK(escaping.value()->list().error().code == errc::escapes_root);
		} else {
			CHECK(escaping.error().code == errc::escapes_root);
		}

		auto linked = directory->open_deferred("0000:01:00.3");
		REQUIRE(linked);
		CHECK(linked.value()->read("driver_override").value() == "vfio-pci\n");

		/* Without openat2 (valgrind lacks it), open_deferred() opens at once. */
		auto missing = directory->open_deferred("0000:01:00.4");
		if (missing) {
			CHECK(missing.value()->read("driver_override").error().sys_errno == ENOENT);
			CHECK(missing.value()->list().error().sys_errno == ENOENT);
		} else {
			CHECK(missing.error().sys_errno == ENOENT);
		}
	}
}
