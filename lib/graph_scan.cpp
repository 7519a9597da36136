/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Reading PCI functions from sysfs. Each device directory is opened once
 * and listed once, and only the entries the listing shows are read, each
 * once, relative to the directory descriptor. The VFs after the first of a
 * PF are not listed but read by name. The nesting of bridges comes for free
 * from walking sys/devices, and large hosts are walked by several threads.
 */

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <exception>
#include <iterator>
#include <map>
#include <system_error>
#include <thread>

#include "graph_internal.hpp"
#include "sysfs_parse.hpp"

namespace pcipass::detail {

namespace {

/* Only config is binary; every text attribute fits in one page. */
constexpr size_t attribute_max = 4096;

/* The standard header that ConfigHeader needs; non-root readers get exactly this much. */
constexpr size_t config_header_size = 64;

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

bool may_be_directory(const DirEntry &entry)
{
	return entry.type == EntryType::directory || entry.type == EntryType::other;
}

/* "3-1" or "3-1.4.2": a USB device; interfaces ("3-1:1.0") and root hubs are not. */
bool is_usb_device_name(std::string_view name)
{
	const size_t dash = name.find('-');
	if (dash == std::string_view::npos || !parse_number(name.substr(0, dash)))
		return false;

	std::string_view ports = name.substr(dash + 1);
	while (true) {
		const size_t dot = ports.find('.');
		if (!parse_number(ports.substr(0, dot)))
			return false;
		if (dot == std::string_view::npos)
			return true;
		ports.remove_prefix(dot + 1);
	}
}

/* Child PCI functions in a listing, sorted so that a PF comes before its VFs. */
std::vector<std::pair<PciAddress, std::string>> child_functions(const std::vector<DirEntry> &entries)
{
	std::vector<std::pair<PciAddress, std::string>> children;
	for (const DirEntry &entry : entries) {
		if (!may_be_directory(entry))
			continue;
		if (auto address = PciAddress::parse(entry.name))
			children.emplace_back(address.value(), entry.name);
	}
	std::sort(children.begin(), children.end());
	return children;
}

std::string strip_newline(std::string text)
{
	if (!text.empty() && text.back() == '\n')
		text.pop_back();
	return text;
}

/* The reads of one device directory, with the findings they produce. */
class DeviceReader
{
public:
	DeviceReader(Directory &directory, Device &device, const std::vector<DirEntry> &entries)
		: directory_(directory), device_(device), entries_(entries)
	{
	}

	const DirEntry *entry(std::string_view name) const
	{
		for (const DirEntry &entry : entries_)
			if (entry.name == name)
				return &entry;
		return nullptr;
	}

	bool has(std::string_view name) const { return entry(name) != nullptr; }

	std::string path_of(std::string_view name) const
	{
		return device_.sysfs_path + "/" + std::string(name);
	}

	void add_finding(std::string_view attribute, const Error &error)
	{
		device_.findings.push_back(
			make_finding(std::string(attribute), path_of(attribute), error));
	}

	/* The attribute's content, or nothing with a finding. */
	std::optional<std::string> read(std::string_view name, size_t max_size = attribute_max)
	{
		auto content = directory_.read(name, max_size);
		if (!content) {
			add_finding(name, content.error());
			return std::nullopt;
		}
		return std::move(content).value();
	}

	/*
	 * For files read without a listing: the content, or nothing when the
	 * file does not exist, or nothing with a finding on another error.
	 */
	std::optional<std::string> read_if_present(std::string_view name)
	{
		auto content = directory_.read(name, attribute_max);
		if (!content) {
			if (!is_missing(content.error()))
				add_finding(name, content.error());
			return std::nullopt;
		}
		return std::move(content).value();
	}

	/* A link's target resolved against the device directory, or nothing with a finding. */
	std::optional<std::string> link(std::string_view name, bool missing_is_absent = false)
	{
		auto target = directory_.read_link(name);
		if (!target) {
			if (!missing_is_absent || !is_missing(target.error()))
				add_finding(name, target.error());
			return std::nullopt;
		}

		auto resolved = resolve_link_target(device_.sysfs_path, target.value());
		if (!resolved) {
			add_finding(name, resolved.error());
			return std::nullopt;
		}
		return std::move(resolved).value();
	}

	/* The parsed attribute, or nothing with a finding. */
	template<class T>
	std::optional<T> parsed(std::string_view name, result<T> value)
	{
		if (!value) {
			add_finding(name, value.error());
			return std::nullopt;
		}
		return std::move(value).value();
	}

	template<class T, class Parser>
	std::optional<T> read_parsed(std::string_view name, Parser parser)
	{
		const auto content = read(name);
		if (!content)
			return std::nullopt;
		return parsed<T>(name, parser(*content));
	}

