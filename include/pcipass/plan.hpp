/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Plans: pure functions from a device graph and a request to the group
 * closure, the preflight findings and the ordered steps with their inverses.
 */

#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <pcipass/address.hpp>
#include <pcipass/error.hpp>
#include <pcipass/graph.hpp>

namespace pcipass {

/* The "schema" field of a plan document. */
inline constexpr std::string_view plan_schema = "pcipass.plan/v1";

/* vendor:device of a function, as a claim recorded it or a caller expects it. */
struct DeviceIdentity {
	VendorId vendor;
	DeviceId device;

	/* "10de:1f02" */
	std::string to_string() const;

	/* Parses "10de:1f02". Errors: invalid_argument. */
	static result<DeviceIdentity> parse(std::string_view text) noexcept;

	bool operator==(const DeviceIdentity &) const = default;
};

/* One device named by a request, with the identity the caller expects there. */
struct RequestedDevice {
	PciAddress address;
	/* When set, preflight rejects the request if another device is at the address. */
	std::optional<DeviceIdentity> expected;

	bool operator==(const RequestedDevice &) const = default;
};

/* How long a transaction waits for the kernel. */
struct Deadlines {
	/* One sysfs write, or a module load, to return. */
	std::chrono::milliseconds write{10000};
	/* The driver link to show the bound driver after a bind or probe write. */
	std::chrono::milliseconds bind{10000};
	/* Between two reads of the driver link while waiting. */
	std::chrono::milliseconds poll_interval{5};
	/* The host-wide lock to become free. */
	std::chrono::milliseconds lock{30000};

	bool operator==(const Deadlines &) const = default;
};

struct RequestOptions {
	/* Load the target driver's module when it is missing (libkmod on a live host). */
	bool allow_module_load = false;
	/* Unbind the firmware framebuffer from a boot GPU; undone on rollback and release. */
	bool release_framebuffer = false;
	/* Set sriov_numvfs to 0 on a PF with live VFs; the VFs come back on rollback and release. */
	bool recreate_vfs = false;
	/*
	 * A reset method each requested function must offer ("flr", "bus", ...);
	 * empty: none. NOTE: preflight only checks it; the transaction resets nothing.
	 */
	std::string reset_method;
	/* The module that provides the target driver; empty: the driver name with '-' as '_'. */
	std::string module;
	Deadlines deadlines;

	bool operator==(const RequestOptions &) const = default;
};

/* A caller's request: move these devices, with their groups, to driver for owner. */
struct Request {
	std::vector<RequestedDevice> devices;
	std::string driver = "vfio-pci";
	/* 1 to 512 bytes of UTF-8 without control characters; preflight rejects any other. */
	std::string owner = "pcipass";
	RequestOptions options;

	bool operator==(const Request &) const = default;
};

/* The driver binding of one function: what a transaction records and restores. */
struct DeviceState {
	std::string driver;   /* empty: no driver */
	std::string override; /* driver_override; empty: it reads "(null)" */

	bool operator==(const DeviceState &) const = default;
};

/*
 * The record that an owner holds a device, kept in the transaction state
 * directory from bind to release. device is a PCI address, or "usb:NAME"
 * for a USB device that another tool passed through ("usb:3-1").
 */
struct Ownership {
	std::string device;
	std::string owner;
	std::string driver; /* the driver the device was moved to */
	std::optional<unsigned> group;
	std::optional<DeviceIdentity> identity;
	DeviceState original;                  /* the state before the claim */
	std::optional<unsigned> original_num_vfs; /* a PF whose VFs were removed */
	std::string framebuffer;               /* platform device unbound for this GPU */
	std::string transaction;

	bool operator==(const Ownership &) const = default;
};

/* A desired (device, driver, owner). An empty driver requests the device's original state. */
struct Desired {
	PciAddress device;
	std::string driver = "vfio-pci";
	std::string owner = "pcipass";

	bool operator==(const Desired &) const = default;
};

enum class Operation {
	bind,
	release,
	reconcile,
	recover,
};

/* "bind", "release", "reconcile", "recover" */
std::string_view operation_name(Operation operation);

/* The plan's action for one function of a group. */
enum class MemberAction {
	move,          /* its driver changes */
	keep,          /* already in the requested state: no writes */
	stay_bridge,   /* a bridge: it stays on its driver (pcieport) */
	stay_owner_aware, /* a member not requested on another DMA-owner-aware driver (pci-stub) */
	vanish,        /* a VF that goes away when its PF's sriov_numvfs is set to 0 */
};

/* "move", "keep", "stay_bridge", "stay_owner_aware", "vanish" */
std::string_view member_action_name(MemberAction action);

/* One function of the group closure, before and after the plan. */
struct Member {
	PciAddress address;
	std::optional<unsigned> group;
	DeviceIdentity identity;
	bool requested = false; /* named by the request, not pulled in by its group */
	MemberAction action = MemberAction::keep;
	DeviceState before;
	DeviceState after;
	std::optional<unsigned> num_vfs_before; /* a PF: sriov_numvfs now */
	std::optional<unsigned> num_vfs_after;
	std::string framebuffer; /* platform device this GPU's plan unbinds or binds back */

	bool operator==(const Member &) const = default;
};

/*
 * A preflight result. A blocking finding rejects the whole request before
 * any write; a warning (blocking == false) is reported and the plan goes on.
 */
struct PreflightFinding {
	errc code = errc::internal;
	std::string device;  /* the BDF it is about, empty for the host */
	std::string message; /* what is wrong and how to fix it */
	bool blocking = true;

