/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The simulated kernel: an in-memory Host that serves the PCI sysfs tree of a
 * Topology and answers writes the way Linux does, with fault injection for
 * tests that break it on purpose.
 */

#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <pcipass/address.hpp>
#include <pcipass/error.hpp>
#include <pcipass/host.hpp>
#include <pcipass/testing/topology.hpp>

namespace pcipass::sim {

/*
 * The kernel rules the simulator implements, one per outcome of a write or
 * of a module or VFIO-user operation. Every log entry names the rule that
 * decided it, so a test run on a real kernel can be compared with the
 * simulator rule by rule. rule_info() gives each rule's stable name (such as
 * "bind.already_bound_ebusy"), the errno it returns and what it models.
 * Values are appended, never renumbered.
 */
enum class Rule : uint16_t {
	/* Paths */
	path_not_found,             /* ENOENT: no such file (a driver not loaded, an unbound device's driver link) */
	path_not_writable,          /* EACCES: the attribute has no store method */
	path_is_directory,          /* EISDIR */
	write_empty_ignored,        /* sysfs drops a zero-length write without calling the store method */

	/* drivers/X/bind */
	bind_unknown_address,       /* ENODEV */
	bind_not_matching,          /* ENODEV: no static or dynamic ID of X matches */
	bind_override_other,        /* ENODEV: driver_override names another driver */
	bind_already_bound,         /* EBUSY */
	bind_group_in_use,          /* EBUSY: a driver that is not DMA-owner-aware, into a group a VFIO user holds */
	bind_vf_autoprobe_off,      /* ENODEV: a VF whose PF has sriov_drivers_autoprobe 0 and no override */
	bind_vfio_bridge,           /* EINVAL: VFIO drivers probe only header type 0 */
	bind_vfio_no_group,         /* EINVAL: VFIO drivers need an IOMMU group */
	bind_vfio_pf_has_vfs,       /* EBUSY: a PF with VFs enabled */
	bind_probe_failed,          /* the driver's probe errno (TopologyDriver::probe_errno) */
	bind_probe_deferred,        /* EAGAIN: a probe that returned EPROBE_DEFER */
	bind_attached,

	/* drivers/X/unbind */
	unbind_not_bound,           /* ENODEV: unknown address, or not bound to X */
	unbind_detached,
	unbind_waited_for_vfio_user, /* detached after the VFIO user closed the group; the write blocks until then */

	/* drivers_probe */
	drivers_probe_unknown_address, /* ENODEV */
	drivers_probe_attached,
	drivers_probe_silent,       /* success although nothing attached: already bound, no match, or probe failed */
	drivers_probe_group_in_use, /* EINVAL: the first matching driver cannot take DMA ownership from a VFIO user */

	/* driver_override */
	override_set,
	override_cleared,           /* "\n", or a value starting with NUL on kernels with the fix */
	override_nul_stored_empty,  /* Options::nul_override_quirk: NUL bytes store an empty override matching nothing */
	override_too_long,          /* EINVAL: PAGE_SIZE - 1 bytes or more */

	/* drivers/X/new_id and remove_id */
	new_id_invalid,             /* EINVAL: fewer than two hex fields */
	new_id_exists,              /* EEXIST: X already matches the ID through its static or dynamic table */
	new_id_added,               /* the ID is added and every unbound matching device is bound at once */
	remove_id_invalid,          /* EINVAL */
	remove_id_absent,           /* ENODEV: no such dynamic ID */
	remove_id_removed,          /* the ID is removed; bound devices stay bound */

	/* sriov_numvfs and sriov_drivers_autoprobe */
	numvfs_invalid,             /* EINVAL: not a number */
	numvfs_above_total,         /* ERANGE */
	numvfs_same_value,          /* success without a change */
	numvfs_no_driver,           /* ENOENT: the PF has no driver */
	numvfs_driver_without_sriov, /* ENOENT: the PF's driver cannot configure SR-IOV */
	numvfs_change_busy,         /* EBUSY: N > 0 while M > 0 other VFs exist */
	numvfs_enabled,             /* VFs created: override from a VFIO PF, autoprobe when enabled */
	numvfs_disabled,            /* VFs unbound and removed */
	autoprobe_invalid,          /* EINVAL */
	autoprobe_set,

