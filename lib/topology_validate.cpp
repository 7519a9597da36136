/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The rules a topology follows so that it describes a host the kernel could
 * show: each broken rule is reported with the JSON pointer of its field.
 */

#include <pcipass/testing/topology.hpp>

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <unordered_map>

#include "json_text.hpp"
#include "topology_names.hpp"
#include "topology_rules.hpp"

namespace pcipass::testing {

namespace {

/* The reset methods the kernel lists in reset_method (drivers/pci/pci.c, 6.1). */
constexpr std::array<std::string_view, 7> known_reset_methods = {
	"device_specific", "acpi", "flr", "af_flr", "pm", "bus", "cxl_bus",
};

/* The kernel keeps at most 15 characters of a process name in comm (TASK_COMM_LEN is 16). */
constexpr size_t max_comm_length = 15;

/* Interface names hold at most 15 characters (IFNAMSIZ is 16). */
constexpr size_t max_ifname_length = 15;

class Checker
{
public:
	explicit Checker(const Topology &topology) : topology_(topology)
	{
		for (size_t i = 0; i < topology.devices.size(); i++)
			index_.emplace(topology.devices[i].address, i);
	}

	result<void> run()
	{
		check_host();
		check_drivers();
		for (size_t i = 0; i < topology_.devices.size() && !error_; i++)
			check_device(i);
		check_sriov_counts();
		check_consumer_names();
		check_holders();

		if (error_)
			return *error_;
		return success();
	}

private:
	void fail(const std::string &pointer, const std::string &message)
	{
		if (!error_)
			error_ = make_error(errc::invalid_argument,
					    "invalid topology at " + pointer + ": " + message);
	}

	static std::string device_pointer(size_t i) { return "/devices/" + std::to_string(i); }

	const TopologyDevice *device_at(PciAddress address) const
	{
		const auto found = index_.find(address);
		return found == index_.end() ? nullptr : &topology_.devices[found->second];
	}

	bool module_loaded(std::string_view module) const
	{
		return std::find(topology_.modules.begin(), topology_.modules.end(), module) !=
		       topology_.modules.end();
	}

	bool iommu_on() const { return !topology_.iommu_units.empty(); }

	/* Names that become file names in the tree; also free of whitespace, as sysfs names are. */
	void check_file_name(const std::string &pointer, std::string_view name, std::string_view role)
	{
		if (!detail::is_plain_file_name(name))
			fail(pointer, "invalid " + std::string(role) + " \"" + std::string(name) +
					      "\": expected a non-empty name without '/', "
					      "whitespace, or the names \".\" and \"..\"");
	}

	void check_module_names(const std::vector<std::string> &modules, const std::string &pointer)
	{
		std::set<std::string_view> seen;
		for (size_t i = 0; i < modules.size(); i++) {
			const std::string item = pointer + "/" + std::to_string(i);
			if (!detail::is_module_name(modules[i]))
				fail(item, "invalid module name \"" + modules[i] +
						   "\": expected letters, digits and '_' (the kernel "
						   "writes \"vfio_pci\", never \"vfio-pci\")");
			if (!seen.insert(modules[i]).second)
				fail(item, "module \"" + modules[i] + "\" is listed twice");
		}
	}

	void check_host()
	{
		if (topology_.kernel_cmdline.find('\n') != std::string::npos)
			fail("/kernel_cmdline", "expected one line without a newline");
		if (topology_.cpu_vendor.find('\n') != std::string::npos)
			fail("/cpu_vendor", "expected one line without a newline");

		std::set<std::string_view> units;
		for (size_t i = 0; i < topology_.iommu_units.size(); i++) {
			const std::string pointer = "/iommu_units/" + std::to_string(i);
			check_file_name(pointer, topology_.iommu_units[i], "IOMMU unit name");
			if (!units.insert(topology_.iommu_units[i]).second)
				fail(pointer, "IOMMU unit \"" + topology_.iommu_units[i] +
						      "\" is listed twice");
		}

		check_module_names(topology_.modules, "/modules");
		check_module_names(topology_.available_modules, "/available_modules");
	}

