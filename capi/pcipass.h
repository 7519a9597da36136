/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The pcipass C ABI, for C programs and for the Go (cgo) and Python
 * (ctypes) packages.
 */

/*
 * Rules of this interface
 * -----------------------
 *
 * Handles: pcipass_host, pcipass_graph, pcipass_engine and pcipass_watcher
 * are opaque. A handle comes from one function and goes back to its pair:
 * pcipass_host_open_live or pcipass_sim_new and pcipass_host_close,
 * pcipass_graph_scan and pcipass_graph_free, pcipass_engine_open and
 * pcipass_engine_close, pcipass_watcher_open and pcipass_watcher_close.
 * A simulated kernel is a pcipass_host too and works wherever a host does;
 * the pcipass_sim_* functions reject a live host.
 *
 * Status: every fallible function returns an int: PCIPASS_OK (0) or a
 * positive PCIPASS_E_* value. The values are those of the C++ pcipass::errc
 * and never change; new codes are only appended.
 *
 * Errors: the last argument of a fallible function is an optional
 * pcipass_error **err. Pass NULL to ignore the details. Otherwise *err is
 * set to NULL on success and to a new error object on failure, which the
 * caller frees with pcipass_error_free. The object records the code, the
 * errno of the failed system call, the device, the sysfs path, the
 * transaction step and a message that explains what to do next.
 *
 * Results: out-pointers come before err. On failure every out-pointer is
 * set to NULL, an integer output to 0 and a file descriptor to -1. Everything returned is owned by the caller: strings are
 * freed with pcipass_string_free, handles with their pair. The strings an
 * error accessor returns belong to the error and stay valid until
 * pcipass_error_free. Functions that return a static string say so.
 *
 * NULL: every free and close function accepts NULL. A NULL handle, string
 * or out-pointer where one is required gives PCIPASS_E_INVALID_ARGUMENT,
 * never a crash.
 *
 * Strings: UTF-8 and NUL-terminated, in and out.
 *
 * JSON: structured data goes in and out as JSON text. Every pcipass
 * document carries "schema": "pcipass.<kind>/v1", and a reader should
 * reject a major version it does not know. Kubernetes objects
 * (PCIDevice, PCIDeviceClaim) are returned as the API server expects
 * them, so their apiVersion and kind identify them instead. Malformed JSON
 * input gives PCIPASS_E_INVALID_ARGUMENT with the position of the error.
 *
 * Threads: pcipass keeps no global state except the log sink. Every
 * function is reentrant: different threads may call it at the same time
 * with different handles. A handle is used by one thread at a time and may
 * move between threads. A pcipass_graph is immutable, so it is also
 * thread-safe: any number of threads may read one graph at once. Error
 * objects and returned strings are immutable. A pcipass_host, live or
 * simulated, a pcipass_engine and pcipass_set_log_sink are thread-safe.
 * Closing or freeing a handle while another thread uses it is undefined.
 *
 * Callbacks: a callback receives the userdata pointer it was registered
 * with and plain data, on the thread that called the function taking it
 * (the log sink: on whichever thread logs). It must not call back into
 * the handle that invoked it, and it must not throw or longjmp out. Go
 * callers pass a runtime/cgo.Handle as userdata.
 *
 * Versions: PCIPASS_VERSION_* describe the header, pcipass_version() the
 * library. A binding refuses to load a library of another major version.
 *
 * Does not support: the transaction observer's plan and finish events
 * (the plan comes from pcipass_engine_plan, the result from the call
 * itself), the simulator's crash points and rule table, and the graph
 * queries beyond its JSON form. The C++ API offers them.
 */

#ifndef PCIPASS_H
#define PCIPASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Versions */

#define PCIPASS_VERSION_MAJOR 0
#define PCIPASS_VERSION_MINOR 1
#define PCIPASS_VERSION_PATCH 0

/* A version as one comparable number: major in bits 16-23, minor 8-15, patch 0-7. */
#define PCIPASS_MAKE_VERSION(major, minor, patch) \
	((uint32_t)(((major) << 16) | ((minor) << 8) | (patch)))

#define PCIPASS_VERSION \
	PCIPASS_MAKE_VERSION(PCIPASS_VERSION_MAJOR, PCIPASS_VERSION_MINOR, PCIPASS_VERSION_PATCH)

/* The version of the loaded library, as PCIPASS_MAKE_VERSION encodes it. */
uint32_t pcipass_version(void);

/* Status values, equal to pcipass::errc */

