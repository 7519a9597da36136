/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Device values built by hand for the object tests, as a graph scan would
 * report them.
 */

#pragma once

#include <optional>
#include <string>

#include <pcipass/address.hpp>
#include <pcipass/graph.hpp>

namespace claim_test {

/* The uid of PCIDevice tekton28a-0000c1000 in a reported Harvester failure. */
inline constexpr const char *tekton_uid = "cb439de7-3145-4b0f-a64e-f34a4dec2059";

inline pcipass::PciAddress address(const char *text)
{
	return pcipass::PciAddress::parse(text).value();
}

inline pcipass::Device make_device(const char *bdf, uint16_t vendor, uint16_t device,
				   uint32_t class_code, std::optional<std::string> driver,
				   std::optional<unsigned> group, std::string vendor_name = {},
				   std::string device_name = {})
{
	pcipass::Device d;
	d.address = address(bdf);
	d.vendor = pcipass::VendorId(vendor);
	d.device = pcipass::DeviceId(device);
	d.class_code = pcipass::ClassCode(class_code);
	d.driver = std::move(driver);
	d.iommu_group = group;
	d.vendor_name = std::move(vendor_name);
	d.device_name = std::move(device_name);
	return d;
}

/* A bridge: header type 1. */
inline pcipass::Device make_bridge(const char *bdf, std::optional<unsigned> group)
{
	pcipass::Device d = make_device(bdf, 0x8086, 0x7ab8, 0x060400, "pcieport", group,
					"Intel Corporation", "Alder Lake-S PCH PCI Express Root Port");
	d.header_type = 0x01;
	return d;
}

inline pcipass::Consumer make_consumer(pcipass::ConsumerKind kind, std::string name,
				      std::string description)
{
	pcipass::Consumer consumer;
	consumer.kind = kind;
	consumer.name = std::move(name);
	consumer.description = std::move(description);
	return consumer;
}

} /* namespace claim_test */