	/* reset and reset_method */
	reset_invalid,              /* EINVAL: anything but 1 */
	reset_no_method,            /* ENOTTY: every reset method disabled */
	reset_done,
	reset_method_invalid,       /* EINVAL: a name unknown or not supported by the device */
	reset_method_disabled,      /* an empty write disables reset */
	reset_method_default,       /* "default" restores the methods found at enumeration */
	reset_method_set,

	/* remove and bus rescan */
	remove_invalid,             /* EINVAL: not a number */
	remove_ignored,             /* 0 is accepted and does nothing */
	remove_removed,             /* the device (and its VFs and children) leave the bus */
	rescan_invalid,             /* EINVAL */
	rescan_restored,            /* removed devices return, fresh, and are probed */

	/* Modules */
	module_loaded,              /* driver directories appear; unbound matching devices bind */
	module_already_loaded,
	module_unknown,             /* ENOENT: not loaded and not available */
	module_unloaded,            /* devices unbound and left with no driver, overrides intact */
	module_in_use,              /* EBUSY: a VFIO user holds a group with a device bound to it */
	module_not_loaded,          /* ENOENT */

	/* VFIO users (open_node and close_node) */
	node_opened,
	node_missing,               /* ENOENT: the node does not exist */
	node_group_not_viable,      /* EPERM: a group member is on a driver that is not DMA-owner-aware */
	node_closed,
	node_not_held,              /* ENOENT: that process does not hold the node */

	/* Injected faults and crashes */
	fault_failed,               /* the fault's errno */
	fault_reattached,           /* side effect: the host driver came back right after unbind */
	fault_unloaded_module,      /* side effect: a module was unloaded after the write */
	fault_vanished,             /* side effect: the device left the bus after the write */
	fault_probe_attached_nothing, /* bind or drivers_probe reported success without attaching */
	fault_probe_later,          /* bind or drivers_probe returned before the probe, which runs after a delay */
	crash_stopped,              /* ESHUTDOWN: writes after a simulated crash */
};

struct RuleInfo {
	Rule rule;
	std::string_view name;        /* "bind.already_bound_ebusy" */
	int sys_errno;                /* what the write returns; 0 for success, -1 when it varies */
	std::string_view description; /* the kernel behaviour, one sentence */
};

/* Every rule in enum order. Reentrant. */
std::span<const RuleInfo> rule_infos() noexcept;
const RuleInfo &rule_info(Rule rule) noexcept;
std::string_view rule_name(Rule rule) noexcept;
/* Not found is a normal answer: nullopt. */
std::optional<Rule> rule_from_name(std::string_view name) noexcept;

/* What a write or operation does, for log entries and fault matching. */
enum class WriteKind : uint8_t {
	bind,
	unbind,
	new_id,
	remove_id,
	drivers_probe,
	driver_override,
	sriov_numvfs,
	sriov_drivers_autoprobe,
	reset,
	reset_method,
	remove,
	rescan,
	other,         /* a write to a path that does not exist or has no store method */
	load_module,
	unload_module,
	open_node,
	close_node,
};

/* "bind", "sriov_numvfs", ... */
std::string_view write_kind_name(WriteKind kind) noexcept;

using FaultId = unsigned;

/* One operation in the order the simulator decided it. */
struct LogEntry {
	uint64_t sequence = 0;        /* from 1, in decision order */
	WriteKind kind = WriteKind::other;
	std::string path;             /* as given; the module name for module operations */
	std::string value;            /* as written; "PID COMMAND" for open_node and close_node */
	std::optional<PciAddress> device; /* the device the operation was about */
	int sys_errno = 0;            /* what the caller got; 0 for success */
	/*
	 * The rule that decided the state. A fault that failed the operation
	 * before it took effect gives fault_failed; one that failed it after
	 * leaves the kernel rule here and its errno in sys_errno.
	 */
	Rule rule = Rule::path_not_found;
	FaultId fault = 0;            /* the injected fault that acted on it, 0 for none */
	bool side_effect = false;     /* an injected side effect, not a caller's operation */

