/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Vendor and device names from the udev hardware database.
 */

#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>

#include <pcipass/address.hpp>

struct udev;
struct udev_hwdb;

namespace pcipass::detail {

/*
 * The hardware database of the running system (hwdb.bin), opened through
 * libudev. Without the database every name is empty: names are for people
 * and never change what pcipass does. Lookups are cached, because thousands
 * of VFs share one vendor:device pair. Not thread-safe.
 */
class HardwareDatabase
{
public:
	struct Names {
		std::string vendor;
		std::string device;
	};

	HardwareDatabase();
	~HardwareDatabase();

	HardwareDatabase(const HardwareDatabase &) = delete;
	HardwareDatabase &operator=(const HardwareDatabase &) = delete;

	bool available() const { return hwdb_ != nullptr; }

	/* Names for a PCI vendor:device pair; empty strings for what the database lacks. */
	const Names &pci_names(VendorId vendor, DeviceId device);

private:
	struct UdevUnref {
		void operator()(udev *context) const;
	};
	struct HwdbUnref {
		void operator()(udev_hwdb *hwdb) const;
	};

	std::unique_ptr<udev, UdevUnref> udev_;
	std::unique_ptr<udev_hwdb, HwdbUnref> hwdb_;
	std::map<std::pair<uint16_t, uint16_t>, Names> cache_;
};

} /* namespace pcipass::detail */
