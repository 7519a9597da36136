/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Trees that lie, break or change under the scan: each problem becomes a
 * finding on the device or the host, and the rest of the graph stays right.
 */

#include <algorithm>
#include <fstream>

#include <doctest/doctest.h>

#include <pcipass/graph.hpp>

#include "graph_fixture.hpp"

using namespace pcipass;
using namespace pcipass::testing;
using namespace graph_test;

namespace {

void write_file(const fs::path &path, std::string_view content)
{
	std::ofstream file(path, std::ios::binary | std::ios::trunc);
	REQUIRE(file);
	file.write(content.data(), static_cast<std::streamsize>(content.size()));
	REQUIRE(file);
}

void replace_link(const fs::path &path, const std::string &target)
{
	fs::remove(path);
	fs::create_symlink(target, path);
}

/* The expected graph without the given device, for a tree it vanished from. */
ExpectedGraph without(ExpectedGraph expected, PciAddress address)
{
	std::erase_if(expected.devices, [&](const Device &device) { return device.address == address; });
	for (IommuGroup &group : expected.groups)
		std::erase(group.members, address);
	std::erase_if(expected.groups, [](const IommuGroup &group) { return group.members.empty(); });
	return expected;
}

const Finding *finding_on(const std::vector<Finding> &findings, std::string_view attribute)
{
	const auto found = std::find_if(findings.begin(), findings.end(),
					[&](const Finding &finding) { return finding.attribute == attribute; });
	return found == findings.end() ? nullptr : &*found;
}

/*
 * Deletes one directory right after the scan lists it, as a hot removal
 * between two system calls would.
 */
class VanishingDirectory final : public Directory
{
public:
	VanishingDirectory(std::unique_ptr<Directory> inner, fs::path root, std::string victim)
		: inner_(std::move(inner)), root_(std::move(root)), victim_(std::move(victim))
	{
	}

	const std::string &path() const override { return inner_->path(); }

	result<std::vector<DirEntry>> list() override
	{
		auto entries = inner_->list();
		if (inner_->path() == victim_)
			fs::remove_all(root_ / victim_);
		return entries;
	}

	result<std::string> read(std::string_view name, size_t max_size) override
	{
		return inner_->read(name, max_size);
	}

	result<std::string> read_link(std::string_view name) override { return inner_->read_link(name); }

	result<std::unique_ptr<Directory>> open(std::string_view name) override
	{
		BOOST_OUTCOME_TRY(auto directory, inner_->open(name));
		return std::unique_ptr<Directory>(
			new VanishingDirectory(std::move(directory), root_, victim_));
	}

private:
	std::unique_ptr<Directory> inner_;
	fs::path root_;
	std::string victim_;
};

class VanishingHost final : public Host
{
public:
	VanishingHost(LiveHost &inner, fs::path root, std::string victim)
		: inner_(inner), root_(std::move(root)), victim_(std::move(victim))
	{
	}

	std::string describe() const override { return inner_.describe(); }
	result<std::string> read(std::string_view path, size_t max_size) override
	{
		return inner_.read(path, max_size);
	}
	result<std::string> read_link(std::string_view path) override { return inner_.read_link(path); }
	result<std::vector<DirEntry>> list(std::string_view path) override { return inner_.list(path); }
	result<std::unique_ptr<Directory>> open_dir(std::string_view path) override
	{
		BOOST_OUTCOME_TRY(auto directory, inner_.open_dir(path));
		return std::unique_ptr<Directory>(
			new VanishingDirectory(std::move(directory), root_, victim_));
	}
	result<std::string> resolve(std::string_view path) override { return inner_.resolve(path); }
	bool exists(std::string_view path) override { return inner_.exists(path); }
	result<void> write(std::string_view path, std::string_view value) override
	{
		return inner_.write(path, value);
	}
	result<void> load_module(std::string_view name) override { return inner_.load_module(name); }
	result<std::vector<Holder>> holders(std::string_view path) override
	{
		return inner_.holders(path);
	}
	bool can_write(std::string_view path) override { return inner_.can_write(path); }

private:
	LiveHost &inner_;
	fs::path root_;
	std::string victim_;
};

} /* namespace */

TEST_CASE("hostile: a device removed after its listing is dropped with a finding")
{
	const auto topology = load_catalogue("chipset");
	MaterializedHost materialized(topology);
	const PciAddress victim(0, 0, 0x1f, 3);
	const std::string victim_path = device_sysfs_path(topology, victim);

	VanishingHost host(materialized.host(), materialized.root(), victim_path);
	auto graph = DeviceGraph::scan(host, MaterializedHost::no_names());
	REQUIRE(graph);

	CHECK(graph.value().find(victim) == nullptr);
	ExpectedGraph expected = without(expected_graph(topology), victim);
	Finding vanished;
	vanished.attribute = victim.to_string();
	vanished.path = victim_path + "/config";
	vanished.sys_errno = ENOENT;
	vanished.message = "0000:00:1f.3 vanished during the scan: opening '" + victim_path +
			   "/config' failed: No such file or directory";
	expected.host.findings.push_back(vanished);
	check_graph(graph.value(), expected);
}