#define PCIPASS_OK 0
#define PCIPASS_E_INVALID_ARGUMENT 1        /* malformed address, ID, JSON or request */
#define PCIPASS_E_NOT_FOUND 2               /* a device, file or driver that must exist does not */
#define PCIPASS_E_BUSY 3                    /* the kernel or another user has the resource */
#define PCIPASS_E_TIMED_OUT 4               /* a write or a wait passed its deadline */
#define PCIPASS_E_PERMISSION_DENIED 5       /* no right to read or write the file */
#define PCIPASS_E_IO_ERROR 6                /* any other failed system call; see the errno */
#define PCIPASS_E_ESCAPES_ROOT 7            /* a path or link leads outside the host root */
#define PCIPASS_E_MALFORMED_ATTRIBUTE 8     /* a sysfs file has content that cannot be parsed */
#define PCIPASS_E_IOMMU_OFF 9               /* the IOMMU is disabled, so there are no groups */
#define PCIPASS_E_NO_IOMMU_GROUP 10         /* the device has no IOMMU group */
#define PCIPASS_E_IDENTITY_MISMATCH 11      /* the address has another vendor:device */
#define PCIPASS_E_BRIDGE_REQUESTED 12       /* a bridge cannot be passed through */
#define PCIPASS_E_DEVICE_IN_USE 13          /* a consumer or a VFIO user holds the device */
#define PCIPASS_E_BOOT_FRAMEBUFFER 14       /* the boot GPU holds the firmware framebuffer */
#define PCIPASS_E_PF_HAS_VFS 15             /* an SR-IOV PF with live VFs */
#define PCIPASS_E_OWNED_BY_OTHER 16         /* another owner holds a claim on the device */
#define PCIPASS_E_DRIVER_MISSING 17         /* the target driver is not loaded and may not be */
#define PCIPASS_E_RESET_UNSUPPORTED 18      /* the requested reset method is not offered */
#define PCIPASS_E_BIND_FAILED 19            /* the driver link does not show the target */
#define PCIPASS_E_ROLLBACK_FAILED 20        /* an undo step failed */
#define PCIPASS_E_IN_DOUBT 21               /* a write never returned; the device state is unknown */
#define PCIPASS_E_JOURNAL_CORRUPT 22        /* the journal or the ownership records cannot be used; the file was kept */
#define PCIPASS_E_LOCK_FAILED 23            /* the host-wide lock could not be taken */
#define PCIPASS_E_STATE_DIRECTORY_UNSAFE 24 /* the state directory has unsafe owner or mode */
#define PCIPASS_E_DEVICE_INACCESSIBLE 25    /* config space reads all ones */
#define PCIPASS_E_NOT_VIABLE 26             /* a group member blocks the target driver */
#define PCIPASS_E_WRONG_NODE 27             /* a claim names another node */
#define PCIPASS_E_MISSING_OWNER_REFERENCE 28 /* a claim lacks its PCIDevice owner reference */
#define PCIPASS_E_UNSUPPORTED 29            /* the operation is not available on this host */
#define PCIPASS_E_OUT_OF_MEMORY 30
#define PCIPASS_E_INTERNAL 31               /* a bug in pcipass: please report it */

/*
 * The stable lower-case name of a status ("not_found"), as JSON documents
 * spell it; "ok" for PCIPASS_OK and "unknown" for other values. Static
 * string.
 */
const char *pcipass_status_name(int32_t status);

/* Errors */

typedef struct pcipass_error pcipass_error;

/* The PCIPASS_E_* value; 0 for NULL. */
int32_t pcipass_error_code(const pcipass_error *err);

/* The errno of the failed system call, 0 when none or for NULL. */
int32_t pcipass_error_errno(const pcipass_error *err);

/* The PCI address the error concerns, "" when none; NULL for NULL. */
const char *pcipass_error_device(const pcipass_error *err);

/* The file read or written, relative to the host root, "" when none; NULL for NULL. */
const char *pcipass_error_path(const pcipass_error *err);

/* The transaction step, "" outside transactions; NULL for NULL. */
const char *pcipass_error_step(const pcipass_error *err);

/* What failed and what to do next; NULL for NULL. */
const char *pcipass_error_message(const pcipass_error *err);

void pcipass_error_free(pcipass_error *err);

/* Strings */

/* Frees a string pcipass returned. */
void pcipass_string_free(char *string);

/* Logging: silent until a sink is installed */

#define PCIPASS_LOG_DEBUG 1
#define PCIPASS_LOG_INFO 2
#define PCIPASS_LOG_WARNING 3
#define PCIPASS_LOG_ERROR 4

