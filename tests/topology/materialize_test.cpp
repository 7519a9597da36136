/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * materialize(): the files, links and contents of the tree it writes,
 * checked directly, through LiveHost and through lspci.
 */

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <sys/stat.h>

#include <doctest/doctest.h>

#include <pcipass/host.hpp>
#include <pcipass/testing/topology.hpp>

#include "catalogue.hpp"

using namespace pcipass;
using namespace pcipass::testing;
using topology_test::catalogue_names;
using topology_test::TempDir;

namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path &path)
{
	std::ifstream in(path, std::ios::binary);
	REQUIRE_MESSAGE(in, "cannot open " << path.string());
	return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string link_target(const fs::path &path)
{
	std::error_code ec;
	const fs::path target = fs::read_symlink(path, ec);
	REQUIRE_MESSAGE(!ec, "not a symlink: " << path.string());
	return target.string();
}

fs::path materialized(const Topology &topology, const TempDir &dir)
{
	auto written = materialize(topology, dir.root());
	REQUIRE_MESSAGE(written, (written ? "" : written.error().message));
	return dir.root();
}

std::unique_ptr<LiveHost> open_host(const fs::path &root)
{
	auto host = LiveHost::open(root.string());
	REQUIRE_MESSAGE(host, (host ? "" : host.error().message));
	return std::move(host).value();
}

const char *const gpu = "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0";

} /* namespace */

TEST_CASE("materialize: device attributes read as the kernel prints them")
{
	TempDir dir;
	const fs::path root = materialized(topology_test::load_catalogue("gpu-workstation"), dir);
	const fs::path device = root / gpu;

	CHECK(read_file(device / "vendor") == "0x10de\n");
	CHECK(read_file(device / "device") == "0x1f02\n");
	CHECK(read_file(device / "subsystem_vendor") == "0x1043\n");
	CHECK(read_file(device / "subsystem_device") == "0x8670\n");
	CHECK(read_file(device / "class") == "0x030000\n");
	CHECK(read_file(device / "revision") == "0xa1\n");
	CHECK(read_file(device / "numa_node") == "-1\n");
	CHECK(read_file(device / "driver_override") == "(null)\n");
	CHECK(read_file(device / "enable") == "1\n");
	CHECK(read_file(device / "boot_vga") == "0\n");
	CHECK(read_file(device / "reset_method") == "bus\n");
	CHECK(read_file(device / "reset").empty());
	CHECK(read_file(device / "modalias") ==
	      "pci:v000010DEd00001F02sv00001043sd00008670bc03sc00i00\n");
	CHECK(read_file(device / "uevent") ==
	      "DRIVER=nouveau\n"
	      "PCI_CLASS=30000\n"
	      "PCI_ID=10DE:1F02\n"
	      "PCI_SUBSYS_ID=1043:8670\n"
	      "PCI_SLOT_NAME=0000:01:00.0\n"
	      "MODALIAS=pci:v000010DEd00001F02sv00001043sd00008670bc03sc00i00\n");

	const std::string resource = read_file(device / "resource");
	CHECK(resource.size() == 13 * 57);
	CHECK(resource.starts_with("0x0000000000000000 0x0000000000000000 0x0000000000000000\n"));

	const std::string config = read_file(device / "config");
	REQUIRE(config.size() == 64);
	const auto byte = [&](size_t offset) { return static_cast<unsigned char>(config[offset]); };
	CHECK(byte(0x00) == 0xde);
	CHECK(byte(0x01) == 0x10);
	CHECK(byte(0x02) == 0x02);
	CHECK(byte(0x03) == 0x1f);
	CHECK(byte(0x04) == 0x07);
	CHECK(byte(0x08) == 0xa1);
	CHECK(byte(0x09) == 0x00);
	CHECK(byte(0x0a) == 0x00);
	CHECK(byte(0x0b) == 0x03);
	CHECK(byte(0x0e) == 0x80);
	CHECK(byte(0x2c) == 0x43);
	CHECK(byte(0x2d) == 0x10);
	CHECK(byte(0x2e) == 0x70);
	CHECK(byte(0x2f) == 0x86);

	/* The root port's bus numbers: primary 00, secondary and subordinate 01. */
	const std::string bridge = read_file(root / "sys/devices/pci0000:00/0000:00:01.0/config");
	CHECK(bridge[0x0e] == 0x01);
	CHECK(bridge[0x18] == 0x00);
	CHECK(bridge[0x19] == 0x01);
	CHECK(bridge[0x1a] == 0x01);
	CHECK(read_file(root / "sys/devices/pci0000:00/0000:00:01.0/resource").size() == 17 * 57);

	/* An unbound function: no driver link, no DRIVER= line, no reset files on audio. */
	const fs::path ucsi = root / "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.3";
	CHECK_FALSE(fs::exists(fs::symlink_status(ucsi / "driver")));
	CHECK(read_file(ucsi / "uevent").starts_with("PCI_CLASS=C8000\n"));
	CHECK(read_file(ucsi / "enable") == "0\n");
	CHECK_FALSE(fs::exists(ucsi / "boot_vga"));
	const fs::path audio = root / "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.1";
	CHECK_FALSE(fs::exists(audio / "reset"));
	CHECK_FALSE(fs::exists(audio / "reset_method"));
	CHECK_FALSE(fs::exists(audio / "boot_vga"));
}

