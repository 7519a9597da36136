/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The snapshot behind DeviceGraph and the scanner that fills it; shared by
 * the graph sources, never installed.
 */

#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <pcipass/graph.hpp>
#include <pcipass/host.hpp>

namespace pcipass {

/*
 * Devices are held one by one, so a refreshed snapshot shares every device
 * it did not read again. Groups and host facts are small and are copied.
 */
struct DeviceGraph::Data {
	std::vector<std::shared_ptr<const Device>> devices; /* sorted by address */
	std::vector<IommuGroup> groups;                     /* sorted by number */
	HostFacts host;
};

} /* namespace pcipass */

namespace pcipass::detail {

/* A consumer found through a class directory (sys/class/net, block, drm, vfio-dev). */
struct ClassEntry {
	enum class Kind { net, block, drm, vfio };

	Kind kind = Kind::net;
	std::string name;
};

/* The mountpoint of a block device whose mounts could not be read. */
inline constexpr std::string_view unknown_mountpoint = "[unknown]";

/* Returns how a block device consumer is in use, such as "mounted at /" or "in use as swap". */
std::string block_device_use(const Consumer &consumer);

/* Host files and class directories that the device scan consults. */
struct HostContext {
	HostFacts facts;
	std::set<std::string> default_route_interfaces;
	/* Block device name ("nvme0n1p2") to where it is mounted, or "[swap]". */
	std::map<std::string, std::string> mountpoints;
	/* proc/mounts could not be read or parsed, so any block device may be mounted. */
	bool mounts_unknown = false;
	/* Driver names and proc/fb IDs of the firmware framebuffers ("efifb", "EFI VGA"). */
	std::vector<std::pair<std::string, std::string>> firmware_framebuffers;
	/* Group numbers with a node in dev/vfio. */
	std::set<unsigned> vfio_nodes;
	/* Class entries by the sysfs path of the PCI function they sit beneath. */
	std::unordered_map<std::string, std::vector<ClassEntry>> class_entries;
};

/*
 * Reads the host facts and the consumer sources: proc files, class
 * directories, dev/vfio. A missing file is a normal result, and an
 * unreadable or malformed one becomes a host finding, so this never fails.
 */
HostContext read_host_context(Host &host, const ScanOptions &options);

/* Reads PCI functions from sysfs, one directory at a time. */
class DeviceScanner
{
public:
	DeviceScanner(Host &host, const ScanOptions &options, const HostContext &context,
		      std::vector<Finding> &host_findings);

	/*
	 * Every function: a walk of sys/devices/pciDDDD:BB, then the links
	 * in sys/bus/pci/devices that the walk did not reach. Errors only
	 * when sys/bus/pci/devices cannot be listed.
	 */
	result<std::vector<Device>> scan_all();

	/*
	 * One function at its known sysfs path (from a previous snapshot), or
	 * through its sys/bus/pci/devices link when path is empty. Nothing
	 * when it vanished; that is recorded as a host finding.
	 */
	std::optional<Device> scan_one(PciAddress address, const std::string &path);

private:
	/* A directory sys/devices/pciDDDD:BB with its listing. */
	struct BusRoot {
		std::unique_ptr<Directory> directory;
		std::vector<DirEntry> entries;
	};

	unsigned walk_threads(size_t functions) const;
	void walk_in_parallel(const std::vector<BusRoot> &roots, unsigned threads,
			      std::vector<Device> &devices);
	void scan_tree(Directory &directory, const std::vector<DirEntry> &entries,
		       const std::vector<PciAddress> &parents, std::vector<Device> &devices);
	std::optional<Device> scan_device(Directory &directory, PciAddress address,
					  const std::vector<PciAddress> &parents,
					  std::vector<DirEntry> *children);
	void record_vanished(PciAddress address, const std::string &path, const Error &error);

	/* The identity that the VFs of one PF share, as the kernel records it. */
	struct VfTemplate {
		VendorId vendor;    /* the PF's */
		DeviceId vf_device; /* from sriov_vf_device; zero when absent */
		int numa_node = -1; /* the PF's */
		bool pf_inaccessible = false;
		/* The first VF read in full; its identity stands for the rest. */
		std::optional<Device> vf0;
		/*
		 * VF 0's listing held nothing that only a listing finds (USB
		 * buses, consumers missing from the class directories, reset
		 * without reset_method), so the other VFs are read by name.
		 */
		bool read_by_name = false;
	};

	static void apply_vf_template(const VfTemplate &shared, Device &device);
	const VfTemplate *by_name_template(PciAddress address) const;
	std::optional<Device> scan_vf_by_name(Directory &directory, PciAddress address,
					      const std::vector<PciAddress> &parents,
					      const VfTemplate &shared);
	void list_driver_directories();

	Host &host_;
	const ScanOptions &options_;
	const HostContext &context_;
	std::vector<Finding> &host_findings_;
	/* VF address to PF address, from the virtfnN links of the PFs read so far. */
	std::unordered_map<PciAddress, PciAddress> pf_of_vf_;
	/* By PF address. */
	std::unordered_map<PciAddress, VfTemplate> vf_templates_;
	/* Functions that disappeared while being read; the bus links are not tried for them. */
	std::set<PciAddress> vanished_;
	/* Function to driver, from the driver directories when they were listed. */
	std::unordered_map<PciAddress, std::string> bound_;
	/* Every driver directory was listed, so a function missing from bound_ has no driver. */
	bool drivers_listed_ = false;
};

/* A device of the snapshot being built, by address; nullptr when absent. */
using DeviceLookup = std::function<const Device *(PciAddress)>;

/*
 * Fills in the fields that need other devices. A VF gets its physfn from
 * the virtfn links of its PF. A VF whose config space hides its IDs gets
 * them from the PF's sriov_vf_device, or from its own uevent without one.
 */
void link_sriov(std::vector<Device *> &devices, Host &host, const DeviceLookup &lookup);

/* Vendor and device names from the hardware database, when requested. */
void fill_names(std::vector<Device *> &devices, const ScanOptions &options);

/*
 * The IOMMU groups of devices, with /dev/vfio/N presence. Holders are read
 * for the groups in reread (all of them when it is nullopt) and copied
 * from previous for the rest.
 */
std::vector<IommuGroup> build_groups(const std::vector<std::shared_ptr<const Device>> &devices,
				     Host &host, const ScanOptions &options,
				     const HostContext &context,
				     const std::optional<std::set<unsigned>> &reread,
				     const std::vector<IommuGroup> &previous,
				     std::vector<Finding> &host_findings);

/* A finding from an error of the given attribute at path. */
Finding make_finding(std::string attribute, std::string path, const Error &error);

} /* namespace pcipass::detail */
