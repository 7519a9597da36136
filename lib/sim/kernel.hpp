/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The simulated kernel's state and rules, without locking, faults or the
 * log: sim::Host wraps one Kernel with those.
 */

#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <pcipass/address.hpp>
#include <pcipass/error.hpp>
#include <pcipass/host.hpp>
#include <pcipass/testing/sim.hpp>
#include <pcipass/testing/topology.hpp>

namespace pcipass::sim::detail {

inline constexpr int none = -1;

struct Driver {
	std::string name;
	std::string module; /* with '_', empty for built-in drivers */
	std::vector<testing::IdMatch> ids;
	std::vector<testing::IdMatch> dynamic_ids;
	bool sriov = false;
	int probe_errno = 0;
	bool vfio = false;            /* vfio-pci or a variant driver */
	bool dma_owner_aware = false; /* never blocks a VFIO user of its group */
	bool loaded = false;
	std::string path; /* "sys/bus/pci/drivers/<name>" */
};

/* The kinds of node in the simulated tree; what Loc::a and Loc::b mean depends on the kind. */
enum class LocKind : uint8_t {
	root,
	sys,
	proc,
	dev,
	sys_bus,
	sys_devices,
	sys_kernel,
	sys_class,
	sys_module,
	bus_pci,
	bus_pci_devices,
	bus_pci_drivers,
	bus_pci_file,       /* a: BusFile */
	bus_usb,
	pci_device_link,    /* a: device */
	driver_dir,         /* a: driver */
	driver_file,        /* a: driver, b: DriverFile */
	driver_device_link, /* a: driver, b: device */
	driver_module_link, /* a: driver */
	pci_root,           /* a: root */
	device_dir,         /* a: device */
	device_attr,        /* a: device, b: Attr */
	device_link,        /* a: device, b: DeviceLink */
	virtfn_link,        /* a: device, b: VF index */
	vfio_dev_dir,       /* a: device */
	vfio_dev_entry,     /* a: device */
	extra,              /* a: device, b: node in Device::extra */
	host_extra,         /* b: node in Kernel::host_extra_ */
	devices_virtual,
	virtual_iommu,
	iommu_unit,         /* a: unit */
	iommu_unit_devices, /* a: unit */
	iommu_groups,
	group_dir,          /* a: group number */
	group_devices,      /* a: group number */
	group_member_link,  /* a: group number, b: device */
	group_type,         /* a: group number */
	class_iommu,
	class_iommu_link,   /* a: unit */
	module_dir,         /* a: module */
	module_file,        /* a: module, b: ModuleFile */
	module_drivers,     /* a: module */
	module_driver_link, /* a: module, b: driver */
	proc_file,          /* a: ProcFile */
	proc_net,
	proc_pid,           /* a: pid */
	proc_pid_comm,      /* a: pid */
	proc_pid_fd,        /* a: pid */
	proc_pid_fd_link,   /* a: pid, b: fd */
	dev_vfio,
	dev_vfio_container,
	dev_vfio_group,     /* a: group number */
};

/* A node of the simulated tree. */
struct Loc {
	LocKind kind = LocKind::root;
	int a = 0;
	int b = 0;

	bool operator==(const Loc &) const = default;
};

/*
 * A file, directory or link that present consumers bring: beneath a
 * device's directory (Device::extra), or elsewhere in the tree
 * (Kernel::host_extra_, such as the sys/class links to them).
 */
struct ExtraNode {
	int parent = none; /* index in the same list; none for a top node */
	std::string name;
	EntryType type = EntryType::directory;
	std::string content; /* a file's content, or a link's relative target */
	Loc anchor;          /* host tree top nodes: the directory they sit in */
};

struct Consumer {
	testing::TopologyConsumer topo;
	std::string driver; /* present while the device is bound to this driver; empty: always */
	mutable unsigned number = 0; /* N of a framebuffer fbN, while present */
};

struct Device {
	/* Identity and fixed facts; driver, override and SR-IOV counts here are the load-time values. */
	testing::TopologyDevice topo;
	std::string name; /* "0000:01:00.0" */
	std::string path; /* "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0" */
	bool present = true;
	bool removed = false; /* taken off the bus by remove or a fault; a rescan finds it again */

	int driver = none;
	std::optional<std::string> override_name;
	std::vector<std::string> reset_methods; /* enabled */
	unsigned num_vfs = 0;
	bool autoprobe = true;