TEST_CASE("materialize: links are relative and resolve inside the root")
{
	for (const std::string &name : catalogue_names) {
		CAPTURE(name);
		TempDir dir;
		const fs::path root =
			fs::canonical(materialized(topology_test::load_catalogue(name), dir));

		size_t links = 0;
		for (const auto &entry : fs::recursive_directory_iterator(root)) {
			if (!entry.is_symlink())
				continue;
			links++;
			const fs::path relative = entry.path().lexically_relative(root);
			const std::string target = link_target(entry.path());
			CAPTURE(relative.string());

			/* Open files in proc/PID/fd are the one place the kernel shows absolute paths. */
			if (relative.string().starts_with("proc/")) {
				CHECK(target.starts_with("/dev/"));
				continue;
			}
			CHECK(fs::path(target).is_relative());
			std::error_code ec;
			const fs::path resolved = fs::canonical(entry.path(), ec);
			REQUIRE_MESSAGE(!ec, "dangling link " << relative.string() << " -> " << target);
			CHECK(resolved.string().starts_with(root.string() + "/"));
		}
		CHECK(links > 0);
	}
}

TEST_CASE("materialize: device, driver and group links have the kernel's shape")
{
	TempDir dir;
	const fs::path root = materialized(topology_test::load_catalogue("gpu-workstation"), dir);

	CHECK(link_target(root / "sys/bus/pci/devices/0000:01:00.0") ==
	      "../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0");
	CHECK(link_target(root / "sys/bus/pci/devices/0000:00:1f.6") ==
	      "../../../devices/pci0000:00/0000:00:1f.6");
	CHECK(link_target(root / gpu / "driver") == "../../../../bus/pci/drivers/nouveau");
	CHECK(link_target(root / "sys/devices/pci0000:00/0000:00:1f.6/driver") ==
	      "../../../bus/pci/drivers/e1000e");
	CHECK(link_target(root / gpu / "subsystem") == "../../../../bus/pci");
	CHECK(link_target(root / gpu / "iommu_group") == "../../../../kernel/iommu_groups/7");
	CHECK(link_target(root / "sys/bus/pci/drivers/nouveau/0000:01:00.0") ==
	      "../../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0");
	CHECK(link_target(root / "sys/bus/pci/drivers/nouveau/module") == "../../../../module/nouveau");
	CHECK(link_target(root / "sys/module/xhci_pci/drivers/pci:xhci_hcd") ==
	      "../../../bus/pci/drivers/xhci_hcd");
	CHECK(link_target(root / "sys/kernel/iommu_groups/7/devices/0000:01:00.3") ==
	      "../../../../devices/pci0000:00/0000:00:01.0/0000:01:00.3");
	CHECK(link_target(root / "sys/class/iommu/dmar1") == "../../devices/virtual/iommu/dmar1");

	/* Built-in pcieport has no module link; vfio-pci is loaded with nothing bound. */
	CHECK(fs::exists(root / "sys/bus/pci/drivers/pcieport/bind"));
	CHECK_FALSE(fs::exists(fs::symlink_status(root / "sys/bus/pci/drivers/pcieport/module")));
	std::set<std::string> vfio_entries;
	for (const auto &entry : fs::directory_iterator(root / "sys/bus/pci/drivers/vfio-pci"))
		vfio_entries.insert(entry.path().filename().string());
	CHECK(vfio_entries ==
	      std::set<std::string>{"bind", "module", "new_id", "remove_id", "uevent", "unbind"});

	std::set<std::string> members;
	for (const auto &entry : fs::directory_iterator(root / "sys/kernel/iommu_groups/7/devices"))
		members.insert(entry.path().filename().string());
	CHECK(members == std::set<std::string>{"0000:01:00.0", "0000:01:00.1", "0000:01:00.2",
					       "0000:01:00.3"});

	struct stat st;
	REQUIRE(::lstat((root / "sys/bus/pci/drivers/vfio-pci/bind").c_str(), &st) == 0);
	CHECK((st.st_mode & 0777) == 0200);
	REQUIRE(::lstat((root / gpu / "driver_override").c_str(), &st) == 0);
	CHECK((st.st_mode & 0777) == 0644);
}

