# SPDX-License-Identifier: Apache-2.0
"""Transactions: plan, bind, release, recover and reconcile through an Engine."""

import ctypes
import json

from . import constants
from ._call import Handle, call, call_string, encode
from ._lib import STEP_FN, EnginePointer, lib


def request_document(devices, driver=None, owner=None, options=None):
    """Build a "pcipass.request/v1" document.

    devices are PCI addresses ("0000:01:00.0") or dicts {"address",
    "expected": "vvvv:dddd"}; options is the request's options dict.
    """
    if isinstance(devices, str):
        devices = [devices]
    request = {'schema': 'pcipass.request/v1', 'devices': list(devices)}
    if driver is not None:
        request['driver'] = driver
    if owner is not None:
        request['owner'] = owner
    if options is not None:
        request['options'] = options
    return json.dumps(request).encode('utf-8')


class _StepCallback:
    """A C step callback around a Python callable, holding what it raised.

    ctypes cannot let an exception pass through C, so the first one is kept
    and raised once the transaction call returns (the transaction itself
    has run to its end by then).
    """

    def __init__(self, on_step):
        self.on_step = on_step
        self.exception = None
        self.function = STEP_FN(self._called) if on_step else STEP_FN()

    def _called(self, _userdata, step_json):
        if self.exception is not None:
            return
        try:
            self.on_step(json.loads(step_json.decode('utf-8')))
        except BaseException as exception:  # noqa: B036 - re-raised after the C call
            self.exception = exception

    def reraise(self):
        if self.exception is not None:
            raise self.exception


class Engine(Handle):
    """Runs transactions against one host with one state directory.

    The state directory holds the host-wide lock, the journal and the
    ownership records (a str or os.PathLike); None means the configured
    default (/run/pcipass), which a SimHost does not accept: a simulated
    journal there would be recovered on the real host, so pass a temporary
    directory (InvalidArgumentError otherwise).
    The engine keeps its host alive, so the Host may be closed first.
    Thread-safe: calls that change the host are serialized across threads
    and, through flock(2), across processes.

    Transaction methods return the "pcipass.result/v1" document as a dict
    and raise a PcipassError subclass on failure: after a rollback its
    code, errno, device, path and step are those of the failing step.
    on_step, when given, receives each step as a "pcipass.step/v1" dict,
    once as "started" and once with its result. It may read the host but
    must not call this engine.
    """

    _kind = 'engine'
    _free = staticmethod(lib.pcipass_engine_close)

    def __init__(self, host, state_dir=None):
        handle = EnginePointer()
        call(lib.pcipass_engine_open, host._get(),
             encode(state_dir, 'state_dir'),
             ctypes.byref(handle))
        super().__init__(handle)

    def plan(self, operation, devices, *, driver=None, owner=None, options=None):
        """Return the "pcipass.plan/v1" dict that bind or release would run now.

        operation is "bind" or "release". A blocked plan is a dict with
        "blocked": True and its findings. Reads only.
        """
        codes = {'bind': constants.OPERATION_BIND, 'release': constants.OPERATION_RELEASE}
        if operation not in codes:
            raise ValueError(f'operation must be "bind" or "release", not {operation!r}')
        text = call_string(lib.pcipass_engine_plan, self._get(), codes[operation],
                           request_document(devices, driver, owner, options))
        return json.loads(text)

    def _transact(self, function, argument, on_step):
        callback = _StepCallback(on_step)
        text = call_string(function, self._get(), argument, callback.function, None)
        callback.reraise()
        return json.loads(text)

    def bind(self, devices, *, driver=None, owner=None, options=None, on_step=None):
        """Move the devices, with their IOMMU groups, to driver (default vfio-pci) for owner."""
        return self._transact(lib.pcipass_engine_bind,
                              request_document(devices, driver, owner, options), on_step)

    def release(self, devices, *, owner=None, options=None, on_step=None):
        """Return the devices, with their IOMMU groups, to their state before the claim."""
        return self._transact(lib.pcipass_engine_release,
                              request_document(devices, None, owner, options), on_step)

    def recover(self, *, deadlines=None, on_step=None):
        """Finish a transaction that a crash interrupted; "no_change" when there is none."""
        options = None
        if deadlines is not None:
            options = json.dumps({'schema': 'pcipass.recover-options/v1',
                                  'deadlines': deadlines}).encode('utf-8')
        return self._transact(lib.pcipass_engine_recover, options, on_step)

    def reconcile(self, desired, *, options=None, on_step=None):
        """Bring the host to a desired set with the fewest writes.

        desired is a list of {"device", "driver", "owner"}. A driver of
        None requests the device's state before its claim.
        """
        document = {'schema': 'pcipass.desired/v1', 'desired': list(desired)}
        if options is not None:
            document['options'] = options
        return self._transact(lib.pcipass_engine_reconcile,
                              json.dumps(document).encode('utf-8'), on_step)

    def ownerships(self):
        """Return the ownership records in force as a list of dicts."""
        text = call_string(lib.pcipass_engine_ownerships, self._get())
        return json.loads(text)['ownerships']
