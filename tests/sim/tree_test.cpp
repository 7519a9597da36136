/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The simulated tree: the layout of devices, drivers, groups and host
 * files, the Host read calls, and consumers that come and go with their
 * controller's driver.
 */

#include <cerrno>

#include "sim_fixture.hpp"

using namespace sim_test;

TEST_CASE("tree: devices link into sys/devices nested under bridges")
{
	auto host = lab();
	CHECK(host->read_link("sys/bus/pci/devices/0000:01:00.2").value() ==
	      "../../../devices/pci0000:00/0000:00:01.0/0000:01:00.2");
	CHECK(host->resolve("sys/bus/pci/devices/0000:01:00.2").value() ==
	      "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.2");
	CHECK(host->resolve("sys/bus/pci/devices/0000:08:01.0").value() ==
	      "sys/devices/pci0000:00/0000:00:1e.0/0000:08:01.0");
	CHECK(host->exists("sys/devices/pci0000:00/0000:00:01.0/0000:01:00.2/vendor"));
	CHECK_FALSE(host->exists("sys/devices/pci0000:00/0000:01:00.2"));

	auto devices_list = host->list("sys/bus/pci/devices");
	REQUIRE(devices_list);
	CHECK(devices_list.value().size() == 17);
	CHECK(devices_list.value().front() == DirEntry{"0000:00:00.0", EntryType::symlink});
}

TEST_CASE("tree: device attributes read as the kernel prints them")
{
	auto host = lab();
	const std::string gpu = "0000:01:00.0";
	CHECK(read_text(*host, attribute(gpu, "vendor")) == "0x10de\n");
	CHECK(read_text(*host, attribute(gpu, "device")) == "0x1f02\n");
	CHECK(read_text(*host, attribute(gpu, "class")) == "0x030000\n");
	CHECK(read_text(*host, attribute(gpu, "revision")) == "0xa1\n");
	CHECK(read_text(*host, attribute(gpu, "subsystem_vendor")) == "0x1043\n");
	CHECK(read_text(*host, attribute(gpu, "numa_node")) == "-1\n");
	CHECK(read_text(*host, attribute(gpu, "boot_vga")) == "0\n");
	CHECK(read_text(*host, attribute(gpu, "modalias")) ==
	      "pci:v000010DEd00001F02sv00001043sd00008673bc03sc00i00\n");
	CHECK(read_text(*host, attribute(gpu, "uevent")) ==
	      "DRIVER=nouveau\nPCI_CLASS=30000\nPCI_ID=10DE:1F02\nPCI_SUBSYS_ID=1043:8673\n"
	      "PCI_SLOT_NAME=0000:01:00.0\n"
	      "MODALIAS=pci:v000010DEd00001F02sv00001043sd00008673bc03sc00i00\n");
	CHECK(read_text(*host, attribute(gpu, "reset_method")) == "bus\n");

	const std::string config = read_text(*host, attribute(gpu, "config"));
	REQUIRE(config.size() == 256);
	CHECK(uint8_t(config[0]) == 0xde);
	CHECK(uint8_t(config[1]) == 0x10);
	CHECK(uint8_t(config[0x0e]) == 0x80);
	const std::string bridge = read_text(*host, attribute("0000:00:1e.0", "config"));
	CHECK(uint8_t(bridge[0x0e]) == 0x01);
	CHECK(uint8_t(bridge[0x19]) == 0x08);

	/* Unbound: no DRIVER line, no driver link. */
	CHECK(read_text(*host, attribute("0000:01:00.3", "uevent")).starts_with("PCI_CLASS=C8000\n"));
	CHECK_FALSE(host->exists(attribute("0000:01:00.3", "driver")));
	CHECK_FALSE(host->exists(attribute("0000:01:00.3", "boot_vga")));
	CHECK(host->read(attribute("0000:01:00.3", "max_max")).error().sys_errno == ENOENT);
}

TEST_CASE("tree: groups link both ways")
{
	auto host = lab();
	CHECK(host->read_link(attribute("0000:01:00.1", "iommu_group")).value() ==
	      "../../../../kernel/iommu_groups/12");
	auto members = host->list("sys/kernel/iommu_groups/12/devices");
	REQUIRE(members);
	CHECK(members.value() == std::vector<DirEntry>{{"0000:01:00.0", EntryType::symlink},
						       {"0000:01:00.1", EntryType::symlink},
						       {"0000:01:00.2", EntryType::symlink},
						       {"0000:01:00.3", EntryType::symlink}});
	CHECK(host->resolve("sys/kernel/iommu_groups/12/devices/0000:01:00.3").value() ==
	      "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.3");
	CHECK(host->read_link("sys/class/iommu/dmar0").value() == "../../devices/virtual/iommu/dmar0");
}