TEST_CASE("materialize: SR-IOV attributes and VF links")
{
	TempDir dir;
	const fs::path root = materialized(topology_test::load_catalogue("sriov-nic"), dir);
	const fs::path pf = root / "sys/devices/pci0000:85/0000:85:02.0/0000:86:00.0";

	CHECK(read_file(pf / "sriov_totalvfs") == "8\n");
	CHECK(read_file(pf / "sriov_numvfs") == "4\n");
	CHECK(read_file(pf / "sriov_drivers_autoprobe") == "1\n");
	CHECK(read_file(pf / "sriov_offset") == "8\n");
	CHECK(read_file(pf / "sriov_stride") == "1\n");
	CHECK(read_file(pf / "sriov_vf_device") == "1889\n");
	CHECK(read_file(pf / "numa_node") == "1\n");
	for (int n = 0; n < 4; n++) {
		CAPTURE(n);
		const std::string vf = "0000:86:01." + std::to_string(n);
		CHECK(link_target(pf / ("virtfn" + std::to_string(n))) == "../" + vf);
		CHECK(link_target(pf.parent_path() / vf / "physfn") == "../0000:86:00.0");
		CHECK(link_target(pf.parent_path() / vf / "iommu_group") ==
		      "../../../../kernel/iommu_groups/" + std::to_string(32 + n));
		CHECK_FALSE(fs::exists(pf.parent_path() / vf / "sriov_numvfs"));
	}
	CHECK_FALSE(fs::exists(fs::symlink_status(pf / "virtfn4")));
	CHECK_FALSE(fs::exists(fs::symlink_status(pf / "physfn")));
}

TEST_CASE("materialize: drivers of unloaded modules have no directory")
{
	TempDir dir;
	const fs::path root = materialized(topology_test::load_catalogue("no-vfio"), dir);

	CHECK_FALSE(fs::exists(root / "sys/bus/pci/drivers/vfio-pci"));
	CHECK_FALSE(fs::exists(root / "sys/module/vfio_pci"));
	CHECK_FALSE(fs::exists(root / "dev/vfio/vfio"));
	CHECK(link_target(root / "sys/bus/pci/drivers/xhci_hcd/module") == "../../../../module/xhci_pci");
	CHECK(read_file(root / "proc/modules") == "xhci_pci 16384 0 - Live 0x0000000000000000\n");
	CHECK(read_file(root / "proc/cmdline") ==
	      "BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 root=/dev/nvme0n1p2 ro quiet intel_iommu=on\n");
	CHECK(read_file(root / "sys/module/xhci_pci/initstate") == "live\n");
}

