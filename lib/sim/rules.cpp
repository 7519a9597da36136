/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The kernel's handling of writes, module changes and VFIO users, following
 * drivers/base/{bus,dd,driver}.c, drivers/pci/{pci-driver,pci-sysfs,iov}.c
 * and drivers/vfio/pci of Linux 6.1.
 */

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "kernel.hpp"

namespace pcipass::sim::detail {

namespace {

/* The kernel's EPROBE_DEFER, which bind reports as EAGAIN. */
constexpr int eprobe_defer = 517;

constexpr uint16_t pci_any_id = 0xffff;

std::string_view strip_newline(std::string_view text)
{
	if (text.ends_with('\n'))
		text.remove_suffix(1);
	return text;
}

/* The fields sscanf("%x %x %x %x %x %x %lx") would convert: leading whitespace, optional 0x. */
std::vector<uint32_t> scan_hex_fields(std::string_view text, size_t max_fields)
{
	std::vector<uint32_t> fields;
	size_t i = 0;
	while (fields.size() < max_fields) {
		while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n'))
			i++;
		if (i + 1 < text.size() && text[i] == '0' && (text[i + 1] == 'x' || text[i + 1] == 'X') &&
		    i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 2])))
			i += 2;
		const size_t start = i;
		uint64_t value = 0;
		while (i < text.size() && std::isxdigit(static_cast<unsigned char>(text[i]))) {
			const char c = char(std::tolower(static_cast<unsigned char>(text[i])));
			value = (value << 4) | uint64_t(c <= '9' ? c - '0' : c - 'a' + 10);
			value &= 0xffffffffffULL;
			i++;
		}
		if (i == start)
			break;
		fields.push_back(uint32_t(std::min<uint64_t>(value, 0xffffffffULL)));
	}
	return fields;
}

/* A 32-bit kernel ID as the topology's 16-bit one; PCI_ANY_ID (~0) stays "any". */
uint16_t id16(uint32_t value)
{
	return value == 0xffffffffU ? pci_any_id : uint16_t(value);
}

/* kstrtobool: 1/y/Y/on and 0/n/N/off, an optional trailing newline. */
std::optional<bool> parse_kernel_bool(std::string_view text)
{
	text = strip_newline(text);
	if (text == "1" || text == "y" || text == "Y" || text == "on" || text == "On" ||
	    text == "ON")
		return true;
	if (text == "0" || text == "n" || text == "N" || text == "off" || text == "Off" ||
	    text == "OFF")
		return false;
	return std::nullopt;
}

constexpr std::string_view reset_method_names[] = {
	"device_specific", "acpi", "flr", "af_flr", "pm", "bus", "cxl_bus",
};

} /* namespace */

std::optional<unsigned long> parse_kernel_ulong(std::string_view text)
{
	text = strip_newline(text);
	if (text.starts_with('+'))
		text.remove_prefix(1);
	unsigned base = 10;
	if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
		base = 16;
		text.remove_prefix(2);
	} else if (text.size() > 1 && text[0] == '0') {
		base = 8;
		text.remove_prefix(1);
	}
	if (text.empty())
		return std::nullopt;
	unsigned long value = 0;
	for (char c : text) {
		unsigned digit;
		if (c >= '0' && c <= '9')
			digit = unsigned(c - '0');
		else if (c >= 'a' && c <= 'f')
			digit = unsigned(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			digit = unsigned(c - 'A' + 10);
		else
			return std::nullopt;
		if (digit >= base)
			return std::nullopt;
		if (value > (~0UL - digit) / base)
			return std::nullopt;
		value = value * base + digit;
	}
	return value;
}

/* Matching: pci_match_one_device and pci_bus_match */

bool Kernel::id_matches(const Device &device, const testing::IdMatch &id) const
{
	return (id.vendor.value() == pci_any_id || id.vendor == device.topo.vendor) &&
	       (id.device.value() == pci_any_id || id.device == device.topo.device);
}

bool Kernel::table_matches(const Driver &driver, const Device &device) const
{
	auto matches = [&](const testing::IdMatch &id) { return id_matches(device, id); };
	return std::any_of(driver.dynamic_ids.begin(), driver.dynamic_ids.end(), matches) ||
	       std::any_of(driver.ids.begin(), driver.ids.end(), matches);
}