	void check_drivers()
	{
		std::set<std::string_view> names;
		for (size_t i = 0; i < topology_.drivers.size(); i++) {
			const TopologyDriver &driver = topology_.drivers[i];
			const std::string pointer = "/drivers/" + std::to_string(i);

			check_file_name(pointer + "/name", driver.name, "driver name");
			if (!names.insert(driver.name).second)
				fail(pointer + "/name", "driver \"" + driver.name + "\" is listed twice");

			if (driver.module.empty())
				continue;
			if (!detail::is_module_name(driver.module))
				fail(pointer + "/module",
				     "invalid module name \"" + driver.module +
					     "\": expected letters, digits and '_' (driver \"vfio-pci\" "
					     "comes from module \"vfio_pci\")");
			const bool available = std::find(topology_.available_modules.begin(),
							 topology_.available_modules.end(),
							 driver.module) != topology_.available_modules.end();
			if (!module_loaded(driver.module) && !available)
				fail(pointer + "/module",
				     "module \"" + driver.module +
					     "\" is neither loaded (in /modules) nor available (in "
					     "/available_modules); add it to one of them");
		}
	}

	void check_device(size_t i)
	{
		const TopologyDevice &device = topology_.devices[i];
		const std::string pointer = device_pointer(i);

		const size_t first = index_.at(device.address);
		if (first != i)
			fail(pointer + "/address", device.address.to_string() +
							   " is listed twice (also at " +
							   device_pointer(first) + ")");

		const unsigned layout = device.header_type & 0x7f;
		if (layout > 2)
			fail(pointer + "/header_type",
			     "expected header type 00 (endpoint), 01 (PCI bridge) or 02 (CardBus "
			     "bridge), with 80 added for a multi-function device");

		check_parent(i);
		check_driver(i);
		check_group(i);
		check_optional_attributes(i);
		if (device.sriov)
			check_pf(i);
		if (device.physfn)
			check_vf(i);
		for (size_t c = 0; c < device.consumers.size(); c++)
			check_consumer(i, c);
	}

	void check_parent(size_t i)
	{
		const TopologyDevice &device = topology_.devices[i];
		const std::string pointer = device_pointer(i) + "/parent";
		if (!device.parent)
			return;

		const TopologyDevice *parent = device_at(*device.parent);
		if (!parent) {
			fail(pointer, "no device " + device.parent->to_string() + " in the topology");
			return;
		}
		if ((parent->header_type & 0x7f) == 0) {
			fail(pointer, parent->address.to_string() +
					      " is not a bridge: a parent needs header type 01 or 02");
			return;
		}
		if (parent->address.domain() != device.address.domain() ||
		    parent->address.bus() >= device.address.bus())
			fail(pointer, device.address.to_string() + " cannot sit behind " +
					      parent->address.to_string() +
					      ": a device behind a bridge is in its domain on a "
					      "higher bus number");
		if (device.physfn)
			return;

		/* Devices behind one bridge are on its secondary bus (VFs may use the buses above it). */
		const auto [first_child, inserted] = first_child_.emplace(*device.parent, i);
		const TopologyDevice &sibling = topology_.devices[first_child->second];
		if (!inserted && sibling.address.bus() != device.address.bus())
			fail(pointer, device.address.to_string() + " and " +
					      sibling.address.to_string() + " are both behind " +
					      parent->address.to_string() +
					      " but on different buses; devices behind a bridge share "
					      "its secondary bus");
	}

	void check_driver(size_t i)
	{
		const TopologyDevice &device = topology_.devices[i];
		const std::string pointer = device_pointer(i);

		if (device.driver_override.find('\n') != std::string::npos ||
		    device.driver_override.size() > 4095)
			fail(pointer + "/driver_override",
			     "expected a driver name without a newline, at most 4095 bytes");

		if (device.driver.empty())
			return;
		const TopologyDriver *driver = topology_.driver(device.driver);
		if (!driver) {
			fail(pointer + "/driver",
			     "driver \"" + device.driver + "\" is not in /drivers; add it there");
			return;
		}
		if (!driver->module.empty() && !module_loaded(driver->module))
			fail(pointer + "/driver",
			     "driver \"" + device.driver + "\" is not loaded: its module \"" +
				     driver->module + "\" is not in /modules");
	}