	Directory &directory() { return directory_; }
	Device &device() { return device_; }

private:
	Directory &directory_;
	Device &device_;
	const std::vector<DirEntry> &entries_;
};

/* The name after prefix in a resolved link, if the link leads there and no deeper. */
std::optional<std::string> link_leaf(const std::string &resolved, std::string_view prefix)
{
	if (!resolved.starts_with(prefix))
		return std::nullopt;
	const std::string_view leaf = std::string_view(resolved).substr(prefix.size());
	if (leaf.empty() || leaf.find('/') != std::string_view::npos)
		return std::nullopt;
	return std::string(leaf);
}

Error unexpected_link(std::string_view name, const std::string &resolved, std::string_view expected)
{
	return make_error(errc::malformed_attribute,
			  std::string(name) + " link leads to " + quote_path(resolved) +
				  ", expected " + std::string(expected));
}

/* Identity from the uevent, which shows what the kernel recorded when it enumerated the device. */
bool read_uevent_identity(DeviceReader &reader)
{
	Device &device = reader.device();
	if (!reader.has("uevent"))
		return false;
	const auto uevent = reader.read_parsed<PciUevent>("uevent", parse_pci_uevent);
	if (!uevent)
		return false;
	device.vendor = uevent->vendor;
	device.device = uevent->device;
	device.subsystem_vendor = uevent->subsystem_vendor;
	device.subsystem_device = uevent->subsystem_device;
	device.class_code = uevent->class_code;
	return true;
}

/* Without a readable header, a bridge still shows the functions behind it. */
uint8_t header_type_from_listing(const std::vector<DirEntry> &entries)
{
	const bool has_children =
		std::any_of(entries.begin(), entries.end(), [](const DirEntry &entry) {
			return entry.name == "pci_bus" ||
			       (may_be_directory(entry) && PciAddress::parse(entry.name));
		});
	return has_children ? 0x01 : 0x00;
}

void read_identity(DeviceReader &reader, const std::vector<DirEntry> &entries)
{
	Device &device = reader.device();

	if (!reader.has("config")) {
		reader.add_finding("config", make_error(errc::not_found, "config is missing"));
	} else if (const auto bytes = reader.read("config", config_header_size)) {
		if (const auto header = reader.parsed("config", parse_config_header(*bytes))) {
			device.vendor = header->vendor;
			device.device = header->device;
			device.subsystem_vendor = header->subsystem_vendor;
			device.subsystem_device = header->subsystem_device;
			device.class_code = header->class_code;
			device.revision = header->revision;
			device.header_type = header->header_type;
			if (!header->inaccessible)
				return;

			/*
			 * All ones (D3cold or removal): the identity that the
			 * kernel recorded at enumeration still names the device.
			 */
			device.inaccessible = true;
			device.revision = 0;
			device.header_type = header_type_from_listing(entries);
			read_uevent_identity(reader);
			if (reader.has("revision"))
				if (const auto revision = reader.read_parsed<uint32_t>(
					    "revision", [](std::string_view text) { return parse_hex_attribute(text, 2); }))
					device.revision = static_cast<uint8_t>(*revision);
			return;
		}
	}

	/* Without a usable config the uevent still names the device. */
	device.header_type = header_type_from_listing(entries);
	read_uevent_identity(reader);
}

void read_binding(DeviceReader &reader, const std::unordered_map<PciAddress, std::string> &bound)
{
	Device &device = reader.device();

	const auto listed = bound.find(device.address);
	if (reader.has("driver") && listed != bound.end()) {
		device.driver = listed->second;
	} else if (reader.has("driver")) {
		if (const auto resolved = reader.link("driver")) {
			if (auto name = link_leaf(*resolved, "sys/bus/pci/drivers/"))
				device.driver = std::move(*name);
			else
				reader.add_finding("driver", unexpected_link("driver", *resolved,
									     "sys/bus/pci/drivers/NAME"));
		}
	}

	if (reader.has("driver_override")) {
		if (auto override_value = reader.read_parsed<std::optional<std::string>>(
			    "driver_override", parse_driver_override))
			device.driver_override = std::move(*override_value);
	}

	if (reader.has("iommu_group")) {
		if (const auto resolved = reader.link("iommu_group")) {
			if (const auto group = reader.parsed("iommu_group", parse_iommu_group_path(*resolved)))
				device.iommu_group = *group;
		}
	}

}

void read_numa_node(DeviceReader &reader)
{
	Device &device = reader.device();

	if (!reader.has("numa_node"))
		return;
	if (const auto node = reader.read_parsed<long long>("numa_node", parse_int_attribute)) {
		if (*node >= -1 && *node < (1 << 16))
			device.numa_node = static_cast<int>(*node);
		else
			reader.add_finding("numa_node",
					   make_error(errc::malformed_attribute,
						      "numa_node holds " + std::to_string(*node) +
							      ", expected -1 or a node number"));
	}
}

std::optional<unsigned> read_count(DeviceReader &reader, std::string_view name)
{
	const auto value = reader.read_parsed<long long>(name, parse_int_attribute);
	if (!value)
		return std::nullopt;
	if (*value < 0 || *value > 0xffff) {
		reader.add_finding(name, make_error(errc::malformed_attribute,
						    std::string(name) + " holds " + std::to_string(*value) +
							    ", expected 0 to 65535"));
		return std::nullopt;
	}
	return static_cast<unsigned>(*value);
}

void read_sriov(DeviceReader &reader, const std::vector<DirEntry> &entries,
		std::unordered_map<PciAddress, PciAddress> &pf_of_vf)
{
	Device &device = reader.device();

	if (reader.has("sriov_totalvfs")) {
		Sriov sriov;
		if (const auto total = read_count(reader, "sriov_totalvfs"))
			sriov.total_vfs = *total;
		if (reader.has("sriov_numvfs"))
			if (const auto count = read_count(reader, "sriov_numvfs"))
				sriov.num_vfs = *count;
		if (reader.has("sriov_drivers_autoprobe"))
			if (const auto autoprobe =
				    reader.read_parsed<bool>("sriov_drivers_autoprobe", parse_bool_attribute))
				sriov.drivers_autoprobe = *autoprobe;
		if (reader.has("sriov_vf_device"))
			if (const auto id = reader.read_parsed<uint32_t>(
				    "sriov_vf_device", [](std::string_view text) { return parse_hex_attribute(text, 4); }))
				sriov.vf_device = DeviceId(static_cast<uint16_t>(*id));
		if (reader.has("sriov_offset"))
			if (const auto offset = read_count(reader, "sriov_offset"))
				sriov.first_vf_offset = *offset;
		if (reader.has("sriov_stride"))
			if (const auto stride = read_count(reader, "sriov_stride"))
				sriov.vf_stride = *stride;
		device.sriov = std::move(sriov);
	}

	/*
	 * virtfnN names VF N, which the kernel places at routing ID
	 * PF + offset + N * stride; computing that saves a readlink per VF.
	 * Without sriov_offset and sriov_stride the links are read instead.
	 */
	std::map<unsigned, PciAddress> vfs;
	const unsigned offset = device.sriov ? device.sriov->first_vf_offset : 0;
	const unsigned stride = device.sriov ? device.sriov->vf_stride : 0;
	const unsigned routing_id = (unsigned(device.address.bus()) << 8) |
				    (unsigned(device.address.device()) << 3) | device.address.function();
	for (const DirEntry &entry : entries) {
		if (!entry.name.starts_with("virtfn"))
			continue;
		const auto index = parse_number(std::string_view(entry.name).substr(6));
		if (!index)
			continue;

		std::optional<PciAddress> vf;
		const unsigned vf_routing_id = routing_id + offset + *index * stride;
		if (offset > 0 && (stride > 0 || *index == 0) && vf_routing_id <= 0xffff) {
			vf = PciAddress(device.address.domain(), static_cast<uint8_t>(vf_routing_id >> 8),
					static_cast<uint8_t>((vf_routing_id >> 3) & 0x1f),
					static_cast<uint8_t>(vf_routing_id & 0x7));
		} else if (const auto resolved = reader.link(entry.name)) {
			if (auto parsed = PciAddress::parse(path_basename(*resolved)))
				vf = parsed.value();
			else
				reader.add_finding(entry.name, unexpected_link(entry.name, *resolved,
									       "a PCI function directory"));
		}
		if (!vf)
			continue;
		vfs.emplace(*index, *vf);
		pf_of_vf[*vf] = device.address;
	}
	if (!vfs.empty()) {
		if (!device.sriov)
			device.sriov.emplace();
		for (const auto &[index, vf] : vfs)
			device.sriov->vfs.push_back(vf);
	}

	if (reader.has("physfn")) {
		const auto known = pf_of_vf.find(device.address);
		if (known != pf_of_vf.end()) {
			device.physfn = known->second;
		} else if (const auto resolved = reader.link("physfn")) {
			if (const auto pf = PciAddress::parse(path_basename(*resolved)))
				device.physfn = pf.value();
			else
				reader.add_finding("physfn", unexpected_link("physfn", *resolved,
									     "a PCI function directory"));
		}
	}
}

void read_features(DeviceReader &reader)
{
	Device &device = reader.device();

	if (reader.has("boot_vga"))
		if (const auto boot_vga = reader.read_parsed<bool>("boot_vga", parse_bool_attribute))
			device.boot_vga = *boot_vga;

	device.has_reset = reader.has("reset");
	if (reader.has("reset_method"))
		if (auto methods = reader.read_parsed<std::vector<std::string>>("reset_method",
										parse_reset_methods))
			device.reset_methods = std::move(*methods);
}

/* A subdirectory opened and listed, or nothing with a finding on the device. */
struct ListedDirectory {
	std::unique_ptr<Directory> directory;
	std::vector<DirEntry> entries;
};

std::optional<ListedDirectory> open_listed(DeviceReader &reader, Directory &base, std::string_view name,
					   const std::string &finding_name)
{
	auto directory = base.open(name);
	if (!directory) {
		reader.add_finding(finding_name, directory.error());
		return std::nullopt;
	}
	auto entries = directory.value()->list();
	if (!entries) {
		reader.add_finding(finding_name, entries.error());
		return std::nullopt;
	}
	return ListedDirectory{std::move(directory).value(), std::move(entries).value()};
}

class ConsumerReader
{
public:
	ConsumerReader(DeviceReader &reader, const HostContext &context)
		: reader_(reader), context_(context)
	{
	}