TEST_CASE("hostile: a device directory gone before the scan leaves a dangling bus link")
{
	const auto topology = load_catalogue("chipset");
	MaterializedHost materialized(topology);
	const PciAddress victim(0, 0, 0x1f, 2);
	fs::remove_all(materialized.root() / device_sysfs_path(topology, victim));

	const DeviceGraph graph = materialized.scan();
	CHECK(graph.find(victim) == nullptr);
	REQUIRE(graph.host().findings.size() == 1);
	const Finding &finding = graph.host().findings.front();
	CHECK(finding.attribute == "0000:00:1f.2");
	CHECK(finding.sys_errno == ENOENT);
	CHECK(finding.message.starts_with("0000:00:1f.2 vanished during the scan"));

	ExpectedGraph expected = without(expected_graph(topology), victim);
	expected.host.findings = graph.host().findings;
	check_graph(graph, expected);
}

TEST_CASE("hostile: links escaping the root are findings, never followed")
{
	const auto topology = load_catalogue("chipset");
	MaterializedHost materialized(topology);
	const fs::path root = materialized.root();

	/* A bus link climbing out of the root and an absolute one, naming functions that do not exist. */
	fs::create_symlink("../../../../../../../../../../etc", root / "sys/bus/pci/devices/0000:66:00.0");
	fs::create_symlink("/etc", root / "sys/bus/pci/devices/0000:67:00.0");
	fs::create_symlink("/etc", root / "sys/class/net/evil0");

	const PciAddress sata(0, 0, 0x1f, 2);
	const fs::path smbus_path = root / device_sysfs_path(topology, PciAddress(0, 0, 0x1f, 3));
	replace_link(smbus_path / "driver", "../../../../../../../../../../etc");
	replace_link(root / device_sysfs_path(topology, sata) / "iommu_group", "/sys/kernel/iommu_groups/7");

	const DeviceGraph graph = materialized.scan();

	std::vector<std::string> host_findings;
	for (const Finding &finding : graph.host().findings) {
		host_findings.push_back(finding.path);
		CHECK_MESSAGE(finding.message.find("outside the host root") != std::string::npos,
			      finding.message);
	}
	std::sort(host_findings.begin(), host_findings.end());
	CHECK(host_findings == std::vector<std::string>{"sys/bus/pci/devices/0000:66:00.0",
							"sys/bus/pci/devices/0000:67:00.0",
							"sys/class/net/evil0"});

	const Device *with_driver_link = graph.find(PciAddress(0, 0, 0x1f, 3));
	REQUIRE(with_driver_link != nullptr);
	CHECK_FALSE(with_driver_link->driver);
	const Finding *driver = finding_on(with_driver_link->findings, "driver");
	REQUIRE(driver != nullptr);
	CHECK(driver->message.find("climbs above the host root") != std::string::npos);

	const Device *with_group_link = graph.find(sata);
	REQUIRE(with_group_link != nullptr);
	CHECK_FALSE(with_group_link->iommu_group);
	const Finding *group = finding_on(with_group_link->findings, "iommu_group");
	REQUIRE(group != nullptr);
	CHECK(group->message.find("absolute") != std::string::npos);

	/* Every function of the topology is still there. */
	CHECK(graph.devices().size() == topology.devices.size());
}

TEST_CASE("hostile: garbage and empty attribute files are findings on the device")
{
	const auto topology = load_catalogue("gpu-workstation");
	MaterializedHost materialized(topology);
	const PciAddress gpu(0, 1, 0, 0);
	const fs::path gpu_path = materialized.root() / device_sysfs_path(topology, gpu);

	write_file(gpu_path / "config", "\x10\xde");
	write_file(gpu_path / "driver_override", "");
	write_file(gpu_path / "numa_node", "banana\n");
	write_file(gpu_path / "reset_method", "flr\n\x01\x02\n");
	write_file(gpu_path / "boot_vga", "2\n");

	const DeviceGraph graph = materialized.scan();
	const Device *device = graph.find(gpu);
	REQUIRE(device != nullptr);

	std::vector<std::string> attributes;
	for (const Finding &finding : device->findings) {
		attributes.push_back(finding.attribute);
		CHECK(finding.path == device_sysfs_path(topology, gpu) + "/" + finding.attribute);
		CHECK_FALSE(finding.message.empty());
	}
	CHECK(attributes == std::vector<std::string>{"config", "numa_node", "driver_override",
						     "boot_vga", "reset_method"});
	CHECK(finding_on(device->findings, "config")->message ==
	      "config holds 2 bytes, expected at least the 64-byte standard header");
	CHECK(finding_on(device->findings, "numa_node")->message ==
	      "the file holds 'banana\\n', expected a decimal integer");

	/* The uevent still names the device; what could not be read stays unset. */
	const TopologyDevice &source = *topology.find(gpu);
	CHECK(device->vendor == source.vendor);
	CHECK(device->device == source.device);
	CHECK(device->class_code == source.class_code);
	CHECK(device->subsystem_vendor == source.subsystem_vendor);
	CHECK(device->header_type == 0);
	CHECK(device->revision == 0);
	CHECK(device->driver == source.driver);
	CHECK_FALSE(device->driver_override);
	CHECK(device->numa_node == -1);
	CHECK(device->reset_methods.empty());
	CHECK_FALSE(device->boot_vga);

	/* The other devices are untouched. */
	const ExpectedGraph expected = expected_graph(topology);
	for (const Device &wanted : expected.devices)
		if (wanted.address != gpu)
			check_device(*graph.find(wanted.address), wanted);
	CHECK(graph.host().findings.empty());
}

