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
 * Handles: pcipass_host and pcipass_graph are opaque. A handle comes from
 * one function (pcipass_host_open_live, pcipass_graph_scan) and goes back to
 * its pair (pcipass_host_close, pcipass_graph_free).
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
 * set to NULL. Everything returned is owned by the caller: strings are
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
 * objects and returned strings are immutable. pcipass_set_log_sink is
 * thread-safe.
 *
 * Callbacks: a callback receives the userdata pointer it was registered
 * with and plain data. It must not call back into pcipass. Go callers pass
 * a runtime/cgo.Handle as userdata.
 *
 * Versions: PCIPASS_VERSION_* describe the header, pcipass_version() the
 * library. A binding refuses to load a library of another major version.
 *
 * Does not support: writing to the host (bind, release, recover,
 * reconcile), watching device events, or the simulated kernel through
 * this interface yet. The C++ API offers them.
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
#define PCIPASS_E_JOURNAL_CORRUPT 22        /* the journal cannot be parsed; it was kept */
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
 * the level per category.
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

#ifdef __cplusplus
}
#endif

#endif /* PCIPASS_H */