#define PCIPASS_LOG_CATEGORY_HOST 1
#define PCIPASS_LOG_CATEGORY_GRAPH 2
#define PCIPASS_LOG_CATEGORY_PLAN 3
#define PCIPASS_LOG_CATEGORY_TXN 4
#define PCIPASS_LOG_CATEGORY_CLAIM 5
#define PCIPASS_LOG_CATEGORY_WATCH 6
#define PCIPASS_LOG_CATEGORY_CAPI 7
#define PCIPASS_LOG_CATEGORY_SIM 8

/*
 * Receives one finished log line, on the thread that logs. The message is
 * valid only during the call.
 */
typedef void (*pcipass_log_fn)(void *userdata, int32_t level, int32_t category,
			       const char *message);

/*
 * Installs the process-wide log sink and the lowest level it receives, or
 * removes it when sink is NULL. The environment variable PCIPASS_LOG
 * ("Txn:debug,Graph:info", or a bare level for every category) overrides
 * the level per category. A line that another thread is logging at the
 * same moment may still reach the previous sink after this returns, so
 * keep its userdata valid until such threads are done.
 *
 * Errors: PCIPASS_E_INVALID_ARGUMENT for a level outside
 * PCIPASS_LOG_DEBUG..PCIPASS_LOG_ERROR.
 */
int pcipass_set_log_sink(pcipass_log_fn sink, void *userdata, int32_t level,
			 pcipass_error **err);

/* "Host", "Graph", "Plan", "Txn", "Claim", "Watch", "Capi", "Sim"; NULL for other values. Static string. */
const char *pcipass_log_category_name(int32_t category);

/* Hosts and graphs */

typedef struct pcipass_host pcipass_host;
typedef struct pcipass_graph pcipass_graph;

/*
 * Opens the real machine (root "/" or NULL) or a kernel-shaped tree
 * beneath root. Every later read stays beneath root.
 *
 * Errors: PCIPASS_E_NOT_FOUND or PCIPASS_E_PERMISSION_DENIED when root
 * cannot be opened.
 */
int pcipass_host_open_live(const char *root, pcipass_host **host, pcipass_error **err);

void pcipass_host_close(pcipass_host *host);

/*
 * Reads the PCI device graph of the host: every function, its IOMMU group,
 * driver, links and consumers. Reads only.
 *
 * Errors: PCIPASS_E_NOT_FOUND, PCIPASS_E_PERMISSION_DENIED or
 * PCIPASS_E_ESCAPES_ROOT when sys/bus/pci cannot be read. Content that
 * cannot be parsed on one device becomes a finding on it instead.
 */
int pcipass_graph_scan(pcipass_host *host, pcipass_graph **graph, pcipass_error **err);

void pcipass_graph_free(pcipass_graph *graph);

/*
 * Returns the graph as a "pcipass.graph/v1" document:
 *
 *   {"schema", "host": {iommu_enabled, iommu_units, modules, module_support,
 *    drivers, driver_modules, kernel_cmdline, kernel_release, cpu_vendor,
 *    hypervisor, vfio_container, findings},
 *    "groups": [{number, members, device_node, holders}],
 *    "devices": [{address, vendor, device, subsystem_vendor,
 *    subsystem_device, class, revision, header_type, bridge, driver,
 *    driver_override, iommu_group, numa_node, sysfs_path, parent, parents,
 *    physfn, vfs, sriov, boot_vga, has_reset, reset_methods, vfio_device,
 *    inaccessible, consumers, findings, vendor_name, device_name}]}
 *
 * Addresses are "DDDD:BB:DD.F", IDs four lower-case hex digits, class six.
 * Absent optional values (driver, iommu_group, physfn, sriov, ...) are null.
 * The C++ header pcipass/graph_json.hpp describes the fields.
 */
int pcipass_graph_to_json(const pcipass_graph *graph, char **json, pcipass_error **err);

/* Kubernetes and libvirt objects: pure functions that never touch the host */

/*
 * Builds the PCIDeviceClaim for a PCIDevice given as the API server
 * returned it (metadata.name and metadata.uid set). The claim has exactly
 * one owner reference, to that PCIDevice. options_json may be NULL or
 * {"schema": "pcipass.claim-options/v1", "user_name": "...",
 * "controller": false, "block_owner_deletion": false}.
 *
 * Errors: PCIPASS_E_MISSING_OWNER_REFERENCE when the PCIDevice has no name
 * or uid; PCIPASS_E_INVALID_ARGUMENT for malformed JSON or fields.
 */