	/*
	 * Returns whether consumers came from the listing, not only from the
	 * class directories: then a device like this one must be listed.
	 */
	bool read(const std::vector<DirEntry> &entries)
	{
		Device &device = reader_.device();

		bool have_net = false;
		bool have_block = false;
		bool have_drm = false;
		bool have_vfio = false;

		const auto indexed = context_.class_entries.find(device.sysfs_path);
		if (indexed != context_.class_entries.end()) {
			for (const ClassEntry &entry : indexed->second) {
				switch (entry.kind) {
				case ClassEntry::Kind::net:
					add_net(entry.name);
					have_net = true;
					break;
				case ClassEntry::Kind::block:
					add_block(entry.name);
					have_block = true;
					break;
				case ClassEntry::Kind::drm:
					add(ConsumerKind::drm_card, entry.name);
					have_drm = true;
					break;
				case ClassEntry::Kind::vfio:
					device.vfio_device = entry.name;
					have_vfio = true;
					break;
				}
			}
		}

		/* A tree without class directories: read the device's own subdirectories. */
		bool used_listing = false;
		if (!have_net && reader_.has("net")) {
			read_named_children("net", [&](const std::string &name) { add_net(name); });
			used_listing = true;
		}
		if (!have_drm && reader_.has("drm")) {
			read_named_children("drm", [&](const std::string &name) {
				if (is_numbered(name, "card"))
					add(ConsumerKind::drm_card, name);
			});
			used_listing = true;
		}
		if (!have_vfio && reader_.has("vfio-dev"))
			read_vfio_dev();
		if (!have_block && reader_.has("block")) {
			read_block_directory();
			used_listing = true;
		}
		if (!have_block && reader_.has("nvme")) {
			read_nvme();
			used_listing = true;
		}

		for (const DirEntry &entry : entries) {
			if (entry.name.starts_with("usb") && parse_number(std::string_view(entry.name).substr(3)) &&
			    may_be_directory(entry)) {
				read_usb_root(entry.name);
				used_listing = true;
			}
		}

		if (device.boot_vga.value_or(false))
			for (const auto &[name, id] : context_.firmware_framebuffers)
				add(ConsumerKind::framebuffer, name).description = id;

		std::sort(device.consumers.begin(), device.consumers.end(),
			  [](const Consumer &a, const Consumer &b) {
				  return std::tie(a.kind, a.name) < std::tie(b.kind, b.name);
			  });
		return used_listing;
	}