TEST_CASE("materialize: the IOMMU off leaves no groups")
{
	TempDir dir;
	const fs::path root = materialized(topology_test::load_catalogue("iommu-off"), dir);

	CHECK(fs::is_directory(root / "sys/kernel/iommu_groups"));
	CHECK(fs::is_empty(root / "sys/kernel/iommu_groups"));
	CHECK(fs::is_empty(root / "sys/class/iommu"));
	const fs::path gpu_dir = root / "sys/devices/pci0000:64/0000:64:00.0/0000:65:00.0";
	CHECK(fs::is_directory(gpu_dir));
	CHECK_FALSE(fs::exists(fs::symlink_status(gpu_dir / "iommu_group")));
	CHECK(fs::exists(root / "dev/vfio/vfio"));
}

TEST_CASE("materialize: consumers appear under their device")
{
	TempDir dir;
	const fs::path root = materialized(topology_test::load_catalogue("gpu-workstation"), dir);
	const fs::path xhci = root / "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.2";

	CHECK(read_file(xhci / "usb3/idVendor") == "1d6b\n");
	CHECK(read_file(xhci / "usb3/product") == "xHCI Host Controller\n");
	CHECK(read_file(xhci / "usb3/3-1/idVendor") == "05e3\n");
	CHECK(read_file(xhci / "usb3/3-1/idProduct") == "0610\n");
	CHECK(read_file(xhci / "usb3/3-1/bDeviceClass") == "09\n");
	CHECK(read_file(xhci / "usb3/3-1/3-1.2/product") == "USB Receiver\n");
	CHECK(read_file(xhci / "usb3/3-1/3-1.2/bDeviceClass") == "00\n");
	CHECK(link_target(root / "sys/bus/usb/devices/3-1.2") ==
	      "../../../devices/pci0000:00/0000:00:01.0/0000:01:00.2/usb3/3-1/3-1.2");

	CHECK(link_target(root / "sys/class/drm/card0") ==
	      "../../devices/pci0000:00/0000:00:01.0/0000:01:00.0/drm/card0");
	CHECK(read_file(root / gpu / "drm/card0/dev") == "226:0\n");
	CHECK(link_target(root / "sys/class/net/eno1") == "../../devices/pci0000:00/0000:00:1f.6/net/eno1");
	CHECK(link_target(root / "sys/class/block/sda2") ==
	      "../../devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda2");

	CHECK(read_file(root / "proc/mounts") ==
	      "sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\n"
	      "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"
	      "devtmpfs /dev devtmpfs rw,nosuid,relatime,mode=755 0 0\n"
	      "/dev/sda2 / ext4 rw,relatime 0 0\n");

	const std::string routes = read_file(root / "proc/net/route");
	std::istringstream lines(routes);
	std::string header, route, subnet, extra;
	std::getline(lines, header);
	std::getline(lines, route);
	std::getline(lines, subnet);
	CHECK_FALSE(std::getline(lines, extra));
	CHECK(header.size() == 127);
	CHECK(header.starts_with("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU"));
	CHECK(route.size() == 127);
	CHECK(route.starts_with("eno1\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0 "));
	CHECK(subnet.starts_with("eno1\t000200C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0 "));
	CHECK(read_file(root / "proc/fb").empty());
	CHECK(read_file(root / "proc/cpuinfo").find("vendor_id\t: GenuineIntel\n") != std::string::npos);

	TempDir nvme_dir;
	const fs::path nvme_root = materialized(topology_test::load_catalogue("nvme-mounted"), nvme_dir);
	CHECK(link_target(nvme_root / "sys/class/block/nvme0n1") ==
	      "../../devices/pci0000:00/0000:00:01.1/0000:01:00.0/nvme/nvme0/nvme0n1");
	CHECK(read_file(nvme_root / "proc/mounts").ends_with("/dev/nvme0n1 / ext4 rw,relatime 0 0\n"));
	CHECK(read_file(nvme_root / "proc/cpuinfo").find("vendor_id\t: AuthenticAMD\n") !=
	      std::string::npos);
}