	int parent = none;
	int pf = none;
	unsigned vf_index = 0;
	std::vector<int> children; /* device directories beneath this one, by address */
	std::vector<int> vfs;      /* VF slots by index, none until first created */

	std::vector<Consumer> consumers;
	/* Rebuilt from the present consumers when they change; see Kernel::refresh_consumer_nodes(). */
	mutable std::vector<ExtraNode> extra;
};

struct Root {
	std::string name; /* "pci0000:00" */
	std::vector<int> devices;
};

/* When bind and drivers_probe run the driver's probe, as injected faults decide. */
enum class ProbeMode : uint8_t {
	now,
	never, /* report success and attach nothing */
	later, /* report success; the caller runs probe_later() after a delay */
};

/* The decision on one write: its errno, its rule and the device. */
struct Outcome {
	Outcome() = default;
	Outcome(int sys_errno_, Rule rule_, int device_ = none)
		: sys_errno(sys_errno_), rule(rule_), device(device_)
	{
	}

	int sys_errno = 0;
	Rule rule = Rule::path_not_found;
	int device = none;
	/* The write must wait for a VFIO user to close this group, then be decided again. */
	std::optional<unsigned> wait_for_group;
	/* ProbeMode::later: the driver bind named; none for drivers_probe, which tries them all. */
	int later_driver = none;
};

/* A path resolved for writing. */
struct Target {
	WriteKind kind = WriteKind::other;
	int device = none; /* the attribute's device, or the device named in the value */
	int driver = none; /* drivers/X/... */
	int sys_errno = 0; /* the path itself fails */
	Rule rule = Rule::path_not_found;
};

enum class BusFile : uint8_t { drivers_autoprobe, drivers_probe, rescan };
enum class DriverFile : uint8_t { bind, new_id, remove_id, uevent, unbind };
enum class DeviceLink : uint8_t { driver, iommu_group, physfn, subsystem };
enum class ModuleFile : uint8_t { initstate, refcnt };
enum class ProcFile : uint8_t { cmdline, cpuinfo, fb, modules, mounts, route };

/* Per-device attribute files, sorted by name. */
enum class Attr : uint8_t {
	boot_vga,
	class_code,
	config,
	device,
	driver_override,
	enable,
	irq,
	modalias,
	numa_node,
	remove,
	reset,
	reset_method,
	resource,
	revision,
	sriov_drivers_autoprobe,
	sriov_numvfs,
	sriov_offset,
	sriov_stride,
	sriov_totalvfs,
	sriov_vf_device,
	subsystem_device,
	subsystem_vendor,
	uevent,
	vendor,
	count,
};

/* The name of an attribute file. */
std::string_view attr_name(Attr attr);

/*
 * The state of a simulated host and the kernel rules over it. Not
 * thread-safe: sim::Host serializes every call.
 */
class Kernel
{
public:
	/* Errors: invalid_argument naming what is inconsistent. */
	static result<Kernel> load(const testing::Topology &topology, const Options &options);

	/* Reads (fs.cpp) */
	result<Loc> walk(std::string_view path, bool follow_last, int depth = 0) const;
	EntryType type(const Loc &loc) const;
	std::string path_of(const Loc &loc) const;
	std::string link_text(const Loc &loc) const;
	/* The content of a file; an errno when it cannot be read. */
	result<std::string> content(const Loc &loc, std::string_view path) const;
	std::vector<DirEntry> entries(const Loc &loc) const;
	bool writable(const Loc &loc) const;

	/* Writes (rules.cpp) */
	Target classify(std::string_view path, std::string_view value) const;
	Outcome apply(const Target &target, std::string_view value, ProbeMode probe_mode);
	/* The probe a ProbeMode::later write left behind, against the state now. */
	Outcome probe_later(int device, int driver);

	/* Modules and VFIO users (rules.cpp) */
	Outcome load_module(std::string_view name);
	Outcome unload_module(std::string_view name);
	Outcome open_node(std::string_view path, pid_t pid, std::string_view command);
	Outcome close_node(std::string_view path, pid_t pid);

	/* Side effects of injected faults */
	void force_attach(int device, int driver);
	void remove_device(int device);

	/* Inspection (state.cpp) */
	State state() const;
	testing::Topology to_topology() const;
	std::vector<Holder> holders_of(std::string_view path) const;
	/* The command of a process that holds a node, nullopt when it holds none. */
	std::optional<std::string> holder_command(pid_t pid) const;
	bool group_held(unsigned group) const;

