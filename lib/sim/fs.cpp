/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The simulated tree: every path is computed from the state when it is
 * looked up, so the tree can never disagree with the state.
 */

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <set>

#include "kernel.hpp"

namespace pcipass::sim::detail {

namespace {

using Kind = LocKind;

constexpr std::array<std::string_view, size_t(Attr::count)> attr_names = {
	"boot_vga",
	"class",
	"config",
	"device",
	"driver_override",
	"enable",
	"irq",
	"modalias",
	"numa_node",
	"remove",
	"reset",
	"reset_method",
	"resource",
	"revision",
	"sriov_drivers_autoprobe",
	"sriov_numvfs",
	"sriov_offset",
	"sriov_stride",
	"sriov_totalvfs",
	"sriov_vf_device",
	"subsystem_device",
	"subsystem_vendor",
	"uevent",
	"vendor",
};

constexpr std::array<std::string_view, 3> bus_file_names = {
	"drivers_autoprobe",
	"drivers_probe",
	"rescan",
};

constexpr std::array<std::string_view, 5> driver_file_names = {
	"bind", "new_id", "remove_id", "uevent", "unbind",
};

constexpr std::array<std::string_view, 4> device_link_names = {
	"driver",
	"iommu_group",
	"physfn",
	"subsystem",
};

constexpr std::array<std::string_view, 2> module_file_names = {"initstate", "refcnt"};

constexpr std::array<std::string_view, 6> proc_file_names = {
	"cmdline", "cpuinfo", "fb", "modules", "mounts", "route",
};

template<size_t N>
std::optional<int> index_of(const std::array<std::string_view, N> &names, std::string_view name)
{
	auto it = std::lower_bound(names.begin(), names.end(), name);
	if (it == names.end() || *it != name)
		return std::nullopt;
	return int(it - names.begin());
}

/* A non-negative decimal number without leading zeros, as the kernel names groups and pids. */
std::optional<int> parse_number(std::string_view text)
{
	if (text.empty() || text.size() > 9 || (text.size() > 1 && text[0] == '0'))
		return std::nullopt;
	int value = 0;
	for (char c : text) {
		if (c < '0' || c > '9')
			return std::nullopt;
		value = value * 10 + (c - '0');
	}
	return value;
}

std::string hex(const char *format, unsigned value)
{
	char buffer[32];
	std::snprintf(buffer, sizeof(buffer), format, value);
	return buffer;
}

std::string modalias(const testing::TopologyDevice &topo)
{
	char buffer[96];
	std::snprintf(buffer, sizeof(buffer), "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X",
		      topo.vendor.value(), topo.device.value(), topo.subsystem_vendor.value(),
		      topo.subsystem_device.value(), topo.class_code.base(),
		      topo.class_code.subclass(), topo.class_code.prog_if());
	return buffer;
}

/*
 * Config space as a root reader sees its first 256 bytes; the standard
 * header matches what materialize() writes for the same device.
 */
std::string config_space(const testing::TopologyDevice &topo, bool bound, uint8_t secondary,
			 uint8_t subordinate)
{
	std::string config(256, '\0');
	if (topo.inaccessible) {
		std::fill(config.begin(), config.end(), '\xff');
		return config;
	}
	auto put16 = [&](size_t offset, uint16_t value) {
		config[offset] = char(value & 0xff);
		config[offset + 1] = char(value >> 8);
	};
	put16(0x00, topo.vendor.value());
	put16(0x02, topo.device.value());
	/* Command: I/O, memory and bus master enabled once a driver has the device. */
	put16(0x04, bound ? 0x0007 : 0x0000);
	put16(0x06, 0x0010); /* capabilities list */
	config[0x08] = char(topo.revision);
	config[0x09] = char(topo.class_code.prog_if());
	config[0x0a] = char(topo.class_code.subclass());
	config[0x0b] = char(topo.class_code.base());
	config[0x0e] = char(topo.header_type);
	config[0x34] = char(0x40);
	config[0x3d] = char(0x01); /* interrupt pin INTA */
	if ((topo.header_type & 0x7f) == 0) {
		put16(0x2c, topo.subsystem_vendor.value());
		put16(0x2e, topo.subsystem_device.value());
	} else if ((topo.header_type & 0x7f) == 1) {
		config[0x18] = char(topo.address.bus());
		config[0x19] = char(secondary);
		config[0x1a] = char(subordinate);
	}
	return config;
}

/* /proc/net/route pads each line to 127 characters (seq_setwidth in fib_route_seq_show). */
std::string route_line(std::string line)
{
	constexpr size_t width = 127;
	if (line.size() < width)
		line.append(width - line.size(), ' ');
	return line + "\n";
}

/* The kernel's mangling of paths in /proc/mounts: space, tab, newline and backslash in octal. */
std::string escape_mount_path(std::string_view path)
{
	std::string escaped;
	for (char c : path) {
		if (c == ' ' || c == '\t' || c == '\n' || c == '\\') {
			char octal[8];
			std::snprintf(octal, sizeof(octal), "\\%03o", static_cast<unsigned char>(c));
			escaped += octal;
		} else {
			escaped += c;
		}
	}
	return escaped;
}

/* dir joined with a relative link target, ".." resolved. */
std::string join_link(std::string_view dir, std::string_view target)
{
	std::vector<std::string_view> parts;
	auto push = [&](std::string_view path) {
		while (!path.empty()) {
			const auto slash = path.find('/');
			const auto part = path.substr(0, slash);
			if (part == "..") {
				if (!parts.empty())
					parts.pop_back();
			} else if (!part.empty() && part != ".") {
				parts.push_back(part);
			}
			if (slash == std::string_view::npos)
				break;
			path.remove_prefix(slash + 1);
		}
	};
	push(dir);
	push(target);
	std::string path;
	for (auto part : parts) {
		if (!path.empty())
			path += '/';
		path += part;
	}
	return path;
}

Error fs_error(int sys_errno, std::string_view path, std::string_view what)
{
	return make_sys_error(sys_errno,
			      "simulated kernel: '" + std::string(path) + "' " + std::string(what),
			      {}, std::string(path));
}

} /* namespace */

std::string_view attr_name(Attr attr)
{
	return attr_names[size_t(attr)];
}

std::string relative_link(std::string_view from, std::string_view to)
{
	return std::filesystem::path(to).lexically_relative(std::filesystem::path(from)).string();
}

bool Kernel::group_exists(unsigned group) const
{
	auto it = groups_.find(group);
	return it != groups_.end() && !it->second.empty();
}

/* The vfioN of a device on a VFIO driver: its rank by address among such devices, or none. */
int Kernel::vfio_number(int index) const
{
	const Device &device = devices_[index];
	if (device.driver == none || !drivers_[device.driver].vfio || !device.present)
		return none;
	/*
	 * NOTE: the kernel takes the lowest free number at bind time. Numbering
	 * by address keeps this tree equal to materialize() of to_topology(),
	 * which cannot know the order of binds.
	 */
	int rank = 0;
	for (const auto &other : devices_) {
		if (other.present && other.driver != none && drivers_[other.driver].vfio &&
		    other.topo.address < device.topo.address)
			rank++;
	}
	return rank;
}

bool Kernel::attr_present(const Device &device, Attr attr) const
{
	switch (attr) {
	case Attr::boot_vga:
		return device.topo.boot_vga.has_value();
	case Attr::reset:
	case Attr::reset_method:
		/* The kernel decides at enumeration whether the files exist. */
		return !device.topo.reset_methods.empty();
	case Attr::sriov_drivers_autoprobe:
	case Attr::sriov_numvfs:
	case Attr::sriov_offset:
	case Attr::sriov_stride:
	case Attr::sriov_totalvfs:
	case Attr::sriov_vf_device:
		return device.topo.sriov.has_value() && device.pf == none;
	default:
		return true;
	}
}

std::string Kernel::attr_content(const Device &device, Attr attr) const
{
	const testing::TopologyDevice &topo = device.topo;
	const bool bound = device.driver != none;
	switch (attr) {
	case Attr::boot_vga:
		return topo.boot_vga.value_or(false) ? "1\n" : "0\n";
	case Attr::class_code:
		return hex("0x%06x\n", topo.class_code.value());
	case Attr::config: {
		/* A bridge's bus numbers: the bus of its first child and the highest bus behind it. */
		uint8_t secondary = 0;
		uint8_t subordinate = 0;
		std::vector<int> below(device.children);
		for (size_t i = 0; i < below.size(); i++) {
			const Device &child = devices_[below[i]];
			if (!child.present)
				continue;
			const uint8_t bus = child.topo.address.bus();
			if (child.parent == int(&device - devices_.data()) && child.pf == none &&
			    (secondary == 0 || bus < secondary))
				secondary = bus;
			subordinate = std::max(subordinate, bus);
			below.insert(below.end(), child.children.begin(), child.children.end());
		}
		if (secondary == 0)
			secondary = subordinate;
		return config_space(topo, bound, secondary, subordinate);
	}
	case Attr::device:
		return hex("0x%04x\n", topo.device.value());
	case Attr::driver_override:
		return device.override_name ? *device.override_name + "\n" : "(null)\n";
	case Attr::enable:
		return bound ? "1\n" : "0\n";
	case Attr::irq:
		return bound ? "16\n" : "0\n";
	case Attr::modalias:
		return modalias(topo) + "\n";
	case Attr::numa_node:
		return std::to_string(topo.numa_node) + "\n";
	case Attr::reset_method: {
		std::string methods;
		for (const auto &method : device.reset_methods)
			methods += (methods.empty() ? "" : " ") + method;
		return methods.empty() ? methods : methods + "\n";
	}
	case Attr::resource: {
		/* Six BARs, the ROM and the IOV BARs; bridges add their windows. */
		const int lines = (topo.header_type & 0x7f) == 0 ? 13 : 17;
		std::string text;
		for (int i = 0; i < lines; i++)
			text += "0x0000000000000000 0x0000000000000000 0x0000000000000000\n";
		return text;
	}
	case Attr::revision:
		return hex("0x%02x\n", topo.revision);
	case Attr::sriov_drivers_autoprobe:
		return device.autoprobe ? "1\n" : "0\n";
	case Attr::sriov_numvfs:
		return std::to_string(device.num_vfs) + "\n";
	case Attr::sriov_offset:
		return std::to_string(topo.sriov->first_vf_offset) + "\n";
	case Attr::sriov_stride:
		return std::to_string(topo.sriov->vf_stride) + "\n";
	case Attr::sriov_totalvfs:
		return std::to_string(topo.sriov->total_vfs) + "\n";
	case Attr::sriov_vf_device:
		return hex("%x\n", topo.sriov->vf_device.value());
	case Attr::subsystem_device:
		return hex("0x%04x\n", topo.subsystem_device.value());
	case Attr::subsystem_vendor:
		return hex("0x%04x\n", topo.subsystem_vendor.value());
	case Attr::uevent: {
		std::string text;
		if (bound)
			text += "DRIVER=" + drivers_[device.driver].name + "\n";
		text += hex("PCI_CLASS=%04X\n", topo.class_code.value());
		text += "PCI_ID=" + hex("%04X", topo.vendor.value()) + ":" +
			hex("%04X", topo.device.value()) + "\n";
		text += "PCI_SUBSYS_ID=" + hex("%04X", topo.subsystem_vendor.value()) + ":" +
			hex("%04X", topo.subsystem_device.value()) + "\n";
		text += "PCI_SLOT_NAME=" + device.name + "\n";
		text += "MODALIAS=" + modalias(topo) + "\n";
		return text;
	}
	case Attr::vendor:
		return hex("0x%04x\n", topo.vendor.value());
	case Attr::remove:
	case Attr::reset:
	case Attr::count:
		break;
	}
	return {};
}

bool Kernel::consumer_present(const Device &device, const Consumer &consumer) const
{
	if (!device.present)
		return false;
	if (consumer.driver.empty())
		return true;
	return device.driver != none && drivers_[device.driver].name == consumer.driver;
}

const std::vector<ExtraNode> &Kernel::extra_list(const Loc &loc) const
{
	if (loc.kind == Kind::extra || loc.kind == Kind::device_dir)
		return devices_[loc.a].extra;
	return host_extra_;
}

/* A consumer node in dir: beneath a device, beneath another such node, or anchored in a fixed directory. */
std::optional<Loc> Kernel::lookup_extra(const Loc &dir, std::string_view name) const
{
	const auto &nodes = extra_list(dir);
	const bool nested = dir.kind == Kind::extra || dir.kind == Kind::host_extra;
	const int parent = nested ? dir.b : none;
	const bool device_tree = dir.kind == Kind::extra || dir.kind == Kind::device_dir;
	for (size_t i = 0; i < nodes.size(); i++) {
		const ExtraNode &node = nodes[i];
		if (node.parent != parent || node.name != name)
			continue;
		if (parent == none && !device_tree && !(node.anchor == dir))
			continue;
		return Loc{device_tree ? Kind::extra : Kind::host_extra, device_tree ? dir.a : 0,
			   int(i)};
	}
	return std::nullopt;
}

void Kernel::add_extra_entries(const Loc &dir, std::vector<DirEntry> &list) const
{
	const auto &nodes = extra_list(dir);
	const bool nested = dir.kind == Kind::extra || dir.kind == Kind::host_extra;
	const int parent = nested ? dir.b : none;
	const bool device_tree = dir.kind == Kind::extra || dir.kind == Kind::device_dir;
	for (const auto &node : nodes) {
		if (node.parent != parent)
			continue;
		if (parent == none && !device_tree && !(node.anchor == dir))
			continue;
		list.push_back(DirEntry{node.name, node.type});
	}
}

std::vector<int> Kernel::bound_devices(int driver) const
{
	std::vector<int> bound;
	for (size_t i = 0; i < devices_.size(); i++) {
		if (devices_[i].present && devices_[i].driver == driver)
			bound.push_back(int(i));
	}
	std::sort(bound.begin(), bound.end(), [&](int a, int b) {
		return devices_[a].topo.address < devices_[b].topo.address;
	});
	return bound;
}

bool Kernel::group_has_vfio_member(unsigned group) const
{
	auto it = groups_.find(group);
	if (it == groups_.end())
		return false;
	return std::any_of(it->second.begin(), it->second.end(), [&](int member) {
		return devices_[member].driver != none && drivers_[devices_[member].driver].vfio;
	});
}

std::vector<pid_t> Kernel::holder_pids() const
{
	std::set<pid_t> pids;
	for (const auto &[path, holders] : holders_) {
		for (const auto &holder : holders)
			pids.insert(holder.pid);
	}
	return {pids.begin(), pids.end()};
}

/* The nodes a process has open, in descriptor order from 3. */
std::vector<std::string> Kernel::held_paths(pid_t pid) const
{
	std::vector<std::string> paths;
	for (const auto &[path, holders] : holders_) {
		for (const auto &holder : holders) {
			if (holder.pid == pid)
				paths.push_back(path);
		}
	}
	return paths;
}

std::optional<std::string> Kernel::holder_command(pid_t pid) const
{
	for (const auto &[path, holders] : holders_) {
		for (const auto &holder : holders) {
			if (holder.pid == pid)
				return holder.command;
		}
	}
	return std::nullopt;
}

std::vector<Holder> Kernel::holders_of(std::string_view path) const
{
	auto it = holders_.find(path);
	if (it == holders_.end())
		return {};
	return it->second;
}

std::optional<Loc> Kernel::lookup(const Loc &dir, std::string_view name) const
{
	switch (dir.kind) {
	case Kind::root:
		if (name == "sys")
			return Loc{Kind::sys};
		if (name == "proc")
			return Loc{Kind::proc};
		if (name == "dev")
			return Loc{Kind::dev};
		return std::nullopt;

	case Kind::sys:
		if (name == "bus")
			return Loc{Kind::sys_bus};
		if (name == "devices")
			return Loc{Kind::sys_devices};
		if (name == "kernel")
			return Loc{Kind::sys_kernel};
		if (name == "class")
			return Loc{Kind::sys_class};
		if (name == "module")
			return Loc{Kind::sys_module};
		return std::nullopt;

	case Kind::sys_bus:
		if (name == "pci")
			return Loc{Kind::bus_pci};
		if (name == "usb")
			return Loc{Kind::bus_usb};
		return std::nullopt;

	case Kind::bus_pci:
		if (name == "devices")
			return Loc{Kind::bus_pci_devices};
		if (name == "drivers")
			return Loc{Kind::bus_pci_drivers};
		if (auto file = index_of(bus_file_names, name))
			return Loc{Kind::bus_pci_file, *file};
		return std::nullopt;

	case Kind::bus_pci_devices: {
		const int device = name.ends_with('\n') ? none : find_device_by_name(name);
		if (device == none)
			return std::nullopt;
		return Loc{Kind::pci_device_link, device};
	}

	case Kind::bus_pci_drivers: {
		const int driver = find_driver(name);
		if (driver == none || !drivers_[driver].loaded)
			return std::nullopt;
		return Loc{Kind::driver_dir, driver};
	}

	case Kind::driver_dir: {
		if (auto file = index_of(driver_file_names, name))
			return Loc{Kind::driver_file, dir.a, *file};
		if (name == "module" && !drivers_[dir.a].module.empty())
			return Loc{Kind::driver_module_link, dir.a};
		const int device = name.ends_with('\n') ? none : find_device_by_name(name);
		if (device != none && devices_[device].driver == dir.a)
			return Loc{Kind::driver_device_link, dir.a, device};
		return std::nullopt;
	}

	case Kind::sys_devices:
		if (name == "virtual")
			return Loc{Kind::devices_virtual};
		for (size_t i = 0; i < roots_.size(); i++) {
			if (roots_[i].name == name)
				return Loc{Kind::pci_root, int(i)};
		}
		return lookup_extra(dir, name);

	case Kind::pci_root: {
		const int device = name.ends_with('\n') ? none : find_device_by_name(name);
		if (device == none)
			return std::nullopt;
		const auto &list = roots_[dir.a].devices;
		if (std::find(list.begin(), list.end(), device) == list.end())
			return std::nullopt;
		return Loc{Kind::device_dir, device};
	}

	case Kind::device_dir: {
		const Device &device = devices_[dir.a];
		if (auto attr = index_of(attr_names, name)) {
			if (!attr_present(device, Attr(*attr)))
				return std::nullopt;
			return Loc{Kind::device_attr, dir.a, *attr};
		}
		if (auto link = index_of(device_link_names, name)) {
			const auto which = DeviceLink(*link);
			if ((which == DeviceLink::driver && device.driver == none) ||
			    (which == DeviceLink::iommu_group && !device.topo.iommu_group) ||
			    (which == DeviceLink::physfn && device.pf == none))
				return std::nullopt;
			return Loc{Kind::device_link, dir.a, *link};
		}
		if (name.starts_with("virtfn")) {
			auto n = parse_number(name.substr(6));
			if (!n || size_t(*n) >= device.vfs.size() || unsigned(*n) >= device.num_vfs ||
			    device.vfs[*n] == none || !devices_[device.vfs[*n]].present)
				return std::nullopt;
			return Loc{Kind::virtfn_link, dir.a, *n};
		}
		if (name == "vfio-dev") {
			if (vfio_number(dir.a) == none)
				return std::nullopt;
			return Loc{Kind::vfio_dev_dir, dir.a};
		}
		for (int child : device.children) {
			if (devices_[child].present && devices_[child].name == name)
				return Loc{Kind::device_dir, child};
		}
		return lookup_extra(dir, name);
	}

	case Kind::vfio_dev_dir:
		if (name == "vfio" + std::to_string(vfio_number(dir.a)))
			return Loc{Kind::vfio_dev_entry, dir.a};
		return std::nullopt;

	case Kind::extra:
	case Kind::host_extra:
		return lookup_extra(dir, name);

	case Kind::devices_virtual:
		if (name == "iommu" && !topology_.iommu_units.empty())
			return Loc{Kind::virtual_iommu};
		return lookup_extra(dir, name);

	case Kind::virtual_iommu:
	case Kind::class_iommu:
		for (size_t i = 0; i < topology_.iommu_units.size(); i++) {
			if (topology_.iommu_units[i] == name)
				return Loc{dir.kind == Kind::virtual_iommu ? Kind::iommu_unit
									   : Kind::class_iommu_link,
					   int(i)};
		}
		return std::nullopt;

	case Kind::iommu_unit:
		if (name == "devices")
			return Loc{Kind::iommu_unit_devices, dir.a};
		return std::nullopt;

	case Kind::sys_kernel:
		if (name == "iommu_groups")
			return Loc{Kind::iommu_groups};
		return std::nullopt;

	case Kind::iommu_groups: {
		auto group = parse_number(name);
		if (!group || !group_exists(unsigned(*group)))
			return std::nullopt;
		return Loc{Kind::group_dir, *group};
	}

	case Kind::group_dir:
		if (name == "devices")
			return Loc{Kind::group_devices, dir.a};
		if (name == "type")
			return Loc{Kind::group_type, dir.a};
		return std::nullopt;

	case Kind::group_devices: {
		const int device = name.ends_with('\n') ? none : find_device_by_name(name);
		if (device == none || devices_[device].topo.iommu_group != unsigned(dir.a))
			return std::nullopt;
		return Loc{Kind::group_member_link, dir.a, device};
	}

	case Kind::sys_class:
		if (name == "iommu")
			return Loc{Kind::class_iommu};
		return lookup_extra(dir, name);

	case Kind::bus_usb:
		return lookup_extra(dir, name);

	case Kind::sys_module: {
		const int module = module_of_name(name);
		if (module == none || modules_[module] != name)
			return std::nullopt;
		return Loc{Kind::module_dir, module};
	}

	case Kind::module_dir:
		if (auto file = index_of(module_file_names, name))
			return Loc{Kind::module_file, dir.a, *file};
		/* The directory contains links to the module's PCI drivers, so it exists only with one. */
		if (name == "drivers" &&
		    std::any_of(drivers_.begin(), drivers_.end(), [&](const Driver &driver) {
			    return driver.loaded && driver.module == modules_[dir.a];
		    }))
			return Loc{Kind::module_drivers, dir.a};
		return std::nullopt;

	case Kind::module_drivers: {
		if (!name.starts_with("pci:"))
			return std::nullopt;
		const int driver = find_driver(name.substr(4));
		if (driver == none || !drivers_[driver].loaded || drivers_[driver].module != modules_[dir.a])
			return std::nullopt;
		return Loc{Kind::module_driver_link, dir.a, driver};
	}

	case Kind::proc:
		if (name == "net")
			return Loc{Kind::proc_net};
		if (name != "route") {
			if (auto file = index_of(proc_file_names, name))
				return Loc{Kind::proc_file, *file};
		}
		if (auto pid = parse_number(name)) {
			const auto pids = holder_pids();
			if (std::find(pids.begin(), pids.end(), pid_t(*pid)) != pids.end())
				return Loc{Kind::proc_pid, *pid};
		}
		return std::nullopt;

	case Kind::proc_net:
		if (name == "route")
			return Loc{Kind::proc_file, int(ProcFile::route)};
		return std::nullopt;

	case Kind::proc_pid:
		if (name == "comm")
			return Loc{Kind::proc_pid_comm, dir.a};
		if (name == "fd")
			return Loc{Kind::proc_pid_fd, dir.a};
		return std::nullopt;

	case Kind::proc_pid_fd: {
		auto fd = parse_number(name);
		if (!fd || size_t(*fd) >= held_paths(dir.a).size() + 3)
			return std::nullopt;
		return Loc{Kind::proc_pid_fd_link, dir.a, *fd};
	}

	case Kind::dev:
		/* The vfio directory exists while it contains a node. */
		if (name == "vfio" && (topology_.vfio_container ||
				       std::any_of(groups_.begin(), groups_.end(), [&](const auto &group) {
					       return group_has_vfio_member(group.first);
				       })))
			return Loc{Kind::dev_vfio};
		return std::nullopt;

	case Kind::dev_vfio: {
		if (name == "vfio")
			return topology_.vfio_container ? std::optional<Loc>(Loc{Kind::dev_vfio_container})
							: std::nullopt;
		auto group = parse_number(name);
		if (!group || !group_has_vfio_member(unsigned(*group)))
			return std::nullopt;
		return Loc{Kind::dev_vfio_group, *group};
	}

	default:
		return std::nullopt;
	}
}

EntryType Kernel::type(const Loc &loc) const
{
	switch (loc.kind) {
	case Kind::bus_pci_file:
	case Kind::driver_file:
	case Kind::device_attr:
	case Kind::group_type:
	case Kind::module_file:
	case Kind::proc_file:
	case Kind::proc_pid_comm:
		return EntryType::file;
	case Kind::pci_device_link:
	case Kind::driver_device_link:
	case Kind::driver_module_link:
	case Kind::device_link:
	case Kind::virtfn_link:
	case Kind::group_member_link:
	case Kind::class_iommu_link:
	case Kind::module_driver_link:
	case Kind::proc_pid_fd_link:
		return EntryType::symlink;
	case Kind::dev_vfio_container:
	case Kind::dev_vfio_group:
		return EntryType::other;
	case Kind::extra:
	case Kind::host_extra:
		return extra_list(loc)[loc.b].type;
	default:
		return EntryType::directory;
	}
}

std::string Kernel::path_of(const Loc &loc) const
{
	switch (loc.kind) {
	case Kind::root:
		return {};
	case Kind::sys:
		return "sys";
	case Kind::proc:
		return "proc";
	case Kind::dev:
		return "dev";
	case Kind::sys_bus:
		return "sys/bus";
	case Kind::sys_devices:
		return "sys/devices";
	case Kind::sys_kernel:
		return "sys/kernel";
	case Kind::sys_class:
		return "sys/class";
	case Kind::sys_module:
		return "sys/module";
	case Kind::bus_pci:
		return "sys/bus/pci";
	case Kind::bus_pci_devices:
		return "sys/bus/pci/devices";
	case Kind::bus_pci_drivers:
		return "sys/bus/pci/drivers";
	case Kind::bus_pci_file:
		return "sys/bus/pci/" + std::string(bus_file_names[loc.a]);
	case Kind::bus_usb:
		return "sys/bus/usb";
	case Kind::pci_device_link:
		return "sys/bus/pci/devices/" + devices_[loc.a].name;
	case Kind::driver_dir:
		return drivers_[loc.a].path;
	case Kind::driver_file:
		return drivers_[loc.a].path + "/" + std::string(driver_file_names[loc.b]);
	case Kind::driver_device_link:
		return drivers_[loc.a].path + "/" + devices_[loc.b].name;
	case Kind::driver_module_link:
		return drivers_[loc.a].path + "/module";
	case Kind::pci_root:
		return "sys/devices/" + roots_[loc.a].name;
	case Kind::device_dir:
		return devices_[loc.a].path;
	case Kind::device_attr:
		return devices_[loc.a].path + "/" + std::string(attr_names[loc.b]);
	case Kind::device_link:
		return devices_[loc.a].path + "/" + std::string(device_link_names[loc.b]);
	case Kind::virtfn_link:
		return devices_[loc.a].path + "/virtfn" + std::to_string(loc.b);
	case Kind::vfio_dev_dir:
		return devices_[loc.a].path + "/vfio-dev";
	case Kind::vfio_dev_entry:
		return devices_[loc.a].path + "/vfio-dev/vfio" + std::to_string(vfio_number(loc.a));
	case Kind::extra:
	case Kind::host_extra: {
		const auto &nodes = extra_list(loc);
		std::string path;
		int node = loc.b;
		for (; nodes[node].parent != none; node = nodes[node].parent)
			path = "/" + nodes[node].name + path;
		path = "/" + nodes[node].name + path;
		return (loc.kind == Kind::extra ? devices_[loc.a].path : path_of(nodes[node].anchor)) +
		       path;
	}
	case Kind::devices_virtual:
		return "sys/devices/virtual";
	case Kind::virtual_iommu:
		return "sys/devices/virtual/iommu";
	case Kind::iommu_unit:
		return "sys/devices/virtual/iommu/" + topology_.iommu_units[loc.a];
	case Kind::iommu_unit_devices:
		return "sys/devices/virtual/iommu/" + topology_.iommu_units[loc.a] + "/devices";
	case Kind::iommu_groups:
		return "sys/kernel/iommu_groups";
	case Kind::group_dir:
		return "sys/kernel/iommu_groups/" + std::to_string(loc.a);
	case Kind::group_devices:
		return "sys/kernel/iommu_groups/" + std::to_string(loc.a) + "/devices";
	case Kind::group_member_link:
		return "sys/kernel/iommu_groups/" + std::to_string(loc.a) + "/devices/" +
		       devices_[loc.b].name;
	case Kind::group_type:
		return "sys/kernel/iommu_groups/" + std::to_string(loc.a) + "/type";
	case Kind::class_iommu:
		return "sys/class/iommu";
	case Kind::class_iommu_link:
		return "sys/class/iommu/" + topology_.iommu_units[loc.a];
	case Kind::module_dir:
		return "sys/module/" + modules_[loc.a];
	case Kind::module_file:
		return "sys/module/" + modules_[loc.a] + "/" + std::string(module_file_names[loc.b]);
	case Kind::module_drivers:
		return "sys/module/" + modules_[loc.a] + "/drivers";
	case Kind::module_driver_link:
		return "sys/module/" + modules_[loc.a] + "/drivers/pci:" + drivers_[loc.b].name;
	case Kind::proc_file:
		return ProcFile(loc.a) == ProcFile::route
			       ? std::string("proc/net/route")
			       : "proc/" + std::string(proc_file_names[loc.a]);
	case Kind::proc_net:
		return "proc/net";
	case Kind::proc_pid:
		return "proc/" + std::to_string(loc.a);
	case Kind::proc_pid_comm:
		return "proc/" + std::to_string(loc.a) + "/comm";
	case Kind::proc_pid_fd:
		return "proc/" + std::to_string(loc.a) + "/fd";
	case Kind::proc_pid_fd_link:
		return "proc/" + std::to_string(loc.a) + "/fd/" + std::to_string(loc.b);
	case Kind::dev_vfio:
		return "dev/vfio";
	case Kind::dev_vfio_container:
		return "dev/vfio/vfio";
	case Kind::dev_vfio_group:
		return "dev/vfio/" + std::to_string(loc.a);
	}
	return {};
}

std::string Kernel::link_text(const Loc &loc) const
{
	switch (loc.kind) {
	case Kind::pci_device_link:
		return relative_link("sys/bus/pci/devices", devices_[loc.a].path);
	case Kind::driver_device_link:
		return relative_link(drivers_[loc.a].path, devices_[loc.b].path);
	case Kind::driver_module_link:
		return relative_link(drivers_[loc.a].path, "sys/module/" + drivers_[loc.a].module);
	case Kind::device_link: {
		const Device &device = devices_[loc.a];
		switch (DeviceLink(loc.b)) {
		case DeviceLink::driver:
			return relative_link(device.path, drivers_[device.driver].path);
		case DeviceLink::iommu_group:
			return relative_link(device.path, "sys/kernel/iommu_groups/" +
								  std::to_string(*device.topo.iommu_group));
		case DeviceLink::physfn:
			return relative_link(device.path, devices_[device.pf].path);
		case DeviceLink::subsystem:
			return relative_link(device.path, "sys/bus/pci");
		}
		return {};
	}
	case Kind::virtfn_link: {
		const Device &device = devices_[loc.a];
		return relative_link(device.path, devices_[device.vfs[loc.b]].path);
	}
	case Kind::group_member_link:
		return relative_link("sys/kernel/iommu_groups/" + std::to_string(loc.a) + "/devices",
				     devices_[loc.b].path);
	case Kind::class_iommu_link:
		return relative_link("sys/class/iommu",
				     "sys/devices/virtual/iommu/" + topology_.iommu_units[loc.a]);
	case Kind::module_driver_link:
		return relative_link("sys/module/" + modules_[loc.a] + "/drivers", drivers_[loc.b].path);
	case Kind::extra:
	case Kind::host_extra:
		return extra_list(loc)[loc.b].content;
	case Kind::proc_pid_fd_link: {
		/* Descriptors 0 to 2 are open on /dev/null, so holdings start at 3. */
		if (loc.b < 3)
			return "/dev/null";
		return "/" + held_paths(loc.a)[size_t(loc.b - 3)];
	}
	default:
		return {};
	}
}

Loc Kernel::follow(const Loc &link) const
{
	switch (link.kind) {
	case Kind::pci_device_link:
		return Loc{Kind::device_dir, link.a};
	case Kind::driver_device_link:
		return Loc{Kind::device_dir, link.b};
	case Kind::driver_module_link:
		return Loc{Kind::module_dir, module_of_name(drivers_[link.a].module)};
	case Kind::device_link: {
		const Device &device = devices_[link.a];
		switch (DeviceLink(link.b)) {
		case DeviceLink::driver:
			return Loc{Kind::driver_dir, device.driver};
		case DeviceLink::iommu_group:
			return Loc{Kind::group_dir, int(*device.topo.iommu_group)};
		case DeviceLink::physfn:
			return Loc{Kind::device_dir, device.pf};
		case DeviceLink::subsystem:
			return Loc{Kind::bus_pci};
		}
		return link;
	}
	case Kind::virtfn_link:
		return Loc{Kind::device_dir, devices_[link.a].vfs[link.b]};
	case Kind::group_member_link:
		return Loc{Kind::device_dir, link.b};
	case Kind::class_iommu_link:
		return Loc{Kind::iommu_unit, link.a};
	case Kind::module_driver_link:
		return Loc{Kind::driver_dir, link.b};
	default:
		return link;
	}
}

result<Loc> Kernel::walk(std::string_view path, bool follow_last, int depth) const
{
	/* Consumer links point at consumer nodes, so two hops always suffice. */
	if (depth > 8)
		return fs_error(ELOOP, path, "has too many levels of symbolic links");

	refresh_consumer_nodes();

	Loc current{Kind::root};
	std::string_view rest = path;
	while (!rest.empty()) {
		const auto slash = rest.find('/');
		const std::string_view name = rest.substr(0, slash);
		rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
		const bool last = rest.empty();

		if (type(current) != EntryType::directory)
			return fs_error(ENOTDIR, path, "has a component that is not a directory");
		auto next = lookup(current, name);
		if (!next)
			return fs_error(ENOENT, path, "does not exist");
		if (type(*next) == EntryType::symlink && (!last || follow_last)) {
			if (next->kind == Kind::proc_pid_fd_link)
				return make_error(errc::escapes_root,
						  "simulated kernel: '" + std::string(path) +
							  "' follows an absolute link out of the host root",
						  {}, std::string(path));
			if (next->kind == Kind::extra || next->kind == Kind::host_extra) {
				/* Consumer links are stored as text, as materialize() writes them. */
				const std::string link_path = path_of(*next);
				const std::string target =
					join_link(link_path.substr(0, link_path.rfind('/')), link_text(*next));
				BOOST_OUTCOME_TRY(auto resolved, walk(target, true, depth + 1));
				next = resolved;
			} else {
				next = follow(*next);
			}
		}
		current = *next;
	}
	return current;
}

result<std::string> Kernel::content(const Loc &loc, std::string_view path) const
{
	switch (loc.kind) {
	case Kind::device_attr: {
		const Attr attr = Attr(loc.b);
		if (attr == Attr::reset || attr == Attr::remove)
			return fs_error(EACCES, path, "is write-only");
		return attr_content(devices_[loc.a], attr);
	}
	case Kind::driver_file:
		return fs_error(EACCES, path, "is write-only");
	case Kind::bus_pci_file:
		if (BusFile(loc.a) == BusFile::drivers_autoprobe)
			return std::string("1\n");
		return fs_error(EACCES, path, "is write-only");
	case Kind::group_type:
		return std::string("DMA\n");
	case Kind::module_file:
		return ModuleFile(loc.b) == ModuleFile::initstate ? std::string("live\n")
								  : std::string("0\n");
	case Kind::proc_file:
		return proc_content(ProcFile(loc.a));
	case Kind::proc_pid_comm: {
		for (const auto &[held, holders] : holders_) {
			for (const auto &holder : holders) {
				if (holder.pid == loc.a)
					return holder.command + "\n";
			}
		}
		return std::string();
	}
	case Kind::extra:
	case Kind::host_extra:
		if (extra_list(loc)[loc.b].type == EntryType::file)
			return extra_list(loc)[loc.b].content;
		return fs_error(EISDIR, path, "is a directory");
	case Kind::dev_vfio_container:
	case Kind::dev_vfio_group:
		return fs_error(EINVAL, path, "is a character device and cannot be read as a file");
	default:
		return fs_error(EISDIR, path, "is a directory");
	}
}

std::string Kernel::proc_content(ProcFile file) const
{
	std::string text;
	switch (file) {
	case ProcFile::cmdline:
		return topology_.kernel_cmdline + "\n";
	case ProcFile::cpuinfo:
		return "processor\t: 0\nvendor_id\t: " + topology_.cpu_vendor + "\n\n";
	case ProcFile::modules:
		/* Addresses read as zero without CAP_SYSLOG, as most readers see them. */
		for (const auto &module : modules_)
			text += module + " 16384 0 - Live 0x0000000000000000\n";
		return text;
	case ProcFile::mounts:
		text = "sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\n"
		       "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"
		       "devtmpfs /dev devtmpfs rw,nosuid,relatime,mode=755 0 0\n";
		break;
	case ProcFile::route:
		text = route_line("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU"
				  "\tWindow\tIRTT");
		break;
	case ProcFile::fb:
		break;
	}

	std::vector<int> order;
	for (size_t i = 0; i < devices_.size(); i++)
		order.push_back(int(i));
	std::sort(order.begin(), order.end(), [&](int a, int b) {
		return devices_[a].topo.address < devices_[b].topo.address;
	});
	for (int index : order) {
		const Device &device = devices_[index];
		for (const auto &consumer : device.consumers) {
			if (!consumer_present(device, consumer))
				continue;
			const auto &topo = consumer.topo;
			if (file == ProcFile::mounts && topo.kind == ConsumerKind::block_device &&
			    !topo.mountpoint.empty())
				text += "/dev/" + topo.name + " " + escape_mount_path(topo.mountpoint) +
					" ext4 rw,relatime 0 0\n";
			if (file == ProcFile::route && topo.kind == ConsumerKind::net_interface &&
			    topo.default_route) {
				/* 192.0.2.1 (TEST-NET-1) as the gateway, in the kernel's byte order. */
				text += route_line(topo.name + "\t00000000\t010200C0\t0003\t0\t0\t100\t"
							       "00000000\t0\t0\t0");
				text += route_line(topo.name + "\t000200C0\t00000000\t0001\t0\t0\t100\t"
							       "00FFFFFF\t0\t0\t0");
			}
			if (file == ProcFile::fb && topo.kind == ConsumerKind::framebuffer) {
				std::string id = topo.description;
				if (id.empty())
					id = topo.name == "efifb"    ? "EFI VGA"
					     : topo.name == "vesafb" ? "VESA VGA"
								     : topo.name;
				text += std::to_string(consumer.number) + " " + id + "\n";
			}
		}
	}
	return text;
}

std::vector<DirEntry> Kernel::entries(const Loc &loc) const
{
	std::vector<DirEntry> list;
	auto add = [&](std::string name, EntryType type) {
		list.push_back(DirEntry{std::move(name), type});
	};
	const auto dir = EntryType::directory;
	const auto file = EntryType::file;
	const auto link = EntryType::symlink;

	switch (loc.kind) {
	case Kind::root:
		add("dev", dir);
		add("proc", dir);
		add("sys", dir);
		break;
	case Kind::sys:
		for (auto name : {"bus", "class", "devices", "kernel", "module"})
			add(name, dir);
		break;
	case Kind::sys_bus:
		add("pci", dir);
		add("usb", dir);
		break;
	case Kind::bus_pci:
		add("devices", dir);
		add("drivers", dir);
		for (auto name : bus_file_names)
			add(std::string(name), file);
		break;
	case Kind::bus_pci_devices:
		for (const auto &device : devices_) {
			if (device.present)
				add(device.name, link);
		}
		break;
	case Kind::bus_pci_drivers:
		for (const auto &driver : drivers_) {
			if (driver.loaded)
				add(driver.name, dir);
		}
		break;
	case Kind::driver_dir:
		for (auto name : driver_file_names)
			add(std::string(name), file);
		if (!drivers_[loc.a].module.empty())
			add("module", link);
		for (int device : bound_devices(loc.a))
			add(devices_[device].name, link);
		break;
	case Kind::sys_devices:
		for (const auto &root : roots_)
			add(root.name, dir);
		add("virtual", dir);
		break;
	case Kind::pci_root:
		for (int device : roots_[loc.a].devices) {
			if (devices_[device].present)
				add(devices_[device].name, dir);
		}
		break;
	case Kind::device_dir: {
		const Device &device = devices_[loc.a];
		for (size_t i = 0; i < attr_names.size(); i++) {
			if (attr_present(device, Attr(i)))
				add(std::string(attr_names[i]), file);
		}
		for (size_t i = 0; i < device_link_names.size(); i++) {
			if (lookup(loc, device_link_names[i]))
				add(std::string(device_link_names[i]), link);
		}
		for (unsigned n = 0; n < device.num_vfs && n < device.vfs.size(); n++) {
			if (device.vfs[n] != none && devices_[device.vfs[n]].present)
				add("virtfn" + std::to_string(n), link);
		}
		if (vfio_number(loc.a) != none)
			add("vfio-dev", dir);
		for (int child : device.children) {
			if (devices_[child].present)
				add(devices_[child].name, dir);
		}
		break;
	}
	case Kind::vfio_dev_dir:
		add("vfio" + std::to_string(vfio_number(loc.a)), dir);
		break;
	case Kind::devices_virtual:
		if (!topology_.iommu_units.empty())
			add("iommu", dir);
		break;
	case Kind::virtual_iommu:
	case Kind::class_iommu:
		for (const auto &unit : topology_.iommu_units)
			add(unit, loc.kind == Kind::virtual_iommu ? dir : link);
		break;
	case Kind::iommu_unit:
		add("devices", dir);
		break;
	case Kind::sys_kernel:
		add("iommu_groups", dir);
		break;
	case Kind::iommu_groups:
		for (const auto &[group, members] : groups_) {
			if (!members.empty())
				add(std::to_string(group), dir);
		}
		break;
	case Kind::group_dir:
		add("devices", dir);
		add("type", file);
		break;
	case Kind::group_devices:
		for (int member : groups_.at(unsigned(loc.a)))
			add(devices_[member].name, link);
		break;
	case Kind::sys_class:
		add("iommu", dir);
		break;
	case Kind::sys_module:
		for (const auto &module : modules_)
			add(module, dir);
		break;
	case Kind::module_dir:
		for (auto name : module_file_names)
			add(std::string(name), file);
		if (lookup(loc, "drivers"))
			add("drivers", dir);
		break;
	case Kind::module_drivers:
		for (const auto &driver : drivers_) {
			if (driver.loaded && driver.module == modules_[loc.a])
				add("pci:" + driver.name, link);
		}
		break;
	case Kind::proc:
		for (auto name : proc_file_names) {
			if (name != "route")
				add(std::string(name), file);
		}
		add("net", dir);
		for (pid_t pid : holder_pids())
			add(std::to_string(pid), dir);
		break;
	case Kind::proc_net:
		add("route", file);
		break;
	case Kind::proc_pid:
		add("comm", file);
		add("fd", dir);
		break;
	case Kind::proc_pid_fd: {
		const size_t count = held_paths(loc.a).size() + 3;
		for (size_t i = 0; i < count; i++)
			add(std::to_string(i), link);
		break;
	}
	case Kind::dev:
		if (lookup(loc, "vfio"))
			add("vfio", dir);
		break;
	case Kind::dev_vfio:
		if (topology_.vfio_container)
			add("vfio", EntryType::other);
		for (const auto &[group, members] : groups_) {
			if (group_has_vfio_member(group))
				add(std::to_string(group), EntryType::other);
		}
		break;
	default:
		break;
	}
	add_extra_entries(loc, list);

	std::sort(list.begin(), list.end(),
		  [](const DirEntry &a, const DirEntry &b) { return a.name < b.name; });
	return list;
}

bool Kernel::writable(const Loc &loc) const
{
	switch (loc.kind) {
	case Kind::driver_file:
		return DriverFile(loc.b) != DriverFile::uevent;
	case Kind::bus_pci_file:
		return BusFile(loc.a) != BusFile::drivers_autoprobe;
	case Kind::device_attr:
		switch (Attr(loc.b)) {
		case Attr::driver_override:
		case Attr::remove:
		case Attr::reset:
		case Attr::reset_method:
		case Attr::sriov_drivers_autoprobe:
		case Attr::sriov_numvfs:
			return true;
		default:
			return false;
		}
	default:
		return false;
	}
}

} /* namespace pcipass::sim::detail */
