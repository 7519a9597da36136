/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Writes a topology out as the tree of files and links the kernel shows in
 * /sys, /proc and /dev, so that the real read path (LiveHost, lspci) can be
 * run against any host without root.
 */

#include <pcipass/testing/topology.hpp>

#include <array>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <set>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_map>
#include <unordered_set>

#include "sysfs_parse.hpp"
#include "topology_names.hpp"
#include "topology_rules.hpp"
#include "unique_fd.hpp"

namespace pcipass::testing {

namespace fs = std::filesystem;

using detail::quote_path;

namespace {

/* File modes as sysfs shows them: read-only, read-write and write-only attributes. */
constexpr mode_t read_only = 0444;
constexpr mode_t read_write = 0644;
constexpr mode_t write_only = 0200;

/* Lines in a device's "resource" file with CONFIG_PCI_IOV: BARs, ROM and IOV BARs, plus bridge windows. */
constexpr unsigned endpoint_resource_lines = 13;
constexpr unsigned bridge_resource_lines = 17;

/* Width of each /proc/net/route line before its newline (seq_setwidth in fib_route_seq_show). */
constexpr size_t route_line_width = 127;

/* Bytes of config space that sysfs lets any user read; materialized trees hold only these. */
constexpr size_t config_size = 64;

std::string format(const char *format, ...) __attribute__((format(printf, 1, 2)));

std::string format(const char *format, ...)
{
	std::array<char, 512> text;
	va_list args;
	va_start(args, format);
	std::vsnprintf(text.data(), text.size(), format, args);
	va_end(args);
	return text.data();
}

/* The kernel's mangling of paths in /proc/mounts: space, tab, newline and backslash in octal. */
std::string escape_mount_path(std::string_view path)
{
	std::string escaped;
	for (char c : path) {
		if (c == ' ' || c == '\t' || c == '\n' || c == '\\')
			escaped += format("\\%03o", static_cast<unsigned char>(c));
		else
			escaped += c;
	}
	return escaped;
}

std::string pad_route_line(std::string line)
{
	if (line.size() < route_line_width)
		line.append(route_line_width - line.size(), ' ');
	return line + "\n";
}

/*
 * Creates files, directories and links beneath one root. After the first
 * failure every later call does nothing, and error() returns that failure.
 */
class TreeWriter
{
public:
	explicit TreeWriter(fs::path root) : root_(std::move(root)) { known_dirs_.insert(""); }

	bool failed() const { return error_.has_value(); }
	const Error &error() const { return *error_; }

	void directory(const std::string &path)
	{
		if (failed() || known_dirs_.count(path))
			return;

		const size_t slash = path.rfind('/');
		directory(slash == std::string::npos ? std::string() : path.substr(0, slash));
		if (failed())
			return;

		const fs::path full = root_ / path;
		if (::mkdir(full.c_str(), 0755) < 0 && errno != EEXIST) {
			fail(errno, "cannot create directory", full);
			return;
		}
		known_dirs_.insert(path);
	}

