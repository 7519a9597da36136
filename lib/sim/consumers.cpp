/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The placement of consumers in the simulated tree, beneath their
 * controller and as links in sys/class and sys/bus/usb. The layout follows
 * materialize(), so a simulated state and its materialized topology read
 * the same.
 */

#include <algorithm>
#include <cstdio>
#include <map>
#include <numeric>

#include "kernel.hpp"
#include "topology_rules.hpp"

namespace pcipass::sim::detail {

namespace {

std::string printf_string(const char *format, unsigned value)
{
	char buffer[64];
	std::snprintf(buffer, sizeof(buffer), format, value);
	return buffer;
}

/* Adds nodes to one tree, reusing a directory that already exists. */
class TreeBuilder
{
public:
	explicit TreeBuilder(std::vector<ExtraNode> &nodes) : nodes_(nodes) {}

	int dir(int parent, std::string_view name, Loc anchor = {})
	{
		for (size_t i = 0; i < nodes_.size(); i++) {
			const ExtraNode &node = nodes_[i];
			if (node.parent == parent && node.name == name && node.type == EntryType::directory &&
			    (parent != none || node.anchor == anchor))
				return int(i);
		}
		return add(parent, name, EntryType::directory, {}, anchor);
	}

	void file(int parent, std::string_view name, std::string content)
	{
		add(parent, name, EntryType::file, std::move(content), {});
	}

	void link(int parent, std::string_view name, std::string target)
	{
		add(parent, name, EntryType::symlink, std::move(target), {});
	}

	int top_of(int node) const
	{
		while (nodes_[node].parent != none)
			node = nodes_[node].parent;
		return node;
	}

	bool has(int parent, std::string_view name) const
	{
		return std::any_of(nodes_.begin(), nodes_.end(), [&](const ExtraNode &node) {
			return node.parent == parent && node.name == name;
		});
	}

private:
	int add(int parent, std::string_view name, EntryType type, std::string content, Loc anchor)
	{
		nodes_.push_back(ExtraNode{parent, std::string(name), type, std::move(content), anchor});
		return int(nodes_.size()) - 1;
	}

