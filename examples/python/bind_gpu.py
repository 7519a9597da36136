#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Bind the GPU group of a simulated workstation, print its claims, release it.

Usage: bind_gpu.py TOPOLOGY STATE_DIR (tests/topologies/gpu-workstation.json).
Finds the pcipass package through PYTHONPATH and libpcipass.so through
PCIPASS_LIBRARY, or both where they are installed.
"""

import json
import sys

import pcipass

GPU = '0000:01:00.0'

# The uids come from the API server (kubectl get pcidevice NAME -o
# jsonpath='{.metadata.uid}'); these stand in for them.
UIDS = {'0000:01:00.0': 'uid-gpu', '0000:01:00.1': 'uid-audio',
        '0000:01:00.2': 'uid-usb', '0000:01:00.3': 'uid-ucsi'}


def main():
    if len(sys.argv) != 3:
        print(f'usage: {sys.argv[0]} TOPOLOGY STATE_DIR', file=sys.stderr)
        return 2
    topology, state_dir = sys.argv[1:]

    try:
        with pcipass.SimHost.load(topology) as host, pcipass.Engine(host, state_dir) as engine:
            engine.bind([GPU], owner='vm-42')
            with host.scan() as graph:
                objects = graph.build_objects({'address': GPU, 'node': 'ws1', 'siblings': True,
                                               'user_name': 'vm-42', 'uids': UIDS})
            print(json.dumps(objects))
            engine.release([GPU], owner='vm-42')
    except pcipass.PcipassError as error:
        print(f'{error} ({error.name})', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