	void file(const std::string &path, std::string_view content, mode_t mode = read_only)
	{
		if (failed())
			return;
		directory(parent_of(path));
		if (failed())
			return;

		const fs::path full = root_ / path;
		detail::UniqueFd fd(::open(full.c_str(),
					   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
		if (!fd.valid()) {
			fail(errno, "cannot create file", full);
			return;
		}

		size_t written = 0;
		while (written < content.size()) {
			const ssize_t n = ::write(fd.get(), content.data() + written,
						  content.size() - written);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				fail(errno, "cannot write file", full);
				return;
			}
			written += size_t(n);
		}
		/* A full disk can surface only at close, so its result counts here. */
		if (::close(fd.release()) < 0)
			fail(errno, "cannot close file", full);
	}

	/* A symlink at path to target, both relative to the root, stored relative as sysfs does. */
	void link(const std::string &path, const std::string &target)
	{
		const fs::path relative =
			fs::path(target).lexically_relative(fs::path(parent_of(path)));
		raw_link(path, relative.string());
	}

	/* A symlink holding target exactly as given (the absolute targets of proc/PID/fd). */
	void raw_link(const std::string &path, const std::string &target)
	{
		if (failed())
			return;
		directory(parent_of(path));
		if (failed())
			return;

		const fs::path full = root_ / path;
		if (::symlink(target.c_str(), full.c_str()) < 0)
			fail(errno, "cannot create symlink", full);
	}

private:
	static std::string parent_of(const std::string &path)
	{
		const size_t slash = path.rfind('/');
		return slash == std::string::npos ? std::string() : path.substr(0, slash);
	}

	void fail(int sys_errno, const std::string &action, const fs::path &path)
	{
		if (!error_)
			error_ = make_sys_error(sys_errno,
						action + " " + quote_path(path.string()) +
							" while materializing a topology; check that the "
							"directory is writable and has space",
						{}, path.string());
	}

	fs::path root_;
	std::unordered_set<std::string> known_dirs_;
	std::optional<Error> error_;
};

/* Everything about the topology that the writer needs computed once. */
struct Layout {
	std::unordered_map<PciAddress, size_t> index;
	std::vector<std::string> paths;           /* each device's directory, by index */
	std::vector<uint8_t> secondary_bus;       /* bridges: the bus behind them */
	std::vector<uint8_t> subordinate_bus;     /* bridges: the highest bus behind them */
	std::vector<std::vector<size_t>> vfs;     /* PFs: VF indexes in VF-number order */
};

std::string root_bus_path(PciAddress address)
{
	return format("sys/devices/pci%04x:%02x", address.domain(), address.bus());
}

/* Parents first: the chain of bridges is short, so plain recursion with memoization suffices. */
const std::string &compute_path(const Topology &topology, Layout &layout, size_t i)
{
	if (!layout.paths[i].empty())
		return layout.paths[i];

	const TopologyDevice &device = topology.devices[i];
	const std::string name = device.address.to_string();
	if (device.parent)
		layout.paths[i] = compute_path(topology, layout, layout.index.at(*device.parent)) +
				  "/" + name;
	else
		layout.paths[i] = root_bus_path(device.address) + "/" + name;
	return layout.paths[i];
}

Layout compute_layout(const Topology &topology)
{
	const size_t count = topology.devices.size();
	Layout layout;
	layout.paths.resize(count);
	layout.secondary_bus.assign(count, 0);
	layout.subordinate_bus.assign(count, 0);
	layout.vfs.resize(count);
	for (size_t i = 0; i < count; i++)
		layout.index.emplace(topology.devices[i].address, i);

	for (size_t i = 0; i < count; i++) {
		compute_path(topology, layout, i);

		const TopologyDevice &device = topology.devices[i];
		const uint8_t bus = device.address.bus();
		if (device.parent) {
			const size_t parent = layout.index.at(*device.parent);
			if (!device.physfn &&
			    (layout.secondary_bus[parent] == 0 || bus < layout.secondary_bus[parent]))
				layout.secondary_bus[parent] = bus;
		}
		for (auto up = device.parent; up; up = topology.devices[layout.index.at(*up)].parent) {
			uint8_t &subordinate = layout.subordinate_bus[layout.index.at(*up)];
			subordinate = std::max(subordinate, bus);
		}
		if (device.physfn)
			layout.vfs[layout.index.at(*device.physfn)].push_back(i);
	}

	for (size_t i = 0; i < count; i++) {
		const TopologyDevice &device = topology.devices[i];
		auto &vfs = layout.vfs[i];
		std::sort(vfs.begin(), vfs.end(), [&](size_t a, size_t b) {
			return detail::vf_index(device, topology.devices[a].address) <
			       detail::vf_index(device, topology.devices[b].address);
		});
		/* A bridge with only VFs behind it still has a secondary bus. */
		if (layout.secondary_bus[i] == 0)
			layout.secondary_bus[i] = layout.subordinate_bus[i];
	}
	return layout;
}

void put16(std::string &bytes, size_t offset, uint16_t value)
{
	bytes[offset] = char(value & 0xff);
	bytes[offset + 1] = char(value >> 8);
}

/* The standard 64-byte header, little-endian, as a process without CAP_SYS_ADMIN reads it. */
std::string config_space(const TopologyDevice &device, uint8_t secondary, uint8_t subordinate)
{
	if (device.inaccessible)
		return std::string(config_size, '\xff');

	std::string bytes(config_size, '\0');
	const bool bound = !device.driver.empty();
	const unsigned layout = device.header_type & 0x7f;

	put16(bytes, 0x00, device.vendor.value());
	put16(bytes, 0x02, device.device.value());
	/* Command: I/O, memory and bus master enabled once a driver has the device. */
	put16(bytes, 0x04, bound ? 0x0007 : 0x0000);
	/* Status: capabilities list present, as on every PCIe function. */
	put16(bytes, 0x06, 0x0010);
	bytes[0x08] = char(device.revision);
	bytes[0x09] = char(device.class_code.prog_if());
	bytes[0x0a] = char(device.class_code.subclass());
	bytes[0x0b] = char(device.class_code.base());
	bytes[0x0e] = char(device.header_type);
	bytes[0x34] = char(0x40);
	bytes[0x3d] = char(0x01); /* interrupt pin INTA */

	if (layout == 0) {
		put16(bytes, 0x2c, device.subsystem_vendor.value());
		put16(bytes, 0x2e, device.subsystem_device.value());
	} else if (layout == 1) {
		bytes[0x18] = char(device.address.bus());
		bytes[0x19] = char(secondary);
		bytes[0x1a] = char(subordinate);
	}
	return bytes;
}

std::string resource_text(const TopologyDevice &device)
{
	const unsigned lines = (device.header_type & 0x7f) != 0 ? bridge_resource_lines
								 : endpoint_resource_lines;
	std::string text;
	for (unsigned i = 0; i < lines; i++)
		text += "0x0000000000000000 0x0000000000000000 0x0000000000000000\n";
	return text;
}

std::string modalias_text(const TopologyDevice &device)
{
	return format("pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X", device.vendor.value(),
		      device.device.value(), device.subsystem_vendor.value(),
		      device.subsystem_device.value(), device.class_code.base(),
		      device.class_code.subclass(), device.class_code.prog_if());
}

std::string uevent_text(const TopologyDevice &device)
{
	std::string text;
	if (!device.driver.empty())
		text += "DRIVER=" + device.driver + "\n";
	text += format("PCI_CLASS=%04X\n", device.class_code.value());
	text += format("PCI_ID=%04X:%04X\n", device.vendor.value(), device.device.value());
	text += format("PCI_SUBSYS_ID=%04X:%04X\n", device.subsystem_vendor.value(),
		       device.subsystem_device.value());
	text += "PCI_SLOT_NAME=" + device.address.to_string() + "\n";
	text += "MODALIAS=" + modalias_text(device) + "\n";
	return text;
}

/* Root hub identity by the controller's programming interface (xHCI 30, EHCI 20, OHCI 10, UHCI 00). */
std::pair<std::string, std::string> root_hub_identity(const TopologyDevice &controller)
{
	switch (controller.class_code.prog_if()) {
	case 0x30: return {"0002", "xHCI Host Controller"};
	case 0x20: return {"0002", "EHCI Host Controller"};
	case 0x10: return {"0001", "OHCI PCI host controller"};
	case 0x00: return {"0001", "UHCI Host Controller"};
	default: return {"0002", "USB Host Controller"};
	}
}

/* "nvme0n1p2" as controller "nvme0", disk "nvme0n1", partition "nvme0n1p2". */
struct BlockName {
	std::string controller; /* empty for disks outside NVMe */
	std::string disk;
	std::string partition;  /* empty for a whole disk */
};

BlockName split_block_name(const std::string &name)
{
	BlockName parts;
	const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };

	if (name.starts_with("nvme")) {
		const size_t n = name.find('n', 4);
		const size_t p = name.find('p', 4);
		if (n != std::string::npos && n > 4) {
			parts.controller = name.substr(0, n);
			parts.disk = name.substr(0, p);
			if (p != std::string::npos)
				parts.partition = name;
			return parts;
		}
	}

	/* "sda2": the disk is the name without its partition number. */
	size_t end = name.size();
	while (end > 0 && is_digit(name[end - 1]))
		end--;
	parts.disk = name.substr(0, end);
	if (end == 0 || end == name.size()) {
		parts.disk = name;
		return parts;
	}
	parts.partition = name;
	return parts;
}

std::string framebuffer_id(const TopologyConsumer &consumer)
{
	if (!consumer.description.empty())
		return consumer.description;
	if (consumer.name == "efifb")
		return "EFI VGA";
	if (consumer.name == "vesafb")
		return "VESA VGA";
	return consumer.name;
}

std::string framebuffer_platform_device(const TopologyConsumer &consumer)
{
	if (consumer.name == "efifb")
		return "efi-framebuffer.0";
	if (consumer.name == "vesafb")
		return "vesa-framebuffer.0";
	return consumer.name + ".0";
}

/* Whether a consumer is present now: only while its device is bound to the consumer's driver. */
bool consumer_present(const TopologyDevice &device, const TopologyConsumer &consumer)
{
	/* The firmware framebuffer is a platform device of its own, whatever binds the GPU. */
	if (consumer.kind == ConsumerKind::framebuffer)
		return true;
	const std::string &needed = consumer.driver.empty() ? device.driver : consumer.driver;
	return !device.driver.empty() && device.driver == needed;
}

class Materializer
{
public:
	Materializer(const Topology &topology, const fs::path &root)
		: topology_(topology), writer_(root), layout_(compute_layout(topology))
	{
	}