	void check_group(size_t i)
	{
		const TopologyDevice &device = topology_.devices[i];
		const std::string pointer = device_pointer(i) + "/iommu_group";

		if (!iommu_on() && device.iommu_group)
			fail(pointer, "the IOMMU is off (/iommu_units is empty), so no device has "
				      "an IOMMU group; remove the group or add an IOMMU unit");
		if (iommu_on() && !device.iommu_group)
			fail(pointer, "required while the IOMMU is on (/iommu_units is not empty): "
				      "the kernel puts every device in a group");
	}

	void check_optional_attributes(size_t i)
	{
		const TopologyDevice &device = topology_.devices[i];
		const std::string pointer = device_pointer(i);

		if (device.boot_vga && !device.class_code.is_vga())
			fail(pointer + "/boot_vga",
			     "only VGA devices (class 0300xx) have boot_vga, and this one has class " +
				     device.class_code.to_string());
		if (device.boot_vga.value_or(false)) {
			for (size_t j = 0; j < i; j++) {
				if (topology_.devices[j].boot_vga.value_or(false))
					fail(pointer + "/boot_vga",
					     "the kernel has one boot VGA device, and " +
						     topology_.devices[j].address.to_string() +
						     " is already it");
			}
		}

		std::set<std::string_view> methods;
		for (size_t m = 0; m < device.reset_methods.size(); m++) {
			const std::string &method = device.reset_methods[m];
			const std::string item = pointer + "/reset_methods/" + std::to_string(m);
			if (std::find(known_reset_methods.begin(), known_reset_methods.end(), method) ==
			    known_reset_methods.end())
				fail(item, "unknown reset method \"" + method +
						   "\"; the kernel knows device_specific, acpi, flr, "
						   "af_flr, pm, bus and cxl_bus");
			if (!methods.insert(method).second)
				fail(item, "reset method \"" + method + "\" is listed twice");
		}
	}

	void check_pf(size_t i)
	{
		const TopologyDevice &device = topology_.devices[i];
		const TopologySriov &sriov = *device.sriov;
		const std::string pointer = device_pointer(i) + "/sriov";

		if (device.physfn)
			fail(pointer, "a VF cannot have VFs of its own");
		if ((device.header_type & 0x7f) != 0)
			fail(pointer, "only endpoints (header type 00) have SR-IOV");
		if (sriov.total_vfs == 0)
			fail(pointer + "/total_vfs", "expected at least 1");
		if (sriov.num_vfs > sriov.total_vfs)
			fail(pointer + "/num_vfs", "is " + std::to_string(sriov.num_vfs) +
							   ", above total_vfs " +
							   std::to_string(sriov.total_vfs));
		if (!sriov.vf_driver.empty() && !topology_.driver(sriov.vf_driver))
			fail(pointer + "/vf_driver",
			     "driver \"" + sriov.vf_driver + "\" is not in /drivers; add it there");
		if (sriov.first_vf_group && !iommu_on())
			fail(pointer + "/first_vf_group",
			     "the IOMMU is off (/iommu_units is empty), so VFs get no group");
	}

	void check_vf(size_t i)
	{
		const TopologyDevice &device = topology_.devices[i];
		const std::string pointer = device_pointer(i);

		const TopologyDevice *pf = device_at(*device.physfn);
		if (!pf) {
			fail(pointer + "/physfn",
			     "no device " + device.physfn->to_string() + " in the topology");
			return;
		}
		if (!pf->sriov) {
			fail(pointer + "/physfn",
			     pf->address.to_string() + " has no \"sriov\" object, so it has no VFs");
			return;
		}

		const TopologySriov &sriov = *pf->sriov;
		if (device.vendor != pf->vendor || device.device != sriov.vf_device)
			fail(pointer + "/device",
			     "a VF of " + pf->address.to_string() + " has ID " +
				     id_pair_string(pf->vendor, sriov.vf_device) + ", not " +
				     id_pair_string(device.vendor, device.device));
		if ((device.header_type & 0x7f) != 0)
			fail(pointer + "/header_type", "a VF is an endpoint (header type 00)");
		if (device.parent != pf->parent)
			fail(pointer + "/parent",
			     "a VF sits beside its PF in sysfs, so its parent must be the PF's (" +
				     (pf->parent ? pf->parent->to_string() : std::string("none")) + ")");

		const auto index = detail::vf_index(*pf, device.address);
		if (!index) {
			fail(pointer + "/address",
			     device.address.to_string() + " is not a VF routing ID of " +
				     pf->address.to_string() + " (first_vf_offset " +
				     std::to_string(sriov.first_vf_offset) + ", vf_stride " +
				     std::to_string(sriov.vf_stride) + ", num_vfs " +
				     std::to_string(sriov.num_vfs) + ")");
			return;
		}

		if (iommu_on()) {
			const std::optional<unsigned> expected =
				sriov.first_vf_group ? std::optional(*sriov.first_vf_group + *index)
						     : pf->iommu_group;
			if (device.iommu_group != expected)
				fail(pointer + "/iommu_group",
				     "VF " + std::to_string(*index) + " of " + pf->address.to_string() +
					     " is in group " +
					     (expected ? std::to_string(*expected) : std::string("none")) +
					     (sriov.first_vf_group ? " (first_vf_group + VF number)"
								   : " (the PF's group)"));
		}
	}

