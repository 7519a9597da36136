# SPDX-License-Identifier: Apache-2.0
"""PcipassError and one subclass per pcipass status code."""

from . import constants


class PcipassError(Exception):
    """A failed pcipass call.

    Attributes: code (a constants.E_* value), name ("busy"), errno (of the
    failed system call, 0 when none), device (PCI address), path (relative
    to the host root), step (the transaction step) and message (what failed
    and what to do next). Strings are empty when they do not apply.
    """

    code = constants.E_INTERNAL

    def __init__(self, message, *, code=None, name='', errno=0, device='', path='', step=''):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.name = name
        self.errno = errno
        self.device = device
        self.path = path
        self.step = step
        self.message = message

    def __str__(self):
        parts = [self.message]
        if self.device:
            parts.append(f'[device {self.device}]')
        if self.path:
            parts.append(f"[path '{self.path}']")
        if self.errno:
            parts.append(f'[errno {self.errno}]')
        if self.step:
            parts.append(f'[step {self.step}]')
        return ' '.join(parts)


class InvalidArgumentError(PcipassError):
    code = constants.E_INVALID_ARGUMENT


class NotFoundError(PcipassError):
    code = constants.E_NOT_FOUND


class BusyError(PcipassError):
    code = constants.E_BUSY


class TimedOutError(PcipassError):
    code = constants.E_TIMED_OUT


class PermissionDeniedError(PcipassError):
    code = constants.E_PERMISSION_DENIED


class IoError(PcipassError):
    code = constants.E_IO_ERROR


class EscapesRootError(PcipassError):
    code = constants.E_ESCAPES_ROOT


class MalformedAttributeError(PcipassError):
    code = constants.E_MALFORMED_ATTRIBUTE


class IommuOffError(PcipassError):
    code = constants.E_IOMMU_OFF


class NoIommuGroupError(PcipassError):
    code = constants.E_NO_IOMMU_GROUP


class IdentityMismatchError(PcipassError):
    code = constants.E_IDENTITY_MISMATCH


class BridgeRequestedError(PcipassError):
    code = constants.E_BRIDGE_REQUESTED


class DeviceInUseError(PcipassError):
    code = constants.E_DEVICE_IN_USE


class BootFramebufferError(PcipassError):
    code = constants.E_BOOT_FRAMEBUFFER


class PfHasVfsError(PcipassError):
    code = constants.E_PF_HAS_VFS


class OwnedByOtherError(PcipassError):
    code = constants.E_OWNED_BY_OTHER


class DriverMissingError(PcipassError):
    code = constants.E_DRIVER_MISSING


class ResetUnsupportedError(PcipassError):
    code = constants.E_RESET_UNSUPPORTED


class BindFailedError(PcipassError):
    code = constants.E_BIND_FAILED


class RollbackFailedError(PcipassError):
    code = constants.E_ROLLBACK_FAILED


class InDoubtError(PcipassError):
    code = constants.E_IN_DOUBT


class JournalCorruptError(PcipassError):
    code = constants.E_JOURNAL_CORRUPT


class LockFailedError(PcipassError):
    code = constants.E_LOCK_FAILED


class StateDirectoryUnsafeError(PcipassError):
    code = constants.E_STATE_DIRECTORY_UNSAFE


class DeviceInaccessibleError(PcipassError):
    code = constants.E_DEVICE_INACCESSIBLE


class NotViableError(PcipassError):
    code = constants.E_NOT_VIABLE


class WrongNodeError(PcipassError):
    code = constants.E_WRONG_NODE


class MissingOwnerReferenceError(PcipassError):
    code = constants.E_MISSING_OWNER_REFERENCE


class UnsupportedError(PcipassError):
    code = constants.E_UNSUPPORTED


class OutOfMemoryError(PcipassError):
    code = constants.E_OUT_OF_MEMORY


class InternalError(PcipassError):
    code = constants.E_INTERNAL


ERROR_CLASSES = {cls.code: cls for cls in PcipassError.__subclasses__()}


def error_class(code):
    """Return the exception class for a status code; PcipassError for unknown codes."""
    return ERROR_CLASSES.get(code, PcipassError)