	result<void> run()
	{
		write_bus();
		write_modules();
		write_drivers();
		for (size_t i = 0; i < topology_.devices.size(); i++)
			write_device(i);
		write_groups();
		write_iommu_units();
		write_vfio_nodes();
		write_holders();
		write_proc();

		if (writer_.failed())
			return writer_.error();
		return success();
	}

private:
	bool driver_present(const TopologyDriver &driver) const
	{
		return driver.module.empty() ||
		       std::find(topology_.modules.begin(), topology_.modules.end(), driver.module) !=
			       topology_.modules.end();
	}

	void write_bus()
	{
		writer_.directory("sys/bus/pci/devices");
		writer_.directory("sys/bus/pci/drivers");
		writer_.file("sys/bus/pci/drivers_probe", "", write_only);
		writer_.file("sys/bus/pci/drivers_autoprobe", "1\n", read_write);
		writer_.file("sys/bus/pci/rescan", "", write_only);
		writer_.directory("sys/bus/usb/devices");
		writer_.directory("sys/kernel/iommu_groups");
		writer_.directory("sys/class/iommu");
		writer_.directory("sys/class/block");
		writer_.directory("sys/class/drm");
		writer_.directory("sys/class/graphics");

		/* The loopback interface takes ifindex 1 on every host. */
		writer_.file("sys/devices/virtual/net/lo/ifindex", "1\n");
		writer_.link("sys/class/net/lo", "sys/devices/virtual/net/lo");
	}

	void write_modules()
	{
		std::string text;
		for (const std::string &module : topology_.modules) {
			/* Addresses read as zero without CAP_SYSLOG, as most readers see them. */
			text += module + " 16384 0 - Live 0x0000000000000000\n";
			writer_.file("sys/module/" + module + "/initstate", "live\n");
			writer_.file("sys/module/" + module + "/refcnt", "0\n");
		}
		writer_.file("proc/modules", text);
	}

	void write_drivers()
	{
		for (const TopologyDriver &driver : topology_.drivers) {
			if (!driver_present(driver))
				continue;

			const std::string path = "sys/bus/pci/drivers/" + driver.name;
			for (const char *name : {"bind", "unbind", "new_id", "remove_id", "uevent"})
				writer_.file(path + "/" + name, "", write_only);
			if (!driver.module.empty()) {
				writer_.link(path + "/module", "sys/module/" + driver.module);
				writer_.link("sys/module/" + driver.module + "/drivers/pci:" + driver.name,
					     path);
			}
		}
	}