	void check_sriov_counts()
	{
		std::unordered_map<PciAddress, unsigned> vf_counts;
		for (const TopologyDevice &device : topology_.devices) {
			if (device.physfn)
				vf_counts[*device.physfn]++;
		}

		for (size_t i = 0; i < topology_.devices.size(); i++) {
			const TopologyDevice &device = topology_.devices[i];
			if (!device.sriov)
				continue;
			const unsigned listed = vf_counts[device.address];
			if (listed != device.sriov->num_vfs)
				fail(device_pointer(i) + "/sriov/num_vfs",
				     "is " + std::to_string(device.sriov->num_vfs) + " but " +
					     std::to_string(listed) + " devices name " +
					     device.address.to_string() + " as their physfn");
		}
	}

	void check_consumer(size_t i, size_t c)
	{
		const TopologyDevice &device = topology_.devices[i];
		const TopologyConsumer &consumer = device.consumers[c];
		const std::string pointer = device_pointer(i) + "/consumers/" + std::to_string(c);

		check_file_name(pointer + "/name", consumer.name, "consumer name");

		if (!consumer.mountpoint.empty() && consumer.kind != ConsumerKind::block_device)
			fail(pointer + "/mountpoint", "only block devices are mounted");
		if (!consumer.mountpoint.empty() &&
		    (consumer.mountpoint[0] != '/' ||
		     consumer.mountpoint.find('\n') != std::string::npos))
			fail(pointer + "/mountpoint",
			     "expected an absolute path such as \"/\" or \"/srv\"");
		if (consumer.default_route && consumer.kind != ConsumerKind::net_interface)
			fail(pointer + "/default_route", "only network interfaces carry routes");

		if (!consumer.driver.empty() && !topology_.driver(consumer.driver))
			fail(pointer + "/driver",
			     "driver \"" + consumer.driver + "\" is not in /drivers; add it there");
		if (consumer.driver.empty() && device.driver.empty() &&
		    consumer.kind != ConsumerKind::framebuffer)
			fail(pointer + "/driver",
			     "the device has no driver, so name the driver this consumer exists "
			     "under");

		if (consumer.kind == ConsumerKind::framebuffer && !device.boot_vga.value_or(false))
			fail(pointer + "/kind",
			     "the firmware framebuffer belongs to the boot VGA device; set "
			     "\"boot_vga\": true on this device or move the consumer");

		switch (consumer.kind) {
		case ConsumerKind::usb_device:
		case ConsumerKind::usb_hub:
			check_usb_consumer(i, c, pointer);
			break;
		case ConsumerKind::net_interface:
			if (consumer.name.size() > max_ifname_length)
				fail(pointer + "/name", "interface names have at most 15 characters");
			break;
		default:
			break;
		}
	}