int pcipass_claim_from_pcidevice(const char *pcidevice_json, const char *options_json,
				 char **claim_json, pcipass_error **err);

/*
 * Builds the objects around a device of the graph from a
 * "pcipass.objects-request/v1" document:
 *
 *   {"schema", "address": "0000:01:00.0", "node": "node1",
 *    "uids": {"0000:01:00.0": "<PCIDevice metadata.uid>", ...},
 *    "user_name", "controller", "block_owner_deletion",
 *    "siblings", "pcidevices", "kubevirt", "libvirt"}
 *
 * address, node and uids are required, the rest optional (false or "").
 * With siblings every endpoint of the IOMMU group gets a claim, and uids
 * must hold each endpoint. The result is a "pcipass.objects/v1" document:
 * {"schema", "claims": [...]} plus "pcidevices", "hostDevices" and
 * "pciHostDevices" (KubeVirt entries) and "libvirt" (XML strings) when the
 * request includes them.
 *
 * Errors: PCIPASS_E_INVALID_ARGUMENT for a malformed request;
 * PCIPASS_E_NOT_FOUND for an unknown address; PCIPASS_E_BRIDGE_REQUESTED;
 * PCIPASS_E_MISSING_OWNER_REFERENCE when a uid is missing.
 */
int pcipass_objects_build(const pcipass_graph *graph, const char *request_json,
			  char **objects_json, pcipass_error **err);

/*
 * Builds the KubeVirt entries for PCIDevice objects, given as a JSON array
 * or a Kubernetes List: {"schema": "pcipass.kubevirt/v1", "hostDevices":
 * [{name, deviceName}], "pciHostDevices": [{pciVendorSelector,
 * resourceName, externalResourceProvider}]}.
 *
 * Errors: PCIPASS_E_INVALID_ARGUMENT for malformed JSON or objects.
 */
int pcipass_kubevirt_entries(const char *pcidevices_json, char **entries_json,
			     pcipass_error **err);

/*
 * Builds a libvirt <hostdev mode='subsystem' type='pci' managed='no'>
 * element for the PCI address "DDDD:BB:DD.F".
 *
 * Errors: PCIPASS_E_INVALID_ARGUMENT for a malformed address.
 */
int pcipass_libvirt_hostdev(const char *address, char **xml, pcipass_error **err);

/*
 * Checks a PCIDeviceClaim offline against the graph of this node. The
 * owner reference must be present, first and of kind PCIDevice, and
 * spec.nodeName must equal node. The device must be present with the
 * expected identity, in a non-empty IOMMU group, with no USB device in use
 * behind the group. pcidevice_json (may be NULL) is the owning PCIDevice,
 * which adds its uid and vendor:device to the checks. The result is a "pcipass.claim-check/v1" document:
 * {"schema", "valid", "problems": [{reason, code, message, device, fix}]},
 * where fix is the exact owner reference entry to add. A claim with
 * problems still returns PCIPASS_OK: the problems are in the document.
 *
 * Errors: PCIPASS_E_INVALID_ARGUMENT when an input is NULL or not JSON,
 * or pcidevice_json is not a PCIDevice.
 */
int pcipass_claim_validate(const pcipass_graph *graph, const char *claim_json, const char *node,
			   const char *pcidevice_json, char **report_json, pcipass_error **err);

/* The simulated kernel: a pcipass_host that serves a topology from memory */

/*
 * Creates a simulated kernel in the state a "pcipass.topology/v1" document
 * describes (docs/topology.md; tests/topologies/ holds examples). The
 * returned host works wherever a host does: pcipass_graph_scan,
 * pcipass_engine_open. Its writes follow the kernel's rules and change
 * only its memory. options_json may be NULL or
 * {"schema": "pcipass.sim-options/v1", "nul_override_quirk": false,
 * "record_log": true}; unknown fields are rejected.
 *
 * Errors: PCIPASS_E_INVALID_ARGUMENT for malformed JSON or an inconsistent
 * topology (the message names the JSON pointer of the bad field).
 */
int pcipass_sim_new(const char *topology_json, const char *options_json, pcipass_host **host,
		    pcipass_error **err);