TEST_CASE("materialize: the boot framebuffer shows in proc/fb whatever the driver")
{
	TempDir dir;
	const fs::path root = materialized(topology_test::load_catalogue("gpu-boot-vga"), dir);

	CHECK(read_file(root / "proc/fb") == "0 EFI VGA\n");
	CHECK(read_file(root / gpu / "boot_vga") == "1\n");
	CHECK_FALSE(fs::exists(fs::symlink_status(root / gpu / "driver")));
	CHECK(link_target(root / "sys/class/graphics/fb0") ==
	      "../../devices/platform/efi-framebuffer.0/graphics/fb0");
	CHECK_FALSE(fs::exists(root / "sys/bus/pci/drivers/nouveau"));
}

TEST_CASE("materialize: consumers vanish while the device is off their driver")
{
	Topology topology = topology_test::load_catalogue("gpu-workstation");
	TopologyDevice *xhci = topology.find(PciAddress(0, 1, 0, 2));
	REQUIRE(xhci);
	xhci->driver = "vfio-pci";
	for (TopologyConsumer &consumer : xhci->consumers)
		consumer.driver = "xhci_hcd";

	TempDir dir;
	const fs::path root = materialized(topology, dir);
	const fs::path device = root / "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.2";
	CHECK_FALSE(fs::exists(device / "usb3"));
	CHECK_FALSE(fs::exists(fs::symlink_status(root / "sys/bus/usb/devices/3-1")));
	CHECK_FALSE(fs::exists(fs::symlink_status(root / "sys/bus/usb/devices/usb3")));
	CHECK(fs::exists(fs::symlink_status(root / "sys/bus/usb/devices/1-6")));
	CHECK(link_target(device / "driver") == "../../../../bus/pci/drivers/vfio-pci");
	CHECK(fs::is_directory(device / "vfio-dev/vfio0"));
	CHECK(fs::exists(root / "dev/vfio/7"));
}

TEST_CASE("materialize: VFIO groups get device nodes and holders")
{
	Topology topology = topology_test::load_catalogue("gpu-workstation");
	for (uint8_t function = 0; function < 4; function++) {
		TopologyDevice *device = topology.find(PciAddress(0, 1, 0, function));
		REQUIRE(device);
		for (TopologyConsumer &consumer : device->consumers)
			consumer.driver = device->driver;
		device->driver = "vfio-pci";
		device->driver_override = "vfio-pci";
	}
	topology.holders["dev/vfio/7"] = {{4242, "qemu-system-x86"}};

	TempDir dir;
	const fs::path root = materialized(topology, dir);

	CHECK(fs::exists(root / "dev/vfio/vfio"));
	CHECK(fs::exists(root / "dev/vfio/7"));
	CHECK_FALSE(fs::exists(root / "dev/vfio/2"));
	CHECK(read_file(root / gpu / "driver_override") == "vfio-pci\n");
	CHECK(fs::is_directory(root / gpu / "vfio-dev/vfio0"));
	CHECK(fs::is_directory(root / "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.3/vfio-dev/vfio3"));
	CHECK(read_file(root / "proc/4242/comm") == "qemu-system-x86\n");
	CHECK(link_target(root / "proc/4242/fd/3") == "/dev/vfio/7");
	CHECK(link_target(root / "proc/4242/fd/0") == "/dev/null");

	auto host = open_host(root);
	auto holders = host->holders("dev/vfio/7");
	REQUIRE(holders);
	CHECK(holders.value() == std::vector<Holder>{{4242, "qemu-system-x86"}});
	auto none = host->holders("dev/vfio/vfio");
	REQUIRE(none);
	CHECK(none.value().empty());
}