	bool operator==(const LogEntry &) const = default;
};

/* One line: "#12 write 'sys/.../bind' '0000:01:00.0' -> EBUSY [bind.already_bound_ebusy]". */
std::string to_string(const LogEntry &entry);
std::ostream &operator<<(std::ostream &stream, const LogEntry &entry);

/* Per device, everything a write can change. */
struct DeviceState {
	PciAddress address;
	std::string driver;                          /* empty when unbound */
	std::optional<std::string> driver_override;  /* nullopt reads "(null)"; "" is the NUL quirk */
	std::optional<unsigned> num_vfs;             /* PFs only */
	std::optional<bool> drivers_autoprobe;       /* PFs only */
	std::vector<std::string> reset_methods;      /* enabled, in order */

	bool operator==(const DeviceState &) const = default;
};

/*
 * The whole mutable state, as one value: compare two with == to assert
 * "exactly the state before"; print or diff() them in failure messages.
 */
struct State {
	std::vector<DeviceState> devices;                          /* present devices, by address */
	std::map<std::string, std::vector<testing::IdMatch>> dynamic_ids; /* loaded drivers with any */
	std::vector<std::string> modules;                          /* loaded, sorted */
	std::vector<unsigned> vfio_nodes;                          /* N of each dev/vfio/N, sorted */
	std::map<std::string, std::vector<Holder>> holders;         /* node path -> holders by pid */