	/* vfio-dev/vfioN, which VFIO drivers create on kernel 6.1 and later. */
	void read_vfio_dev()
	{
		read_named_children("vfio-dev", [&](const std::string &name) {
			if (is_numbered(name, "vfio"))
				reader_.device().vfio_device = name;
		});
	}

private:
	Consumer &add(ConsumerKind kind, std::string name)
	{
		Consumer consumer;
		consumer.kind = kind;
		consumer.name = std::move(name);
		return reader_.device().consumers.emplace_back(std::move(consumer));
	}

	void add_net(const std::string &name)
	{
		add(ConsumerKind::net_interface, name).default_route =
			context_.default_route_interfaces.contains(name);
	}

	void add_block(const std::string &name)
	{
		Consumer &consumer = add(ConsumerKind::block_device, name);
		const auto mount = context_.mountpoints.find(name);
		if (mount != context_.mountpoints.end())
			consumer.mountpoint = mount->second;
		else if (context_.mounts_unknown)
			consumer.mountpoint = unknown_mountpoint;
	}

	template<class Callback>
	void read_named_children(const std::string &subdirectory, Callback callback)
	{
		const auto listed = open_listed(reader_, reader_.directory(), subdirectory, subdirectory);
		if (!listed)
			return;
		for (const DirEntry &entry : listed->entries)
			callback(entry.name);
	}

	/* A disk, and its partitions: subdirectories named after the disk. */
	void read_disk(Directory &parent, const std::string &parent_path, const std::string &disk,
		       std::string_view partition_infix)
	{
		add_block(disk);
		const std::string path = parent_path + "/" + disk;
		const auto listed = open_listed(reader_, parent, disk, path);
		if (!listed)
			return;
		const std::string prefix = disk + std::string(partition_infix);
		for (const DirEntry &part : listed->entries)
			if (may_be_directory(part) && part.name.size() > prefix.size() &&
			    part.name.starts_with(prefix))
				add_block(part.name);
	}

	/* block/DISK/DISKN, as virtio-blk and some others lay them out. */
	void read_block_directory()
	{
		const auto listed = open_listed(reader_, reader_.directory(), "block", "block");
		if (!listed)
			return;
		for (const DirEntry &disk : listed->entries)
			if (may_be_directory(disk))
				read_disk(*listed->directory, "block", disk.name, "");
	}

	/* nvme/nvmeN/nvmeNnM/nvmeNnMpK: the namespaces are the disks. */
	void read_nvme()
	{
		const auto controllers = open_listed(reader_, reader_.directory(), "nvme", "nvme");
		if (!controllers)
			return;
		for (const DirEntry &controller : controllers->entries) {
			if (!may_be_directory(controller))
				continue;
			const std::string path = "nvme/" + controller.name;
			const auto namespaces =
				open_listed(reader_, *controllers->directory, controller.name, path);
			if (!namespaces)
				continue;
			for (const DirEntry &name_space : namespaces->entries)
				if (may_be_directory(name_space) &&
				    is_numbered(name_space.name, controller.name + "n"))
					read_disk(*namespaces->directory, path, name_space.name, "p");
		}
	}

	void read_usb_root(const std::string &root_hub)
	{
		auto directory = reader_.directory().open(root_hub);
		if (!directory) {
			reader_.add_finding(root_hub, directory.error());
			return;
		}
		read_usb_children(*directory.value(), root_hub);
	}

