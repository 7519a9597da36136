/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The pcipass error category and the Error value.
 */

#include <pcipass/error.hpp>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "sysfs_parse.hpp"

namespace pcipass {

namespace {

class Category final : public std::error_category
{
public:
	const char *name() const noexcept override
	{
		return "pcipass";
	}

	std::string message(int value) const override
	{
		switch (static_cast<errc>(value)) {
		case errc::invalid_argument: return "invalid argument";
		case errc::not_found: return "not found";
		case errc::busy: return "resource busy";
		case errc::timed_out: return "timed out";
		case errc::permission_denied: return "permission denied";
		case errc::io_error: return "input/output error";
		case errc::escapes_root: return "path escapes the host root";
		case errc::malformed_attribute: return "malformed sysfs attribute";
		case errc::iommu_off: return "IOMMU is off";
		case errc::no_iommu_group: return "device has no IOMMU group";
		case errc::identity_mismatch: return "device identity does not match";
		case errc::bridge_requested: return "bridges cannot be passed through";
		case errc::device_in_use: return "device in use";
		case errc::boot_framebuffer: return "boot GPU holds the framebuffer";
		case errc::pf_has_vfs: return "physical function has live virtual functions";
		case errc::owned_by_other: return "device claimed by another owner";
		case errc::driver_missing: return "target driver missing";
		case errc::reset_unsupported: return "reset method not supported";
		case errc::bind_failed: return "bind failed";
		case errc::rollback_failed: return "rollback failed";
		case errc::in_doubt: return "device state in doubt";
		case errc::journal_corrupt: return "journal corrupt";
		case errc::lock_failed: return "lock failed";
		case errc::state_directory_unsafe: return "state directory unsafe";
		case errc::device_inaccessible: return "device inaccessible";
		case errc::not_viable: return "IOMMU group not viable";
		case errc::wrong_node: return "claim is for another node";
		case errc::missing_owner_reference: return "claim lacks its owner reference";
		case errc::unsupported: return "not supported";
		case errc::out_of_memory: return "out of memory";
		case errc::internal: return "internal error";
		}
		return "unknown pcipass error " + std::to_string(value);
	}

	std::error_condition default_error_condition(int value) const noexcept override
	{
		switch (static_cast<errc>(value)) {
		case errc::invalid_argument:
		case errc::malformed_attribute:
			return std::errc::invalid_argument;
		case errc::not_found:
		case errc::driver_missing:
			return std::errc::no_such_device;
		case errc::busy:
		case errc::device_in_use:
		case errc::owned_by_other:
		case errc::pf_has_vfs:
		case errc::boot_framebuffer:
			return std::errc::device_or_resource_busy;
		case errc::timed_out:
		case errc::in_doubt:
			return std::errc::timed_out;
		case errc::permission_denied:
		case errc::escapes_root:
		case errc::state_directory_unsafe:
			return std::errc::permission_denied;
		case errc::io_error:
			return std::errc::io_error;
		case errc::unsupported:
		case errc::reset_unsupported:
			return std::errc::operation_not_supported;
		case errc::out_of_memory:
			return std::errc::not_enough_memory;
		default:
			return std::error_condition(value, *this);
		}
	}
};

} /* namespace */

const std::error_category &category() noexcept
{
	static const Category instance;
	return instance;
}

std::error_code make_error_code(errc code) noexcept
{
	return {static_cast<int>(code), category()};
}

std::error_code make_error_code(const Error &error) noexcept
{
	return make_error_code(error.code);
}

void outcome_throw_as_system_error_with_payload(const Error &error)
{
	throw std::system_error(make_error_code(error), error.describe());
}

std::string Error::describe() const
{
	std::string line = message.empty() ? category().message(static_cast<int>(code)) : message;

	if (!device.empty())
		line += " [device " + detail::name_in_message(device) + "]";
	if (!path.empty())
		line += " [path " + detail::quote_path(path) + "]";
	if (sys_errno != 0)
		line += std::string(" [errno ") + strerrorname_np(sys_errno) + ": " +
			std::strerror(sys_errno) + "]";
	if (!step.empty())
		line += " [step " + step + "]";

	return line;
}

Error make_error(errc code, std::string message, std::string device, std::string path)
{
	Error error;
	error.code = code;
	error.message = std::move(message);
	error.device = std::move(device);
	error.path = std::move(path);
	return error;
}

Error make_sys_error(int sys_errno, std::string message, std::string device, std::string path)
{
	Error error = make_error(errc_from_errno(sys_errno), std::move(message), std::move(device),
				 std::move(path));
	error.sys_errno = sys_errno;
	return error;
}

errc errc_from_errno(int sys_errno) noexcept
{
	switch (sys_errno) {
	case ENOENT:
	case ENODEV:
	case ENXIO:
		return errc::not_found;
	case EBUSY:
	case EEXIST:
	case EAGAIN:
		return errc::busy;
	case ETIMEDOUT:
		return errc::timed_out;
	case EACCES:
	case EPERM:
	case EROFS:
		return errc::permission_denied;
	case EINVAL:
	case ERANGE:
		return errc::invalid_argument;
	case EXDEV:
	case ELOOP:
		return errc::escapes_root;
	case ENOMEM:
		return errc::out_of_memory;
	case ENOTSUP:
	case ENOTTY:
		return errc::unsupported;
	default:
		return errc::io_error;
	}
}

const char *errc_name(errc code) noexcept
{
	switch (code) {
	case errc::invalid_argument: return "invalid_argument";
	case errc::not_found: return "not_found";
	case errc::busy: return "busy";
	case errc::timed_out: return "timed_out";
	case errc::permission_denied: return "permission_denied";
	case errc::io_error: return "io_error";
	case errc::escapes_root: return "escapes_root";
	case errc::malformed_attribute: return "malformed_attribute";
	case errc::iommu_off: return "iommu_off";
	case errc::no_iommu_group: return "no_iommu_group";
	case errc::identity_mismatch: return "identity_mismatch";
	case errc::bridge_requested: return "bridge_requested";
	case errc::device_in_use: return "device_in_use";
	case errc::boot_framebuffer: return "boot_framebuffer";
	case errc::pf_has_vfs: return "pf_has_vfs";
	case errc::owned_by_other: return "owned_by_other";
	case errc::driver_missing: return "driver_missing";
	case errc::reset_unsupported: return "reset_unsupported";
	case errc::bind_failed: return "bind_failed";
	case errc::rollback_failed: return "rollback_failed";
	case errc::in_doubt: return "in_doubt";
	case errc::journal_corrupt: return "journal_corrupt";
	case errc::lock_failed: return "lock_failed";
	case errc::state_directory_unsafe: return "state_directory_unsafe";
	case errc::device_inaccessible: return "device_inaccessible";
	case errc::not_viable: return "not_viable";
	case errc::wrong_node: return "wrong_node";
	case errc::missing_owner_reference: return "missing_owner_reference";
	case errc::unsupported: return "unsupported";
	case errc::out_of_memory: return "out_of_memory";
	case errc::internal: return "internal";
	}
	return "unknown";
}

} /* namespace pcipass */