	bool operator==(const State &) const = default;
};

/* The state, one device or fact per line. */
std::string to_string(const State &state);
std::ostream &operator<<(std::ostream &stream, const State &state);

/* The lines that differ, "- " for before and "+ " for after; empty when equal. */
std::string diff(const State &before, const State &after);

/* How a fault selects the operations it acts on. Every set field must match. */
struct FaultMatch {
	/*
	 * A glob (fnmatch(3) with FNM_PATHNAME) on the path as the caller
	 * wrote it, or on the module name for module operations; empty matches
	 * any. "sys/bus/pci/drivers/ * /unbind" without the spaces.
	 */
	std::string path;
	/* The device written about: the address written to bind, unbind or drivers_probe, or the attribute's device. */
	std::optional<PciAddress> device;
	std::optional<WriteKind> kind;
	/* The driver of drivers/X/...; empty matches any. */
	std::string driver;
	/* Act only on the Nth matching operation (from 1); 0 acts on every one. */
	unsigned nth = 0;
};

enum class FaultAction : uint8_t {
	fail,                   /* return sys_errno */
	block,                  /* wait until release_fault() or clear_faults() */
	delay,                  /* take the given time */
	reattach_after_unbind,  /* after a successful unbind, bind the device to name (empty: the driver it left) */
	unload_module,          /* after a successful operation, unload the module name */
	vanish,                 /* after a successful operation, the device leaves the bus */
	probe_attaches_nothing, /* bind and drivers_probe succeed without attaching */
	probe_later,            /* bind and drivers_probe return at once; the probe runs after delay */
};

/* Whether fail, block and delay act before the operation takes effect or after it. */
enum class FaultTiming : uint8_t {
	before, /* the operation does not happen (fail), or happens once released (block, delay) */
	after,  /* the operation has happened when the caller sees the error or the wait */
};

struct Fault {
	FaultMatch match;
	FaultAction action = FaultAction::fail;
	FaultTiming timing = FaultTiming::before;
	int sys_errno = 0;                  /* fail: the errno to return, required */
	std::chrono::microseconds delay{0}; /* delay and probe_later */
	std::string name;                   /* reattach_after_unbind: driver; unload_module: module */
};

/*
 * A simulated crash of the caller: after the given number of successful
 * writes, counted from crash_after(), the callback runs on the writing
 * thread without the simulator's lock held. It may throw, and the exception
 * leaves Host::write(), like a process killed after its write. With stop,
 * every later write fails with ESHUTDOWN and changes nothing until resume().
 */
struct CrashPoint {
	unsigned after_writes = 1;
	bool stop = true;
	std::function<void()> callback;
};

struct Options {
	/*
	 * Kernels 5.19 to 6.0 before the stable fix stored an empty override
	 * when driver_override was written with NUL bytes; that override
	 * matches no driver. Off: the fixed behaviour, which clears it.
	 */
	bool nul_override_quirk = false;
	/* Record every operation in log(); off for benchmarks. */
	bool record_log = true;
};

/*
 * The simulated kernel.
 *
 * Reads serve the tree that materialize() writes for the current state:
 * sys/bus/pci/devices/<BDF> links into sys/devices nested under bridges,
 * per-device attributes and links (driver, iommu_group, physfn, virtfnN,
 * vfio-dev), sys/bus/pci/drivers/<X>/{bind,unbind,new_id,remove_id,<BDF>},
 * drivers_probe, rescan, sys/kernel/iommu_groups, sys/class/{iommu,net,
 * block,drm}, sys/bus/usb/devices, consumers under their controller,
 * proc/{modules,cmdline,mounts,net/route,fb,cpuinfo}, proc/PID/{comm,fd}
 * for holders, and dev/vfio.
 *
 * Writes follow the kernel rules listed in Rule; each writes nothing
 * outside the simulator. Errors from Host calls carry the errno in
 * Error::sys_errno, the path, the device, and the deciding rule's name in
 * the message.
 *
 * Concurrency: thread-safe. One mutex guards the state; a write that an
 * injected fault blocks or delays, or an unbind that waits for a VFIO user,
 * waits without holding it, so reads and other writes go on. Operations are
 * decided one at a time in the order they take the lock, and the log shows
 * that order. Destroying the host while another thread is inside a call is
 * undefined: release blocked writes (clear_faults(), close_node()) and join
 * those threads first.
 */
class Host final : public pcipass::Host
{
public:
	/*
	 * A simulator in the state the topology describes. Changes nothing
	 * outside. Errors: invalid_argument from validate_topology() naming the
	 * field, or naming the PF when a VF it could enable would take the
	 * address of another device.
	 */
	static result<std::unique_ptr<Host>> create(const testing::Topology &topology,
						    const Options &options = {});

	~Host() override;

	/* pcipass::Host, see host.hpp; reads never change state. */
	std::string describe() const override;
	result<std::string> read(std::string_view path, size_t max_size = 65536) override;
	result<std::string> read_link(std::string_view path) override;
	result<std::vector<DirEntry>> list(std::string_view path) override;
	/* The Directory reads through this host and must not outlive it. */
	result<std::unique_ptr<Directory>> open_dir(std::string_view path) override;
	result<std::string> resolve(std::string_view path) override;
	bool exists(std::string_view path) override;
	/*
	 * Applies the kernel rule for the file. Changes state. Errors: the rule's
	 * errno (errc from errc_from_errno), or an injected fault's. Blocks
	 * while a block fault holds it, for a delay fault's time, and while a
	 * VFIO user holds the group of a device being unbound from a VFIO
	 * driver. May throw what a CrashPoint callback throws.
	 */
	result<void> write(std::string_view path, std::string_view value) override;
	/*
	 * Loads a module by name ('-' and '_' are the same): its drivers
	 * register and bind every unbound device they match. Changes state.
	 * Loading a loaded module succeeds. Errors: not_found (ENOENT) when it
	 * is neither loaded nor in Topology::available_modules; injected faults.
	 */
	result<void> load_module(std::string_view name) override;
	/* The processes open_node() registered for path; empty when none. */
	result<std::vector<Holder>> holders(std::string_view path) override;
	/* True when path resolves to an attribute with a store method. */
	bool can_write(std::string_view path) override;

