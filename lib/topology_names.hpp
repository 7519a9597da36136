/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Names shared by the topology reader, its checks and materialize().
 */

#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <pcipass/graph.hpp>

namespace pcipass::detail {

/*
 * NOTE: graph.hpp declares consumer_kind_name() and is_vfio_driver(). These
 * copies keep the topology code linkable before the graph layer defines
 * them, and should give way to those functions once it does.
 */
inline constexpr std::pair<ConsumerKind, std::string_view> consumer_kinds[] = {
	{ConsumerKind::usb_device, "usb_device"},
	{ConsumerKind::usb_hub, "usb_hub"},
	{ConsumerKind::net_interface, "net_interface"},
	{ConsumerKind::block_device, "block_device"},
	{ConsumerKind::drm_card, "drm_card"},
	{ConsumerKind::framebuffer, "framebuffer"},
};

inline std::string_view consumer_kind_to_name(ConsumerKind kind)
{
	for (const auto &[value, name] : consumer_kinds) {
		if (value == kind)
			return name;
	}
	return "unknown";
}

inline std::optional<ConsumerKind> consumer_kind_from_name(std::string_view name)
{
	for (const auto &[value, text] : consumer_kinds) {
		if (text == name)
			return value;
	}
	return std::nullopt;
}

/* "usb_device, usb_hub, ..." for messages. */
inline std::string consumer_kind_names()
{
	std::string text;
	for (const auto &[value, name] : consumer_kinds) {
		if (!text.empty())
			text += ", ";
		text += name;
	}
	return text;
}

/* vfio-pci and the vendor variant drivers built on it ("mlx5_vfio_pci", "hisi-acc-vfio-pci"). */
inline bool is_vfio_driver_name(std::string_view driver)
{
	return driver == "vfio-pci" || driver.ends_with("-vfio-pci") ||
	       driver.ends_with("_vfio_pci");
}

} /* namespace pcipass::detail */
