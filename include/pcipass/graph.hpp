/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The PCI device graph: an immutable snapshot of every function read from sysfs.
 */

#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/iterator/indirect_iterator.hpp>
#include <boost/range/iterator_range.hpp>

#include <pcipass/address.hpp>
#include <pcipass/error.hpp>
#include <pcipass/host.hpp>

namespace pcipass {

/* Something on the host that makes a device busy while it exists. */
enum class ConsumerKind {
	usb_device,
	usb_hub,
	net_interface,
	block_device,
	drm_card,
	framebuffer,
};

/* "usb_device", "net_interface", ... as used in JSON. */
std::string_view consumer_kind_name(ConsumerKind kind);

struct Consumer {
	ConsumerKind kind = ConsumerKind::usb_device;
	std::string name;          /* "3-1", "eth0", "nvme0n1", "card0", "efifb" */
	std::string description;   /* USB "vvvv:pppp product", empty when unknown */
	bool default_route = false; /* a network interface that carries the default route */
	/*
	 * A mounted block device: where; "[swap]" for swap; "[unknown]" when
	 * proc/mounts could not be read, which counts as in use. Empty when not mounted.
	 */
	std::string mountpoint;

	bool operator==(const Consumer &) const = default;
};

/* Content that could not be read or parsed on one device; the scan goes on. */
struct Finding {
	std::string attribute; /* "config", "driver_override", ... */
	std::string path;      /* relative to the host root */
	int sys_errno = 0;
	std::string message;

	bool operator==(const Finding &) const = default;
};

struct Sriov {
	unsigned total_vfs = 0;
	unsigned num_vfs = 0;
	bool drivers_autoprobe = true;
	std::vector<PciAddress> vfs; /* from the virtfnN links, in N order */
	/* From sriov_vf_device, sriov_offset and sriov_stride; zero when the kernel lacks them. */
	DeviceId vf_device;
	unsigned first_vf_offset = 0;
	unsigned vf_stride = 0;

	bool operator==(const Sriov &) const = default;
};

/* One PCI function as sysfs showed it at scan time. */
struct Device {
	PciAddress address;
	VendorId vendor;
	DeviceId device;
	VendorId subsystem_vendor;
	DeviceId subsystem_device;
	ClassCode class_code;
	uint8_t revision = 0;
	uint8_t header_type = 0; /* from config offset 0x0e, bit 7 (multi-function) kept */

	std::optional<std::string> driver;          /* absent when unbound */
	std::optional<std::string> driver_override; /* absent when it reads "(null)" */
	std::optional<unsigned> iommu_group;        /* absent when the IOMMU is off */
	int numa_node = -1;

	/* The real sysfs directory, relative to the root. */
	std::string sysfs_path;
	/* Bridges above the device, nearest first. */
	std::vector<PciAddress> parents;

	std::optional<PciAddress> physfn; /* set on a VF */
	std::optional<Sriov> sriov;       /* set on a PF that can have VFs */

	std::optional<bool> boot_vga; /* only VGA devices have the attribute */
	bool has_reset = false;       /* the "reset" file exists */
	std::vector<std::string> reset_methods;

	/* "vfio0" from vfio-dev/ when bound to a VFIO driver (kernel 6.1+). */
	std::optional<std::string> vfio_device;
	/* True when config space reads all ones (D3cold or surprise removal). */
	bool inaccessible = false;

	std::vector<Consumer> consumers;
	std::vector<Finding> findings;

	/* Names from the udev hardware database, empty when it has none. */
	std::string vendor_name;
	std::string device_name;

	/* Header types 1 (PCI bridge) and 2 (CardBus bridge); never the class code. */
	bool is_bridge() const { return (header_type & 0x7f) != 0; }
	bool is_vf() const { return physfn.has_value(); }

	bool operator==(const Device &) const = default;
};

struct IommuGroup {
	unsigned number = 0;
	std::vector<PciAddress> members; /* sorted */
	bool device_node = false;        /* /dev/vfio/N exists */
	std::vector<Holder> holders;     /* processes with /dev/vfio/N open */

	bool operator==(const IommuGroup &) const = default;
};

struct HostFacts {
	bool iommu_enabled = false;           /* any group in /sys/kernel/iommu_groups */
	std::vector<std::string> iommu_units; /* /sys/class/iommu entries */
	std::vector<std::string> modules;     /* exact names from /proc/modules, sorted */
	std::vector<std::string> drivers;     /* /sys/bus/pci/drivers entries, sorted */
	std::string kernel_cmdline;           /* /proc/cmdline without the newline */
	std::string cpu_vendor;               /* "GenuineIntel", "AuthenticAMD", or empty */
	bool hypervisor = false;              /* the CPU flags say the kernel runs in a virtual machine */
	std::string kernel_release;           /* /proc/sys/kernel/osrelease */
	bool module_support = true;           /* false when /proc/modules is absent (no loadable modules) */
	/* Driver name to module name from drivers/NAME/module; built-in drivers are absent. */
	std::map<std::string, std::string> driver_modules;
	bool vfio_container = false;          /* /dev/vfio/vfio exists */
	std::vector<Finding> findings;        /* host files that could not be read */

	bool module_loaded(std::string_view name) const;
	bool driver_present(std::string_view name) const;

	bool operator==(const HostFacts &) const = default;
};

/*
 * Why one group member keeps a group from a target driver. The reasons are
 * host_driver, bridge_driver (a bridge on a driver that is not
 * DMA-owner-aware), vfio_group_open, consumer_in_use (a mounted block
 * device or an interface with the default route), boot_framebuffer, and,
 * from readiness() only, iommu_off, no_iommu_group, bridge, inaccessible,
 * pf_has_vfs and not_found.
 */
struct Blocker {
	PciAddress device;
	std::string reason;  /* machine-readable, one of the names above */
	std::string message; /* names the device, its driver or holder, and the fix */