	void write_device(size_t i)
	{
		const TopologyDevice &device = topology_.devices[i];
		const std::string &path = layout_.paths[i];
		const std::string name = device.address.to_string();

		writer_.directory(path);
		writer_.file(path + "/vendor", format("0x%04x\n", device.vendor.value()));
		writer_.file(path + "/device", format("0x%04x\n", device.device.value()));
		writer_.file(path + "/subsystem_vendor",
			     format("0x%04x\n", device.subsystem_vendor.value()));
		writer_.file(path + "/subsystem_device",
			     format("0x%04x\n", device.subsystem_device.value()));
		writer_.file(path + "/class", format("0x%06x\n", device.class_code.value()));
		writer_.file(path + "/revision", format("0x%02x\n", device.revision));
		writer_.file(path + "/config",
			     config_space(device, layout_.secondary_bus[i], layout_.subordinate_bus[i]),
			     read_write);
		writer_.file(path + "/resource", resource_text(device));
		writer_.file(path + "/uevent", uevent_text(device), read_write);
		writer_.file(path + "/modalias", modalias_text(device) + "\n");
		writer_.file(path + "/driver_override",
			     device.driver_override.empty() ? "(null)\n" : device.driver_override + "\n",
			     read_write);
		writer_.file(path + "/numa_node", format("%d\n", device.numa_node), read_write);
		writer_.file(path + "/irq", device.driver.empty() ? "0\n" : "16\n");
		writer_.file(path + "/enable", device.driver.empty() ? "0\n" : "1\n", read_write);
		writer_.link(path + "/subsystem", "sys/bus/pci");
		writer_.link("sys/bus/pci/devices/" + name, path);

		if (!device.driver.empty()) {
			const std::string driver_path = "sys/bus/pci/drivers/" + device.driver;
			writer_.link(path + "/driver", driver_path);
			writer_.link(driver_path + "/" + name, path);
		}
		if (device.iommu_group)
			writer_.link(path + "/iommu_group",
				     "sys/kernel/iommu_groups/" + std::to_string(*device.iommu_group));

		if (device.boot_vga)
			writer_.file(path + "/boot_vga", *device.boot_vga ? "1\n" : "0\n");
		if (!device.reset_methods.empty()) {
			std::string methods;
			for (const std::string &method : device.reset_methods)
				methods += (methods.empty() ? "" : " ") + method;
			writer_.file(path + "/reset", "", write_only);
			writer_.file(path + "/reset_method", methods + "\n", read_write);
		}

		write_sriov(i);
		if (device.physfn)
			writer_.link(path + "/physfn", layout_.paths[layout_.index.at(*device.physfn)]);

		if (detail::is_vfio_driver_name(device.driver))
			writer_.directory(path + "/vfio-dev/vfio" + std::to_string(vfio_devices_++));

		for (const TopologyConsumer &consumer : device.consumers) {
			if (consumer_present(device, consumer))
				write_consumer(i, consumer);
		}
	}

	void write_sriov(size_t i)
	{
		const TopologyDevice &device = topology_.devices[i];
		if (!device.sriov)
			return;

		const TopologySriov &sriov = *device.sriov;
		const std::string &path = layout_.paths[i];
		writer_.file(path + "/sriov_totalvfs", format("%u\n", sriov.total_vfs));
		writer_.file(path + "/sriov_numvfs", format("%u\n", sriov.num_vfs), read_write);
		writer_.file(path + "/sriov_drivers_autoprobe", sriov.drivers_autoprobe ? "1\n" : "0\n",
			     read_write);
		writer_.file(path + "/sriov_offset", format("%u\n", sriov.first_vf_offset));
		writer_.file(path + "/sriov_stride", format("%u\n", sriov.vf_stride));
		writer_.file(path + "/sriov_vf_device", format("%x\n", sriov.vf_device.value()));

		const auto &vfs = layout_.vfs[i];
		for (size_t n = 0; n < vfs.size(); n++) {
			const auto number = detail::vf_index(device, topology_.devices[vfs[n]].address);
			writer_.link(path + "/virtfn" + std::to_string(number.value_or(n)),
				     layout_.paths[vfs[n]]);
		}
	}

