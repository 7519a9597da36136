/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Host facts and consumer sources of the device graph: proc files, the
 * class directories and dev/vfio, each read once per scan.
 */

#include <algorithm>
#include <cerrno>
#include <charconv>

#include "graph_internal.hpp"
#include "sysfs_parse.hpp"

namespace pcipass::detail {

namespace {

/* proc/modules and proc/mounts grow with the host; sysfs attributes never pass a page. */
constexpr size_t proc_file_max = 1 << 20;

bool is_missing(const Error &error)
{
	return error.sys_errno == ENOENT || (error.sys_errno == 0 && error.code == errc::not_found);
}

std::optional<unsigned> parse_number(std::string_view text)
{
	unsigned value = 0;
	const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
	if (text.empty() || ec != std::errc() || end != text.data() + text.size())
		return std::nullopt;
	return value;
}

/* "card0" for prefix "card": the prefix followed by digits only. */
bool is_numbered(std::string_view name, std::string_view prefix)
{
	return name.size() > prefix.size() && name.substr(0, prefix.size()) == prefix &&
	       parse_number(name.substr(prefix.size())).has_value();
}

class HostReader
{
public:
	HostReader(Host &host, HostContext &context) : host_(host), context_(context) {}

	/* The content of a host file; nothing when it is absent or unreadable (then a finding). */
	std::optional<std::string> read(std::string_view path, size_t max_size = proc_file_max)
	{
		auto content = host_.read(path, max_size);
		if (content)
			return std::move(content).value();
		if (!is_missing(content.error()))
			add_finding(path, content.error());
		return std::nullopt;
	}

	std::optional<std::vector<DirEntry>> list(std::string_view path)
	{
		auto entries = host_.list(path);
		if (entries)
			return std::move(entries).value();
		if (!is_missing(entries.error()))
			add_finding(path, entries.error());
		return std::nullopt;
	}

	bool exists(std::string_view path) { return host_.exists(path); }

	template<class T>
	std::optional<T> parsed(std::string_view path, result<T> value)
	{
		if (value)
			return std::move(value).value();
		add_finding(path, value.error());
		return std::nullopt;
	}