	/* The USB devices beneath a hub; hubs (class 9) are descended into. */
	void read_usb_children(Directory &hub, const std::string &path)
	{
		auto entries = hub.list();
		if (!entries) {
			reader_.add_finding(path, entries.error());
			return;
		}

		std::vector<std::string> names;
		for (const DirEntry &entry : entries.value())
			if (may_be_directory(entry) && is_usb_device_name(entry.name))
				names.push_back(entry.name);
		std::sort(names.begin(), names.end());

		for (const std::string &name : names) {
			const std::string child_path = path + "/" + name;
			auto child = hub.open(name);
			if (!child) {
				reader_.add_finding(child_path, child.error());
				continue;
			}

			Consumer &consumer = add(ConsumerKind::usb_device, name);
			const auto identity = read_usb_identity(*child.value(), child_path);
			if (!identity)
				continue;

			consumer.description = VendorId(identity->vendor).to_string() + ":" +
					       DeviceId(identity->product).to_string();
			/* The product string descriptor is optional. */
			if (auto product = child.value()->read("product", attribute_max)) {
				consumer.description += ' ';
				consumer.description += strip_newline(std::move(product).value());
			}

			if (identity->device_class == 9) {
				consumer.kind = ConsumerKind::usb_hub;
				read_usb_children(*child.value(), child_path);
			}
		}
	}

	/* IDs and class from the uevent, or from idVendor, idProduct and bDeviceClass without one. */
	std::optional<UsbUevent> read_usb_identity(Directory &usb, const std::string &path)
	{
		auto uevent = usb.read("uevent", attribute_max);
		if (uevent) {
			auto parsed = parse_usb_uevent(uevent.value());
			if (!parsed) {
				reader_.add_finding(path + "/uevent", parsed.error());
				return std::nullopt;
			}
			return parsed.value();
		}
		if (!is_missing(uevent.error())) {
			reader_.add_finding(path + "/uevent", uevent.error());
			return std::nullopt;
		}

		UsbUevent identity;
		const std::array<std::pair<const char *, unsigned>, 3> files = {{
			{"idVendor", 4}, {"idProduct", 4}, {"bDeviceClass", 2}}};
		std::array<uint32_t, 3> values{};
		for (size_t i = 0; i < files.size(); i++) {
			const std::string file_path = path + "/" + files[i].first;
			auto content = usb.read(files[i].first, attribute_max);
			auto value = content ? parse_hex_attribute(content.value(), files[i].second)
					     : result<uint32_t>(content.error());
			if (!value) {
				reader_.add_finding(file_path, value.error());
				return std::nullopt;
			}
			values[i] = value.value();
		}
		identity.vendor = static_cast<uint16_t>(values[0]);
		identity.product = static_cast<uint16_t>(values[1]);
		identity.device_class = static_cast<uint8_t>(values[2]);
		return identity;
	}

