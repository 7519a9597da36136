/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The sysfs and procfs parsers, on real-shaped and hostile content.
 */

#include <string>

#include <doctest/doctest.h>

#include "sysfs_parse.hpp"

using namespace pcipass;
using namespace pcipass::detail;

namespace {

/* A 64-byte type 0 header for 10de:1f02, class 030000, revision a1, subsystem 1043:8670. */
std::string gpu_header()
{
	std::string bytes(64, '\0');
	bytes[0x00] = '\xde';
	bytes[0x01] = '\x10';
	bytes[0x02] = '\x02';
	bytes[0x03] = '\x1f';
	bytes[0x08] = '\xa1';
	bytes[0x0b] = '\x03';
	bytes[0x0e] = '\x80';
	bytes[0x2c] = '\x43';
	bytes[0x2d] = '\x10';
	bytes[0x2e] = '\x70';
	bytes[0x2f] = '\x86';
	return bytes;
}

} /* namespace */

TEST_CASE("parse: hex attributes")
{
	CHECK(parse_hex_attribute("0x10de\n", 4).value() == 0x10de);
	CHECK(parse_hex_attribute("10DE", 4).value() == 0x10de);
	CHECK(parse_hex_attribute("0x030000\n", 6).value() == 0x030000);

	for (const char *bad : {"", "\n", "0x", "0x10de0\n", "10de \n", " 10de", "0x10dg\n",
				"0x10de\n\n", "-1\n"}) {
		CAPTURE(bad);
		const auto value = parse_hex_attribute(bad, 4);
		REQUIRE_FALSE(value);
		CHECK(value.error().code == errc::malformed_attribute);
	}
}

TEST_CASE("parse: integer and boolean attributes")
{
	CHECK(parse_int_attribute("-1\n").value() == -1);
	CHECK(parse_int_attribute("4").value() == 4);
	CHECK_FALSE(parse_int_attribute(""));
	CHECK_FALSE(parse_int_attribute("4 \n"));
	CHECK_FALSE(parse_int_attribute("four\n"));
	CHECK_FALSE(parse_int_attribute("99999999999999999999999\n"));

	CHECK(parse_bool_attribute("1\n").value());
	CHECK_FALSE(parse_bool_attribute("0\n").value());
	CHECK_FALSE(parse_bool_attribute("2\n"));
	CHECK_FALSE(parse_bool_attribute(""));
}

TEST_CASE("parse: config header of an endpoint")
{
	const auto header = parse_config_header(gpu_header());
	REQUIRE(header);
	CHECK(header.value().vendor == VendorId(0x10de));
	CHECK(header.value().device == DeviceId(0x1f02));
	CHECK(header.value().class_code == ClassCode(0x030000));
	CHECK(header.value().revision == 0xa1);
	CHECK(header.value().header_type == 0x80);
	CHECK(header.value().subsystem_vendor == VendorId(0x1043));
	CHECK(header.value().subsystem_device == DeviceId(0x8670));
	CHECK_FALSE(header.value().inaccessible);
	CHECK_FALSE(header.value().ids_hidden);
}

TEST_CASE("parse: config header of a bridge has no subsystem IDs")
{
	std::string bytes = gpu_header();
	bytes[0x0e] = '\x01';
	const auto header = parse_config_header(bytes);
	REQUIRE(header);
	CHECK(header.value().header_type == 0x01);
	CHECK(header.value().subsystem_vendor == VendorId(0));
	CHECK(header.value().subsystem_device == DeviceId(0));
}

TEST_CASE("parse: config reading all ones is inaccessible")
{
	const auto header = parse_config_header(std::string(256, '\xff'));
	REQUIRE(header);
	CHECK(header.value().inaccessible);
	CHECK_FALSE(header.value().ids_hidden);
	CHECK(header.value().subsystem_vendor == VendorId(0));
}

TEST_CASE("parse: a VF's config hides its IDs only")
{
	std::string bytes = gpu_header();
	for (int i = 0; i < 4; i++)
		bytes[i] = '\xff';
	const auto header = parse_config_header(bytes);
	REQUIRE(header);
	CHECK_FALSE(header.value().inaccessible);
	CHECK(header.value().ids_hidden);
	CHECK(header.value().class_code == ClassCode(0x030000));
}

TEST_CASE("parse: a short config is malformed")
{
	const auto header = parse_config_header(gpu_header().substr(0, 63));
	REQUIRE_FALSE(header);
	CHECK(header.error().code == errc::malformed_attribute);
	CHECK(header.error().message == "config holds 63 bytes, expected at least the 64-byte standard header");
}