TEST_CASE("hostile: an unreadable identity leaves a finding and zero IDs")
{
	const auto topology = load_catalogue("chipset");
	MaterializedHost materialized(topology);
	const PciAddress lpc(0, 0, 0x1f, 0);
	const fs::path path = materialized.root() / device_sysfs_path(topology, lpc);
	fs::remove(path / "config");
	write_file(path / "uevent", "\xff\xfe garbage");

	const DeviceGraph graph = materialized.scan();
	const Device *device = graph.find(lpc);
	REQUIRE(device != nullptr);
	REQUIRE(device->findings.size() == 2);
	CHECK(device->findings[0].attribute == "config");
	CHECK(device->findings[0].message == "config is missing");
	CHECK(device->findings[1].attribute == "uevent");
	CHECK(device->vendor == VendorId(0));
	CHECK(device->class_code == ClassCode(0));
}

TEST_CASE("hostile: config reading all ones marks the device inaccessible")
{
	const auto topology = load_catalogue("gpu-workstation");
	MaterializedHost materialized(topology);
	const PciAddress gpu(0, 1, 0, 0);
	write_file(materialized.root() / device_sysfs_path(topology, gpu) / "config",
		   std::string(64, '\xff'));

	const DeviceGraph graph = materialized.scan();
	const Device *device = graph.find(gpu);
	REQUIRE(device != nullptr);

	const ExpectedGraph graph_expected = expected_graph(topology);
	Device expected = *std::find_if(graph_expected.devices.begin(), graph_expected.devices.end(),
					[&](const Device &candidate) { return candidate.address == gpu; });
	expected.inaccessible = true;
	expected.header_type = 0;
	check_device(*device, expected);

	const Readiness readiness = graph.readiness(gpu);
	CHECK(readiness.state == Readiness::State::blocked);
	CHECK(std::any_of(readiness.blockers.begin(), readiness.blockers.end(),
			  [](const Blocker &blocker) { return blocker.reason == "inaccessible"; }));
}

TEST_CASE("hostile: VFs whose config hides their IDs take them from the PF")
{
	const auto topology = load_catalogue("sriov-nic");
	for (const bool read_every_vf : {false, true}) {
		CAPTURE(read_every_vf);
		MaterializedHost materialized(topology);
		for (const TopologyDevice &device : topology.devices) {
			if (!device.physfn)
				continue;
			const fs::path config = materialized.root() / device_sysfs_path(topology, device.address) / "config";
			std::ifstream in(config, std::ios::binary);
			std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
			bytes.replace(0, 4, "\xff\xff\xff\xff");
			write_file(config, bytes);
		}

		ScanOptions options = MaterializedHost::no_names();
		options.read_every_vf = read_every_vf;
		check_graph(materialized.scan(options), expected_graph(topology, options));
	}
}

TEST_CASE("hostile: VFs with hidden IDs and no sriov_vf_device fall back to their uevent")
{
	const auto topology = load_catalogue("sriov-nic");
	MaterializedHost materialized(topology);
	const PciAddress pf(0, 0x86, 0, 0);
	const TopologyDevice &source = *topology.find(pf);
	REQUIRE(source.sriov);
	fs::remove(materialized.root() / device_sysfs_path(topology, pf) / "sriov_vf_device");
	for (const TopologyDevice &device : topology.devices) {
		if (device.physfn != pf)
			continue;
		const fs::path config = materialized.root() / device_sysfs_path(topology, device.address) / "config";
		std::ifstream in(config, std::ios::binary);
		std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
		bytes.replace(0, 4, "\xff\xff\xff\xff");
		write_file(config, bytes);
	}

	const DeviceGraph graph = materialized.scan();
	ExpectedGraph expected = expected_graph(topology);
	for (Device &device : expected.devices)
		if (device.address == pf)
			device.sriov->vf_device = DeviceId();
	check_graph(graph, expected);
}

TEST_CASE("hostile: the empty override of the NUL-write quirk is recorded")
{
	const auto topology = load_catalogue("chipset");
	MaterializedHost materialized(topology);
	const PciAddress sata(0, 0, 0x1f, 2);
	write_file(materialized.root() / device_sysfs_path(topology, sata) / "driver_override", "\n");

	const DeviceGraph graph = materialized.scan();
	const Device *device = graph.find(sata);
	REQUIRE(device != nullptr);
	CHECK(device->driver_override == std::optional<std::string>(""));
	CHECK(device->findings.empty());
}
