# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the Python package tests: the package from the source tree,
a simulated GPU workstation and an engine on a temporary state directory."""

import pathlib
import sys

import pytest

SOURCE_ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(SOURCE_ROOT / 'capi' / 'python'))

import pcipass  # noqa: E402 - needs the path above

GPU_WORKSTATION = SOURCE_ROOT / 'tests' / 'topologies' / 'gpu-workstation.json'

# The GPU of the workstation and the other functions of its IOMMU group 7.
GPU = '0000:01:00.0'
GPU_GROUP = ['0000:01:00.0', '0000:01:00.1', '0000:01:00.2', '0000:01:00.3']
XHCI = '0000:01:00.2'

# Short deadlines, so that a test that goes wrong fails fast.
FAST = {'deadlines': {'write_ms': 2000, 'bind_ms': 2000, 'lock_ms': 2000}}


@pytest.fixture
def sim():
    with pcipass.SimHost.load(GPU_WORKSTATION) as host:
        yield host


@pytest.fixture
def engine(sim, tmp_path):
    with pcipass.Engine(sim, tmp_path / 'state') as opened:
        yield opened


def device_states(state, addresses):
    """The {address: (driver, driver_override)} of the given devices in a sim state."""
    found = {device['address']: (device['driver'], device['driver_override'])
             for device in state['devices']}
    return {address: found[address] for address in addresses}