	DeviceReader &reader_;
	const HostContext &context_;
};

/* Bridges above a device, nearest first, from the PCI addresses in its real path. */
std::vector<PciAddress> parents_from_path(std::string_view path)
{
	std::vector<PciAddress> parents;
	size_t pos = 0;
	while (pos < path.size()) {
		size_t end = path.find('/', pos);
		if (end == std::string_view::npos)
			break; /* the device itself */
		if (auto address = PciAddress::parse(path.substr(pos, end - pos)))
			parents.insert(parents.begin(), address.value());
		pos = end + 1;
	}
	return parents;
}

} /* namespace */

DeviceScanner::DeviceScanner(Host &host, const ScanOptions &options, const HostContext &context,
			     std::vector<Finding> &host_findings)
	: host_(host), options_(options), context_(context), host_findings_(host_findings)
{
}

void DeviceScanner::record_vanished(PciAddress address, const std::string &path, const Error &error)
{
	vanished_.insert(address);
	Finding finding = make_finding(address.to_string(), path, error);
	finding.message = address.to_string() + " vanished during the scan: " + error.message;
	host_findings_.push_back(std::move(finding));
}

void DeviceScanner::apply_vf_template(const VfTemplate &shared, Device &device)
{
	if (shared.vf0) {
		device.class_code = shared.vf0->class_code;
		device.revision = shared.vf0->revision;
		device.header_type = shared.vf0->header_type;
		device.subsystem_vendor = shared.vf0->subsystem_vendor;
		device.subsystem_device = shared.vf0->subsystem_device;
	}
	if (shared.vf_device != DeviceId()) {
		device.vendor = shared.vendor;
		device.device = shared.vf_device;
	} else if (shared.vf0) {
		device.vendor = shared.vf0->vendor;
		device.device = shared.vf0->device;
	}
	device.numa_node = shared.numa_node;
	device.inaccessible = shared.pf_inaccessible || device.inaccessible;
}

std::optional<Device> DeviceScanner::scan_device(Directory &directory, PciAddress address,
						 const std::vector<PciAddress> &parents,
						 std::vector<DirEntry> *children)
{
	auto entries = directory.list();
	if (!entries) {
		record_vanished(address, directory.path(), entries.error());
		return std::nullopt;
	}

	Device device;
	device.address = address;
	device.sysfs_path = directory.path();
	device.parents = parents;

	DeviceReader reader(directory, device, entries.value());

	/*
	 * The kernel gives every VF its PF's vendor, the VF device ID from the
	 * PF's SR-IOV capability, and the class, revision, header type and
	 * subsystem IDs it read from VF 0; its sysfs files show those. Taking
	 * them from the PF and the first VF read saves the config and
	 * numa_node reads of every other VF.
	 */
	VfTemplate *shared = nullptr;
	if (reader.has("physfn") && !options_.read_every_vf) {
		const auto pf = pf_of_vf_.find(address);
		if (pf != pf_of_vf_.end()) {
			const auto found = vf_templates_.find(pf->second);
			if (found != vf_templates_.end())
				shared = &found->second;
		}
	}

	bool first_vf = false;
	if (shared && shared->vf0) {
		apply_vf_template(*shared, device);
	} else {
		read_identity(reader, entries.value());

		/* A device removed after the listing loses its config with the rest. */
		const auto config_gone = std::find_if(device.findings.begin(), device.findings.end(),
						      [](const Finding &finding) {
							      return finding.attribute == "config" &&
								     finding.sys_errno == ENOENT;
						      });
		if (config_gone != device.findings.end() && reader.has("config")) {
			record_vanished(address, config_gone->path,
					make_sys_error(ENOENT, config_gone->message, address.to_string(),
						       config_gone->path));
			return std::nullopt;
		}

		if (shared && device.findings.empty()) {
			shared->vf0 = device;
			apply_vf_template(*shared, device);
			first_vf = true;
		} else {
			read_numa_node(reader);
		}
	}

	read_binding(reader, bound_);
	read_sriov(reader, entries.value(), pf_of_vf_);
	read_features(reader);
	const bool consumers_listed = ConsumerReader(reader, context_).read(entries.value());

	if (first_vf)
		shared->read_by_name = !consumers_listed && device.findings.empty() &&
				       reader.has("driver_override") && !reader.has("boot_vga") &&
				       reader.has("reset") == reader.has("reset_method");

	if (device.sriov && !device.sriov->vfs.empty())
		vf_templates_[address] = VfTemplate{device.vendor, device.sriov->vf_device,
						    device.numa_node, device.inaccessible, std::nullopt};

	if (children)
		*children = std::move(entries).value();
	return device;
}

const DeviceScanner::VfTemplate *DeviceScanner::by_name_template(PciAddress address) const
{
	if (options_.read_every_vf)
		return nullptr;
	const auto pf = pf_of_vf_.find(address);
	if (pf == pf_of_vf_.end())
		return nullptr;
	const auto found = vf_templates_.find(pf->second);
	if (found == vf_templates_.end() || !found->second.read_by_name)
		return nullptr;
	return &found->second;
}

/*
 * Reads a VF after the first of its PF by name, without listing its
 * directory, because a listing costs more than all the other reads of a VF
 * together. VF 0's listing and the class directories show which files
 * exist. An optional file that is missing anyway is absent, not a finding.
 * Returns nothing when the VF must be read in full instead.
 */
std::optional<Device> DeviceScanner::scan_vf_by_name(Directory &directory, PciAddress address,
						     const std::vector<PciAddress> &parents,
						     const VfTemplate &shared)
{
	Device device;
	device.address = address;
	device.sysfs_path = directory.path();
	device.parents = parents;
	device.physfn = pf_of_vf_.at(address);
	apply_vf_template(shared, device);

	const std::vector<DirEntry> unlisted;
	DeviceReader reader(directory, device, unlisted);

	if (drivers_listed_) {
		const auto bound = bound_.find(address);
		if (bound != bound_.end())
			device.driver = bound->second;
	} else if (const auto resolved = reader.link("driver", true)) {
		if (auto name = link_leaf(*resolved, "sys/bus/pci/drivers/"))
			device.driver = std::move(*name);
		else
			reader.add_finding("driver", unexpected_link("driver", *resolved,
								     "sys/bus/pci/drivers/NAME"));
	}

	/*
	 * VF 0 has driver_override. A VF without it differs from VF 0 or went
	 * away, and the full read with a listing finds out which.
	 */
	auto override_content = directory.read("driver_override", attribute_max);
	if (!override_content && is_missing(override_content.error()))
		return std::nullopt;
	if (!override_content)
		reader.add_finding("driver_override", override_content.error());
	else if (auto value = reader.parsed("driver_override",
					    parse_driver_override(override_content.value())))
		device.driver_override = std::move(*value);

	if (context_.facts.iommu_enabled)
		if (const auto resolved = reader.link("iommu_group", true))
			if (const auto group = reader.parsed("iommu_group", parse_iommu_group_path(*resolved)))
				device.iommu_group = *group;

	/* The kernel shows reset and reset_method together, or neither. */
	if (const auto content = reader.read_if_present("reset_method")) {
		device.has_reset = true;
		if (auto methods = reader.parsed("reset_method", parse_reset_methods(*content)))
			device.reset_methods = std::move(*methods);
	}

	ConsumerReader consumers(reader, context_);
	consumers.read(unlisted);
	if (!device.vfio_device && device.driver && is_vfio_driver(*device.driver))
		consumers.read_vfio_dev();
	return device;
}

unsigned DeviceScanner::walk_threads(size_t functions) const
{
	/* Below this many functions a scan takes about a millisecond, less than starting threads is worth. */
	constexpr size_t parallel_functions = 256;
	constexpr unsigned max_threads = 4;

	if (options_.threads > 0)
		return options_.threads;
	if (functions < parallel_functions)
		return 1;
	return std::clamp(std::thread::hardware_concurrency(), 1u, max_threads);
}

/*
 * Walks the trees beneath the bus roots with several scanners at once, one
 * subtree (a function on a root bus, with everything behind it) at a time.
 * A PF and its VFs share a parent, so each subtree is read whole by one
 * scanner, and the scanners share nothing but what they only read.
 */
void DeviceScanner::walk_in_parallel(const std::vector<BusRoot> &roots, unsigned threads,
				     std::vector<Device> &devices)
{
	struct Subtree {
		Directory *bus;
		DirEntry function;
	};
	std::vector<Subtree> subtrees;
	for (const BusRoot &root : roots)
		for (const DirEntry &entry : root.entries)
			if (may_be_directory(entry) && PciAddress::parse(entry.name))
				subtrees.push_back({root.directory.get(), entry});

	struct Worker {
		std::vector<Finding> findings;
		std::vector<Device> devices;
		std::unique_ptr<DeviceScanner> scanner;
		std::exception_ptr exception;
	};
	std::vector<Worker> workers(std::min<size_t>(threads, std::max<size_t>(subtrees.size(), 1)));
	for (Worker &worker : workers) {
		worker.scanner = std::make_unique<DeviceScanner>(host_, options_, context_, worker.findings);
		worker.scanner->bound_ = bound_;
		worker.scanner->drivers_listed_ = drivers_listed_;
	}

	std::atomic<size_t> next{0};
	auto work = [&](Worker &worker) {
		try {
			for (size_t i = next++; i < subtrees.size(); i = next++)
				worker.scanner->scan_tree(*subtrees[i].bus, {subtrees[i].function}, {},
							  worker.devices);
		} catch (...) {
			worker.exception = std::current_exception();
		}
	};

	/* This thread is the first worker, and takes over the subtrees of threads that cannot start. */
	std::vector<std::thread> helpers;
	for (size_t i = 1; i < workers.size(); i++) {
		try {
			helpers.emplace_back(work, std::ref(workers[i]));
		} catch (const std::system_error &) {
			break;
		}
	}
	work(workers[0]);
	for (std::thread &helper : helpers)
		helper.join();

	for (Worker &worker : workers) {
		if (worker.exception)
			std::rethrow_exception(worker.exception);
		std::move(worker.devices.begin(), worker.devices.end(), std::back_inserter(devices));
		std::move(worker.findings.begin(), worker.findings.end(),
			  std::back_inserter(host_findings_));
		DeviceScanner &scanner = *worker.scanner;
		vanished_.insert(scanner.vanished_.begin(), scanner.vanished_.end());
		pf_of_vf_.insert(scanner.pf_of_vf_.begin(), scanner.pf_of_vf_.end());
		for (auto &[pf, shared] : scanner.vf_templates_)
			vf_templates_.insert_or_assign(pf, std::move(shared));
	}
}

void DeviceScanner::scan_tree(Directory &directory, const std::vector<DirEntry> &entries,
			      const std::vector<PciAddress> &parents, std::vector<Device> &devices)
{
	for (const auto &[address, name] : child_functions(entries)) {
		/*
		 * A VF read by name needs no descriptor of its own: its files open
		 * through this directory, which saves an open and a close per VF.
		 */
		const VfTemplate *shared = by_name_template(address);
		auto child = shared ? directory.open_deferred(name) : directory.open(name);
		if (!child) {
			record_vanished(address, directory.path() + "/" + name, child.error());
			continue;
		}

		/* VFs have no functions beneath them. */
		if (shared) {
			if (auto device = scan_vf_by_name(*child.value(), address, parents, *shared)) {
				devices.push_back(std::move(*device));
				continue;
			}
		}

		std::vector<DirEntry> child_entries;
		auto device = scan_device(*child.value(), address, parents, &child_entries);
		if (!device)
			continue;
		devices.push_back(std::move(*device));

		if (child_functions(child_entries).empty())
			continue;
		std::vector<PciAddress> child_parents = parents;
		child_parents.insert(child_parents.begin(), address);
		scan_tree(*child.value(), child_entries, child_parents, devices);
	}
}

std::optional<Device> DeviceScanner::scan_one(PciAddress address, const std::string &known_path)
{
	std::string path = known_path;
	if (path.empty()) {
		const std::string link = "sys/bus/pci/devices/" + address.to_string();
		auto resolved = host_.resolve(link);
		if (!resolved) {
			if (is_missing(resolved.error()))
				record_vanished(address, link, resolved.error());
			else
				host_findings_.push_back(
					make_finding(address.to_string(), link, resolved.error()));
			return std::nullopt;
		}
		path = std::move(resolved).value();
	}

	auto directory = host_.open_dir(path);
	if (!directory) {
		record_vanished(address, path, directory.error());
		return std::nullopt;
	}
	return scan_device(*directory.value(), address, parents_from_path(path), nullptr);
}

void DeviceScanner::list_driver_directories()
{
	size_t failed = 0;
	for (const std::string &driver : context_.facts.drivers) {
		const std::string path = "sys/bus/pci/drivers/" + driver;
		auto entries = host_.list(path);
		if (!entries) {
			host_findings_.push_back(make_finding(driver, path, entries.error()));
			failed++;
			continue;
		}
		for (const DirEntry &entry : entries.value())
			if (auto address = PciAddress::parse(entry.name))
				bound_.emplace(address.value(), driver);
	}
	drivers_listed_ = failed == 0;
}

result<std::vector<Device>> DeviceScanner::scan_all()
{
	/* The bus listing shows which functions exist, and sys/devices where they sit. */
	BOOST_OUTCOME_TRY(auto bus_entries, host_.list("sys/bus/pci/devices"));

	std::map<PciAddress, bool> on_bus;
	for (const DirEntry &entry : bus_entries) {
		auto address = PciAddress::parse(entry.name);
		if (!address) {
			host_findings_.push_back(make_finding(entry.name, "sys/bus/pci/devices/" + entry.name,
							      address.error()));
			continue;
		}
		on_bus.emplace(address.value(), false);
	}

	/*
	 * With many functions per driver, one listing of each driver directory
	 * names every bound function and replaces a readlink per function.
	 */
	constexpr size_t functions_per_driver_listing = 4;
	const auto &drivers = context_.facts.drivers;
	if (on_bus.size() >= functions_per_driver_listing * std::max<size_t>(drivers.size(), 1))
		list_driver_directories();

	std::vector<Device> devices;
	devices.reserve(on_bus.size());

	auto root = host_.open_dir("sys/devices");
	auto roots = root ? root.value()->list() : result<std::vector<DirEntry>>(root.error());
	std::vector<BusRoot> bus_roots;
	if (roots) {
		std::vector<std::string> buses;
		for (const DirEntry &entry : roots.value())
			if (entry.name.starts_with("pci") && may_be_directory(entry))
				buses.push_back(entry.name);
		std::sort(buses.begin(), buses.end());

		for (const std::string &bus : buses) {
			auto bus_directory = root.value()->open(bus);
			auto root_entries = bus_directory ? bus_directory.value()->list()
							  : result<std::vector<DirEntry>>(bus_directory.error());
			if (!root_entries) {
				host_findings_.push_back(
					make_finding(bus, "sys/devices/" + bus, root_entries.error()));
				continue;
			}
			bus_roots.push_back({std::move(bus_directory).value(), std::move(root_entries).value()});
		}
	} else {
		host_findings_.push_back(make_finding("devices", "sys/devices", roots.error()));
	}

	const unsigned threads = walk_threads(on_bus.size());
	if (threads > 1) {
		walk_in_parallel(bus_roots, threads, devices);
	} else {
		for (const BusRoot &bus_root : bus_roots)
			scan_tree(*bus_root.directory, bus_root.entries, {}, devices);
	}

	for (Device &device : devices) {
		const auto listed = on_bus.find(device.address);
		if (listed != on_bus.end()) {
			listed->second = true;
			continue;
		}
		device.findings.push_back(make_finding(
			"sys/bus/pci/devices", "sys/bus/pci/devices/" + device.address.to_string(),
			make_error(errc::not_found,
				   "the function is in sys/devices but has no link in sys/bus/pci/devices")));
	}

	/* Functions the walk missed: follow their bus links instead. */
	for (const auto &[address, found] : on_bus) {
		if (found || vanished_.contains(address))
			continue;
		if (auto device = scan_one(address, {}))
			devices.push_back(std::move(*device));
	}

	std::sort(devices.begin(), devices.end(),
		  [](const Device &a, const Device &b) { return a.address < b.address; });
	devices.erase(std::unique(devices.begin(), devices.end(),
				  [](const Device &a, const Device &b) { return a.address == b.address; }),
		      devices.end());
	return devices;
}

void link_sriov(std::vector<Device *> &devices, Host &host, const DeviceLookup &lookup)
{
	std::unordered_map<PciAddress, Device *> batch;
	for (Device *device : devices)
		batch.emplace(device->address, device);

	for (Device *device : devices) {
		if (!device->sriov)
			continue;
		for (PciAddress vf : device->sriov->vfs) {
			const auto found = batch.find(vf);
			if (found != batch.end() && !found->second->physfn)
				found->second->physfn = device->address;
		}
	}

	for (Device *device : devices) {
		if (device->inaccessible || device->vendor != VendorId(0xffff) ||
		    device->device != DeviceId(0xffff) || !device->physfn)
			continue;

		/* The kernel gives a VF its PF's vendor and the VF device ID from the PF's capability. */
		const Device *pf = lookup(*device->physfn);
		if (pf && pf->sriov && pf->sriov->vf_device != DeviceId()) {
			device->vendor = pf->vendor;
			device->device = pf->sriov->vf_device;
			continue;
		}

		const std::string path = device->sysfs_path + "/uevent";
		auto uevent = host.read(path, attribute_max);
		auto parsed = uevent ? parse_pci_uevent(uevent.value()) : result<PciUevent>(uevent.error());
		if (!parsed) {
			device->findings.push_back(make_finding("uevent", path, parsed.error()));
			continue;
		}
		device->vendor = parsed.value().vendor;
		device->device = parsed.value().device;
	}
}

} /* namespace pcipass::detail */
