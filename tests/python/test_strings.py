# SPDX-License-Identifier: Apache-2.0
"""String arguments with an embedded NUL, which C would cut short."""

import pytest

import pcipass

from conftest import GPU, device_states


def test_nul_in_address_rejected():
    with pytest.raises(ValueError) as raised:
        pcipass.libvirt_hostdev('0000:01:00.1\0ignored')
    assert str(raised.value) == ('address contains a NUL byte at index 12; pcipass strings end '
                                 'at the first NUL, so remove it')


def test_nul_in_bytes_rejected():
    with pytest.raises(ValueError) as raised:
        pcipass.libvirt_hostdev(b'0000:01:00.1\0')
    assert str(raised.value).startswith('address contains a NUL byte at index 12;')
    assert 'function=\'0x1\'' in pcipass.libvirt_hostdev(b'0000:01:00.1')


def test_nul_in_paths_and_json_rejected(sim, tmp_path):
    before = sim.state()
    with pytest.raises(ValueError, match=r'^state_dir contains a NUL byte at index'):
        pcipass.Engine(sim, str(tmp_path / 'state') + '\0/elsewhere')
    assert not (tmp_path / 'state').exists()

    with pytest.raises(ValueError, match=r'^root contains a NUL byte at index 1;'):
        pcipass.Host.open_live('/\0tmp')

    with pytest.raises(ValueError, match=r'^topology contains a NUL byte at index 1;'):
        pcipass.SimHost('{\0')

    with pytest.raises(ValueError, match=r'^directory contains a NUL byte'):
        sim.materialize(str(tmp_path / 'tree') + '\0x')
    assert not (tmp_path / 'tree').exists()

    with pytest.raises(ValueError, match=r'^path contains a NUL byte at index 10;'):
        sim.open_node('dev/vfio/7\0', 42, 'qemu')
    with pytest.raises(ValueError, match=r'^command contains a NUL byte at index 4;'):
        sim.open_node('dev/vfio/7', 42, 'qemu\0x')
    with pytest.raises(ValueError, match=r'^module contains a NUL byte at index 7;'):
        sim.unload_module('nouveau\0')
    assert sim.state() == before
    assert device_states(sim.state(), [GPU]) == {GPU: ('nouveau', None)}


def test_addresses_in_json_keep_their_nul(engine, sim):
    # Inside a request the NUL is JSON-escaped, reaches pcipass whole and is rejected there.
    before = sim.state()
    with pytest.raises(pcipass.InvalidArgumentError):
        engine.bind([GPU + '\0'])
    assert sim.state() == before