	/*
	 * Unloads a module as rmmod would. Its devices are unbound and keep
	 * their driver_override; its driver directories vanish and its dynamic
	 * IDs are lost. It stays available to load_module(). Changes state.
	 * Errors: not_found (ENOENT) when it is not loaded or is built in; busy
	 * (EBUSY) while a VFIO user holds a group with a device bound to one of
	 * its drivers, or any group for vfio, vfio_iommu_type1 and
	 * vfio_pci_core; injected faults.
	 */
	result<void> unload_module(std::string_view name);

	/*
	 * Registers process pid as holding the node at path open, as a VFIO
	 * user (QEMU) opening dev/vfio/N and attaching it to a container, or
	 * opening dev/vfio/vfio. Opening a node twice from one pid is a no-op.
	 * Changes state. Errors: not_found (ENOENT) when the node does not
	 * exist; busy (EBUSY) for dev/vfio/N while a member of group N is on a
	 * driver that is not DMA-owner-aware; invalid_argument for another
	 * path, a pid of 0 or less, or a command that is empty, longer than 15
	 * characters, or contains '/' or a newline.
	 */
	result<void> open_node(std::string_view path, pid_t pid, std::string_view command);

	/*
	 * Removes pid's hold on path, waking writes that wait for it. Changes
	 * state. Errors: not_found (ENOENT) when pid does not hold it.
	 */
	result<void> close_node(std::string_view path, pid_t pid);

	/*
	 * Arms a fault; it acts on matching operations until removed. Changes
	 * no kernel state. Errors: invalid_argument for fail without an errno,
	 * for reattach_after_unbind on another kind than unbind, or for
	 * unload_module without a module name.
	 */
	result<FaultId> inject(const Fault &fault);

	/* Disarms a fault and releases writes it blocks. Errors: not_found. */
	result<void> remove_fault(FaultId id);

	/*
	 * Releases writes a block fault holds and lets later matches pass.
	 * Callable from any thread. Errors: not_found.
	 */
	result<void> release_fault(FaultId id);

	/* Disarms every fault and releases every blocked write. */
	void clear_faults();

	/*
	 * Waits until at least count writes are blocked on the fault, or until
	 * timeout. Returns whether they are. Lets a test act while a write hangs.
	 */
	bool wait_blocked(FaultId id, unsigned count, std::chrono::milliseconds timeout);

	/* How many operations the fault has acted on. */
	unsigned fault_hits(FaultId id) const;

	/* Arms a simulated crash, replacing any earlier one. */
	void crash_after(CrashPoint point);
	/* Whether a crash with stop has happened. */
	bool crashed() const;
	/* Disarms the crash point and accepts writes again; the kernel state is as the crash left it. */
	void resume();

	/* The whole mutable state now. Reads only. */
	State state() const;

	/* Every operation so far, in decision order (empty with Options::record_log off). */
	std::vector<LogEntry> log() const;
	void clear_log();

	/* Successful writes so far. */
	uint64_t write_count() const;

	/*
	 * The current state as a topology: materialize() of it gives this tree,
	 * and create() of it gives an equal state(). Reads only.
	 * NOTE: an override stored empty by the NUL quirk comes back cleared,
	 * disabled reset methods come back as the device's only methods, and
	 * removed devices are left out (a rescan after create() cannot find
	 * them), because the topology format has no field for these.
	 */
	testing::Topology to_topology() const;

	const Options &options() const;

	class Impl;

private:
	explicit Host(std::unique_ptr<Impl> impl);

	std::unique_ptr<Impl> impl_;
};

} /* namespace pcipass::sim */
