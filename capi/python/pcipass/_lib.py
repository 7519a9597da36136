# SPDX-License-Identifier: Apache-2.0
"""Loading libpcipass.so and the prototype of every function it exports."""

import ctypes
import ctypes.util
import os
import pathlib

from . import constants


class Error(ctypes.Structure):
    """The opaque pcipass_error; only pointers to it are used."""


class HostHandle(ctypes.Structure):
    """The opaque pcipass_host."""


class GraphHandle(ctypes.Structure):
    """The opaque pcipass_graph."""


class EngineHandle(ctypes.Structure):
    """The opaque pcipass_engine."""


class WatcherHandle(ctypes.Structure):
    """The opaque pcipass_watcher."""


ErrorPointer = ctypes.POINTER(Error)
HostPointer = ctypes.POINTER(HostHandle)
GraphPointer = ctypes.POINTER(GraphHandle)
EnginePointer = ctypes.POINTER(EngineHandle)
WatcherPointer = ctypes.POINTER(WatcherHandle)

# Strings that pcipass returns are declared as c_void_p, never c_char_p:
# ctypes would convert a c_char_p result to bytes and lose the pointer that
# pcipass_string_free needs.
OutString = ctypes.POINTER(ctypes.c_void_p)
ErrorOut = ctypes.POINTER(ErrorPointer)

LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int32, ctypes.c_int32,
                          ctypes.c_char_p)
STEP_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p)
EVENT_FN = ctypes.CFUNCTYPE(ctypes.c_bool, ctypes.c_void_p, ctypes.c_char_p)

_c_int = ctypes.c_int
_i32 = ctypes.c_int32
_u32 = ctypes.c_uint32
_str = ctypes.c_char_p
_void = ctypes.c_void_p

# name: (restype, argtypes), in the order of pcipass.h.
PROTOTYPES = {
    'pcipass_version': (_u32, []),
    'pcipass_status_name': (_str, [_i32]),
    'pcipass_error_code': (_i32, [ErrorPointer]),
    'pcipass_error_errno': (_i32, [ErrorPointer]),
    'pcipass_error_device': (_str, [ErrorPointer]),
    'pcipass_error_path': (_str, [ErrorPointer]),
    'pcipass_error_step': (_str, [ErrorPointer]),
    'pcipass_error_message': (_str, [ErrorPointer]),
    'pcipass_error_free': (None, [ErrorPointer]),
    'pcipass_string_free': (None, [_void]),
    'pcipass_set_log_sink': (_c_int, [LOG_FN, _void, _i32, ErrorOut]),
    'pcipass_log_category_name': (_str, [_i32]),
    'pcipass_host_open_live': (_c_int, [_str, ctypes.POINTER(HostPointer), ErrorOut]),
    'pcipass_host_close': (None, [HostPointer]),
    'pcipass_graph_scan': (_c_int, [HostPointer, ctypes.POINTER(GraphPointer), ErrorOut]),
    'pcipass_graph_free': (None, [GraphPointer]),
    'pcipass_graph_to_json': (_c_int, [GraphPointer, OutString, ErrorOut]),
    'pcipass_claim_from_pcidevice': (_c_int, [_str, _str, OutString, ErrorOut]),
    'pcipass_objects_build': (_c_int, [GraphPointer, _str, OutString, ErrorOut]),
    'pcipass_kubevirt_entries': (_c_int, [_str, OutString, ErrorOut]),
    'pcipass_libvirt_hostdev': (_c_int, [_str, OutString, ErrorOut]),
    'pcipass_claim_validate': (_c_int, [GraphPointer, _str, _str, _str, OutString, ErrorOut]),
    'pcipass_sim_new': (_c_int, [_str, _str, ctypes.POINTER(HostPointer), ErrorOut]),
    'pcipass_sim_inject': (_c_int, [HostPointer, _str, ctypes.POINTER(_u32), ErrorOut]),
    'pcipass_sim_remove_fault': (_c_int, [HostPointer, _u32, ErrorOut]),
    'pcipass_sim_release_fault': (_c_int, [HostPointer, _u32, ErrorOut]),
    'pcipass_sim_clear_faults': (_c_int, [HostPointer, ErrorOut]),
    'pcipass_sim_fault_hits': (_c_int, [HostPointer, _u32, ctypes.POINTER(_u32), ErrorOut]),
    'pcipass_sim_state': (_c_int, [HostPointer, OutString, ErrorOut]),
    'pcipass_sim_log': (_c_int, [HostPointer, OutString, ErrorOut]),
    'pcipass_sim_to_topology': (_c_int, [HostPointer, OutString, ErrorOut]),
    'pcipass_sim_materialize': (_c_int, [HostPointer, _str, ErrorOut]),
    'pcipass_sim_open_node': (_c_int, [HostPointer, _str, _i32, _str, ErrorOut]),
    'pcipass_sim_close_node': (_c_int, [HostPointer, _str, _i32, ErrorOut]),
    'pcipass_sim_unload_module': (_c_int, [HostPointer, _str, ErrorOut]),
    'pcipass_engine_open': (_c_int, [HostPointer, _str, ctypes.POINTER(EnginePointer),
                                     ErrorOut]),
    'pcipass_engine_close': (None, [EnginePointer]),
    'pcipass_engine_plan': (_c_int, [EnginePointer, _i32, _str, OutString, ErrorOut]),
    'pcipass_engine_bind': (_c_int, [EnginePointer, _str, STEP_FN, _void, OutString, ErrorOut]),
    'pcipass_engine_release': (_c_int, [EnginePointer, _str, STEP_FN, _void, OutString,
                                        ErrorOut]),
    'pcipass_engine_recover': (_c_int, [EnginePointer, _str, STEP_FN, _void, OutString,
                                        ErrorOut]),
    'pcipass_engine_reconcile': (_c_int, [EnginePointer, _str, STEP_FN, _void, OutString,
                                          ErrorOut]),
    'pcipass_engine_ownerships': (_c_int, [EnginePointer, OutString, ErrorOut]),
    'pcipass_watcher_open': (_c_int, [_str, ctypes.POINTER(WatcherPointer), ErrorOut]),
    'pcipass_watcher_close': (None, [WatcherPointer]),
    'pcipass_watcher_fd': (_c_int, [WatcherPointer, ctypes.POINTER(_i32), ErrorOut]),
    'pcipass_watcher_next': (_c_int, [WatcherPointer, _i32, OutString, ErrorOut]),
    'pcipass_watcher_run': (_c_int, [WatcherPointer, _i32, EVENT_FN, _void, ErrorOut]),
}