/*
 * Arms a fault that acts on every matching operation until removed, and
 * returns its id (from 1) in *fault_id. fault_json is a
 * "pcipass.fault/v1" document:
 *
 *   {"schema", "match": {"path": "sys/bus/pci/drivers/vfio-pci/bind",
 *    "device": "0000:01:00.2",
 *    "kind": "bind", "driver": "vfio-pci", "nth": 0},
 *    "action": "fail", "timing": "before", "errno": 16 or "EBUSY",
 *    "delay_us": 0, "name": ""}
 *
 * Every match field is optional and a set field must match. path is an
 * fnmatch(3) glob with FNM_PATHNAME on the path as written, or on the
 * module name for module operations. nth acts only on the Nth matching
 * operation, 0 on every one.
 * kind is a write kind: bind, unbind, new_id, remove_id, drivers_probe,
 * driver_override, sriov_numvfs, sriov_drivers_autoprobe, reset,
 * reset_method, remove, rescan, other, load_module, unload_module,
 * open_node or close_node. action is fail (return errno, required),
 * block (wait until pcipass_sim_release_fault), delay (delay_us),
 * reattach_after_unbind (bind the device to name, empty: the driver it
 * left), unload_module (unload module name after the operation), vanish
 * (the device leaves the bus), probe_attaches_nothing, or probe_later (a
 * bind or drivers_probe returns at once and the probe runs delay_us
 * later). timing is before (the operation does not happen) or after (it
 * has happened when the error arrives). Unknown fields are rejected.
 * Changes no kernel state.
 *
 * Errors: PCIPASS_E_INVALID_ARGUMENT for a live host, malformed JSON, an
 * unknown name, fail without errno, reattach_after_unbind on another kind
 * than unbind, or unload_module without a module name.
 */
int pcipass_sim_inject(pcipass_host *host, const char *fault_json, uint32_t *fault_id,
		       pcipass_error **err);

/*
 * Disarms a fault and releases the writes it blocks.
 *
 * Errors: PCIPASS_E_INVALID_ARGUMENT for a live host; PCIPASS_E_NOT_FOUND
 * for an unknown id.
 */
int pcipass_sim_remove_fault(pcipass_host *host, uint32_t fault_id, pcipass_error **err);

/*
 * Releases the writes a block fault holds and lets later matches pass.
 * Another thread calls it while a write waits.
 *
 * Errors: PCIPASS_E_INVALID_ARGUMENT for a live host; PCIPASS_E_NOT_FOUND
 * for an unknown id.
 */
int pcipass_sim_release_fault(pcipass_host *host, uint32_t fault_id, pcipass_error **err);

/*
 * Disarms every fault and releases every blocked write.
 *
 * Errors: PCIPASS_E_INVALID_ARGUMENT for a live host.
 */
int pcipass_sim_clear_faults(pcipass_host *host, pcipass_error **err);

/*
 * Stores in *hits how many operations the fault has acted on (0 for an
 * unknown id).
 *
 * Errors: PCIPASS_E_INVALID_ARGUMENT for a live host.
 */
int pcipass_sim_fault_hits(pcipass_host *host, uint32_t fault_id, uint32_t *hits,
			   pcipass_error **err);

/*
 * Returns everything a write can change as a "pcipass.sim-state/v1"
 * document:
 *
 *   {"schema", "devices": [{address, driver, driver_override, num_vfs,
 *    drivers_autoprobe, reset_methods}], "dynamic_ids": {"DRIVER":
 *    ["vvvv:dddd"]}, "modules": [...], "vfio_nodes": [N...],
 *    "holders": {"dev/vfio/N": [{pid, command}]}}
 *
 * driver and driver_override are null when unset; num_vfs and
 * drivers_autoprobe are null except on SR-IOV PFs. Devices are sorted by
 * address, and two equal states give byte-identical documents, so
 * comparing the strings compares the states. Reads only.
 *
 * Errors: PCIPASS_E_INVALID_ARGUMENT for a live host.
 */
int pcipass_sim_state(pcipass_host *host, char **state_json, pcipass_error **err);

/*
 * Returns every operation so far, in the order the simulator decided them,
 * as a "pcipass.sim-log/v1" document: {"schema", "entries": [{sequence,
 * kind, path, value, device, errno, errno_name, rule, fault,
 * side_effect}]}. rule names the kernel rule that decided the operation
 * ("bind.already_bound_ebusy"); fault is the id of the fault that acted on
 * it, 0 for none. Empty when the host was created with record_log false.
 * Reads only.
 *
 * Errors: PCIPASS_E_INVALID_ARGUMENT for a live host.
 */
int pcipass_sim_log(pcipass_host *host, char **log_json, pcipass_error **err);

/*
 * Returns the current state as a "pcipass.topology/v1" document:
 * pcipass_sim_new of it gives an equal state. Reads only.
 * NOTE: an override stored empty by the NUL quirk comes back cleared, and
 * disabled reset methods come back as the device's only methods, because
 * the topology format has no field for either.
 *
 * Errors: PCIPASS_E_INVALID_ARGUMENT for a live host.
 */