/*
 * An override naming another driver forbids the match. An override naming
 * this driver matches even without an ID, which is how vfio-pci binds
 * anything with its empty static table.
 */
bool Kernel::driver_matches(const Driver &driver, const Device &device) const
{
	if (device.override_name)
		return *device.override_name == driver.name;
	return table_matches(driver, device);
}

bool Kernel::group_held(unsigned group) const
{
	if (holders_.empty())
		return false;
	auto it = holders_.find("dev/vfio/" + std::to_string(group));
	return it != holders_.end() && !it->second.empty();
}

bool Kernel::group_held_by_vfio_user(const Device &device) const
{
	return device.topo.iommu_group && group_held(*device.topo.iommu_group);
}

bool Kernel::group_viable(unsigned group) const
{
	auto it = groups_.find(group);
	if (it == groups_.end())
		return true;
	return std::all_of(it->second.begin(), it->second.end(), [&](int member) {
		const Device &device = devices_[member];
		return device.driver == none || drivers_[device.driver].dma_owner_aware;
	});
}

/* The group whose VFIO user must go before this device can leave its VFIO driver. */
std::optional<unsigned> Kernel::vfio_wait_group(int index) const
{
	const Device &device = devices_[index];
	if (device.driver == none || !drivers_[device.driver].vfio ||
	    !group_held_by_vfio_user(device))
		return std::nullopt;
	return device.topo.iommu_group;
}

/* really_probe: DMA ownership, pci_device_can_probe, the driver's own probe. */
Outcome Kernel::probe(int index, int driver_index)
{
	Device &device = devices_[index];
	const Driver &driver = drivers_[driver_index];

	if (!driver.dma_owner_aware && group_held_by_vfio_user(device))
		return {EBUSY, Rule::bind_group_in_use, index};
	if (device.pf != none && !devices_[device.pf].autoprobe && !device.override_name)
		return {ENODEV, Rule::bind_vf_autoprobe_off, index};
	if (driver.vfio) {
		if ((device.topo.header_type & 0x7f) != 0)
			return {EINVAL, Rule::bind_vfio_bridge, index};
		if (!device.topo.iommu_group)
			return {EINVAL, Rule::bind_vfio_no_group, index};
		if (device.num_vfs > 0)
			return {EBUSY, Rule::bind_vfio_pf_has_vfs, index};
	}
	if (driver.probe_errno == EAGAIN || driver.probe_errno == eprobe_defer)
		return {EAGAIN, Rule::bind_probe_deferred, index};
	if (driver.probe_errno != 0)
		return {driver.probe_errno, Rule::bind_probe_failed, index};

	attach(index, driver_index);
	return {0, Rule::bind_attached, index};
}

void Kernel::attach(int index, int driver_index)
{
	devices_[index].driver = driver_index;
	consumers_changed(index);
}

void Kernel::detach(int index)
{
	devices_[index].driver = none;
	consumers_changed(index);
}

void Kernel::consumers_changed(int index)
{
	if (!devices_[index].consumers.empty())
		consumers_dirty_ = true;
}

void Kernel::force_attach(int index, int driver_index)
{
	if (index == none || driver_index == none)
		return;
	if (!devices_[index].present || devices_[index].driver != none ||
	    !drivers_[driver_index].loaded)
		return;
	attach(index, driver_index);
}

/*
 * device_attach: the first loaded driver, in registration order, that
 * matches and probes. When a driver's own probe fails the next one tries,
 * but a failure before it (really_probe's DMA ownership step, with the
 * group attached to a VFIO container) ends the search: then *stopped is
 * set when given.
 */
int Kernel::attach_first_matching(int index, int preferred, bool *stopped)
{
	bool stop = false;
	auto try_driver = [&](int driver) {
		if (!drivers_[driver].loaded || !driver_matches(drivers_[driver], devices_[index]))
			return false;
		const Outcome outcome = probe(index, driver);
		stop = outcome.rule == Rule::bind_group_in_use;
		return outcome.sys_errno == 0;
	};

	int attached = none;
	if (preferred != none && try_driver(preferred))
		attached = preferred;
	for (size_t i = 0; attached == none && !stop && i < driver_order_.size(); i++) {
		const int driver = driver_order_[i];
		if (driver != preferred && try_driver(driver))
			attached = driver;
	}
	if (stopped)
		*stopped = stop;
	return attached;
}