	bool operator==(const Blocker &) const = default;
};

struct Viability {
	bool viable = false;
	std::vector<Blocker> blockers;
};

/* Whether one device can be passed through, as pcipassctl list and show report it. */
struct Readiness {
	enum class State {
		ready,     /* on the target driver, and its group is viable */
		in_use,    /* on the target driver, and a VFIO user holds its group open */
		/*
		 * A transaction can move its group to the target driver.
		 * NOTE: the target driver need not be loaded, and a bind then
		 * needs module loading allowed.
		 */
		claimable,
		blocked,   /* something a transaction cannot change stands in the way */
	};

	State state = State::blocked;
	/* Why it is blocked; empty unless blocked. */
	std::vector<Blocker> blockers;
	/*
	 * Group members a claim of this device moves to the target driver, as
	 * plan_bind() does: never a bridge, and a member on another
	 * DMA-owner-aware driver only when it is the device itself.
	 */
	std::vector<PciAddress> moves;
};

/* "ready", "claimable", "blocked" */
std::string_view readiness_state_name(Readiness::State state);

struct ScanOptions {
	/* Look up vendor and device names in the udev hardware database. */
	bool names = true;
	/* Scan proc/PID/fd for holders of /dev/vfio/N nodes. */
	bool holders = true;
	/* Read the module behind each driver (HostFacts::driver_modules): one link per driver. */
	bool driver_modules = false;
	/*
	 * Read config and numa_node of every VF. By default a VF takes its
	 * vendor, device and NUMA node from its PF and its class, revision
	 * and subsystem IDs from the PF's first VF, which is what the kernel
	 * itself records for every VF; that saves two file reads per VF.
	 */
	bool read_every_vf = false;
	/*
	 * Threads that read device directories at once. 0 picks one per CPU,
	 * at most 4, on hosts with 256 functions or more, and one thread on
	 * smaller hosts. The snapshot is the same for every value.
	 */
	unsigned threads = 0;
};

/*
 * An immutable snapshot of the PCI device graph. Copies share the same
 * data and are cheap; a snapshot is safe to read from many threads.
 */
class DeviceGraph
{
public:
	struct Data;

	DeviceGraph();

	/*
	 * Reads every PCI function, its group, links and consumers, and the
	 * host facts. Reads only. Malformed content on one device becomes a
	 * Finding on it; the scan fails only when sys/bus/pci itself cannot
	 * be read (not_found, permission_denied, escapes_root).
	 */
	static result<DeviceGraph> scan(Host &host, const ScanOptions &options = {});

	/*
	 * A new snapshot with the given devices (and their groups) read again
	 * and everything else shared with this one: the cheap update after a
	 * driver change. Reads only. A device that vanished is dropped.
	 */
	result<DeviceGraph> refresh(Host &host, std::span<const PciAddress> changed,
				    const ScanOptions &options = {}) const;

	/*
	 * A random-access range of const Device&. Devices are held one by
	 * one, so that refresh() shares every device it did not re-read.
	 */
	using DeviceIterator =
		boost::indirect_iterator<std::vector<std::shared_ptr<const Device>>::const_iterator>;
	using DeviceRange = boost::iterator_range<DeviceIterator>;

	/* Every function, sorted by address. */
	DeviceRange devices() const;
	const std::vector<IommuGroup> &groups() const;
	const HostFacts &host() const;

	/* Not found is a normal answer: nullptr. */
	const Device *find(PciAddress address) const;
	const IommuGroup *group(unsigned number) const;

	/* The members of the device's group, or just the device without a group. */
	std::vector<const Device *> group_members_of(PciAddress address) const;
	std::vector<const Device *> bridges() const;
	const Device *pf_of(PciAddress vf) const;
	std::vector<const Device *> vfs_of(PciAddress pf) const;
	/* Other functions of the same slot (same domain, bus and device). */
	std::vector<const Device *> slot_siblings(PciAddress address) const;

	/* Devices whose vendor:device matches, for "the expected device is now at". */
	std::vector<const Device *> find_by_id(VendorId vendor, DeviceId device) const;

	/*
	 * Which members of a group keep it from being handed to target_driver
	 * as a unit, and why. Bridges on pcieport, driverless members and
	 * members already on the target do not block. A bridge on a driver
	 * that is not DMA-owner-aware blocks with bridge_driver for any target.
	 */
	Viability viability(unsigned group, std::string_view target_driver = "vfio-pci") const;

	/*
	 * Whether the device can be handed to target_driver. It is blocked by
	 * the IOMMU being off, no group, a bridge, a PF with VFs, the boot
	 * framebuffer, a consumer in use or a VFIO user of its group. It is also
	 * blocked by an inaccessible device or group member that would move, and
	 * by a bridge in the group on a driver that is not DMA-owner-aware.
	 * Otherwise it is ready, or claimable with the members that move.
	 * An unknown address is blocked with reason "not_found".
	 */
	Readiness readiness(PciAddress address, std::string_view target_driver = "vfio-pci") const;

private:
	explicit DeviceGraph(std::shared_ptr<const Data> data);

	std::shared_ptr<const Data> data_;
};

/*
 * True for drivers that manage DMA ownership themselves and so never block
 * a VFIO user of their group: vfio-pci and its variants, pci-stub, pcieport.
 */
bool is_dma_owner_aware_driver(std::string_view driver);

/* True for vfio-pci and the vendor variant drivers built on it. */
bool is_vfio_driver(std::string_view driver);

} /* namespace pcipass */
