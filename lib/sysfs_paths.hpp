/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The sysfs files a transaction reads and writes, relative to the host root.
 */

#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace pcipass::detail {

inline constexpr std::string_view pci_drivers_probe = "sys/bus/pci/drivers_probe";

/* "sys/bus/pci/devices/BDF" or "sys/bus/pci/devices/BDF/ATTRIBUTE" */
inline std::string pci_device_path(std::string_view bdf, std::string_view attribute = {})
{
	std::string path = "sys/bus/pci/devices/";
	path += bdf;
	if (!attribute.empty()) {
		path += '/';
		path += attribute;
	}
	return path;
}

/* "sys/bus/pci/drivers/DRIVER" or "sys/bus/pci/drivers/DRIVER/FILE" */
inline std::string pci_driver_path(std::string_view driver, std::string_view file = {})
{
	std::string path = "sys/bus/pci/drivers/";
	path += driver;
	if (!file.empty()) {
		path += '/';
		path += file;
	}
	return path;
}

inline std::string platform_driver_path(std::string_view driver, std::string_view file = {})
{
	std::string path = "sys/bus/platform/drivers/";
	path += driver;
	if (!file.empty()) {
		path += '/';
		path += file;
	}
	return path;
}

inline std::string platform_device_path(std::string_view device, std::string_view attribute = {})
{
	std::string path = "sys/bus/platform/devices/";
	path += device;
	if (!attribute.empty()) {
		path += '/';
		path += attribute;
	}
	return path;
}

/*
 * The platform driver and device behind a framebuffer consumer name:
 * "efifb" is efi-framebuffer.0 on the efi-framebuffer driver, "simpledrm"
 * is simple-framebuffer.0, "vesafb" is vesa-framebuffer.0, and a name that
 * already ends in ".N" is the platform device itself.
 */
std::pair<std::string, std::string> framebuffer_platform(std::string_view consumer);

} /* namespace pcipass::detail */