/* driver_attach: every present, unbound device the driver matches; probe errors are ignored. */
void Kernel::attach_all_matching(int driver_index)
{
	const Driver &driver = drivers_[driver_index];
	for (size_t i = 0; i < devices_.size(); i++) {
		const Device &device = devices_[i];
		if (device.present && device.driver == none && driver_matches(driver, device))
			(void)probe(int(i), driver_index);
	}
}

void Kernel::set_present(int index, bool present)
{
	Device &device = devices_[index];
	if (device.present == present)
		return;
	device.present = present;
	consumers_changed(index);
	if (!device.topo.iommu_group)
		return;
	auto &members = groups_[*device.topo.iommu_group];
	if (present) {
		auto position = std::lower_bound(members.begin(), members.end(), index, [&](int a, int b) {
			return devices_[a].topo.address < devices_[b].topo.address;
		});
		members.insert(position, index);
	} else {
		members.erase(std::remove(members.begin(), members.end(), index), members.end());
	}
}

/*
 * pci_iov_add_virtfn for each VF: a PF on a VFIO driver sets the VF's
 * override to that driver before the VF is probed, and the probe honours
 * sriov_drivers_autoprobe through pci_device_can_probe.
 */
void Kernel::enable_vfs(int pf, unsigned count)
{
	devices_[pf].num_vfs = count;
	const int pf_driver = devices_[pf].driver;
	const int preferred = find_driver(devices_[pf].topo.sriov->vf_driver);
	for (unsigned n = 0; n < count; n++) {
		const int vf = create_vf(pf, n);
		devices_[vf].removed = false;
		set_present(vf, true);
		if (pf_driver != none && drivers_[pf_driver].vfio)
			devices_[vf].override_name = drivers_[pf_driver].name;
		(void)attach_first_matching(vf, preferred);
	}
}

void Kernel::disable_vfs(int pf)
{
	Device &physfn = devices_[pf];
	for (unsigned n = 0; n < physfn.num_vfs && n < physfn.vfs.size(); n++) {
		const int vf = physfn.vfs[n];
		if (vf == none || !devices_[vf].present)
			continue;
		if (devices_[vf].driver != none)
			detach(vf);
		set_present(vf, false);
	}
	devices_[pf].num_vfs = 0;
}

/* pci_stop_and_remove_bus_device: children and VFs first, each unbound. */
void Kernel::remove_device(int index)
{
	if (index == none || !devices_[index].present)
		return;
	for (int child : std::vector<int>(devices_[index].children)) {
		if (devices_[child].pf == none)
			remove_device(child);
	}
	if (devices_[index].num_vfs > 0)
		disable_vfs(index);
	if (devices_[index].driver != none)
		detach(index);
	set_present(index, false);
	/* A removed VF is gone for good; a rescan brings back only what enumeration finds. */
	devices_[index].removed = devices_[index].pf == none;
}

/* Writes */

Target Kernel::classify(std::string_view path, std::string_view value) const
{
	Target target;
	auto loc = walk(path, true);
	if (!loc) {
		target.sys_errno = loc.error().sys_errno != 0 ? loc.error().sys_errno : ENOENT;
		target.rule = Rule::path_not_found;
		return target;
	}

	switch (loc.value().kind) {
	case LocKind::driver_file:
		target.driver = loc.value().a;
		switch (DriverFile(loc.value().b)) {
		case DriverFile::bind:
			target.kind = WriteKind::bind;
			target.device = find_device_by_name(value);
			break;
		case DriverFile::unbind:
			target.kind = WriteKind::unbind;
			target.device = find_device_by_name(value);
			break;
		case DriverFile::new_id:
			target.kind = WriteKind::new_id;
			break;
		case DriverFile::remove_id:
			target.kind = WriteKind::remove_id;
			break;
		case DriverFile::uevent:
			break;
		}
		break;
	case LocKind::bus_pci_file:
		if (BusFile(loc.value().a) == BusFile::drivers_probe) {
			target.kind = WriteKind::drivers_probe;
			target.device = find_device_by_name(value);
		} else if (BusFile(loc.value().a) == BusFile::rescan) {
			target.kind = WriteKind::rescan;
		}
		break;
	case LocKind::device_attr:
		target.device = loc.value().a;
		switch (Attr(loc.value().b)) {
		case Attr::driver_override:
			target.kind = WriteKind::driver_override;
			break;
		case Attr::sriov_numvfs:
			target.kind = WriteKind::sriov_numvfs;
			break;
		case Attr::sriov_drivers_autoprobe:
			target.kind = WriteKind::sriov_drivers_autoprobe;
			break;
		case Attr::reset:
			target.kind = WriteKind::reset;
			break;
		case Attr::reset_method:
			target.kind = WriteKind::reset_method;
			break;
		case Attr::remove:
			target.kind = WriteKind::remove;
			break;
		default:
			break;
		}
		break;
	default:
		break;
	}

	if (type(loc.value()) == EntryType::directory) {
		target.sys_errno = EISDIR;
		target.rule = Rule::path_is_directory;
	} else if (!writable(loc.value())) {
		target.kind = WriteKind::other;
		target.sys_errno = EACCES;
		target.rule = Rule::path_not_writable;
	}
	return target;
}