TEST_CASE("parse: PCI uevent")
{
	const auto uevent = parse_pci_uevent("DRIVER=nouveau\nPCI_CLASS=30000\nPCI_ID=10DE:1F02\n"
					     "PCI_SUBSYS_ID=1043:8670\nPCI_SLOT_NAME=0000:01:00.0\n"
					     "MODALIAS=pci:v000010DEd00001F02sv00001043sd00008670bc03sc00i00\n");
	REQUIRE(uevent);
	CHECK(uevent.value().driver == "nouveau");
	CHECK(uevent.value().vendor == VendorId(0x10de));
	CHECK(uevent.value().device == DeviceId(0x1f02));
	CHECK(uevent.value().subsystem_vendor == VendorId(0x1043));
	CHECK(uevent.value().subsystem_device == DeviceId(0x8670));
	CHECK(uevent.value().class_code == ClassCode(0x030000));

	const auto bridge = parse_pci_uevent("PCI_CLASS=60400\nPCI_ID=8086:1901\n");
	REQUIRE(bridge);
	CHECK_FALSE(bridge.value().driver);
	CHECK(bridge.value().subsystem_vendor == VendorId(0));

	CHECK_FALSE(parse_pci_uevent("PCI_CLASS=30000\n"));
	CHECK_FALSE(parse_pci_uevent("PCI_ID=10DE\nPCI_CLASS=30000\n"));
	CHECK_FALSE(parse_pci_uevent("PCI_ID=10DE:1F02\n"));
	CHECK_FALSE(parse_pci_uevent("garbage\n"));
	CHECK_FALSE(parse_pci_uevent(std::string("PCI_ID=\0\xff:1F02\n", 15)));
}

TEST_CASE("parse: USB uevent")
{
	const auto hub = parse_usb_uevent("MAJOR=189\nDEVTYPE=usb_device\nDRIVER=usb\n"
					  "PRODUCT=5e3/610/9226\nTYPE=9/0/1\nBUSNUM=003\n");
	REQUIRE(hub);
	CHECK(hub.value().vendor == 0x05e3);
	CHECK(hub.value().product == 0x0610);
	CHECK(hub.value().device_class == 9);

	CHECK_FALSE(parse_usb_uevent("PRODUCT=5e3/610/9226\n"));
	CHECK_FALSE(parse_usb_uevent("PRODUCT=5e3\nTYPE=9/0/1\n"));
	CHECK_FALSE(parse_usb_uevent("PRODUCT=5e3/610/1\nTYPE=x/0/1\n"));
	CHECK_FALSE(parse_usb_uevent("PRODUCT=5e3/610/1\nTYPE=300/0/1\n"));
}

TEST_CASE("parse: resource lines")
{
	const auto resources = parse_resource("0x00000000f6000000 0x00000000f6ffffff 0x0000000000040200\n"
					      "0x0000000000000000 0x0000000000000000 0x0000000000000000\n");
	REQUIRE(resources);
	REQUIRE(resources.value().size() == 2);
	CHECK(resources.value()[0].start == 0xf6000000);
	CHECK(resources.value()[0].size() == 0x1000000);
	CHECK(resources.value()[0].flags == 0x40200);
	CHECK_FALSE(resources.value()[1].used());

	CHECK_FALSE(parse_resource("0x1 0x2\n"));
	CHECK_FALSE(parse_resource("1 2 3\n"));
	CHECK_FALSE(parse_resource("0x00000000f6ffffff 0x00000000f6000000 0x0000000000040200\n"));
}

TEST_CASE("parse: driver_override distinguishes unset, empty and set")
{
	CHECK(parse_driver_override("(null)\n").value() == std::nullopt);
	CHECK(parse_driver_override("vfio-pci\n").value() == std::optional<std::string>("vfio-pci"));
	/* What kernels 5.19 to 6.0 show after a NUL write: an override matching no driver. */
	CHECK(parse_driver_override("\n").value() == std::optional<std::string>(""));

	CHECK_FALSE(parse_driver_override(""));
	CHECK_FALSE(parse_driver_override("vfio pci\n"));
	CHECK_FALSE(parse_driver_override("vfio-pci\nnouveau\n"));
	CHECK_FALSE(parse_driver_override(std::string("\0\n", 2)));
}

TEST_CASE("parse: reset methods")
{
	CHECK(parse_reset_methods("flr bus\n").value() == std::vector<std::string>{"flr", "bus"});
	CHECK(parse_reset_methods("\n").value().empty());
	CHECK_FALSE(parse_reset_methods("flr\nbus\n"));
}

TEST_CASE("parse: proc/modules gives exact, sorted names")
{
	const auto modules = parse_proc_modules(
		"vfio_pci 16384 0 - Live 0xffffffffc0a00000\n"
		"vfio_pci_core 94208 1 vfio_pci, Live 0x0000000000000000\n"
		"nvme 57344 2 - Live 0x0000000000000000\n");
	REQUIRE(modules);
	CHECK(modules.value() == std::vector<std::string>{"nvme", "vfio_pci", "vfio_pci_core"});
	CHECK(parse_proc_modules("").value().empty());
	CHECK_FALSE(parse_proc_modules("vfio_pci\n"));
}