	void write_consumer(size_t i, const TopologyConsumer &consumer)
	{
		switch (consumer.kind) {
		case ConsumerKind::usb_device:
		case ConsumerKind::usb_hub:
			write_usb(i, consumer);
			break;
		case ConsumerKind::net_interface:
			write_net(i, consumer);
			break;
		case ConsumerKind::block_device:
			write_block(i, consumer);
			break;
		case ConsumerKind::drm_card:
			write_drm(i, consumer);
			break;
		case ConsumerKind::framebuffer:
			write_framebuffer(consumer);
			break;
		}
	}

	/* USB devices nest under the hub they sit behind: usb3/3-1/3-1.2. */
	std::string usb_path(size_t i, const std::string &name)
	{
		const auto parsed = detail::parse_usb_name(name);
		if (!parsed)
			return {};
		if (parsed->parent.empty())
			return layout_.paths[i] + "/usb" + std::to_string(parsed->bus) + "/" + name;
		return usb_path(i, parsed->parent) + "/" + name;
	}

	void write_usb_identity(const std::string &path, const std::string &vendor,
				const std::string &product, const std::string &product_name, bool hub,
				unsigned bus, unsigned devnum)
	{
		writer_.file(path + "/idVendor", vendor + "\n");
		writer_.file(path + "/idProduct", product + "\n");
		if (!product_name.empty())
			writer_.file(path + "/product", product_name + "\n");
		writer_.file(path + "/bDeviceClass", hub ? "09\n" : "00\n");
		writer_.file(path + "/busnum", format("%u\n", bus));
		writer_.file(path + "/devnum", format("%u\n", devnum));
	}

	void write_usb(size_t i, const TopologyConsumer &consumer)
	{
		const auto parsed = detail::parse_usb_name(consumer.name);
		if (!parsed)
			return;
		const unsigned bus = parsed->bus;
		const std::string root_hub = "usb" + std::to_string(bus);
		const std::string root_path = layout_.paths[i] + "/" + root_hub;

		/* The root hub appears with the first device on its bus and takes devnum 1. */
		if (usb_next_devnum_.emplace(bus, 2).second) {
			const auto [product, product_name] = root_hub_identity(topology_.devices[i]);
			write_usb_identity(root_path, "1d6b", product, product_name, true, bus, 1);
			writer_.link("sys/bus/usb/devices/" + root_hub, root_path);
		}

		const std::string path = usb_path(i, consumer.name);
		const auto description = detail::parse_usb_description(consumer.description);
		write_usb_identity(path, description ? format("%04x", description->vendor) : "0000",
				   description ? format("%04x", description->product) : "0000",
				   description ? description->product_name : std::string(),
				   consumer.kind == ConsumerKind::usb_hub, bus,
				   usb_next_devnum_[bus]++);
		writer_.link("sys/bus/usb/devices/" + consumer.name, path);
	}

	void write_net(size_t i, const TopologyConsumer &consumer)
	{
		const std::string path = layout_.paths[i] + "/net/" + consumer.name;
		const unsigned ifindex = next_ifindex_++;
		writer_.file(path + "/ifindex", format("%u\n", ifindex));
		writer_.file(path + "/operstate", "up\n");
		writer_.file(path + "/uevent",
			     "INTERFACE=" + consumer.name + "\nIFINDEX=" + std::to_string(ifindex) + "\n",
			     read_write);
		writer_.link("sys/class/net/" + consumer.name, path);

		if (consumer.default_route) {
			/* 192.0.2.1 (TEST-NET-1) as the gateway, in the kernel's byte order. */
			routes_ += pad_route_line(format("%s\t%08X\t%08X\t%04X\t%d\t%u\t%d\t%08X\t%d\t%u\t%u",
							 consumer.name.c_str(), 0u, 0x010200c0u, 0x0003u,
							 0, 0u, 100, 0u, 0, 0u, 0u));
			routes_ += pad_route_line(format("%s\t%08X\t%08X\t%04X\t%d\t%u\t%d\t%08X\t%d\t%u\t%u",
							 consumer.name.c_str(), 0x000200c0u, 0u, 0x0001u,
							 0, 0u, 100, 0x00ffffffu, 0, 0u, 0u));
		}
	}