TEST_CASE("tree: driver directories list their files and devices")
{
	auto host = lab();
	auto entries = host->list("sys/bus/pci/drivers/e1000e");
	REQUIRE(entries);
	CHECK(entries.value() == std::vector<DirEntry>{{"0000:03:00.0", EntryType::symlink},
						       {"bind", EntryType::file},
						       {"module", EntryType::symlink},
						       {"new_id", EntryType::file},
						       {"remove_id", EntryType::file},
						       {"uevent", EntryType::file},
						       {"unbind", EntryType::file}});
	CHECK(host->read_link("sys/bus/pci/drivers/e1000e/0000:03:00.0").value() ==
	      "../../../../devices/pci0000:00/0000:00:1c.0/0000:03:00.0");
	CHECK_FALSE(host->exists("sys/bus/pci/drivers/pcieport/module"));
	CHECK_FALSE(host->exists("sys/bus/pci/drivers/pci-stub"));
	CHECK(host->can_write("sys/bus/pci/drivers/e1000e/bind"));
	CHECK_FALSE(host->can_write("sys/bus/pci/drivers/e1000e/uevent"));
	CHECK(host->read("sys/bus/pci/drivers/e1000e/bind").error().sys_errno == EACCES);
}

TEST_CASE("tree: host files")
{
	auto host = lab();
	CHECK(read_text(*host, "proc/cmdline") ==
	      "BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 root=/dev/nvme0n1p2 ro quiet intel_iommu=on\n");
	CHECK(read_text(*host, "proc/cpuinfo").find("vendor_id\t: GenuineIntel\n") != std::string::npos);
	CHECK(read_text(*host, "proc/modules").find("vfio_pci 16384 0 - Live") != std::string::npos);
	CHECK(read_text(*host, "proc/mounts").find("/dev/nvme0n1p2 / ext4 rw,relatime 0 0\n") !=
	      std::string::npos);
	CHECK(read_text(*host, "proc/net/route").find("eth0\t00000000\t") != std::string::npos);
	CHECK(read_text(*host, "proc/fb").empty());
	CHECK(read_text(*host, "sys/module/vfio_pci/initstate") == "live\n");
	CHECK(read_text(*host, "sys/bus/pci/drivers_autoprobe") == "1\n");
	CHECK(host->describe().starts_with("simulated kernel (Simulator test host"));
}

TEST_CASE("tree: read calls report errors as system calls do")
{
	auto host = lab();
	CHECK(host->read("sys/bus/pci/devices").error().sys_errno == EISDIR);
	CHECK(host->read_link(attribute("0000:01:00.0", "vendor")).error().sys_errno == EINVAL);
	CHECK(host->list(attribute("0000:01:00.0", "vendor")).error().sys_errno == ENOTDIR);
	CHECK(host->read(attribute("0000:01:00.0", "vendor/x")).error().sys_errno == ENOTDIR);
	CHECK(host->read("sys/nothing").error().sys_errno == ENOENT);
	CHECK(host->read("/sys/bus").error().code == errc::invalid_argument);
	CHECK(host->read("sys/../etc").error().code == errc::invalid_argument);
	CHECK(read_text(*host, attribute("0000:01:00.0", "vendor")) == "0x10de\n");
	CHECK(host->read(attribute("0000:01:00.0", "vendor"), 3).value() == "0x1");
	CHECK_FALSE(host->exists("sys/../sys"));
	CHECK(host->exists(attribute("0000:01:00.0", "driver")));
}

TEST_CASE("tree: open_dir reads beneath a directory")
{
	auto host = lab();
	auto dir = host->open_dir("sys/bus/pci/devices/0000:01:00.0");
	REQUIRE(dir);
	CHECK(dir.value()->path() == "sys/bus/pci/devices/0000:01:00.0");
	CHECK(dir.value()->read("vendor").value() == "0x10de\n");
	CHECK(dir.value()->read_link("driver").value() == "../../../../bus/pci/drivers/nouveau");
	auto drm = dir.value()->open("drm");
	REQUIRE(drm);
	CHECK(drm.value()->list().value() == std::vector<DirEntry>{{"card0", EntryType::directory}});
	CHECK(dir.value()->read("../x").error().code == errc::invalid_argument);
	CHECK(host->open_dir(attribute("0000:01:00.0", "vendor")).error().sys_errno == ENOTDIR);
}