TEST_CASE("parse: kernel command line parameters")
{
	const std::string cmdline = parse_cmdline("BOOT_IMAGE=/vmlinuz root=/dev/sda2 quiet "
						  "intel_iommu=off intel_iommu=on "
						  "acpi_osi=\"Windows 2020\" -- intel_iommu=off\n");
	CHECK(cmdline.ends_with("-- intel_iommu=off"));
	CHECK(cmdline_parameter(cmdline, "intel_iommu") == "on");
	CHECK(cmdline_parameter(cmdline, "quiet") == "");
	CHECK(cmdline_parameter(cmdline, "acpi_osi") == "Windows 2020");
	CHECK_FALSE(cmdline_parameter(cmdline, "iommu"));
	CHECK_FALSE(cmdline_parameter(cmdline, "amd_iommu"));
}

TEST_CASE("parse: proc/mounts decodes octal escapes")
{
	const auto mounts = parse_proc_mounts("/dev/nvme0n1p2 / ext4 rw,relatime 0 0\n"
					      "/dev/sdb1 /mnt/my\\040disk vfat rw 0 0\n");
	REQUIRE(mounts);
	REQUIRE(mounts.value().size() == 2);
	CHECK(mounts.value()[0] == Mount{"/dev/nvme0n1p2", "/", "ext4"});
	CHECK(mounts.value()[1].target == "/mnt/my disk");
	CHECK_FALSE(parse_proc_mounts("/dev/sda1 /\n"));
}

TEST_CASE("parse: proc/swaps")
{
	const auto swaps = parse_proc_swaps("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
					    "/dev/nvme0n1p3                          partition\t8388604\t\t0\t\t-2\n");
	REQUIRE(swaps);
	CHECK(swaps.value() == std::vector<std::string>{"/dev/nvme0n1p3"});
}

TEST_CASE("parse: default routes in proc/net/route")
{
	const auto routes = parse_default_routes(
		"Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
		"eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
		"eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
		"eth1\t00000000\t010200C0\t0003\t0\t0\t100\t00000080\t0\t0\t0\n");
	REQUIRE(routes);
	CHECK(routes.value() == std::vector<std::string>{"eth0"});
	CHECK_FALSE(parse_default_routes("Iface\tDestination\neth0\tzz\n"));
}

TEST_CASE("parse: default routes in proc/net/ipv6_route")
{
	const std::string zero(32, '0');
	const auto routes = parse_default_routes_ipv6(
		zero + " 00 " + zero + " 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003     eth0\n" +
		zero + " 00 " + zero + " 00 " + zero + " ffffffff 00000001 00000000 00200200       lo\n" +
		"fe800000000000000000000000000000 40 " + zero + " 00 " + zero + " 00000100 00000001 00000000 00000001     eth1\n");
	REQUIRE(routes);
	CHECK(routes.value() == std::vector<std::string>{"eth0"});
}

TEST_CASE("parse: proc/fb and the firmware framebuffers")
{
	const auto entries = parse_proc_fb("0 EFI VGA\n1 nouveaudrmfb\n");
	REQUIRE(entries);
	REQUIRE(entries.value().size() == 2);
	CHECK(entries.value()[0] == FramebufferEntry{0, "EFI VGA"});
	CHECK(firmware_framebuffer_name("EFI VGA") == "efifb");
	CHECK(firmware_framebuffer_name("VESA VGA") == "vesafb");
	CHECK(firmware_framebuffer_name("simple") == "simplefb");
	CHECK(firmware_framebuffer_name("simpledrmdrmfb") == "simpledrm");
	CHECK_FALSE(firmware_framebuffer_name("nouveaudrmfb"));
	CHECK_FALSE(parse_proc_fb("EFI VGA\n"));
}

TEST_CASE("parse: cpuinfo vendor and hypervisor flag")
{
	const CpuInfo info = parse_cpuinfo("processor\t: 0\nvendor_id\t: AuthenticAMD\n"
					   "flags\t\t: fpu vme hypervisor lahf_lm\n\n"
					   "processor\t: 1\nvendor_id\t: GenuineIntel\n");
	CHECK(info.vendor == "AuthenticAMD");
	CHECK(info.hypervisor);
	CHECK_FALSE(parse_cpuinfo("vendor_id\t: GenuineIntel\nflags\t: fpu\n").hypervisor);
}

TEST_CASE("parse: link targets stay beneath the root")
{
	const std::string device = "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0";
	CHECK(resolve_link_target(device, "../../../../bus/pci/drivers/nouveau").value() ==
	      "sys/bus/pci/drivers/nouveau");
	CHECK(resolve_link_target(device, "../../../../kernel/iommu_groups/12").value() ==
	      "sys/kernel/iommu_groups/12");

	const auto escaping = resolve_link_target(device, "../../../../../../../etc");
	REQUIRE_FALSE(escaping);
	CHECK(escaping.error().code == errc::escapes_root);
	const auto absolute = resolve_link_target(device, "/sys/bus/pci/drivers/nouveau");
	REQUIRE_FALSE(absolute);
	CHECK(absolute.error().code == errc::escapes_root);

	CHECK(parse_iommu_group_path("sys/kernel/iommu_groups/12").value() == 12);
	CHECK_FALSE(parse_iommu_group_path("sys/kernel/iommu_groups/12/devices"));
	CHECK_FALSE(parse_iommu_group_path("etc/passwd"));
}
