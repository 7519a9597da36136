/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 */

#include <string>

#include <doctest/doctest.h>

#include <pcipass/claim.hpp>

#include "devices.hpp"

using namespace pcipass;
using claim_test::make_device;

namespace {

std::string name_of(std::string vendor_name, std::string device_name, uint16_t device_id = 0x1234)
{
	return resource_name(make_device("0000:01:00.0", 0x10de, device_id, 0x030000, {}, 1,
					 std::move(vendor_name), std::move(device_name)));
}

/* The socket path KubeVirt derives from a resource name. */
size_t socket_path_length(const std::string &resource)
{
	return std::string("/var/lib/kubelet/device-plugins/kubevirt-").size() + resource.size() +
	       std::string(".sock").size();
}

} /* namespace */

TEST_CASE("resource name: trailing space inside brackets is trimmed")
{
	/* pci.ids spells 10de:24fa "GA104 [RTX A4500 Embedded GPU ]". */
	CHECK(name_of("NVIDIA Corporation", "GA104 [RTX A4500 Embedded GPU ]", 0x24fa) ==
	      "nvidia.com/GA104_RTX_A4500_EMBEDDED_GPU");
}

TEST_CASE("resource name: common devices")
{
	CHECK(name_of("NVIDIA Corporation", "TU104 [GeForce RTX 2080]") ==
	      "nvidia.com/TU104_GEFORCE_RTX_2080");
	CHECK(name_of("NVIDIA Corporation", "TU104 HD Audio Controller") ==
	      "nvidia.com/TU104_HD_AUDIO_CONTROLLER");
	CHECK(name_of("Intel Corporation", "Ethernet Adaptive Virtual Function") ==
	      "intel.com/ETHERNET_ADAPTIVE_VIRTUAL_FUNCTION");
	CHECK(name_of("Red Hat, Inc.", "Virtio network device") == "red.com/VIRTIO_NETWORK_DEVICE");
	CHECK(name_of("Samsung Electronics Co Ltd", "NVMe SSD Controller PM9A1/PM9A3/980PRO") ==
	      "samsung.com/NVME_SSD_CONTROLLER_PM9A1_PM9A3_980PRO");
}

TEST_CASE("resource name: vendor inside brackets up to the slash")
{
	CHECK(name_of("Advanced Micro Devices, Inc. [AMD/ATI]",
		      "Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]") ==
	      "amd.com/NAVI_21_RADEON_RX_6800_6800_XT___6900_XT");
	CHECK(name_of("Advanced Micro Devices, Inc. [AMD]", "Starship/Matisse HD Audio Controller") ==
	      "amd.com/STARSHIP_MATISSE_HD_AUDIO_CONTROLLER");
	/* An empty pair of brackets does not count; the first non-empty one does. */
	CHECK(name_of("Acme [] Corp [Widget-Co/Other]", "X") == "widgetco.com/X");
	/* An opening bracket without a closing one falls back to the first word. */
	CHECK(name_of("Odd [Vendor", "X") == "odd.com/X");
}

TEST_CASE("resource name: product cleaning")
{
	/* '.' becomes '_', '-' and other punctuation are dropped. */
	CHECK(name_of("Intel Corporation", "I350 Gigabit Network Connection v2.0") ==
	      "intel.com/I350_GIGABIT_NETWORK_CONNECTION_V2_0");
	CHECK(name_of("Intel Corporation", "Ethernet Controller E810-C for QSFP") ==
	      "intel.com/ETHERNET_CONTROLLER_E810C_FOR_QSFP");
	/* Runs of white space become one '_'; outer white space goes. */
	CHECK(name_of("Intel Corporation", "  Foo  Bar\tBaz \n") == "intel.com/FOO_BAR_BAZ");
	/* A dropped character between spaces leaves both underscores. */
	CHECK(name_of("Intel Corporation", "A ( B") == "intel.com/A__B");
	/* Trailing '_' and '.' go, including those made from '/' and '.'. */
	CHECK(name_of("Intel Corporation", "Controller /") == "intel.com/CONTROLLER");
	CHECK(name_of("Intel Corporation", "Controller v1.") == "intel.com/CONTROLLER_V1");
	/* Non-ASCII bytes are dropped. */
	CHECK(name_of("Intel Corporation", "Caf\xc3\xa9 Bridge") == "intel.com/CAF_BRIDGE");
}

TEST_CASE("resource name: device ID when nothing is left")
{
	CHECK(name_of("NVIDIA Corporation", "", 0x1f02) == "nvidia.com/1f02");
	CHECK(name_of("NVIDIA Corporation", "[()]", 0x1f02) == "nvidia.com/1f02");
	CHECK(name_of("NVIDIA Corporation", " _ ", 0x1f02) == "nvidia.com/1f02");
	/* Without a vendor name Harvester's PCI database reports "unknown". */
	CHECK(name_of("", "", 0xabcd) == "unknown.com/abcd");
	CHECK(name_of("[/]", "Thing", 0xabcd) == "unknown.com/THING");
}

TEST_CASE("resource name: long virtual function names are shortened")
{
	/* The socket kubevirt-broadcom.com-NETXTREME_..._VIRTUAL_FUNCTION.sock would be 117 bytes. */
	const std::string resource =
		name_of("Broadcom Inc. and subsidiaries",
			"NetXtreme II BCM57810 10 Gigabit Ethernet Virtual Function", 0x16af);
	CHECK(resource == "broadcom.com/NETXTREME_II_BCM57810_10_GIGABIT_ETHERNET_VF");
	CHECK(socket_path_length(resource) <= max_device_plugin_socket_path);
}

TEST_CASE("resource name: device ID when shortening is not enough")
{
	const std::string resource =
		name_of("Mellanox Technologies",
			"MT2894 Family [ConnectX-6 Lx] Virtual Function with a long marketing name",
			0x101f);
	CHECK(resource == "mellanox.com/101f");
}

TEST_CASE("resource name: socket path limit is 108 bytes inclusive")
{
	/* 41 bytes of directory and prefix, "intel.com", '-', the product and ".sock". */
	const std::string fits(52, 'A');
	const std::string too_long(53, 'A');

	const std::string kept = name_of("Intel Corporation", fits, 0x0abc);
	CHECK(kept == "intel.com/" + fits);
	CHECK(socket_path_length(kept) == 108);

	CHECK(name_of("Intel Corporation", too_long, 0x0abc) == "intel.com/0abc");
}

TEST_CASE("resource name: a PCIDevice status carries it")
{
	const Device gpu = make_device("0000:c1:00.0", 0x10de, 0x24fa, 0x030000, "nvidia", 42,
				       "NVIDIA Corporation", "GA104 [RTX A4500 Embedded GPU ]");
	auto pcidevice = make_pcidevice(gpu, "tekton28a");
	REQUIRE(pcidevice);
	CHECK(pcidevice.value().status.resource_name == "nvidia.com/GA104_RTX_A4500_EMBEDDED_GPU");
}
