/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Vendor and device names from the udev hardware database.
 */

#include "hwdb.hpp"

#include <array>
#include <cstdio>
#include <string_view>

#include <libudev.h>

namespace pcipass::detail {

void HardwareDatabase::UdevUnref::operator()(udev *context) const
{
	udev_unref(context);
}

void HardwareDatabase::HwdbUnref::operator()(udev_hwdb *hwdb) const
{
	udev_hwdb_unref(hwdb);
}

HardwareDatabase::HardwareDatabase()
	: udev_(udev_new())
{
	if (udev_)
		hwdb_.reset(udev_hwdb_new(udev_.get()));
}

HardwareDatabase::~HardwareDatabase() = default;

const HardwareDatabase::Names &HardwareDatabase::pci_names(VendorId vendor, DeviceId device)
{
	const auto key = std::make_pair(vendor.value(), device.value());
	const auto cached = cache_.find(key);
	if (cached != cache_.end())
		return cached->second;

	Names &names = cache_[key];
	if (!hwdb_)
		return names;

	/*
	 * The database keys are modalias globs such as "pci:v000010DE*" for
	 * the vendor and "pci:v000010DEd00001F02*" for the device, so one
	 * lookup of the vendor:device prefix returns both properties.
	 */
	std::array<char, 32> modalias;
	std::snprintf(modalias.data(), modalias.size(), "pci:v%08Xd%08X", vendor.value(),
		      device.value());

	for (udev_list_entry *entry =
		     udev_hwdb_get_properties_list_entry(hwdb_.get(), modalias.data(), 0);
	     entry; entry = udev_list_entry_get_next(entry)) {
		const char *name = udev_list_entry_get_name(entry);
		const char *value = udev_list_entry_get_value(entry);
		if (!name || !value)
			continue;

		const std::string_view property = name;
		if (property == "ID_VENDOR_FROM_DATABASE")
			names.vendor = value;
		else if (property == "ID_MODEL_FROM_DATABASE")
			names.device = value;
	}

	return names;
}

} /* namespace pcipass::detail */
