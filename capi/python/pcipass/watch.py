# SPDX-License-Identifier: Apache-2.0
"""Device events from the kernel through a Watcher."""

import ctypes
import json

from ._call import Handle, call, call_string
from ._lib import EVENT_FN, WatcherPointer, lib


def _milliseconds(timeout):
    """Convert a timeout in seconds (None: no limit) to the int32 milliseconds pcipass takes."""
    if timeout is None:
        return -1
    return max(0, min(int(timeout * 1000), 2**31 - 1))


class Watcher(Handle):
    """A subscription to PCI and USB device events (add, remove, bind, unbind, change).

    Events from before the watcher opened are not reported, and a simulated
    kernel sends none. Reads only. Use it from one thread at a time.
    """

    _kind = 'watcher'
    _free = staticmethod(lib.pcipass_watcher_close)

    def __init__(self, *, source='kernel', subsystems=('pci', 'usb'), receive_buffer_size=None):
        options = {'schema': 'pcipass.watch-options/v1', 'source': source,
                   'subsystems': list(subsystems)}
        if receive_buffer_size is not None:
            options['receive_buffer_size'] = receive_buffer_size
        handle = WatcherPointer()
        call(lib.pcipass_watcher_open, json.dumps(options).encode('utf-8'),
             ctypes.byref(handle))
        super().__init__(handle)

    def fileno(self):
        """Return a descriptor that polls readable when an event may wait, for selectors."""
        fd = ctypes.c_int32()
        call(lib.pcipass_watcher_fd, self._get(), ctypes.byref(fd))
        return fd.value

    def next(self, timeout=None):
        """Wait up to timeout seconds (None: no limit) and return the next event dict or None."""
        text = call_string(lib.pcipass_watcher_next, self._get(), _milliseconds(timeout))
        return json.loads(text) if text is not None else None

    def run(self, on_event, timeout=None):
        """Call on_event(event dict) for every event until it returns False or timeout passes."""
        raised = []

        def called(_userdata, event_json):
            try:
                return bool(on_event(json.loads(event_json.decode('utf-8'))))
            except BaseException as exception:  # noqa: B036 - re-raised after the C call
                raised.append(exception)
                return False

        call(lib.pcipass_watcher_run, self._get(), _milliseconds(timeout), EVENT_FN(called),
             None)
        if raised:
            raise raised[0]