TEST_CASE("materialize: an inaccessible device reads all ones")
{
	Topology topology = topology_test::load_catalogue("nvme-mounted");
	TopologyDevice *nvme = topology.find(PciAddress(0, 1, 0, 0));
	REQUIRE(nvme);
	nvme->inaccessible = true;

	TempDir dir;
	const fs::path root = materialized(topology, dir);
	const fs::path device = root / "sys/devices/pci0000:00/0000:00:01.1/0000:01:00.0";
	CHECK(read_file(device / "config") == std::string(64, '\xff'));
	/* sysfs keeps the IDs read at enumeration. */
	CHECK(read_file(device / "vendor") == "0x144d\n");
}

TEST_CASE("materialize: refuses a directory that is not empty")
{
	TempDir dir;
	const Topology topology = topology_test::load_catalogue("chipset");
	fs::create_directory(dir.root());
	std::ofstream(dir.root() + "/keep") << "mine\n";

	auto written = materialize(topology, dir.root());
	REQUIRE_FALSE(written);
	CHECK(written.error().code == errc::invalid_argument);
	CHECK(written.error().path == dir.root());
	CHECK(written.error().message == "refusing to materialize into '" + dir.root() +
						 "': the directory is not empty; give an empty or "
						 "absent directory");
	CHECK(read_file(dir.root() + "/keep") == "mine\n");
	CHECK(std::distance(fs::directory_iterator(dir.root()), fs::directory_iterator()) == 1);

	/* An empty directory is fine, and so is one that does not exist yet. */
	fs::remove(dir.root() + "/keep");
	CHECK(materialize(topology, dir.root()));
	CHECK(materialize(topology, dir.root("nested/deeper")));
}

TEST_CASE("materialize: refuses an invalid topology before writing")
{
	Topology topology = topology_test::load_catalogue("chipset");
	topology.devices[1].driver = "../../../etc";

	TempDir dir;
	auto written = materialize(topology, dir.root());
	REQUIRE_FALSE(written);
	CHECK(written.error().message ==
	      "invalid topology at /devices/1/driver: driver \"../../../etc\" is not in /drivers; add "
	      "it there");
	CHECK_FALSE(fs::exists(dir.root()));
}

TEST_CASE("materialize: LiveHost reads every catalogue host back")
{
	for (const std::string &name : catalogue_names) {
		CAPTURE(name);
		const Topology topology = topology_test::load_catalogue(name);
		TempDir dir;
		auto host = open_host(materialized(topology, dir));

		auto listed = host->list("sys/bus/pci/devices");
		REQUIRE(listed);
		CHECK(listed.value().size() == topology.devices.size());

		std::set<unsigned> groups;
		for (const TopologyDevice &device : topology.devices) {
			const std::string bdf = device.address.to_string();
			const std::string link = "sys/bus/pci/devices/" + bdf;
			CAPTURE(bdf);

			auto resolved = host->resolve(link);
			REQUIRE(resolved);
			CHECK(resolved.value() == device_sysfs_path(topology, device.address));

			auto vendor = host->read(link + "/vendor");
			REQUIRE(vendor);
			CHECK(vendor.value() == "0x" + device.vendor.to_string() + "\n");

			auto driver = host->read_link(link + "/driver");
			CHECK(driver.has_value() == !device.driver.empty());
			if (driver)
				CHECK(fs::path(driver.value()).filename() == device.driver);

			auto group = host->read_link(link + "/iommu_group");
			CHECK(group.has_value() == device.iommu_group.has_value());
			if (group && device.iommu_group) {
				CHECK(fs::path(group.value()).filename() ==
				      std::to_string(*device.iommu_group));
				groups.insert(*device.iommu_group);
			}

			if (device.physfn) {
				auto physfn = host->resolve(link + "/physfn");
				REQUIRE(physfn);
				CHECK(physfn.value() == device_sysfs_path(topology, *device.physfn));
			}
		}

		auto group_dirs = host->list("sys/kernel/iommu_groups");
		REQUIRE(group_dirs);
		CHECK(group_dirs.value().size() == groups.size());

		auto modules = host->read("proc/modules");
		REQUIRE(modules);
		for (const std::string &module : topology.modules)
			CHECK(modules.value().find(module + " 16384 0 - Live ") != std::string::npos);
	}
}

