# SPDX-License-Identifier: Apache-2.0
"""pcipass: PCI passthrough transactions over sysfs, through the pcipass C ABI.

Importing loads libpcipass.so (from PCIPASS_LIBRARY, a source checkout's
build directory, or the system) and refuses a library of another version.
"""

from . import constants
from ._lib import lib as _library
from .engine import Engine
from .errors import (
    BindFailedError, BootFramebufferError, BridgeRequestedError, BusyError,
    DeviceInaccessibleError, DeviceInUseError, DriverMissingError, EscapesRootError,
    IdentityMismatchError, InDoubtError, InternalError, InvalidArgumentError, IoError,
    IommuOffError, JournalCorruptError, LockFailedError, MalformedAttributeError,
    MissingOwnerReferenceError, NoIommuGroupError, NotFoundError, NotViableError,
    OutOfMemoryError, OwnedByOtherError, PcipassError, PermissionDeniedError,
    PfHasVfsError, ResetUnsupportedError, RollbackFailedError, StateDirectoryUnsafeError,
    TimedOutError, UnsupportedError, WrongNodeError, error_class)
from .host import Graph, Host, SimHost
from .log import set_log_sink
from .objects import claim_from_pcidevice, kubevirt_entries, libvirt_hostdev
from .watch import Watcher


def version():
    """Return the loaded library's (major, minor, patch)."""
    encoded = _library.pcipass_version()
    return (encoded >> 16) & 0xff, (encoded >> 8) & 0xff, encoded & 0xff


def status_name(code):
    """Return the stable lower-case name of a status ("busy"); "unknown" for other values."""
    return _library.pcipass_status_name(code).decode('ascii')


__all__ = [
    'BindFailedError', 'BootFramebufferError', 'BridgeRequestedError', 'BusyError',
    'DeviceInaccessibleError', 'DeviceInUseError', 'DriverMissingError', 'Engine',
    'EscapesRootError', 'Graph', 'Host', 'IdentityMismatchError', 'InDoubtError',
    'InternalError', 'InvalidArgumentError', 'IoError', 'IommuOffError',
    'JournalCorruptError', 'LockFailedError', 'MalformedAttributeError',
    'MissingOwnerReferenceError', 'NoIommuGroupError', 'NotFoundError', 'NotViableError',
    'OutOfMemoryError', 'OwnedByOtherError', 'PcipassError', 'PermissionDeniedError',
    'PfHasVfsError', 'ResetUnsupportedError', 'RollbackFailedError', 'SimHost',
    'StateDirectoryUnsafeError', 'TimedOutError', 'UnsupportedError', 'Watcher',
    'WrongNodeError', 'claim_from_pcidevice', 'constants', 'error_class', 'kubevirt_entries',
    'libvirt_hostdev', 'set_log_sink', 'status_name', 'version',
]