	void write_block(size_t i, const TopologyConsumer &consumer)
	{
		const BlockName parts = split_block_name(consumer.name);
		std::string disk_path;
		std::string major_minor;

		if (!parts.controller.empty()) {
			const std::string controller = layout_.paths[i] + "/nvme/" + parts.controller;
			writer_.directory(controller);
			if (nvme_controllers_.insert(parts.controller).second)
				writer_.link("sys/class/nvme/" + parts.controller, controller);
			disk_path = controller + "/" + parts.disk;
			major_minor = format("259:%u\n", next_nvme_minor_++);
		} else {
			/* SATA disks sit under the controller's ATA port and SCSI host. */
			auto [host, inserted] = scsi_hosts_.emplace(parts.disk, unsigned(scsi_hosts_.size()));
			const unsigned h = host->second;
			disk_path = layout_.paths[i] + format("/ata%u/host%u/target%u:0:0/%u:0:0:0/block/",
							      h + 1, h, h, h) + parts.disk;
			const unsigned partition = parts.partition.empty()
				? 0 : unsigned(std::stoul(parts.partition.substr(parts.disk.size())));
			major_minor = format("8:%u\n", 16 * h + partition);
		}

		const std::string path = parts.partition.empty() ? disk_path
								 : disk_path + "/" + parts.partition;
		writer_.file(path + "/dev", major_minor);
		writer_.link("sys/class/block/" + consumer.name, path);

		if (!consumer.mountpoint.empty())
			mounts_ += "/dev/" + consumer.name + " " + escape_mount_path(consumer.mountpoint) +
				   " ext4 rw,relatime 0 0\n";
	}

	void write_drm(size_t i, const TopologyConsumer &consumer)
	{
		const std::string path = layout_.paths[i] + "/drm/" + consumer.name;
		unsigned minor = next_drm_minor_++;
		if (consumer.name.starts_with("card") && consumer.name.size() > 4)
			minor = unsigned(std::strtoul(consumer.name.c_str() + 4, nullptr, 10));
		writer_.file(path + "/dev", format("226:%u\n", minor));
		writer_.link("sys/class/drm/" + consumer.name, path);
	}

	void write_framebuffer(const TopologyConsumer &consumer)
	{
		const unsigned index = next_framebuffer_++;
		const std::string fb = "fb" + std::to_string(index);
		const std::string path =
			"sys/devices/platform/" + framebuffer_platform_device(consumer) + "/graphics/" + fb;
		writer_.file(path + "/dev", format("29:%u\n", index));
		writer_.link("sys/class/graphics/" + fb, path);
		framebuffers_ += std::to_string(index) + " " + framebuffer_id(consumer) + "\n";
	}

	void write_groups()
	{
		for (size_t i = 0; i < topology_.devices.size(); i++) {
			const TopologyDevice &device = topology_.devices[i];
			if (!device.iommu_group)
				continue;
			writer_.link("sys/kernel/iommu_groups/" + std::to_string(*device.iommu_group) +
					     "/devices/" + device.address.to_string(),
				     layout_.paths[i]);
		}
	}

	void write_iommu_units()
	{
		for (const std::string &unit : topology_.iommu_units) {
			const std::string path = "sys/devices/virtual/iommu/" + unit;
			writer_.directory(path + "/devices");
			writer_.link("sys/class/iommu/" + unit, path);
		}
	}

	void write_vfio_nodes()
	{
		/* Device nodes are plain files here: creating character devices needs root. */
		if (topology_.vfio_container)
			writer_.file("dev/vfio/vfio", "", 0666);

		std::set<unsigned> groups;
		for (const TopologyDevice &device : topology_.devices) {
			if (device.iommu_group && detail::is_vfio_driver_name(device.driver))
				groups.insert(*device.iommu_group);
		}
		for (unsigned group : groups)
			writer_.file("dev/vfio/" + std::to_string(group), "", 0600);
	}