Outcome Kernel::apply(const Target &target, std::string_view value, ProbeMode probe_mode)
{
	if (target.sys_errno != 0)
		return {target.sys_errno, target.rule, target.device};
	/* sysfs_kf_write returns before calling the store method when nothing is written. */
	if (value.empty())
		return {0, Rule::write_empty_ignored, target.device};

	switch (target.kind) {
	case WriteKind::bind:
		return write_bind(target.driver, value, probe_mode);
	case WriteKind::unbind:
		return write_unbind(target.driver, value);
	case WriteKind::new_id:
		return write_new_id(target.driver, value);
	case WriteKind::remove_id:
		return write_remove_id(target.driver, value);
	case WriteKind::drivers_probe:
		return write_drivers_probe(value, probe_mode);
	case WriteKind::driver_override:
		return write_override(target.device, value);
	case WriteKind::sriov_numvfs:
		return write_numvfs(target.device, value);
	case WriteKind::sriov_drivers_autoprobe:
		return write_autoprobe(target.device, value);
	case WriteKind::reset:
		return write_reset(target.device, value);
	case WriteKind::reset_method:
		return write_reset_method(target.device, value);
	case WriteKind::remove:
		return write_remove(target.device, value);
	case WriteKind::rescan:
		return write_rescan(value);
	default:
		return {EACCES, Rule::path_not_writable, target.device};
	}
}

/* bind_store: find by name, match, then device_driver_attach. */
Outcome Kernel::write_bind(int driver_index, std::string_view value, ProbeMode probe_mode)
{
	const int index = find_device_by_name(value);
	if (index == none)
		return {ENODEV, Rule::bind_unknown_address};
	const Device &device = devices_[index];
	const Driver &driver = drivers_[driver_index];

	if (!driver_matches(driver, device)) {
		if (device.override_name && *device.override_name != driver.name)
			return {ENODEV, Rule::bind_override_other, index};
		return {ENODEV, Rule::bind_not_matching, index};
	}
	if (device.driver != none)
		return {EBUSY, Rule::bind_already_bound, index};
	if (probe_mode == ProbeMode::never)
		return {0, Rule::fault_probe_attached_nothing, index};
	if (probe_mode == ProbeMode::later) {
		Outcome later{0, Rule::fault_probe_later, index};
		later.later_driver = driver_index;
		return later;
	}
	return probe(index, driver_index);
}

/*
 * An asynchronous probe finishing: it binds only if the device is still
 * there, still unbound, and the driver still matches and probes.
 */
Outcome Kernel::probe_later(int index, int driver_index)
{
	const Device &device = devices_[index];
	if (!device.present || device.driver != none)
		return {0, Rule::drivers_probe_silent, index};
	if (driver_index == none)
		return {0, attach_first_matching(index) != none ? Rule::drivers_probe_attached
							       : Rule::drivers_probe_silent,
			index};
	if (!drivers_[driver_index].loaded || !driver_matches(drivers_[driver_index], device))
		return {0, Rule::drivers_probe_silent, index};
	return probe(index, driver_index);
}

