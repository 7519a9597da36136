# SPDX-License-Identifier: Apache-2.0
"""Calling a fallible pcipass function and turning its status into an exception."""

import ctypes
import json
import os
import threading

from . import constants
from ._lib import ErrorPointer, lib
from .errors import error_class


def _text(value):
    return value.decode('utf-8', 'replace') if value is not None else ''


def raise_error(status, err):
    """Raise the exception for status, with the details of err (which may be NULL)."""
    name = _text(lib.pcipass_status_name(status))
    if not err:
        raise error_class(status)(f'pcipass call failed: {name}', code=status, name=name)

    try:
        exception = error_class(status)(
            _text(lib.pcipass_error_message(err)),
            code=lib.pcipass_error_code(err),
            name=name,
            errno=lib.pcipass_error_errno(err),
            device=_text(lib.pcipass_error_device(err)),
            path=_text(lib.pcipass_error_path(err)),
            step=_text(lib.pcipass_error_step(err)))
    finally:
        lib.pcipass_error_free(err)
    raise exception


def call(function, *args):
    """Call a pcipass function whose last argument is pcipass_error **err."""
    err = ErrorPointer()
    status = function(*args, ctypes.byref(err))
    if status != constants.OK:
        raise_error(status, err)


def call_string(function, *args):
    """Call a function whose last out-pointer is a char ** string and return it as str."""
    out = ctypes.c_void_p()
    call(function, *args, ctypes.byref(out))
    if not out.value:
        return None
    try:
        return ctypes.string_at(out.value).decode('utf-8')
    finally:
        lib.pcipass_string_free(out)


def encode(text, name):
    """Encode a str or os.PathLike argument as UTF-8 bytes; bytes pass through, None stays NULL.

    pcipass takes NUL-terminated strings, so a NUL inside text would cut it
    short without notice: raise ValueError naming the argument instead.
    """
    if text is None:
        return None
    if isinstance(text, os.PathLike):
        text = os.fspath(text)
    data = text if isinstance(text, bytes) else text.encode('utf-8')
    index = data.find(b'\0')
    if index >= 0:
        raise ValueError(f'{name} contains a NUL byte at index {index}; pcipass strings '
                         'end at the first NUL, so remove it')
    return data


def integer(value, name, bits, signed):
    """Check that value fits the C integer type, which ctypes would silently truncate.

    Raise TypeError for a value that is not an int (bool included) and
    ValueError naming the argument for one out of range.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f'{name} must be an int, not {type(value).__name__}')
    low, high = (-2**(bits - 1), 2**(bits - 1) - 1) if signed else (0, 2**bits - 1)
    if not low <= value <= high:
        raise ValueError(f'{name} is {value}, outside {low}..{high}')
    return value


def document(value, schema, name):
    """Serialize a JSON argument: str and bytes pass through, a dict gets the schema field."""
    if value is None or isinstance(value, (str, bytes)):
        return encode(value, name)
    if isinstance(value, dict) and schema and 'schema' not in value:
        value = {'schema': schema, **value}
    return json.dumps(value).encode('utf-8')


class Handle:
    """An owner of one pcipass handle that frees it exactly once."""

    _kind = 'handle'
    _free = None

    def __init__(self, handle):
        self._handle = handle
        self._close_lock = threading.Lock()

    def _get(self):
        """Return the live handle, or raise InvalidArgumentError once closed."""
        if self._handle is None:
            raise error_class(constants.E_INVALID_ARGUMENT)(
                f'the {self._kind} is closed', code=constants.E_INVALID_ARGUMENT,
                name='invalid_argument')
        return self._handle

    @property
    def closed(self):
        return self._handle is None

    def close(self):
        """Free the handle; later calls, from any thread, do nothing."""
        with self._close_lock:
            handle, self._handle = self._handle, None
        if handle is not None:
            type(self)._free(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __del__(self):
        # During interpreter shutdown the module globals may already be gone.
        if getattr(self, '_handle', None) is not None and lib is not None:
            self.close()