	void write_holders()
	{
		/* Descriptors 0 to 2 are open on /dev/null, so holdings start at 3. */
		std::map<pid_t, unsigned> next_fd;
		for (const auto &[node, processes] : topology_.holders) {
			for (const Holder &holder : processes) {
				const std::string proc = "proc/" + std::to_string(holder.pid);
				auto [fd, first] = next_fd.emplace(holder.pid, 3);
				if (first) {
					writer_.file(proc + "/comm", holder.command + "\n", read_write);
					for (int standard = 0; standard < 3; standard++)
						writer_.raw_link(proc + "/fd/" + std::to_string(standard),
								 "/dev/null");
				}
				writer_.raw_link(proc + "/fd/" + std::to_string(fd->second++), "/" + node);
			}
		}
	}

	void write_proc()
	{
		writer_.file("proc/cmdline", topology_.kernel_cmdline + "\n");
		writer_.file("proc/cpuinfo", "processor\t: 0\nvendor_id\t: " + topology_.cpu_vendor +
						     "\n\n");
		writer_.file("proc/mounts", "sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\n"
					    "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"
					    "devtmpfs /dev devtmpfs rw,nosuid,relatime,mode=755 0 0\n" +
						    mounts_);
		writer_.file("proc/net/route",
			     pad_route_line("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\t"
					    "Mask\t\tMTU\tWindow\tIRTT") +
				     routes_);
		writer_.file("proc/fb", framebuffers_);
	}

	const Topology &topology_;
	TreeWriter writer_;
	Layout layout_;

	unsigned vfio_devices_ = 0;
	unsigned next_ifindex_ = 2;
	unsigned next_nvme_minor_ = 0;
	unsigned next_drm_minor_ = 0;
	unsigned next_framebuffer_ = 0;
	std::map<unsigned, unsigned> usb_next_devnum_;
	std::set<std::string> nvme_controllers_;
	std::map<std::string, unsigned> scsi_hosts_;
	std::string mounts_;
	std::string routes_;
	std::string framebuffers_;
};

/* An absent directory is created; an existing one must be an empty directory. */
result<void> prepare_root(const fs::path &root)
{
	std::error_code ec;
	const fs::file_status status = fs::symlink_status(root, ec);
	if (ec && ec != std::errc::no_such_file_or_directory)
		return make_sys_error(ec.value(), "cannot inspect " + quote_path(root.string()), {},
				      root.string());

	if (!fs::exists(status)) {
		fs::create_directories(root, ec);
		if (ec)
			return make_sys_error(ec.value(), "cannot create " + quote_path(root.string()), {},
					      root.string());
		return success();
	}

	if (!fs::is_directory(status))
		return make_error(errc::invalid_argument,
				  "cannot materialize into " + quote_path(root.string()) +
					  ": it is not a directory; give an empty or absent directory",
				  {}, root.string());

	const bool empty = fs::is_empty(root, ec);
	if (ec)
		return make_sys_error(ec.value(), "cannot list " + quote_path(root.string()), {},
				      root.string());
	if (!empty)
		return make_error(errc::invalid_argument,
				  "refusing to materialize into " + quote_path(root.string()) +
					  ": the directory is not empty; give an empty or absent "
					  "directory",
				  {}, root.string());
	return success();
}

} /* namespace */

std::string device_sysfs_path(const Topology &topology, PciAddress address)
{
	const TopologyDevice *device = topology.find(address);
	if (!device)
		return {};

	std::string path = address.to_string();
	while (device->parent) {
		const TopologyDevice *parent = topology.find(*device->parent);
		if (!parent)
			return {};
		path = parent->address.to_string() + "/" + path;
		device = parent;
	}
	return root_bus_path(device->address) + "/" + path;
}

result<void> materialize(const Topology &topology, const std::string &dir) noexcept
{
	try {
		BOOST_OUTCOME_TRY(validate_topology(topology));

		const fs::path root(dir);
		BOOST_OUTCOME_TRY(prepare_root(root));

		return Materializer(topology, root).run();
	} catch (const std::bad_alloc &) {
		return make_error(errc::out_of_memory, "out of memory while materializing a topology",
				  {}, dir);
	} catch (const std::exception &e) {
		return make_error(errc::internal,
				  std::string("unexpected failure while materializing a topology: ") +
					  e.what(),
				  {}, dir);
	}
}

} /* namespace pcipass::testing */