int pcipass_sim_to_topology(pcipass_host *host, char **topology_json, pcipass_error **err);

/*
 * Writes the current state as a kernel-shaped tree beneath dir (empty or
 * absent), which pcipass_host_open_live can then read. Writes only beneath
 * dir, never to the simulated kernel.
 *
 * Errors: PCIPASS_E_INVALID_ARGUMENT for a live host or a non-empty dir;
 * PCIPASS_E_IO_ERROR or PCIPASS_E_PERMISSION_DENIED with the errno when a
 * file cannot be written.
 */
int pcipass_sim_materialize(pcipass_host *host, const char *dir, pcipass_error **err);

/*
 * Registers process pid (named command) as holding the node at path open,
 * as QEMU holds "dev/vfio/N". Changes the simulated state.
 *
 * Errors: PCIPASS_E_INVALID_ARGUMENT for a live host or a bad path;
 * PCIPASS_E_NOT_FOUND when the node does not exist; PCIPASS_E_BUSY for
 * dev/vfio/N while a member of group N is on a driver that is not
 * DMA-owner-aware.
 */
int pcipass_sim_open_node(pcipass_host *host, const char *path, int32_t pid, const char *command,
			  pcipass_error **err);

/*
 * Removes pid's hold on path, waking writes that wait for it. Changes the
 * simulated state.
 *
 * Errors: PCIPASS_E_INVALID_ARGUMENT for a live host; PCIPASS_E_NOT_FOUND
 * when pid does not hold path.
 */
int pcipass_sim_close_node(pcipass_host *host, const char *path, int32_t pid,
			   pcipass_error **err);

/*
 * Unloads a module as rmmod would: its devices are unbound and keep their
 * driver_override. Changes the simulated state.
 *
 * Errors: PCIPASS_E_INVALID_ARGUMENT for a live host; PCIPASS_E_NOT_FOUND
 * when the module is not loaded or is built in; PCIPASS_E_BUSY while a
 * VFIO user holds a group with a device bound to one of its drivers.
 */
int pcipass_sim_unload_module(pcipass_host *host, const char *module, pcipass_error **err);

/* Transactions: moving devices between drivers */

/*
 * A transaction engine runs plans against one host with one state
 * directory, which holds the host-wide lock, the journal and the ownership
 * records. It keeps its host alive: closing the host first is allowed.
 */
typedef struct pcipass_engine pcipass_engine;

/*
 * Receives each step of a transaction as it runs: once as "started", once
 * with its result. step_json is a "pcipass.step/v1" document valid only
 * during the call:
 *
 *   {"schema", "seq", "undo", "status": "started" | "done" | "skipped" |
 *    "failed" | "in_doubt", "step": {kind, device, path, value, driver,
 *    description}, "error": null | {code, errno, device, path, step,
 *    message}}
 *
 * undo is true for the steps of a rollback or a recovery. The callback
 * may read the host (pcipass_graph_scan, pcipass_sim_state) but must not
 * call into the same engine.
 */
typedef void (*pcipass_step_fn)(void *userdata, const char *step_json);

/*
 * Opens an engine on host with its state directory: state_dir, or the
 * configured default (/run/pcipass) when NULL or empty. A simulated host
 * needs an explicit state_dir, because a journal it leaves in the default
 * would be recovered on the real host. Creates the directory with mode
 * 0700 when missing; writes nothing to the host.
 *
 * Errors: PCIPASS_E_INVALID_ARGUMENT when host is simulated and state_dir
 * is NULL or empty; PCIPASS_E_STATE_DIRECTORY_UNSAFE when another user owns it, it
 * is group- or world-writable or a symlink; PCIPASS_E_PERMISSION_DENIED
 * or PCIPASS_E_IO_ERROR when it cannot be created.
 * Thread safety: the engine is thread-safe. Calls that change the host are
 * serialized across threads and, through flock(2) on STATE_DIR/lock,
 * across processes.
 */
int pcipass_engine_open(pcipass_host *host, const char *state_dir, pcipass_engine **engine,
			pcipass_error **err);

/*
 * NOTE: a write that passed its deadline keeps running on a worker thread
 * and still uses the host. When such writes remain, closing the engine
 * keeps its host alive for good (a deliberate leak) instead of freeing it
 * under them.
 */
void pcipass_engine_close(pcipass_engine *engine);

#define PCIPASS_OPERATION_BIND 1
#define PCIPASS_OPERATION_RELEASE 2