	void add_finding(std::string_view path, const Error &error)
	{
		context_.facts.findings.push_back(
			make_finding(std::string(path_basename(path)), std::string(path), error));
	}

private:
	Host &host_;
	HostContext &context_;
};

/*
 * The sysfs path of the PCI function that a device path sits beneath: the
 * deepest component before the last that is a PCI address. Nothing for
 * virtual devices and paths outside sys/devices.
 */
std::optional<std::string> owning_function(std::string_view path)
{
	constexpr std::string_view devices = "sys/devices/";
	if (path.substr(0, devices.size()) != devices)
		return std::nullopt;

	std::optional<size_t> owner_end;
	size_t pos = devices.size();
	while (pos < path.size()) {
		size_t end = path.find('/', pos);
		if (end == std::string_view::npos)
			break; /* the last component is the consumer itself */
		if (PciAddress::parse(path.substr(pos, end - pos)))
			owner_end = end;
		pos = end + 1;
	}

	if (!owner_end)
		return std::nullopt;
	return std::string(path.substr(0, *owner_end));
}

void read_class(Host &host, HostReader &reader, std::string_view class_path, ClassEntry::Kind kind,
		HostContext &context)
{
	auto directory = host.open_dir(class_path);
	if (!directory) {
		if (!is_missing(directory.error()))
			reader.add_finding(class_path, directory.error());
		return;
	}

	auto entries = directory.value()->list();
	if (!entries) {
		reader.add_finding(class_path, entries.error());
		return;
	}

	for (const DirEntry &entry : entries.value()) {
		/* Connectors (card0-DP-1) and render nodes are parts of a card, not consumers. */
		if (kind == ClassEntry::Kind::drm && !is_numbered(entry.name, "card"))
			continue;
		if (kind == ClassEntry::Kind::vfio && !is_numbered(entry.name, "vfio"))
			continue;

		const std::string path = std::string(class_path) + "/" + entry.name;
		auto target = directory.value()->read_link(entry.name);
		if (!target) {
			reader.add_finding(path, target.error());
			continue;
		}

		auto resolved = resolve_link_target(class_path, target.value());
		if (!resolved) {
			reader.add_finding(path, resolved.error());
			continue;
		}

		const auto owner = owning_function(resolved.value());
		if (owner)
			context.class_entries[*owner].push_back(ClassEntry{kind, entry.name});
	}
}

void read_modules(HostReader &reader, HostContext &context)
{
	HostFacts &facts = context.facts;

	auto modules = reader.read("proc/modules");
	if (!modules) {
		/* Without CONFIG_MODULES the kernel has no proc/modules at all. */
		facts.module_support = false;
		return;
	}

	if (auto names = reader.parsed("proc/modules", parse_proc_modules(*modules)))
		facts.modules = std::move(*names);
}

void read_drivers(Host &host, HostReader &reader, const ScanOptions &options, HostContext &context)
{
	HostFacts &facts = context.facts;

	const auto drivers = reader.list("sys/bus/pci/drivers");
	if (!drivers)
		return;

	for (const DirEntry &entry : *drivers)
		facts.drivers.push_back(entry.name);
	std::sort(facts.drivers.begin(), facts.drivers.end());

	if (!options.driver_modules)
		return;

	for (const std::string &driver : facts.drivers) {
		const std::string path = "sys/bus/pci/drivers/" + driver + "/module";
		auto target = host.read_link(path);
		if (!target) {
			/* Built-in drivers have no module link. */
			if (!is_missing(target.error()))
				reader.add_finding(path, target.error());
			continue;
		}
		facts.driver_modules[driver] = std::string(path_basename(target.value()));
	}
}

void read_iommu(HostReader &reader, HostContext &context)
{
	HostFacts &facts = context.facts;

	if (const auto units = reader.list("sys/class/iommu")) {
		for (const DirEntry &entry : *units)
			facts.iommu_units.push_back(entry.name);
		std::sort(facts.iommu_units.begin(), facts.iommu_units.end());
	}

	if (const auto groups = reader.list("sys/kernel/iommu_groups"))
		facts.iommu_enabled = std::any_of(groups->begin(), groups->end(), [](const DirEntry &entry) {
			return parse_number(entry.name).has_value();
		});

	if (const auto nodes = reader.list("dev/vfio")) {
		for (const DirEntry &entry : *nodes) {
			if (entry.name == "vfio")
				facts.vfio_container = true;
			else if (const auto group = parse_number(entry.name))
				context.vfio_nodes.insert(*group);
		}
	}
}

void read_system(HostReader &reader, HostContext &context)
{
	HostFacts &facts = context.facts;

	if (const auto cmdline = reader.read("proc/cmdline"))
		facts.kernel_cmdline = parse_cmdline(*cmdline);

	/* The first processor's block sits at the start of the file. */
	if (const auto cpuinfo = reader.read("proc/cpuinfo", 65536)) {
		const CpuInfo info = parse_cpuinfo(*cpuinfo);
		facts.cpu_vendor = info.vendor;
		facts.hypervisor = info.hypervisor;
	}

	if (const auto release = reader.read("proc/sys/kernel/osrelease"))
		facts.kernel_release = parse_cmdline(*release);
}

void read_consumer_sources(HostReader &reader, HostContext &context)
{
	if (const auto routes = reader.read("proc/net/route"))
		if (auto names = reader.parsed("proc/net/route", parse_default_routes(*routes)))
			context.default_route_interfaces.insert(names->begin(), names->end());

	if (const auto routes = reader.read("proc/net/ipv6_route"))
		if (auto names = reader.parsed("proc/net/ipv6_route", parse_default_routes_ipv6(*routes)))
			context.default_route_interfaces.insert(names->begin(), names->end());

	/*
	 * NOTE: a disk used through device-mapper (LVM, LUKS) is mounted as
	 * dm-N, which is not traced back through holders/ to the disk.
	 */
	constexpr std::string_view dev_prefix = "/dev/";
	context.mounts_unknown = true;
	if (const auto text = reader.read("proc/mounts")) {
		if (auto mounts = reader.parsed("proc/mounts", parse_proc_mounts(*text))) {
			for (const Mount &mount : *mounts)
				if (mount.source.starts_with(dev_prefix))
					context.mountpoints.emplace(path_basename(mount.source), mount.target);
			context.mounts_unknown = false;
		}
	} else if (!reader.exists("proc/mounts")) {
		/* Fail closed: without the mount table the disk holding / would look free. */
		reader.add_finding("proc/mounts",
				   make_error(errc::not_found,
					      "proc/mounts is missing, so every block device counts as "
					      "mounted; mount procfs under the host root",
					      {}, "proc/mounts"));
	}

	if (const auto text = reader.read("proc/swaps")) {
		if (auto swaps = reader.parsed("proc/swaps", parse_proc_swaps(*text))) {
			for (const std::string &swap : *swaps)
				if (swap.starts_with(dev_prefix))
					context.mountpoints.emplace(path_basename(swap), "[swap]");
		}
	}

	if (const auto text = reader.read("proc/fb")) {
		if (auto entries = reader.parsed("proc/fb", parse_proc_fb(*text))) {
			for (const FramebufferEntry &entry : *entries)
				if (auto name = firmware_framebuffer_name(entry.id))
					context.firmware_framebuffers.emplace_back(std::move(*name), entry.id);
		}
	}
}

} /* namespace */

Finding make_finding(std::string attribute, std::string path, const Error &error)
{
	Finding finding;
	finding.attribute = std::move(attribute);
	finding.path = std::move(path);
	finding.sys_errno = error.sys_errno;
	finding.message = error.message;
	return finding;
}

HostContext read_host_context(Host &host, const ScanOptions &options)
{
	HostContext context;
	HostReader reader(host, context);

	read_modules(reader, context);
	read_drivers(host, reader, options, context);
	read_iommu(reader, context);
	read_system(reader, context);
	read_consumer_sources(reader, context);

	read_class(host, reader, "sys/class/net", ClassEntry::Kind::net, context);
	read_class(host, reader, "sys/class/block", ClassEntry::Kind::block, context);
	read_class(host, reader, "sys/class/drm", ClassEntry::Kind::drm, context);
	read_class(host, reader, "sys/class/vfio-dev", ClassEntry::Kind::vfio, context);

	return context;
}

} /* namespace pcipass::detail */
