/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Error codes, the error value every fallible call returns, and result<T>.
 */

#pragma once

#include <string>
#include <system_error>
#include <type_traits>

#include <boost/outcome/std_result.hpp>
#include <boost/outcome/try.hpp>

namespace pcipass {

/*
 * Error codes of pcipass. The values are part of the C ABI (PCIPASS_E_*):
 * they start at 1, are never renumbered and are only appended to.
 */
enum class errc : int {
	invalid_argument = 1,      /* malformed address, ID, JSON or request */
	not_found = 2,             /* a device, file or driver that must exist does not */
	busy = 3,                  /* the kernel or another user holds the resource */
	timed_out = 4,             /* a write or a wait passed its deadline */
	permission_denied = 5,     /* no right to read or write the file */
	io_error = 6,              /* any other failed system call; see sys_errno */
	escapes_root = 7,          /* a path or link leads outside the host root */
	malformed_attribute = 8,   /* a sysfs file holds content that cannot be parsed */
	iommu_off = 9,             /* the IOMMU is disabled, so there are no groups */
	no_iommu_group = 10,       /* the device has no IOMMU group */
	identity_mismatch = 11,    /* the address holds another vendor:device than expected */
	bridge_requested = 12,     /* a bridge cannot be passed through */
	device_in_use = 13,        /* a consumer or a VFIO user holds the device */
	boot_framebuffer = 14,     /* the boot GPU holds the firmware framebuffer */
	pf_has_vfs = 15,           /* an SR-IOV PF with live VFs */
	owned_by_other = 16,       /* another owner holds a claim on the device */
	driver_missing = 17,       /* the target driver is not loaded and may not be */
	reset_unsupported = 18,    /* the requested reset method is not offered */
	bind_failed = 19,          /* the driver link does not show the target */
	rollback_failed = 20,      /* an undo step failed: the error says where each device is */
	in_doubt = 21,             /* a write never returned; the device state is unknown */
	journal_corrupt = 22,      /* the journal or the ownership records cannot be used; the file was kept */
	lock_failed = 23,          /* the host-wide lock could not be taken */
	state_directory_unsafe = 24, /* the state directory has unsafe owner or mode */
	device_inaccessible = 25,  /* config space reads all ones (D3cold, surprise removal) */
	not_viable = 26,           /* a group member blocks the target driver */
	wrong_node = 27,           /* a claim names another node */
	missing_owner_reference = 28, /* a claim lacks its PCIDevice owner reference */
	unsupported = 29,          /* the operation is not available on this host */
	out_of_memory = 30,
	internal = 31,             /* a bug in pcipass: please report it */
};

/* The "pcipass" error category; its conditions map onto std::errc where one fits. */
const std::error_category &category() noexcept;

std::error_code make_error_code(errc code) noexcept;

/*
 * What failed, where, and what to do next. Every fallible pcipass call
 * returns this through result<T>; it carries its context by value, so it
 * stays meaningful after the call returns and on any thread.
 */
struct Error {
	errc code = errc::internal;
	int sys_errno = 0;     /* the errno captured at the system call, 0 when none */
	std::string device;    /* the BDF the error is about, empty when none */
	std::string path;      /* the file read or written, relative to the host root */
	std::string step;      /* the transaction step, empty outside transactions */
	std::string message;   /* what failed and what to do next, one sentence or two */

	/* The error as one line: message, then device, path, errno and step. */
	std::string describe() const;

	bool operator==(const Error &) const = default;
};

/* Outcome finds the error_code of an Error through this ADL hook. */
std::error_code make_error_code(const Error &error) noexcept;

/* Called by result<T>::value() on failure: throws std::system_error. */
[[noreturn]] void outcome_throw_as_system_error_with_payload(const Error &error);

template<class T>
using result = BOOST_OUTCOME_V2_NAMESPACE::std_result<T, Error>;

/* The success value of result<void>. */
inline auto success() noexcept
{
	return BOOST_OUTCOME_V2_NAMESPACE::success();
}

/* An error with no errno. */
Error make_error(errc code, std::string message, std::string device = {},
		 std::string path = {});

/* An error from a failed system call; sys_errno picks the code (EACCES gives permission_denied). */
Error make_sys_error(int sys_errno, std::string message, std::string device = {},
		     std::string path = {});

/* The errc that a kernel errno means when pcipass has nothing more specific. */
errc errc_from_errno(int sys_errno) noexcept;

/* The stable lower-case name of a code ("not_found"), used in JSON and the C ABI. */
const char *errc_name(errc code) noexcept;

} /* namespace pcipass */

namespace std {
template<>
struct is_error_code_enum<pcipass::errc> : true_type {
};
} /* namespace std */
