/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Helpers for the plan and transaction tests.
 */

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

#include <boost/json.hpp>

#include "harness.hpp"

namespace json = boost::json;

namespace txntest {

using namespace pcipass;

PciAddress address(std::string_view text)
{
	auto parsed = PciAddress::parse(text);
	if (!parsed)
		throw std::invalid_argument("bad address in a test: " + std::string(text));
	return parsed.value();
}

namespace {

testing::IdMatch id_match(const std::string &text)
{
	auto identity = DeviceIdentity::parse(text);
	if (!identity)
		throw std::invalid_argument("bad ID in a test: " + text);
	return {identity.value().vendor, identity.value().device};
}

void add_unique(std::vector<std::string> &list, const std::string &name)
{
	if (std::find(list.begin(), list.end(), name) == list.end())
		list.push_back(name);
}

} /* namespace */

TempDir::TempDir()
{
	std::string base = "/dev/shm";
	if (::access(base.c_str(), W_OK) != 0)
		base = std::filesystem::temp_directory_path().string();

	std::string pattern = base + "/pcipass-test-XXXXXX";
	if (!::mkdtemp(pattern.data()))
		throw std::runtime_error("cannot create a temporary directory under " + base);
	path_ = pattern;
}

TempDir::~TempDir()
{
	std::error_code ec;
	std::filesystem::remove_all(path_, ec);
}

Builder::Builder(bool iommu)
{
	topology_.description = "built in a test";
	topology_.cpu_vendor = "GenuineIntel";
	topology_.kernel_cmdline = iommu ? "root=/dev/sda2 ro intel_iommu=on" : "root=/dev/sda2 ro";
	if (iommu)
		topology_.iommu_units = {"dmar0"};
	topology_.vfio_container = iommu;
}

Builder &Builder::driver(const std::string &name, const std::string &module,
			 const std::vector<std::string> &ids, bool loaded)
{
	testing::TopologyDriver driver;
	driver.name = name;
	driver.module = module;
	for (const auto &text : ids)
		driver.ids.push_back(id_match(text));
	topology_.drivers.push_back(std::move(driver));

	if (!module.empty()) {
		add_unique(topology_.available_modules, module);
		if (loaded)
			add_unique(topology_.modules, module);
	}
	return *this;
}

Builder &Builder::vfio(bool loaded)
{
	for (const char *module : {"vfio", "vfio_iommu_type1", "vfio_pci_core"}) {
		add_unique(topology_.available_modules, module);
		if (loaded)
			add_unique(topology_.modules, module);
	}
	return driver("vfio-pci", "vfio_pci", {}, loaded);
}

TopologyDevice &Builder::device(const std::string &bdf, const std::string &id, uint32_t class_code,
				const std::string &driver, std::optional<unsigned> group,
				const std::string &parent)
{
	const auto match = id_match(id);
	TopologyDevice device;
	device.address = address(bdf);
	device.vendor = match.vendor;
	device.device = match.device;
	device.subsystem_vendor = match.vendor;
	device.subsystem_device = match.device;
	device.class_code = ClassCode(class_code);
	device.driver = driver;
	device.iommu_group = group;
	if (!parent.empty())
		device.parent = address(parent);
	topology_.devices.push_back(std::move(device));
	return topology_.devices.back();
}

TopologyDevice &Builder::bridge(const std::string &bdf, std::optional<unsigned> group,
				const std::string &parent, const std::string &driver)
{
	const bool have_pcieport = std::any_of(topology_.drivers.begin(), topology_.drivers.end(),
					       [](const auto &d) { return d.name == "pcieport"; });
	if (!have_pcieport)
		this->driver("pcieport", "", {"8086:1901"});

	TopologyDevice &device = this->device(bdf, "8086:1901", 0x060400, driver, group, parent);
	device.header_type = 0x01;
	return device;
}

TopologyDevice &Builder::find(const std::string &bdf)
{
	TopologyDevice *device = topology_.find(address(bdf));
	if (!device)
		throw std::invalid_argument("no device " + bdf + " in the test topology");
	return *device;
}

Topology catalogue(const std::string &name)
{
	const std::string file = std::string(PCIPASS_SOURCE_DIR) + "/tests/topologies/" + name + ".json";
	auto topology = testing::load_topology(file);
	if (!topology)
		throw std::runtime_error("cannot load " + file + ": " + topology.error().describe());
	return topology.value();
}

std::vector<std::string> catalogue_names()
{
	std::vector<std::string> names;
	const std::filesystem::path dir = std::string(PCIPASS_SOURCE_DIR) + "/tests/topologies";
	for (const auto &entry : std::filesystem::directory_iterator(dir))
		if (entry.path().extension() == ".json")
			names.push_back(entry.path().stem().string());
	std::sort(names.begin(), names.end());
	return names;
}

Deadlines fast_deadlines()
{
	Deadlines deadlines;
	deadlines.write = std::chrono::seconds(5);
	deadlines.bind = std::chrono::milliseconds(20);
	deadlines.poll_interval = std::chrono::milliseconds(1);
	deadlines.lock = std::chrono::milliseconds(20000);
	return deadlines;
}

Request request(const std::vector<std::string> &addresses, std::string owner, std::string driver)
{
	Request request;
	for (const auto &text : addresses)
		request.devices.push_back({address(text), std::nullopt});
	request.owner = std::move(owner);
	request.driver = std::move(driver);
	request.options.deadlines = fast_deadlines();
	return request;
}

Fixture::Fixture(const Topology &topology_) : topology(topology_)
{
	sim::Options options;
	auto created = sim::Host::create(topology, options);
	if (!created)
		throw std::runtime_error("cannot create the simulated kernel: " +
					 created.error().describe());
	host = std::move(created).value();
	state_dir = dir.path() + "/state";
	engine = open_engine();
	initial = host->state();
}

std::unique_ptr<Engine> Fixture::open_engine() const
{
	EngineOptions options;
	options.state_dir = state_dir;
	options.scan.names = false;
	auto opened = Engine::open(*host, options);
	if (!opened)
		throw std::runtime_error("cannot open the engine: " + opened.error().describe());
	return std::move(opened).value();
}

sim::State with(sim::State state, const Topology &topology,
		const std::map<std::string, Binding> &bindings)
{
	for (auto &device : state.devices) {
		auto it = bindings.find(device.address.to_string());
		if (it == bindings.end())
			continue;
		device.driver = it->second.driver;
		if (it->second.override.empty())
			device.driver_override.reset();
		else
			device.driver_override = it->second.override;
	}

	std::set<unsigned> nodes;
	for (const auto &device : state.devices) {
		const TopologyDevice *topo = topology.find(device.address);
		if (topo && topo->iommu_group && is_vfio_driver(device.driver))
			nodes.insert(*topo->iommu_group);
	}
	state.vfio_nodes.assign(nodes.begin(), nodes.end());
	return state;
}

sim::State on_vfio(const sim::State &state, const Topology &topology,
		   const std::vector<std::string> &devices)
{
	std::map<std::string, Binding> bindings;
	for (const auto &device : devices)
		bindings[device] = {"vfio-pci", "vfio-pci"};
	return with(state, topology, bindings);
}

std::vector<json::object> journal_lines(const std::string &state_dir)
{
	std::vector<json::object> lines;
	std::ifstream stream(state_dir + "/journal");
	std::string line;
	while (std::getline(stream, line)) {
		json::value value = json::parse(line);
		lines.push_back(value.as_object());
	}
	return lines;
}

std::string journal_outcome(const std::string &state_dir)
{
	const auto lines = journal_lines(state_dir);
	if (lines.empty() || lines.back().at("type").as_string() != "end")
		return {};
	return std::string(lines.back().at("outcome").as_string());
}

bool journal_clean(const std::string &state_dir)
{
	const auto lines = journal_lines(state_dir);
	if (lines.empty())
		return true;
	const std::string outcome = journal_outcome(state_dir);
	return outcome == "committed" || outcome == "rolled_back" || outcome == "recovered" ||
	       outcome == "no_change";
}

std::vector<std::string> written_paths(const sim::Host &host)
{
	std::vector<std::string> paths;
	for (const auto &entry : host.log()) {
		if (entry.side_effect)
			continue;
		switch (entry.kind) {
		case sim::WriteKind::load_module:
		case sim::WriteKind::unload_module:
		case sim::WriteKind::open_node:
		case sim::WriteKind::close_node:
			continue;
		default:
			paths.push_back(entry.path);
		}
	}
	return paths;
}

namespace {

constexpr std::string_view fb_device_link = "sys/bus/platform/devices/efi-framebuffer.0/driver";
constexpr std::string_view fb_unbind = "sys/bus/platform/drivers/efi-framebuffer/unbind";
constexpr std::string_view fb_bind = "sys/bus/platform/drivers/efi-framebuffer/bind";

bool is_framebuffer_path(std::string_view path)
{
	return path.starts_with("sys/bus/platform/");
}

} /* namespace */

result<std::string> FramebufferHost::read(std::string_view path, size_t max_size)
{
	if (path == "proc/fb")
		return std::string(bound_ ? "0 EFI VGA\n" : "");
	return inner_.read(path, max_size);
}

result<std::string> FramebufferHost::read_link(std::string_view path)
{
	if (path == fb_device_link) {
		if (bound_)
			return std::string("../../../bus/platform/drivers/efi-framebuffer");
		return make_sys_error(ENOENT, "no driver link", {}, std::string(path));
	}
	return inner_.read_link(path);
}

result<std::vector<DirEntry>> FramebufferHost::list(std::string_view path)
{
	return inner_.list(path);
}

result<std::unique_ptr<Directory>> FramebufferHost::open_dir(std::string_view path)
{
	return inner_.open_dir(path);
}

result<std::string> FramebufferHost::resolve(std::string_view path)
{
	return inner_.resolve(path);
}

bool FramebufferHost::exists(std::string_view path)
{
	if (path == fb_device_link)
		return bound_;
	if (path == fb_bind || path == fb_unbind)
		return true;
	return inner_.exists(path);
}

result<void> FramebufferHost::write(std::string_view path, std::string_view value)
{
	if (!is_framebuffer_path(path))
		return inner_.write(path, value);

	if (value != "efi-framebuffer.0")
		return make_sys_error(ENODEV, "no such platform device", {}, std::string(path));
	if (path == fb_unbind) {
		if (!bound_)
			return make_sys_error(ENODEV, "not bound", {}, std::string(path));
		bound_ = false;
		return success();
	}
	if (path == fb_bind) {
		if (fail_bind_)
			return make_sys_error(EIO, "injected failure", {}, std::string(path));
		if (bound_)
			return make_sys_error(EBUSY, "already bound", {}, std::string(path));
		bound_ = true;
		return success();
	}
	return make_sys_error(ENOENT, "no such file", {}, std::string(path));
}

result<void> FramebufferHost::load_module(std::string_view name)
{
	return inner_.load_module(name);
}

result<std::vector<Holder>> FramebufferHost::holders(std::string_view path)
{
	return inner_.holders(path);
}

bool FramebufferHost::can_write(std::string_view path)
{
	if (!denied_suffix_.empty() && path.ends_with(denied_suffix_))
		return false;
	if (path == fb_bind || path == fb_unbind)
		return true;
	return inner_.can_write(path);
}

std::string explain(const sim::State &expected, const sim::State &actual)
{
	std::ostringstream text;
	text << "difference (- expected, + actual):\n" << sim::diff(expected, actual);
	return text.str();
}

} /* namespace txntest */