/* unbind_store: only the driver the device is bound to can let it go. */
Outcome Kernel::write_unbind(int driver_index, std::string_view value)
{
	const int index = find_device_by_name(value);
	if (index == none || devices_[index].driver != driver_index)
		return {ENODEV, Rule::unbind_not_bound, index};
	if (auto group = vfio_wait_group(index)) {
		Outcome wait{0, Rule::unbind_waited_for_vfio_user, index};
		wait.wait_for_group = group;
		return wait;
	}
	detach(index);
	return {0, Rule::unbind_detached, index};
}

/*
 * drivers_probe_store: ENODEV for an unknown name and EINVAL when
 * device_attach fails before a probe; a failed or empty probe is success.
 */
Outcome Kernel::write_drivers_probe(std::string_view value, ProbeMode probe_mode)
{
	const int index = find_device_by_name(value);
	if (index == none)
		return {ENODEV, Rule::drivers_probe_unknown_address};
	if (devices_[index].driver != none)
		return {0, Rule::drivers_probe_silent, index};
	if (probe_mode == ProbeMode::never)
		return {0, Rule::fault_probe_attached_nothing, index};
	if (probe_mode == ProbeMode::later)
		return {0, Rule::fault_probe_later, index};
	bool stopped = false;
	if (attach_first_matching(index, none, &stopped) != none)
		return {0, Rule::drivers_probe_attached, index};
	if (stopped)
		return {EINVAL, Rule::drivers_probe_group_in_use, index};
	return {0, Rule::drivers_probe_silent, index};
}

/*
 * driver_set_override: never unbinds and never loads a module. The value
 * ends at its first NUL (the kernel's buffer is a C string) and at its
 * first newline.
 */
Outcome Kernel::write_override(int index, std::string_view value)
{
	constexpr size_t page_size = 4096;
	if (value.size() >= page_size - 1)
		return {EINVAL, Rule::override_too_long, index};

	Device &device = devices_[index];
	const std::string_view text = value.substr(0, std::min(value.size(), value.find('\0')));
	const size_t newline = text.find('\n');
	const std::string_view name = text.substr(0, newline);

	if (text.empty()) {
		/* Before the stable fix, 5.19 to 6.0 counted the NUL bytes and stored "". */
		if (options_.nul_override_quirk) {
			device.override_name = std::string();
			return {0, Rule::override_nul_stored_empty, index};
		}
		device.override_name.reset();
		return {0, Rule::override_cleared, index};
	}
	if (name.empty()) {
		device.override_name.reset();
		return {0, Rule::override_cleared, index};
	}
	device.override_name = std::string(name);
	return {0, Rule::override_set, index};
}

/* new_id_store and pci_add_dynid: the new ID binds every unbound device it matches. */
Outcome Kernel::write_new_id(int driver_index, std::string_view value)
{
	const auto fields = scan_hex_fields(value, 7);
	if (fields.size() < 2)
		return {EINVAL, Rule::new_id_invalid};

	Driver &driver = drivers_[driver_index];
	const testing::IdMatch id{VendorId(id16(fields[0])), DeviceId(id16(fields[1]))};

	/* With all seven fields the kernel skips the duplicate check. */
	if (fields.size() != 7) {
		Device probe_device;
		probe_device.topo.vendor = id.vendor;
		probe_device.topo.device = id.device;
		if (table_matches(driver, probe_device))
			return {EEXIST, Rule::new_id_exists};
	}
	driver.dynamic_ids.push_back(id);
	attach_all_matching(driver_index);
	return {0, Rule::new_id_added};
}

/* remove_id_store: drops the dynamic ID; devices it bound stay bound. */
Outcome Kernel::write_remove_id(int driver_index, std::string_view value)
{
	const auto fields = scan_hex_fields(value, 6);
	if (fields.size() < 2)
		return {EINVAL, Rule::remove_id_invalid};

	Driver &driver = drivers_[driver_index];
	auto it = std::find_if(driver.dynamic_ids.begin(), driver.dynamic_ids.end(),
			       [&](const testing::IdMatch &id) {
				       return id.vendor.value() == id16(fields[0]) &&
					      id.device.value() == id16(fields[1]);
			       });
	if (it == driver.dynamic_ids.end())
		return {ENODEV, Rule::remove_id_absent};
	driver.dynamic_ids.erase(it);
	return {0, Rule::remove_id_removed};
}