namespace {

bool lspci_available()
{
	return ::access("/usr/bin/lspci", X_OK) == 0;
}

/* lspci -vmm records: one map of "Tag" to value per device, keyed by slot. */
std::map<std::string, std::map<std::string, std::string>> lspci_records(const fs::path &root)
{
	const std::string command = "/usr/bin/lspci -A linux-sysfs -O sysfs.path=" +
				    (root / "sys/bus/pci").string() + " -vmm -n -k -D 2>/dev/null";
	FILE *pipe = ::popen(command.c_str(), "r");
	REQUIRE(pipe);
	std::string output;
	std::array<char, 4096> buffer;
	while (size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe))
		output.append(buffer.data(), n);
	REQUIRE(::pclose(pipe) == 0);

	std::map<std::string, std::map<std::string, std::string>> records;
	std::map<std::string, std::string> record;
	std::istringstream lines(output + "\n");
	for (std::string line; std::getline(lines, line);) {
		if (line.empty()) {
			if (!record.empty())
				records[record["Slot"]] = record;
			record.clear();
			continue;
		}
		const size_t tab = line.find(":\t");
		REQUIRE(tab != std::string::npos);
		record[line.substr(0, tab)] = line.substr(tab + 2);
	}
	return records;
}

std::string hex2(unsigned value)
{
	std::array<char, 4> text;
	std::snprintf(text.data(), text.size(), "%02x", value);
	return text.data();
}

} /* namespace */

TEST_CASE("materialize: lspci agrees on every catalogue host" * doctest::skip(!lspci_available()))
{
	for (const std::string &name : catalogue_names) {
		CAPTURE(name);
		const Topology topology = topology_test::load_catalogue(name);
		TempDir dir;
		const auto records = lspci_records(materialized(topology, dir));
		CHECK(records.size() == topology.devices.size());

		for (const TopologyDevice &device : topology.devices) {
			const std::string bdf = device.address.to_string();
			CAPTURE(bdf);
			REQUIRE(records.count(bdf));
			const auto &record = records.at(bdf);
			const auto field = [&](const std::string &tag) {
				const auto found = record.find(tag);
				return found == record.end() ? std::string() : found->second;
			};

			CHECK(field("Vendor") == device.vendor.to_string());
			CHECK(field("Device") == device.device.to_string());
			CHECK(field("Class") == device.class_code.class_subclass_string());
			CHECK(field("ProgIf") == hex2(device.class_code.prog_if()));
			CHECK(field("Rev") == (device.revision ? hex2(device.revision) : std::string()));
			CHECK(field("Driver") == device.driver);
			CHECK(field("IOMMUGroup") ==
			      (device.iommu_group ? std::to_string(*device.iommu_group) : std::string()));
			if (device.subsystem_vendor.value() != 0) {
				CHECK(field("SVendor") == device.subsystem_vendor.to_string());
				CHECK(field("SDevice") == device.subsystem_device.to_string());
			}
			if (device.numa_node >= 0)
				CHECK(field("NUMANode") == std::to_string(device.numa_node));
		}
	}
}