/*
 * A request is a "pcipass.request/v1" document:
 *
 *   {"schema", "devices": ["0000:01:00.0" | {"address", "expected":
 *    "vvvv:dddd"}], "driver": "vfio-pci", "owner": "pcipass",
 *    "options": {"allow_module_load": false, "release_framebuffer": false,
 *    "recreate_vfs": false, "reset_method": "", "module": "",
 *    "deadlines": {"write_ms": 10000, "bind_ms": 10000,
 *    "poll_interval_ms": 5, "lock_ms": 30000}}}
 *
 * devices is required and not empty; the rest is optional with the
 * defaults shown. With "expected", the request is rejected when the
 * address holds another device. Unknown fields are rejected.
 */

/*
 * Returns the "pcipass.plan/v1" document that pcipass_engine_bind
 * (operation PCIPASS_OPERATION_BIND) or pcipass_engine_release
 * (PCIPASS_OPERATION_RELEASE) would run now: {"schema", "operation",
 * "driver", "owner", "blocked", "groups", "members", "findings", "steps",
 * "claims_added", "claims_removed"}. A blocked plan is a document with
 * "blocked": true and its findings, not an error. Reads the host and the
 * ownership records only; takes no lock.
 *
 * Errors: PCIPASS_E_INVALID_ARGUMENT for another operation or a malformed
 * request; the errors of pcipass_graph_scan; PCIPASS_E_JOURNAL_CORRUPT
 * when the ownership records cannot be read.
 */
int pcipass_engine_plan(pcipass_engine *engine, int32_t operation, const char *request_json,
			char **plan_json, pcipass_error **err);

/*
 * Moves the requested devices, with every endpoint of their IOMMU groups,
 * to the request's driver for its owner, as one transaction: every write
 * is journaled, verified, and undone when a later one fails. on_step (may
 * be NULL) receives each step. On success *result_json is a
 * "pcipass.result/v1" document: {"schema", "operation", "transaction",
 * "outcome": "committed" | "no_change", "driver", "owner", "writes",
 * "groups", "findings", "steps", "devices": [{device, before, after,
 * in_doubt}], "error": null}. Writes to the host.
 *
 * Errors before any write: PCIPASS_E_INVALID_ARGUMENT for a malformed
 * request; a blocking preflight code (PCIPASS_E_NOT_VIABLE,
 * PCIPASS_E_DEVICE_IN_USE, PCIPASS_E_OWNED_BY_OTHER,
 * PCIPASS_E_DRIVER_MISSING, ...); PCIPASS_E_LOCK_FAILED;
 * PCIPASS_E_JOURNAL_CORRUPT, also for unusable ownership records.
 * Those records stay in place, and every request fails until they are
 * repaired or removed. PCIPASS_E_IN_DOUBT when an unfinished transaction
 * waits for pcipass_engine_recover. PCIPASS_E_ESCAPES_ROOT when a file a
 * step writes, or a directory above it, is a link out of the host root.
 * PCIPASS_E_PERMISSION_DENIED without the right to write that file.
 * Errors after a complete rollback: the failing step's code with its
 * errno, device, path and step. A failed bind write gives
 * PCIPASS_E_BIND_FAILED, a failed unbind or override write the code of
 * its errno. Other errors: PCIPASS_E_TIMED_OUT when a write passed its
 * deadline; PCIPASS_E_ROLLBACK_FAILED when an undo failed too.
 */
int pcipass_engine_bind(pcipass_engine *engine, const char *request_json,
			pcipass_step_fn on_step, void *userdata, char **result_json,
			pcipass_error **err);

/*
 * Returns the requested devices, with the rest of their IOMMU groups, to
 * the state recorded before the claim, as one transaction. Arguments,
 * result and errors as pcipass_engine_bind. Writes to the host.
 */
int pcipass_engine_release(pcipass_engine *engine, const char *request_json,
			   pcipass_step_fn on_step, void *userdata, char **result_json,
			   pcipass_error **err);

/*
 * Finishes the transaction the journal holds when a crash interrupted it:
 * rolls it forward when it reached its commit, otherwise returns every
 * device it touched to its recorded state. With a clean journal the
 * outcome is "no_change" and nothing is written. options_json may be NULL
 * or {"schema": "pcipass.recover-options/v1", "deadlines": {...}} with the
 * deadlines of a request. Writes to the host.
 *
 * Errors: PCIPASS_E_INVALID_ARGUMENT for malformed options;
 * PCIPASS_E_JOURNAL_CORRUPT (the journal is renamed aside and kept);
 * PCIPASS_E_LOCK_FAILED; PCIPASS_E_IN_DOUBT while a write of that
 * transaction may still be blocked; PCIPASS_E_ROLLBACK_FAILED.
 */