/* sriov_numvfs_store, in the kernel's order of checks. */
Outcome Kernel::write_numvfs(int index, std::string_view value)
{
	const auto parsed = parse_kernel_ulong(value);
	if (!parsed || *parsed > 0xffff)
		return {EINVAL, Rule::numvfs_invalid, index};

	Device &device = devices_[index];
	const unsigned count = unsigned(*parsed);
	if (count > device.topo.sriov->total_vfs)
		return {ERANGE, Rule::numvfs_above_total, index};
	if (count == device.num_vfs)
		return {0, Rule::numvfs_same_value, index};
	if (device.driver == none)
		return {ENOENT, Rule::numvfs_no_driver, index};
	if (!drivers_[device.driver].sriov)
		return {ENOENT, Rule::numvfs_driver_without_sriov, index};

	if (count == 0) {
		for (unsigned n = 0; n < device.num_vfs; n++) {
			if (auto group = vfio_wait_group(device.vfs[n])) {
				Outcome wait{0, Rule::numvfs_disabled, index};
				wait.wait_for_group = group;
				return wait;
			}
		}
		disable_vfs(index);
		return {0, Rule::numvfs_disabled, index};
	}
	if (device.num_vfs > 0)
		return {EBUSY, Rule::numvfs_change_busy, index};
	enable_vfs(index, count);
	return {0, Rule::numvfs_enabled, index};
}

Outcome Kernel::write_autoprobe(int index, std::string_view value)
{
	const auto parsed = parse_kernel_bool(value);
	if (!parsed)
		return {EINVAL, Rule::autoprobe_invalid, index};
	devices_[index].autoprobe = *parsed;
	return {0, Rule::autoprobe_set, index};
}

/* reset_store: only "1"; pci_reset_function fails with ENOTTY when no method is enabled. */
Outcome Kernel::write_reset(int index, std::string_view value)
{
	const auto parsed = parse_kernel_ulong(value);
	if (!parsed || *parsed != 1)
		return {EINVAL, Rule::reset_invalid, index};
	if (devices_[index].reset_methods.empty())
		return {ENOTTY, Rule::reset_no_method, index};
	return {0, Rule::reset_done, index};
}

/* reset_method_store: "" disables, "default" restores, otherwise supported names in order. */
Outcome Kernel::write_reset_method(int index, std::string_view value)
{
	Device &device = devices_[index];
	const std::string_view text = strip_newline(value);
	if (text.empty()) {
		device.reset_methods.clear();
		return {0, Rule::reset_method_disabled, index};
	}
	if (text == "default") {
		device.reset_methods = device.topo.reset_methods;
		return {0, Rule::reset_method_default, index};
	}

	std::vector<std::string> methods;
	std::string_view rest = text;
	while (!rest.empty()) {
		const auto space = rest.find(' ');
		std::string_view name = rest.substr(0, space);
		rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
		while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back())))
			name.remove_suffix(1);
		if (name.empty())
			continue;
		const bool known = std::find(std::begin(reset_method_names),
					     std::end(reset_method_names),
					     name) != std::end(reset_method_names);
		const auto &supported = device.topo.reset_methods;
		if (!known || std::find(supported.begin(), supported.end(), name) == supported.end())
			return {EINVAL, Rule::reset_method_invalid, index};
		methods.emplace_back(name);
	}
	device.reset_methods = std::move(methods);
	return {0, Rule::reset_method_set, index};
}

Outcome Kernel::write_remove(int index, std::string_view value)
{
	const auto parsed = parse_kernel_ulong(value);
	if (!parsed)
		return {EINVAL, Rule::remove_invalid, index};
	if (*parsed == 0)
		return {0, Rule::remove_ignored, index};
	if (auto group = vfio_wait_group(index)) {
		Outcome wait{0, Rule::remove_removed, index};
		wait.wait_for_group = group;
		return wait;
	}
	remove_device(index);
	return {0, Rule::remove_removed, index};
}

/* A bus rescan finds removed devices again, as new devices with default settings, and probes them. */
Outcome Kernel::write_rescan(std::string_view value)
{
	const auto parsed = parse_kernel_ulong(value);
	if (!parsed)
		return {EINVAL, Rule::rescan_invalid};
	if (*parsed == 0)
		return {0, Rule::rescan_restored};

	std::vector<int> found;
	for (size_t i = 0; i < devices_.size(); i++) {
		Device &device = devices_[i];
		if (!device.removed)
			continue;
		device.removed = false;
		device.override_name.reset();
		device.reset_methods = device.topo.reset_methods;
		device.autoprobe = true;
		device.num_vfs = 0;
		set_present(int(i), true);
		found.push_back(int(i));
	}
	for (int index : found)
		(void)attach_first_matching(index);
	return {0, Rule::rescan_restored};
}

