/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Helpers shared by the simulated-kernel tests: the lab host, short write
 * and read helpers, and a temporary directory.
 */

#pragma once

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <doctest/doctest.h>

#include <pcipass/testing/sim.hpp>
#include <pcipass/testing/topology.hpp>

namespace sim_test {

using namespace pcipass;

inline constexpr std::string_view devices = "sys/bus/pci/devices/";
inline constexpr std::string_view drivers = "sys/bus/pci/drivers/";

/* The topology in tests/sim/lab.json, which every test may adjust before creating a host. */
inline testing::Topology lab_topology()
{
	auto topology = testing::load_topology(std::string(PCIPASS_SOURCE_DIR) + "/tests/sim/lab.json");
	REQUIRE_MESSAGE(topology, topology.error().describe());
	return topology.value();
}

inline std::unique_ptr<sim::Host> make_host(const testing::Topology &topology,
					    const sim::Options &options = {})
{
	auto host = sim::Host::create(topology, options);
	REQUIRE_MESSAGE(host, host.error().describe());
	return std::move(host.value());
}

inline std::unique_ptr<sim::Host> lab(const sim::Options &options = {})
{
	return make_host(lab_topology(), options);
}

/* The errno a write returns, 0 on success. */
inline int write_errno(sim::Host &host, std::string_view path, std::string_view value)
{
	auto written = host.write(path, value);
	return written ? 0 : written.error().sys_errno;
}

inline std::string attribute(std::string_view device, std::string_view name)
{
	return std::string(devices) + std::string(device) + "/" + std::string(name);
}

inline std::string driver_file(std::string_view driver, std::string_view name)
{
	return std::string(drivers) + std::string(driver) + "/" + std::string(name);
}

/* The driver a device is bound to as its driver link shows it, empty when unbound. */
inline std::string driver_of(sim::Host &host, std::string_view device)
{
	auto target = host.read_link(attribute(device, "driver"));
	if (!target)
		return {};
	return std::filesystem::path(target.value()).filename().string();
}

inline std::string read_text(sim::Host &host, std::string_view path)
{
	auto text = host.read(path);
	REQUIRE_MESSAGE(text, text.error().describe());
	return text.value();
}

/* The entry of one device in a state; fails the test when it is absent. */
inline sim::DeviceState device_state(const sim::State &state, std::string_view address)
{
	for (const auto &device : state.devices) {
		if (device.address.to_string() == address)
			return device;
	}
	FAIL("no device " << address << " in the state");
	return {};
}

inline bool has_device(const sim::State &state, std::string_view address)
{
	for (const auto &device : state.devices) {
		if (device.address.to_string() == address)
			return true;
	}
	return false;
}

/* The rule of the last logged operation that was not a side effect. */
inline sim::Rule last_rule(const sim::Host &host)
{
	const auto log = host.log();
	for (auto it = log.rbegin(); it != log.rend(); ++it) {
		if (!it->side_effect)
			return it->rule;
	}
	FAIL("the log is empty");
	return sim::Rule::path_not_found;
}

/* Moves a device to a driver the way pcipass does: override, unbind, bind. */
inline void move_to(sim::Host &host, std::string_view device, std::string_view driver)
{
	REQUIRE(write_errno(host, attribute(device, "driver_override"), driver) == 0);
	const std::string current = driver_of(host, device);
	if (!current.empty())
		REQUIRE(write_errno(host, driver_file(current, "unbind"), device) == 0);
	REQUIRE(write_errno(host, driver_file(driver, "bind"), device) == 0);
}

/*
 * A directory removed with its contents; in memory (/dev/shm) when there is
 * one, because materialized trees have thousands of small files.
 */
class TempDir
{
public:
	TempDir()
	{
		std::error_code ec;
		const std::filesystem::path base = std::filesystem::is_directory("/dev/shm", ec)
							   ? std::filesystem::path("/dev/shm")
							   : std::filesystem::temp_directory_path();
		std::string pattern = (base / "pcipass-sim-XXXXXX").string();
		REQUIRE(::mkdtemp(pattern.data()) != nullptr);
		path_ = pattern;
	}
	~TempDir()
	{
		std::error_code ignored;
		std::filesystem::remove_all(path_, ignored);
	}
	TempDir(const TempDir &) = delete;
	TempDir &operator=(const TempDir &) = delete;

	const std::filesystem::path &path() const { return path_; }

private:
	std::filesystem::path path_;
};

} /* namespace sim_test */