int pcipass_engine_recover(pcipass_engine *engine, const char *options_json,
			   pcipass_step_fn on_step, void *userdata, char **result_json,
			   pcipass_error **err);

/*
 * Brings the host to a desired set with the fewest writes, after
 * recovering an unfinished transaction. desired_json is a
 * "pcipass.desired/v1" document: {"schema", "desired": [{"device":
 * "0000:01:00.0", "driver": "vfio-pci", "owner": "pcipass"}],
 * "options": {...}} with the options of a request. A null driver requests
 * the device's state before its claim. Devices not listed are left alone,
 * and a state that already holds writes nothing. Unknown fields are
 * rejected. Result as pcipass_engine_bind. Writes to the host.
 *
 * Errors: as pcipass_engine_bind, plus PCIPASS_E_INVALID_ARGUMENT for a
 * device listed twice.
 */
int pcipass_engine_reconcile(pcipass_engine *engine, const char *desired_json,
			     pcipass_step_fn on_step, void *userdata, char **result_json,
			     pcipass_error **err);

/*
 * Returns the ownership records in force as a "pcipass.ownerships/v1"
 * document: {"schema", "ownerships": [{device, owner, driver, group,
 * identity, original: {driver, override}, original_num_vfs, framebuffer,
 * transaction}]}. Reads only.
 *
 * Errors: PCIPASS_E_JOURNAL_CORRUPT when the records cannot be read; the
 * file stays in place.
 */
int pcipass_engine_ownerships(pcipass_engine *engine, char **ownerships_json,
			      pcipass_error **err);

/* Device events */

/*
 * A subscription to the kernel's PCI and USB device events (add, remove,
 * bind, unbind, change) through libudev. Events from before the open are
 * not reported. A simulated kernel sends none. Reads only.
 */
typedef struct pcipass_watcher pcipass_watcher;

/*
 * Receives one event, a "pcipass.event/v1" document valid only during the
 * call: {"schema", "action", "subsystem", "sysname", "address" (PCI
 * only), "devtype", "driver", "devpath", "seqnum"}. Returns true to go on
 * waiting, false to stop.
 */
typedef bool (*pcipass_event_fn)(void *userdata, const char *event_json);

/*
 * Opens the event socket. options_json may be NULL or
 * {"schema": "pcipass.watch-options/v1", "source": "kernel" | "udev",
 * "subsystems": ["pci", "usb"], "receive_buffer_size": 4194304}; unknown
 * fields are rejected. "kernel" receives the raw uevents with no daemon
 * needed; "udev" receives them after systemd-udevd ran its rules.
 *
 * Errors: PCIPASS_E_INVALID_ARGUMENT for malformed options;
 * PCIPASS_E_IO_ERROR or PCIPASS_E_PERMISSION_DENIED with the errno of the
 * failed libudev call.
 */
int pcipass_watcher_open(const char *options_json, pcipass_watcher **watcher,
			 pcipass_error **err);

void pcipass_watcher_close(pcipass_watcher *watcher);

/*
 * Stores in *fd a descriptor that polls readable when an event may be
 * waiting, for callers with their own event loop. When it does, call
 * pcipass_watcher_next with timeout 0. The watcher keeps owning it.
 *
 * Errors: PCIPASS_E_INVALID_ARGUMENT for NULL arguments.
 */
int pcipass_watcher_fd(pcipass_watcher *watcher, int32_t *fd, pcipass_error **err);

/*
 * Waits up to timeout_ms milliseconds (0: do not wait, negative: no limit)
 * for the next event and returns it. When the time passes first, returns
 * PCIPASS_OK with *event_json NULL.
 *
 * Errors: PCIPASS_E_IO_ERROR with ENOBUFS when the kernel dropped events
 * because the buffer was full (the watcher stays usable, so rescan the
 * devices and go on), or with the errno of another failure.
 */
int pcipass_watcher_next(pcipass_watcher *watcher, int32_t timeout_ms, char **event_json,
			 pcipass_error **err);

/*
 * Calls on_event for every event until it returns false or timeout_ms
 * passes (negative: no limit).
 *
 * Errors: as pcipass_watcher_next.
 */
int pcipass_watcher_run(pcipass_watcher *watcher, int32_t timeout_ms, pcipass_event_fn on_event,
			void *userdata, pcipass_error **err);

#ifdef __cplusplus
}
#endif

#endif /* PCIPASS_H */