	std::vector<ExtraNode> &nodes_;
};

/* Root hub product ID and name by the controller's programming interface. */
std::pair<std::string, std::string> root_hub_identity(const testing::TopologyDevice &controller)
{
	switch (controller.class_code.prog_if()) {
	case 0x30: return {"0002", "xHCI Host Controller"};
	case 0x20: return {"0002", "EHCI Host Controller"};
	case 0x10: return {"0001", "OHCI PCI host controller"};
	case 0x00: return {"0001", "UHCI Host Controller"};
	default: return {"0002", "USB Host Controller"};
	}
}

void usb_identity(TreeBuilder &tree, int node, const std::string &vendor,
		  const std::string &product, const std::string &product_name, bool hub,
		  unsigned bus, unsigned devnum)
{
	tree.file(node, "idVendor", vendor + "\n");
	tree.file(node, "idProduct", product + "\n");
	if (!product_name.empty())
		tree.file(node, "product", product_name + "\n");
	tree.file(node, "bDeviceClass", hub ? "09\n" : "00\n");
	tree.file(node, "busnum", std::to_string(bus) + "\n");
	tree.file(node, "devnum", std::to_string(devnum) + "\n");
}

/* "nvme0n1p2": controller "nvme0", disk "nvme0n1", partition "nvme0n1p2"; "sda2": disk "sda". */
struct BlockName {
	std::string controller;
	std::string disk;
	std::string partition;
};

BlockName split_block_name(const std::string &name)
{
	BlockName parts;
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
	size_t end = name.size();
	while (end > 0 && name[end - 1] >= '0' && name[end - 1] <= '9')
		end--;
	parts.disk = end == 0 || end == name.size() ? name : name.substr(0, end);
	if (end != 0 && end != name.size())
		parts.partition = name;
	return parts;
}

std::string framebuffer_platform_device(const testing::TopologyConsumer &consumer)
{
	if (consumer.name == "efifb")
		return "efi-framebuffer.0";
	if (consumer.name == "vesafb")
		return "vesa-framebuffer.0";
	return consumer.name + ".0";
}

} /* namespace */

void Kernel::add_consumers(int index)
{
	Device &device = devices_[index];
	for (const auto &topo : device.topo.consumers) {
		Consumer consumer;
		consumer.topo = topo;
		/* A firmware framebuffer is a platform device that no PCI driver change removes. */
		if (topo.kind != ConsumerKind::framebuffer)
			consumer.driver = topo.driver.empty() ? device.topo.driver : topo.driver;
		device.consumers.push_back(std::move(consumer));
	}
}

std::string Kernel::host_path(int node) const
{
	return path_of(Loc{LocKind::host_extra, 0, node});
}

/*
 * Lays out the present consumers as materialize() does, numbering
 * interfaces, USB devices and disks in address order among those present.
 * Runs on the first read after a change, so writes stay cheap.
 */
void Kernel::refresh_consumer_nodes() const
{
	if (!consumers_dirty_)
		return;
	consumers_dirty_ = false;

	host_extra_.clear();
	TreeBuilder host(host_extra_);
	const Loc sys_class{LocKind::sys_class};
	const int class_net = host.dir(none, "net", sys_class);
	const int class_block = host.dir(none, "block", sys_class);
	const int class_drm = host.dir(none, "drm", sys_class);
	const int class_graphics = host.dir(none, "graphics", sys_class);
	const int usb_devices = host.dir(none, "devices", Loc{LocKind::bus_usb});

	/* The loopback interface takes ifindex 1 on every host. */
	const int lo = host.dir(host.dir(none, "net", Loc{LocKind::devices_virtual}), "lo");
	host.file(lo, "ifindex", "1\n");
	host.link(class_net, "lo", relative_link(host_path(class_net), host_path(lo)));

	std::map<unsigned, unsigned> usb_devnum;
	std::map<std::string, unsigned> scsi_hosts;
	unsigned ifindex = 2;
	unsigned nvme_minor = 0;
	unsigned drm_minor = 0;
	unsigned framebuffer = 0;

	for (int index : consumer_devices_) {
		const Device &device = devices_[index];
		device.extra.clear();
		TreeBuilder tree(device.extra);
		auto extra_path = [&](int node) { return path_of(Loc{LocKind::extra, index, node}); };

		for (const Consumer &consumer : device.consumers) {
			if (!consumer_present(device, consumer))
				continue;
			const std::string &name = consumer.topo.name;

			switch (consumer.topo.kind) {
			case ConsumerKind::usb_device:
			case ConsumerKind::usb_hub: {
				const auto parsed = pcipass::detail::parse_usb_name(name);
				if (!parsed)
					break;
				const unsigned bus = parsed->bus;
				const std::string root_hub = "usb" + std::to_string(bus);

				/* The root hub appears with the first device on its bus and takes devnum 1. */
				if (usb_devnum.emplace(bus, 2).second) {
					const int root = tree.dir(none, root_hub);
					const auto [product, product_name] = root_hub_identity(device.topo);
					usb_identity(tree, root, "1d6b", product, product_name, true, bus, 1);
					host.link(usb_devices, root_hub,
						  relative_link(host_path(usb_devices), extra_path(root)));
				}

				/* USB devices nest under the hub they sit behind: usb3/3-1/3-1.2. */
				std::vector<std::string> chain{name};
				for (std::string up = parsed->parent; !up.empty();
				     up = pcipass::detail::parse_usb_name(up)->parent)
					chain.insert(chain.begin(), up);
				chain.insert(chain.begin(), root_hub);
				int node = none;
				for (const auto &part : chain)
					node = tree.dir(node, part);

				const auto usb = pcipass::detail::parse_usb_description(consumer.topo.description);
				usb_identity(tree, node, usb ? printf_string("%04x", usb->vendor) : "0000",
					     usb ? printf_string("%04x", usb->product) : "0000",
					     usb ? usb->product_name : std::string(),
					     consumer.topo.kind == ConsumerKind::usb_hub, bus, usb_devnum[bus]++);
				host.link(usb_devices, name,
					  relative_link(host_path(usb_devices), extra_path(node)));
				break;
			}
			case ConsumerKind::net_interface: {
				const int node = tree.dir(tree.dir(none, "net"), name);
				const unsigned number = ifindex++;
				tree.file(node, "ifindex", std::to_string(number) + "\n");
				tree.file(node, "operstate", "up\n");
				tree.file(node, "uevent",
					  "INTERFACE=" + name + "\nIFINDEX=" + std::to_string(number) + "\n");
				host.link(class_net, name, relative_link(host_path(class_net), extra_path(node)));
				break;
			}
			case ConsumerKind::block_device: {
				const BlockName parts = split_block_name(name);
				int disk;
				std::string dev;
				if (!parts.controller.empty()) {
					const int controller = tree.dir(tree.dir(none, "nvme"), parts.controller);
					disk = tree.dir(controller, parts.disk);
					dev = printf_string("259:%u\n", nvme_minor++);
					const int class_nvme = host.dir(none, "nvme", sys_class);
					if (!host.has(class_nvme, parts.controller))
						host.link(class_nvme, parts.controller,
							  relative_link(host_path(class_nvme),
									extra_path(controller)));
				} else {
					/* SATA disks sit under the controller's ATA port and SCSI host. */
					const auto [entry, inserted] =
						scsi_hosts.emplace(parts.disk, unsigned(scsi_hosts.size()));
					const unsigned h = entry->second;
					int node = tree.dir(none, "ata" + std::to_string(h + 1));
					node = tree.dir(node, "host" + std::to_string(h));
					node = tree.dir(node, "target" + std::to_string(h) + ":0:0");
					node = tree.dir(node, std::to_string(h) + ":0:0:0");
					disk = tree.dir(tree.dir(node, "block"), parts.disk);
					const unsigned partition =
						parts.partition.empty()
							? 0
							: unsigned(std::stoul(parts.partition.substr(parts.disk.size())));
					dev = "8:" + std::to_string(16 * h + partition) + "\n";
				}
				const int node = parts.partition.empty() ? disk : tree.dir(disk, parts.partition);
				tree.file(node, "dev", dev);
				host.link(class_block, name,
					  relative_link(host_path(class_block), extra_path(node)));
				break;
			}
			case ConsumerKind::drm_card: {
				const int node = tree.dir(tree.dir(none, "drm"), name);
				unsigned minor = drm_minor++;
				if (name.starts_with("card") && name.size() > 4)
					minor = unsigned(std::strtoul(name.c_str() + 4, nullptr, 10));
				tree.file(node, "dev", "226:" + std::to_string(minor) + "\n");
				host.link(class_drm, name, relative_link(host_path(class_drm), extra_path(node)));
				break;
			}
			case ConsumerKind::framebuffer: {
				consumer.number = framebuffer++;
				const std::string fb = "fb" + std::to_string(consumer.number);
				const int platform = host.dir(none, "platform", Loc{LocKind::sys_devices});
				int node = host.dir(platform, framebuffer_platform_device(consumer.topo));
				node = host.dir(host.dir(node, "graphics"), fb);
				host.file(node, "dev", "29:" + std::to_string(consumer.number) + "\n");
				host.link(class_graphics, fb,
					  relative_link(host_path(class_graphics), host_path(node)));
				break;
			}
			}
		}
	}
}

} /* namespace pcipass::sim::detail */
