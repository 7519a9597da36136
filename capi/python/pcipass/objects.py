# SPDX-License-Identifier: Apache-2.0
"""Kubernetes and libvirt objects: pure functions that never touch a host."""

import json

from ._call import call_string, document, encode
from ._lib import lib


def claim_from_pcidevice(pcidevice, *, user_name='', controller=False,
                         block_owner_deletion=False):
    """Build the PCIDeviceClaim owned by a PCIDevice (dict or JSON text).

    The PCIDevice must carry metadata.name and metadata.uid as the API
    server returned it; without them MissingOwnerReferenceError is raised
    and no claim exists.
    """
    options = {'schema': 'pcipass.claim-options/v1', 'user_name': user_name,
               'controller': controller, 'block_owner_deletion': block_owner_deletion}
    text = call_string(lib.pcipass_claim_from_pcidevice,
                       document(pcidevice, None, 'pcidevice'), document(options, None, 'options'))
    return json.loads(text)


def kubevirt_entries(pcidevices):
    """Return the KubeVirt hostDevices and pciHostDevices entries for PCIDevice objects."""
    return json.loads(call_string(lib.pcipass_kubevirt_entries,
                                  document(pcidevices, None, 'pcidevices')))


def libvirt_hostdev(address):
    """Return the libvirt <hostdev> element for a PCI address "DDDD:BB:DD.F"."""
    return call_string(lib.pcipass_libvirt_hostdev, encode(address, 'address'))