	const Options &options() const { return options_; }
	const std::string &description() const { return topology_.description; }
	const Device &device(int index) const { return devices_[index]; }
	const Driver &driver(int index) const { return drivers_[index]; }
	int find_driver(std::string_view name) const;
	/* The device named exactly as the kernel prints it ("0000:01:00.0", an optional trailing newline). */
	int find_device_by_name(std::string_view text) const;
	int module_of_name(std::string_view name) const;

private:
	/* Loading (load.cpp) */
	result<void> add_device(const testing::TopologyDevice &topo);
	void add_consumers(int index);
	void place(int index);
	int create_vf(int pf, unsigned n);
	void refresh_consumer_nodes() const;
	std::string host_path(int node) const;
	void consumers_changed(int device);

	/* Matching and probing (rules.cpp) */
	bool id_matches(const Device &device, const testing::IdMatch &id) const;
	bool table_matches(const Driver &driver, const Device &device) const;
	bool driver_matches(const Driver &driver, const Device &device) const;
	Outcome probe(int device, int driver);
	int attach_first_matching(int device, int preferred = none, bool *stopped = nullptr);
	void attach_all_matching(int driver);
	void attach(int device, int driver);
	void detach(int device);
	bool group_held_by_vfio_user(const Device &device) const;
	std::optional<unsigned> vfio_wait_group(int device) const;
	bool group_has_vfio_member(unsigned group) const;
	bool group_viable(unsigned group) const;
	void enable_vfs(int pf, unsigned count);
	void disable_vfs(int pf);
	void set_present(int device, bool present);

	Outcome write_bind(int driver, std::string_view value, ProbeMode probe_mode);
	Outcome write_unbind(int driver, std::string_view value);
	Outcome write_drivers_probe(std::string_view value, ProbeMode probe_mode);
	Outcome write_override(int device, std::string_view value);
	Outcome write_new_id(int driver, std::string_view value);
	Outcome write_remove_id(int driver, std::string_view value);
	Outcome write_numvfs(int device, std::string_view value);
	Outcome write_autoprobe(int device, std::string_view value);
	Outcome write_reset(int device, std::string_view value);
	Outcome write_reset_method(int device, std::string_view value);
	Outcome write_remove(int device, std::string_view value);
	Outcome write_rescan(std::string_view value);

	/* Reads (fs.cpp) */
	std::optional<Loc> lookup(const Loc &dir, std::string_view name) const;
	Loc follow(const Loc &link) const;
	bool attr_present(const Device &device, Attr attr) const;
	std::string attr_content(const Device &device, Attr attr) const;
	bool consumer_present(const Device &device, const Consumer &consumer) const;
	const std::vector<ExtraNode> &extra_list(const Loc &loc) const;
	std::optional<Loc> lookup_extra(const Loc &dir, std::string_view name) const;
	void add_extra_entries(const Loc &dir, std::vector<DirEntry> &list) const;
	int vfio_number(int device) const;
	std::vector<int> bound_devices(int driver) const;
	std::vector<pid_t> holder_pids() const;
	std::vector<std::string> held_paths(pid_t pid) const;
	std::string proc_content(ProcFile file) const;
	bool group_exists(unsigned group) const;
	int vfio_node_count() const;

	Options options_;
	testing::Topology topology_; /* host facts and the load-time description */
	std::vector<Device> devices_;
	std::unordered_map<PciAddress, int> by_address_;
	std::vector<Root> roots_;
	std::vector<Driver> drivers_;
	std::vector<int> driver_order_; /* registration order of loaded drivers */
	std::vector<std::string> modules_; /* loaded, in load order */
	std::vector<std::string> available_modules_;
	std::map<unsigned, std::vector<int>> groups_; /* present members by address */
	std::map<std::string, std::vector<Holder>, std::less<>> holders_;
	/* Devices with consumers, by address: the order materialize() numbers them in. */
	std::vector<int> consumer_devices_;
	mutable std::vector<ExtraNode> host_extra_;
	mutable bool consumers_dirty_ = true;
};


/* The target of a relative symlink from directory from to path to, both relative to the root. */
std::string relative_link(std::string_view from, std::string_view to);

/* A written value as readable text: newlines, NUL bytes and other control bytes escaped. */
std::string printable(std::string_view value);

/* kstrtoul-style parse: decimal, 0x hex or 0 octal, one optional trailing newline. */
std::optional<unsigned long> parse_kernel_ulong(std::string_view text);

} /* namespace pcipass::sim::detail */