/* Modules */

Outcome Kernel::load_module(std::string_view name)
{
	std::string key(name);
	std::replace(key.begin(), key.end(), '-', '_');
	if (module_of_name(key) != none)
		return {0, Rule::module_already_loaded};
	if (std::find(available_modules_.begin(), available_modules_.end(), key) ==
	    available_modules_.end())
		return {ENOENT, Rule::module_unknown};

	modules_.push_back(key);
	std::vector<int> registered;
	for (size_t i = 0; i < drivers_.size(); i++) {
		if (drivers_[i].module == key && !drivers_[i].loaded) {
			drivers_[i].loaded = true;
			driver_order_.push_back(int(i));
			registered.push_back(int(i));
		}
	}
	for (int driver : registered)
		attach_all_matching(driver);
	return {0, Rule::module_loaded};
}

/*
 * delete_module: the module's drivers unregister, which unbinds their
 * devices (overrides stay) and frees their dynamic IDs. An open VFIO group
 * pins the VFIO modules and the module of every driver bound in it.
 */
Outcome Kernel::unload_module(std::string_view name)
{
	const int module = module_of_name(name);
	if (module == none)
		return {ENOENT, Rule::module_not_loaded};
	const std::string key = modules_[module];

	const bool vfio_core = key == "vfio" || key == "vfio_iommu_type1" || key == "vfio_pci_core";
	for (const auto &[path, holders] : holders_) {
		if (vfio_core && path.starts_with("dev/vfio/") && !holders.empty())
			return {EBUSY, Rule::module_in_use};
	}
	for (size_t i = 0; i < devices_.size(); i++) {
		const Device &device = devices_[i];
		if (device.present && device.driver != none && drivers_[device.driver].module == key &&
		    group_held_by_vfio_user(device))
			return {EBUSY, Rule::module_in_use, int(i)};
	}

	for (size_t d = 0; d < drivers_.size(); d++) {
		Driver &driver = drivers_[d];
		if (driver.module != key)
			continue;
		for (size_t i = 0; i < devices_.size(); i++) {
			if (devices_[i].driver == int(d))
				detach(int(i));
		}
		driver.loaded = false;
		driver.dynamic_ids.clear();
		driver_order_.erase(std::remove(driver_order_.begin(), driver_order_.end(), int(d)),
				    driver_order_.end());
	}
	modules_.erase(modules_.begin() + module);
	return {0, Rule::module_unloaded};
}

/* VFIO users */

Outcome Kernel::open_node(std::string_view path, pid_t pid, std::string_view command)
{
	auto loc = walk(path, true);
	if (!loc)
		return {ENOENT, Rule::node_missing};
	/* VFIO_GROUP_SET_CONTAINER: iommu_group_claim_dma_owner() gives EPERM. */
	if (loc.value().kind == LocKind::dev_vfio_group && !group_viable(unsigned(loc.value().a)))
		return {EPERM, Rule::node_group_not_viable};

	auto &holders = holders_[std::string(path)];
	auto it = std::find_if(holders.begin(), holders.end(),
			       [&](const Holder &holder) { return holder.pid == pid; });
	if (it == holders.end()) {
		holders.push_back(Holder{pid, std::string(command)});
		std::sort(holders.begin(), holders.end(),
			  [](const Holder &a, const Holder &b) { return a.pid < b.pid; });
	}
	return {0, Rule::node_opened};
}

Outcome Kernel::close_node(std::string_view path, pid_t pid)
{
	auto entry = holders_.find(path);
	if (entry == holders_.end())
		return {ENOENT, Rule::node_not_held};
	auto &holders = entry->second;
	auto it = std::find_if(holders.begin(), holders.end(),
			       [&](const Holder &holder) { return holder.pid == pid; });
	if (it == holders.end())
		return {ENOENT, Rule::node_not_held};
	holders.erase(it);
	if (holders.empty())
		holders_.erase(entry);
	return {0, Rule::node_closed};
}

} /* namespace pcipass::sim::detail */