	bool operator==(const PreflightFinding &) const = default;
};

enum class StepKind {
	load_module,        /* load the target driver's module */
	unbind_framebuffer, /* unbind the firmware framebuffer from its platform driver */
	bind_framebuffer,   /* bind it back */
	set_num_vfs,        /* write sriov_numvfs of a PF */
	set_override,       /* write driver_override ("\n" clears it) */
	unbind,             /* write the address to drivers/<driver>/unbind */
	bind,               /* write the address to drivers/<driver>/bind */
	probe,              /* write the address to drivers_probe: the kernel picks the driver */
};

/* "load_module", "set_override", ... as used in JSON and the journal. */
std::string_view step_kind_name(StepKind kind);

/* Parses a step_kind_name(). Errors: invalid_argument. */
result<StepKind> parse_step_kind(std::string_view name) noexcept;

/*
 * One write to the host: value goes to path (relative to the host root)
 * in one write(2). A load_module step writes nothing. It loads the module
 * named by driver, and path is the driver directory that must appear.
 */
struct Step {
	StepKind kind = StepKind::set_override;
	std::string device; /* BDF, or the platform device for framebuffer steps; empty for modules */
	std::string path;
	std::string value;
	/* bind/unbind: the driver; load_module: the module; framebuffer: the platform driver. */
	std::string driver;

	/* One line for people: "bind 0000:01:00.0 to vfio-pci". */
	std::string describe() const;

	bool operator==(const Step &) const = default;
};

/* A step and the step that undoes it; load_module has no inverse (modules stay loaded). */
struct PlannedStep {
	Step step;
	std::optional<Step> inverse;

	bool operator==(const PlannedStep &) const = default;
};

/*
 * Everything a transaction needs, computed without I/O. members lists
 * every function of every group touched, in address order; steps are
 * ordered as they will be written. claims_added and claims_removed are
 * applied to the ownership records when the transaction commits.
 */
struct Plan {
	Operation operation = Operation::bind;
	std::string driver;
	std::string owner;
	RequestOptions options;
	std::vector<unsigned> groups;
	std::vector<Member> members;
	std::vector<PreflightFinding> findings;
	std::vector<PlannedStep> steps;
	std::vector<Ownership> claims_added;
	std::vector<std::string> claims_removed;

	/* True when a finding blocks the plan. */
	bool blocked() const;

	/*
	 * The first blocking finding as an Error whose message also counts
	 * the others, or success when nothing blocks.
	 */
	result<void> check() const;

	const Member *find(PciAddress address) const;
};

/*
 * Plans moving the requested devices, with every endpoint of their IOMMU
 * groups, to request.driver for request.owner. claims are the ownership
 * records in force. Pure: no I/O and no error, because problems become findings.
 *
 * The closure: every function of each group. Bridges (by header type)
 * stay on their driver. Members not requested that are on another
 * DMA-owner-aware driver (pci-stub, a vfio-pci variant) stay. Members
 * already on the target are kept as they are. Every other endpoint moves,
 * a requested one on pci-stub and a driverless one included, so nothing
 * can probe onto it while a VFIO user has the group open.
 *
 * Blocking findings (errc): iommu_off (with the kernel parameter for the
 * CPU vendor), no_iommu_group, not_found, identity_mismatch (with where
 * the expected device is now), bridge_requested, device_inaccessible,
 * device_in_use (open /dev/vfio/N with its holder, a mounted block device,
 * the default-route interface, a USB device owned by another owner),
 * boot_framebuffer, pf_has_vfs, owned_by_other, driver_missing,
 * reset_unsupported, not_viable. Warnings: a group number that differs
 * from the stored claim.
 */
Plan plan_bind(const DeviceGraph &graph, const Request &request,
	       std::span<const Ownership> claims);

/*
 * Plans returning the requested devices, with the rest of their IOMMU
 * groups, to the state recorded before the claim: a device already there
 * gets no step; a stale override is cleared with "\n". A device without a
 * record returns to "no override" on the driver it has, or, when it is on
 * the VFIO driver, to whatever the kernel probes. Pure.
 *
 * Blocking findings: not_found, owned_by_other, device_in_use (open
 * /dev/vfio/N), driver_missing (the original driver is not loaded),
 * device_inaccessible.
 */
Plan plan_release(const DeviceGraph &graph, const Request &request,
		  std::span<const Ownership> claims);

/*
 * Plans bringing the host to the desired set with the fewest writes: a
 * desired state already in place gives no step. Devices not in the set
 * are left alone. Pure. Findings are those of plan_bind and plan_release,
 * plus invalid_argument for a device desired twice.
 */
Plan plan_reconcile(const DeviceGraph &graph, std::span<const Desired> desired,
		    const RequestOptions &options, std::span<const Ownership> claims);

/* The module that provides a driver: the explicit name, else the driver name with '-' as '_'. */
std::string module_for_driver(std::string_view driver, std::string_view module = {});

/* The plan as a "pcipass.plan/v1" JSON document. */
std::string to_json(const Plan &plan);

/* Ownership records as JSON and back, as the state directory stores them. */
std::string to_json(std::span<const Ownership> claims);

/* Errors: invalid_argument naming the bad field. */
result<std::vector<Ownership>> parse_ownerships(std::string_view json) noexcept;

} /* namespace pcipass */