SONAME = f'libpcipass.so.{constants.VERSION_MAJOR}.{constants.VERSION_MINOR}'


def _candidates():
    """Yield library paths to try, most specific first."""
    explicit = os.environ.get('PCIPASS_LIBRARY')
    if explicit:
        yield explicit
        return

    # A source checkout built with 'meson setup build': capi/python/pcipass
    # is three levels below the repository root.
    root = pathlib.Path(__file__).resolve().parents[3]
    for build in ('build', 'build-test'):
        library = root / build / 'libpcipass.so'
        if library.exists():
            yield str(library)

    found = ctypes.util.find_library('pcipass')
    if found:
        yield found
    yield SONAME


def load():
    """Load libpcipass.so, declare every prototype and check the major version.

    Raises ImportError when no library loads, when a declared function is
    missing or when the library has another major version.
    """
    failures = []
    for candidate in _candidates():
        try:
            library = ctypes.CDLL(candidate)
            break
        except OSError as error:
            failures.append(f'{candidate}: {error}')
    else:
        raise ImportError('cannot load libpcipass: ' + '; '.join(failures) +
                          '; set PCIPASS_LIBRARY to the path of libpcipass.so')

    for name, (restype, argtypes) in PROTOTYPES.items():
        try:
            function = getattr(library, name)
        except AttributeError as error:
            raise ImportError(f'{library._name} lacks {name}: the library is older than '
                              'this package') from error
        function.restype = restype
        function.argtypes = argtypes

    version = library.pcipass_version()
    major = (version >> 16) & 0xff
    minor = (version >> 8) & 0xff
    # Before 1.0 every minor release may break the ABI, which is why the
    # soname carries major.minor; from 1.0 on only the major version counts.
    compatible = major == constants.VERSION_MAJOR and (
        major != 0 or minor == constants.VERSION_MINOR)
    if not compatible:
        raise ImportError(f'{library._name} is pcipass {major}.{minor}, but this package '
                          f'needs {constants.VERSION_MAJOR}.{constants.VERSION_MINOR}')
    return library


lib = load()