TEST_CASE("materialize: the 4,096-function host")
{
	const Topology topology = topology_test::load(topology_test::large_host_file());
	TempDir dir;
	auto host = open_host(materialized(topology, dir));

	auto devices = host->list("sys/bus/pci/devices");
	REQUIRE(devices);
	CHECK(devices.value().size() == 4113);

	auto pf = host->list("sys/bus/pci/devices/0000:10:00.0");
	REQUIRE(pf);
	size_t virtfns = 0;
	for (const DirEntry &entry : pf.value())
		virtfns += entry.name.starts_with("virtfn");
	CHECK(virtfns == 255);

	auto last = host->read_link("sys/bus/pci/devices/0000:10:00.0/virtfn254");
	REQUIRE(last);
	CHECK(last.value() == "../0000:10:1f.7");
	auto group = host->read_link("sys/bus/pci/devices/0000:10:1f.7/iommu_group");
	REQUIRE(group);
	CHECK(group.value() == "../../../../kernel/iommu_groups/4112");
	auto groups = host->list("sys/kernel/iommu_groups");
	REQUIRE(groups);
	CHECK(groups.value().size() == 4113);
}

TEST_CASE("materialize: mount paths are escaped as in proc/mounts")
{
	Topology topology = topology_test::load_catalogue("nvme-mounted");
	topology.devices.back().consumers[0].mountpoint = "/srv/vm images\\old";

	TempDir dir;
	const fs::path root = materialized(topology, dir);
	CHECK(read_file(root / "proc/mounts").ends_with("/dev/nvme0n1 /srv/vm\\040images\\134old ext4 "
							"rw,relatime 0 0\n"));
}

TEST_CASE("materialize: one process holding two nodes gets two descriptors")
{
	Topology topology = topology_test::load_catalogue("sriov-nic");
	for (uint8_t function = 0; function < 2; function++)
		topology.find(PciAddress(0, 0x86, 1, function))->driver = "vfio-pci";
	for (TopologyDevice &device : topology.devices) {
		for (TopologyConsumer &consumer : device.consumers)
			consumer.driver = device.physfn ? "iavf" : "ice";
	}
	topology.holders["dev/vfio/32"] = {{900, "qemu-system-x86"}};
	topology.holders["dev/vfio/33"] = {{900, "qemu-system-x86"}, {901, "crosvm"}};
	topology.holders["dev/vfio/vfio"] = {{900, "qemu-system-x86"}};

	TempDir dir;
	const fs::path root = materialized(topology, dir);

	CHECK(link_target(root / "proc/900/fd/3") == "/dev/vfio/32");
	CHECK(link_target(root / "proc/900/fd/4") == "/dev/vfio/33");
	CHECK(link_target(root / "proc/900/fd/5") == "/dev/vfio/vfio");
	CHECK(link_target(root / "proc/901/fd/3") == "/dev/vfio/33");
	CHECK(read_file(root / "proc/901/comm") == "crosvm\n");
	CHECK(fs::exists(root / "dev/vfio/32"));
	CHECK(fs::exists(root / "dev/vfio/33"));
	CHECK_FALSE(fs::exists(root / "dev/vfio/34"));

	/* The VFs left on iavf keep their interfaces; those on vfio-pci lose them. */
	CHECK_FALSE(fs::exists(fs::symlink_status(root / "sys/class/net/ens2f0v0")));
	CHECK(fs::exists(fs::symlink_status(root / "sys/class/net/ens2f0v2")));

	auto host = open_host(root);
	auto holders = host->holders("dev/vfio/33");
	REQUIRE(holders);
	std::vector<Holder> sorted = holders.value();
	std::sort(sorted.begin(), sorted.end(),
		  [](const Holder &a, const Holder &b) { return a.pid < b.pid; });
	CHECK(sorted == std::vector<Holder>{{900, "qemu-system-x86"}, {901, "crosvm"}});
}
