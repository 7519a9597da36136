/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The topology format: a whole host (devices, bridges, groups, drivers,
 * SR-IOV, consumers, modules) as one JSON document, loaded by the simulated
 * kernel and written out as a kernel-shaped sysfs tree by materialize().
 */

#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pcipass/address.hpp>
#include <pcipass/error.hpp>
#include <pcipass/graph.hpp>

namespace pcipass::testing {

/* The "schema" field of every topology document. */
inline constexpr std::string_view topology_schema = "pcipass.topology/v1";

/* A vendor:device pair a driver matches; 0xffff in device matches any (PCI_ANY_ID). */
struct IdMatch {
	VendorId vendor;
	DeviceId device;

	bool operator==(const IdMatch &) const = default;
};

struct TopologyDriver {
	std::string name;   /* "vfio-pci", "xhci_hcd" */
	std::string module; /* "vfio_pci", "xhci_pci"; empty for built-in drivers */
	std::vector<IdMatch> ids;         /* static ID table */
	std::vector<IdMatch> dynamic_ids; /* added through new_id */
	bool sriov = false;     /* supports sriov_numvfs */
	/* Probe fails with this errno for every device (EAGAIN for a deferred probe); 0 for none. */
	int probe_errno = 0;

	bool operator==(const TopologyDriver &) const = default;
};

struct TopologyConsumer {
	ConsumerKind kind = ConsumerKind::usb_device;
	std::string name;
	std::string description;
	bool default_route = false;
	std::string mountpoint;
	/* Only exists while the device is bound to this driver (empty: the device's driver). */
	std::string driver;

	bool operator==(const TopologyConsumer &) const = default;
};

/* What VFs look like when a PF creates them. */
struct TopologySriov {
	unsigned total_vfs = 0;
	unsigned num_vfs = 0;
	bool drivers_autoprobe = true;
	DeviceId vf_device;
	unsigned first_vf_offset = 1; /* routing-ID offset of VF 0 from the PF */
	unsigned vf_stride = 1;
	/* Group number of VF 0; VF n gets first_vf_group + n. Absent: VFs share the PF's group. */
	std::optional<unsigned> first_vf_group;
	std::string vf_driver; /* where VFs go on autoprobe when the static table allows */

	bool operator==(const TopologySriov &) const = default;
};

struct TopologyDevice {
	PciAddress address;
	std::optional<PciAddress> parent; /* the bridge above; absent on the root bus */
	VendorId vendor;
	DeviceId device;
	VendorId subsystem_vendor;
	DeviceId subsystem_device;
	ClassCode class_code;
	uint8_t revision = 0;
	uint8_t header_type = 0;
	std::string driver;          /* empty: unbound */
	std::string driver_override; /* empty: "(null)" */
	std::optional<unsigned> iommu_group;
	int numa_node = -1;
	std::optional<bool> boot_vga;
	std::vector<std::string> reset_methods; /* empty: no reset file */
	std::optional<TopologySriov> sriov;
	std::optional<PciAddress> physfn; /* on a VF */
	std::vector<TopologyConsumer> consumers;
	bool inaccessible = false; /* config space reads all ones */
	std::string vendor_name;   /* informational only */
	std::string device_name;

	bool operator==(const TopologyDevice &) const = default;
};

struct Topology {
	std::string description;
	std::string kernel_cmdline;
	std::string cpu_vendor = "GenuineIntel";
	std::vector<std::string> iommu_units; /* empty: IOMMU off, no groups */
	std::vector<TopologyDevice> devices;
	std::vector<TopologyDriver> drivers; /* loaded drivers, and those modules can bring */
	std::vector<std::string> modules;    /* loaded module names, as in /proc/modules */
	std::vector<std::string> available_modules; /* modules that can be loaded */
	/* Holders of device nodes: "dev/vfio/12" -> processes. */
	std::map<std::string, std::vector<Holder>> holders;
	bool vfio_container = true; /* /dev/vfio/vfio */

	bool operator==(const Topology &) const = default;

	const TopologyDevice *find(PciAddress address) const;
	TopologyDevice *find(PciAddress address);
	const TopologyDriver *driver(std::string_view name) const;
};

/*
 * Parses a topology document. Errors: invalid_argument naming the JSON
 * pointer of the bad field and what was expected.
 */
result<Topology> parse_topology(std::string_view json) noexcept;

/* Reads and parses a topology file. */
result<Topology> load_topology(const std::string &file) noexcept;

/* The document, pretty-printed, with "schema" first. */
std::string to_json(const Topology &topology);

/*
 * Checks the rules every topology follows (the ones parse_topology checks
 * after reading the fields): unique addresses, parents that are bridges,
 * SR-IOV links and counts, bound drivers that are loaded, IOMMU groups
 * only with the IOMMU on. For topologies built in code. Errors:
 * invalid_argument naming the JSON pointer of the offending field.
 */
result<void> validate_topology(const Topology &topology) noexcept;

/*
 * The device's directory as the kernel lays it out, relative to the host
 * root: "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0". The topology
 * must be valid; an address it does not hold gives an empty string.
 */
std::string device_sysfs_path(const Topology &topology, PciAddress address);

/*
 * Writes a kernel-shaped tree under dir: sys/devices nested by bridge,
 * sys/bus/pci/devices links, drivers with bind files and device links,
 * iommu groups both ways, config/resource/uevent/modalias, consumers,
 * proc/modules and proc/cmdline. dir must be empty or absent. Writes
 * only beneath dir.
 */
result<void> materialize(const Topology &topology, const std::string &dir) noexcept;

} /* namespace pcipass::testing */