TEST_CASE("consumers: USB devices leave with the controller's driver and come back")
{
	auto host = lab();
	CHECK(host->exists("sys/bus/usb/devices/usb3"));
	CHECK(host->resolve("sys/bus/usb/devices/3-1.2").value() ==
	      "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.2/usb3/3-1/3-1.2");
	CHECK(read_text(*host, "sys/bus/usb/devices/3-1.2/idVendor") == "046d\n");
	CHECK(read_text(*host, "sys/bus/usb/devices/3-1.2/product") == "USB Keyboard\n");
	CHECK(read_text(*host, "sys/bus/usb/devices/3-1/bDeviceClass") == "09\n");
	CHECK(read_text(*host, "sys/bus/usb/devices/usb3/product") == "xHCI Host Controller\n");

	move_to(*host, "0000:01:00.2", "vfio-pci");
	CHECK_FALSE(host->exists("sys/bus/usb/devices/3-1.2"));
	CHECK_FALSE(host->exists("sys/bus/usb/devices/usb3"));
	CHECK(host->list("sys/bus/usb/devices").value().empty());
	CHECK_FALSE(host->exists(attribute("0000:01:00.2", "usb3")));

	REQUIRE(write_errno(*host, attribute("0000:01:00.2", "driver_override"), "\n") == 0);
	REQUIRE(write_errno(*host, driver_file("vfio-pci", "unbind"), "0000:01:00.2") == 0);
	CHECK_FALSE(host->exists("sys/bus/usb/devices/3-1.2"));
	REQUIRE(write_errno(*host, driver_file("xhci_hcd", "bind"), "0000:01:00.2") == 0);
	CHECK(host->exists("sys/bus/usb/devices/3-1.2"));
	CHECK(read_text(*host, "sys/bus/usb/devices/3-1.2/devnum") == "3\n");
}

TEST_CASE("consumers: interfaces, disks and cards leave with their driver")
{
	auto host = lab();
	CHECK(host->exists("sys/class/net/eth0"));
	CHECK(read_text(*host, "sys/class/net/eth0/ifindex") == "2\n");
	CHECK(read_text(*host, "sys/class/net/enp6s0f0/ifindex") == "3\n");
	CHECK(host->exists("sys/class/block/nvme0n1p2"));
	CHECK(host->exists("sys/class/nvme/nvme0"));
	CHECK(host->exists("sys/class/drm/card0"));
	CHECK(read_text(*host, "sys/class/drm/card0/dev") == "226:0\n");

	REQUIRE(write_errno(*host, driver_file("e1000e", "unbind"), "0000:03:00.0") == 0);
	REQUIRE(write_errno(*host, driver_file("nvme", "unbind"), "0000:05:00.0") == 0);
	REQUIRE(write_errno(*host, driver_file("nouveau", "unbind"), "0000:01:00.0") == 0);
	CHECK_FALSE(host->exists("sys/class/net/eth0"));
	CHECK(host->exists("sys/class/net/lo"));
	CHECK(read_text(*host, "sys/class/net/enp6s0f0/ifindex") == "2\n");
	CHECK(read_text(*host, "proc/net/route").find("eth0") == std::string::npos);
	CHECK_FALSE(host->exists("sys/class/block/nvme0n1p2"));
	CHECK_FALSE(host->exists("sys/class/nvme"));
	CHECK(read_text(*host, "proc/mounts").find("nvme0n1p2") == std::string::npos);
	CHECK_FALSE(host->exists("sys/class/drm/card0"));
	CHECK_FALSE(host->exists(attribute("0000:01:00.0", "drm")));

	/* A consumer needs the driver it came with, not any driver. */
	move_to(*host, "0000:03:00.0", "vfio-pci");
	CHECK_FALSE(host->exists("sys/class/net/eth0"));
}

TEST_CASE("consumers: the firmware framebuffer stays whatever binds the GPU")
{
	auto topology = lab_topology();
	for (auto &device : topology.devices) {
		if (device.address == PciAddress(0, 1, 0, 0)) {
			device.boot_vga = true;
			testing::TopologyConsumer framebuffer;
			framebuffer.kind = ConsumerKind::framebuffer;
			framebuffer.name = "efifb";
			device.consumers.push_back(framebuffer);
		}
	}
	auto host = make_host(topology);
	CHECK(read_text(*host, "proc/fb") == "0 EFI VGA\n");
	CHECK(host->resolve("sys/class/graphics/fb0").value() ==
	      "sys/devices/platform/efi-framebuffer.0/graphics/fb0");

	move_to(*host, "0000:01:00.0", "vfio-pci");
	CHECK(read_text(*host, "proc/fb") == "0 EFI VGA\n");
}