	void check_usb_consumer(size_t i, size_t c, const std::string &pointer)
	{
		const TopologyDevice &device = topology_.devices[i];
		const TopologyConsumer &consumer = device.consumers[c];

		const auto usb = detail::parse_usb_name(consumer.name);
		if (!usb) {
			fail(pointer + "/name", "expected a USB device name such as \"3-1\" or "
						"\"3-1.2\" (bus, then ports), found \"" +
							consumer.name + "\"");
			return;
		}
		if (!usb->parent.empty()) {
			const bool hub_found = std::any_of(
				device.consumers.begin(), device.consumers.end(),
				[&](const TopologyConsumer &other) {
					return other.kind == ConsumerKind::usb_hub &&
					       other.name == usb->parent;
				});
			if (!hub_found)
				fail(pointer + "/name",
				     consumer.name + " sits behind hub " + usb->parent +
					     ", which is not a usb_hub consumer of this device");
		}
		if (!consumer.description.empty() &&
		    !detail::parse_usb_description(consumer.description))
			fail(pointer + "/description",
			     "expected \"vvvv:pppp\" or \"vvvv:pppp product name\", found \"" +
				     consumer.description + "\"");
	}

	/* Names share a namespace per kind in sysfs (sys/bus/usb/devices, sys/class/net, ...). */
	void check_consumer_names()
	{
		std::map<std::pair<int, std::string>, std::string> seen;
		for (size_t i = 0; i < topology_.devices.size(); i++) {
			const auto &consumers = topology_.devices[i].consumers;
			for (size_t c = 0; c < consumers.size(); c++) {
				int space = int(consumers[c].kind);
				if (consumers[c].kind == ConsumerKind::usb_hub)
					space = int(ConsumerKind::usb_device);
				const std::string pointer = device_pointer(i) + "/consumers/" +
							    std::to_string(c) + "/name";
				const auto [it, inserted] =
					seen.emplace(std::pair(space, consumers[c].name), pointer);
				if (!inserted)
					fail(pointer, "\"" + consumers[c].name + "\" is also at " +
							      it->second);
			}
		}
	}

	void check_holders()
	{
		std::set<unsigned> vfio_groups;
		for (const TopologyDevice &device : topology_.devices) {
			if (device.iommu_group && detail::is_vfio_driver_name(device.driver))
				vfio_groups.insert(*device.iommu_group);
		}

		std::map<pid_t, std::string> commands;
		for (const auto &[path, processes] : topology_.holders) {
			const std::string pointer = "/holders/" + detail::json_pointer_token(path);

			const auto group = detail::parse_vfio_group_node(path);
			if (path == "dev/vfio/vfio") {
				if (!topology_.vfio_container)
					fail(pointer, "/dev/vfio/vfio does not exist: vfio_container is "
						      "false");
			} else if (!group) {
				fail(pointer, "expected \"dev/vfio/vfio\" or \"dev/vfio/N\" for a group N");
			} else if (!vfio_groups.count(*group)) {
				fail(pointer, "/dev/vfio/" + std::to_string(*group) +
						      " does not exist: no member of group " +
						      std::to_string(*group) +
						      " is bound to a VFIO driver");
			}
			if (processes.empty())
				fail(pointer, "expected at least one process; remove the entry instead");

			for (size_t p = 0; p < processes.size(); p++) {
				const Holder &holder = processes[p];
				const std::string item = pointer + "/" + std::to_string(p);
				if (holder.pid <= 0)
					fail(item + "/pid", "expected a process ID above 0");
				if (holder.command.empty() || holder.command.size() > max_comm_length ||
				    holder.command.find_first_of("/\n") != std::string::npos)
					fail(item + "/command",
					     "expected a process name of 1 to 15 characters without '/' "
					     "(the kernel cuts comm to 15)");
				const auto [it, inserted] = commands.emplace(holder.pid, holder.command);
				if (!inserted && it->second != holder.command)
					fail(item + "/command",
					     "process " + std::to_string(holder.pid) + " is \"" +
						     it->second + "\" elsewhere in /holders");
			}
		}
	}

	const Topology &topology_;
	std::unordered_map<PciAddress, size_t> index_;
	/* The first device that is not a VF behind each bridge, by the bridge's address. */
	std::unordered_map<PciAddress, size_t> first_child_;
	std::optional<Error> error_;
};

} /* namespace */

result<void> validate_topology(const Topology &topology) noexcept
{
	try {
		return Checker(topology).run();
	} catch (const std::bad_alloc &) {
		return make_error(errc::out_of_memory, "out of memory while checking a topology");
	}
}

} /* namespace pcipass::testing */
