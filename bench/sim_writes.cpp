/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Simulated writes per second: each device in turn moves to vfio-pci and
 * back the way a claim and a release do (override, unbind, bind, clear,
 * unbind, drivers_probe), over a host with many functions.
 */

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <pcipass/testing/sim.hpp>

using namespace pcipass;

namespace {

/* Endpoints behind one root bus, each in its own group, all matched by one NIC driver. */
testing::Topology many_nics(unsigned count)
{
	testing::Topology topology;
	topology.description = "benchmark host with " + std::to_string(count) + " NIC functions";
	topology.iommu_units = {"dmar0"};
	topology.modules = {"e1000e", "vfio_pci"};
	topology.available_modules = topology.modules;
	topology.drivers.push_back({"e1000e", "e1000e", {{VendorId(0x8086), DeviceId(0x10d3)}}, {},
				    false, 0});
	topology.drivers.push_back({"vfio-pci", "vfio_pci", {}, {}, false, 0});

	for (unsigned i = 0; i < count; i++) {
		testing::TopologyDevice device;
		device.address = PciAddress(0, uint8_t(1 + i / 256), uint8_t((i / 8) % 32), uint8_t(i % 8));
		device.vendor = VendorId(0x8086);
		device.device = DeviceId(0x10d3);
		device.subsystem_vendor = VendorId(0x8086);
		device.subsystem_device = DeviceId(0xa01f);
		device.class_code = ClassCode(0x020000);
		device.header_type = (i % 8 == 0) ? 0x80 : 0x00;
		device.driver = "e1000e";
		device.iommu_group = 100 + i;
		topology.devices.push_back(std::move(device));
	}
	return topology;
}

struct Run {
	uint64_t writes = 0;
	double seconds = 0;
};

/* Cycles every device through a claim and a release until min_seconds have passed. */
Run cycle(sim::Host &host, const std::vector<std::string> &names, double min_seconds)
{
	std::vector<std::string> overrides;
	for (const auto &name : names)
		overrides.push_back("sys/bus/pci/devices/" + name + "/driver_override");

	Run run;
	const auto start = std::chrono::steady_clock::now();
	do {
		for (size_t i = 0; i < names.size(); i++) {
			const std::string &name = names[i];
			int failures = 0;
			failures += !host.write(overrides[i], "vfio-pci");
			failures += !host.write("sys/bus/pci/drivers/e1000e/unbind", name);
			failures += !host.write("sys/bus/pci/drivers/vfio-pci/bind", name);
			failures += !host.write(overrides[i], "\n");
			failures += !host.write("sys/bus/pci/drivers/vfio-pci/unbind", name);
			failures += !host.write("sys/bus/pci/drivers_probe", name);
			if (failures != 0) {
				std::fprintf(stderr, "sim_writes: a write on %s failed\n", name.c_str());
				return run;
			}
			run.writes += 6;
		}
		run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
	} while (run.seconds < min_seconds);
	return run;
}

} /* namespace */

int main(int argc, char **argv)
{
	CLI::App app{"Measures how many writes per second the simulated kernel decides"};
	unsigned count = 1024;
	double seconds = 1.0;
	app.add_option("--devices", count, "Number of NIC functions on the simulated host")
		->check(CLI::Range(1u, 8192u))
		->capture_default_str();
	app.add_option("--seconds", seconds, "Minimum time to measure each configuration, in seconds")
		->check(CLI::PositiveNumber)
		->capture_default_str();
	CLI11_PARSE(app, argc, argv);

	const testing::Topology topology = many_nics(count);
	std::vector<std::string> names;
	for (const auto &device : topology.devices)
		names.push_back(device.address.to_string());

	int status = 0;
	for (bool record : {true, false}) {
		sim::Options options;
		options.record_log = record;
		auto host = sim::Host::create(topology, options);
		if (!host) {
			std::fprintf(stderr, "sim_writes: %s\n", host.error().describe().c_str());
			return 1;
		}
		const Run run = cycle(*host.value(), names, seconds);
		if (run.seconds <= 0)
			return 1;
		const double rate = double(run.writes) / run.seconds;
		std::printf("%u devices, log %s: %llu writes in %.2f s = %.0f writes/s\n", count,
			    record ? "on " : "off", static_cast<unsigned long long>(run.writes),
			    run.seconds, rate);
		/* The transaction tests need at least 100,000 simulated writes per second. */
		if (rate < 100000)
			status = 1;
	}
	return status;
}
