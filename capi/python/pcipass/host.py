# SPDX-License-Identifier: Apache-2.0
"""Hosts (the live kernel or a tree beneath a root), the simulated kernel, and graphs."""

import ctypes
import json

from ._call import Handle, call, call_string, document, encode, integer
from ._lib import GraphPointer, HostPointer, lib


class Graph(Handle):
    """The PCI device graph of a host at one moment; immutable."""

    _kind = 'graph'
    _free = staticmethod(lib.pcipass_graph_free)

    def to_json(self):
        """Return the "pcipass.graph/v1" document as text."""
        return call_string(lib.pcipass_graph_to_json, self._get())

    def to_dict(self):
        return json.loads(self.to_json())

    def build_objects(self, request):
        """Build the Kubernetes and libvirt objects around a device of this graph.

        request is a "pcipass.objects-request/v1" dict (address, node,
        uids, and optionally user_name, siblings, pcidevices, kubevirt,
        libvirt). Returns the "pcipass.objects/v1" document as a dict.
        """
        text = call_string(lib.pcipass_objects_build, self._get(),
                           document(request, 'pcipass.objects-request/v1', 'request'))
        return json.loads(text)

    def validate_claim(self, claim, node, pcidevice=None):
        """Check a PCIDeviceClaim (dict or JSON text) offline against this graph.

        Returns the "pcipass.claim-check/v1" report: a claim with problems
        is a report with "valid": false, not an exception.
        """
        text = call_string(lib.pcipass_claim_validate, self._get(),
                           document(claim, None, 'claim'), encode(node, 'node'),
                           document(pcidevice, None, 'pcidevice'))
        return json.loads(text)


class Host(Handle):
    """A machine pcipass reads and writes: the live kernel, a tree, or a SimHost."""

    _kind = 'host'
    _free = staticmethod(lib.pcipass_host_close)

    @classmethod
    def open_live(cls, root='/'):
        """Open the real machine (root "/") or a kernel-shaped tree beneath root.

        Every read stays beneath root. Nothing is written until an Engine
        is opened on the host and asked to.
        """
        handle = HostPointer()
        call(lib.pcipass_host_open_live, encode(root, 'root'), ctypes.byref(handle))
        return cls(handle)

    def scan(self):
        """Read the PCI device graph; reads only."""
        graph = GraphPointer()
        call(lib.pcipass_graph_scan, self._get(), ctypes.byref(graph))
        return Graph(graph)


class SimHost(Host):
    """The simulated kernel: a host that serves a topology from memory.

    Its writes follow the kernel's rules and change only its memory, and
    faults can be injected into them.
    """

    _kind = 'simulated host'

    def __init__(self, topology, *, nul_override_quirk=False, record_log=True):
        """Create the simulator from a "pcipass.topology/v1" document (str or dict)."""
        options = {'schema': 'pcipass.sim-options/v1', 'nul_override_quirk': nul_override_quirk,
                   'record_log': record_log}
        handle = HostPointer()
        call(lib.pcipass_sim_new, document(topology, None, 'topology'),
             document(options, None, 'options'), ctypes.byref(handle))
        super().__init__(handle)

    @classmethod
    def load(cls, path, **options):
        """Create the simulator from a topology file."""
        with open(path, encoding='utf-8') as file:
            return cls(file.read(), **options)

    def inject(self, fault):
        """Arm a fault (a "pcipass.fault/v1" dict) and return its id.

        For example {"match": {"device": "0000:01:00.2", "path":
        "sys/bus/pci/drivers/vfio-pci/bind"}, "errno": "EBUSY"} makes that
        write fail with EBUSY. Changes no kernel state.
        """
        fault_id = ctypes.c_uint32()
        call(lib.pcipass_sim_inject, self._get(), document(fault, 'pcipass.fault/v1', 'fault'),
             ctypes.byref(fault_id))
        return fault_id.value

    def remove_fault(self, fault_id):
        call(lib.pcipass_sim_remove_fault, self._get(), integer(fault_id, 'fault_id', 32, False))

    def release_fault(self, fault_id):
        """Release the writes a block fault holds; callable from another thread."""
        call(lib.pcipass_sim_release_fault, self._get(), integer(fault_id, 'fault_id', 32, False))

    def clear_faults(self):
        call(lib.pcipass_sim_clear_faults, self._get())

    def fault_hits(self, fault_id):
        """Return how many operations the fault has acted on."""
        hits = ctypes.c_uint32()
        call(lib.pcipass_sim_fault_hits, self._get(), integer(fault_id, 'fault_id', 32, False),
             ctypes.byref(hits))
        return hits.value

    def state_json(self):
        """Return the "pcipass.sim-state/v1" text; equal states give equal text."""
        return call_string(lib.pcipass_sim_state, self._get())

    def state(self):
        """Return everything a write can change, as a dict."""
        return json.loads(self.state_json())

    def log(self):
        """Return every operation so far, oldest first, as a list of dicts."""
        return json.loads(call_string(lib.pcipass_sim_log, self._get()))['entries']

    def to_topology(self):
        """Return the current state as "pcipass.topology/v1" text, for SimHost() or a file."""
        return call_string(lib.pcipass_sim_to_topology, self._get())

    def materialize(self, directory):
        """Write the current state as a kernel-shaped tree beneath an empty directory."""
        call(lib.pcipass_sim_materialize, self._get(), encode(directory, 'directory'))

    def open_node(self, path, pid, command):
        """Register process pid as holding path ("dev/vfio/N") open, as QEMU would."""
        call(lib.pcipass_sim_open_node, self._get(), encode(path, 'path'),
             integer(pid, 'pid', 32, True), encode(command, 'command'))

    def close_node(self, path, pid):
        call(lib.pcipass_sim_close_node, self._get(), encode(path, 'path'),
             integer(pid, 'pid', 32, True))

    def unload_module(self, module):
        """Unload a module as rmmod would; its devices are left without a driver."""
        call(lib.pcipass_sim_unload_module, self._get(), encode(module, 'module'))
