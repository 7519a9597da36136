# SPDX-License-Identifier: Apache-2.0
"""String arguments with an embedded NUL, which C would cut short."""

import pytest

import pcipass

from conftest import FAST, GPU, device_states


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


def test_integers_out_of_range_rejected(sim, engine):
    # ctypes would keep only the low 32 bits: 2**32 + 7 would become pid 7.
    before = sim.state()
    with pytest.raises(ValueError) as raised:
        sim.open_node('dev/vfio/7', 2**32 + 7, 'qemu')
    assert str(raised.value) == 'pid is 4294967303, outside -2147483648..2147483647'
    with pytest.raises(ValueError, match=r'^pid is -2147483649, outside'):
        sim.close_node('dev/vfio/7', -2**31 - 1)
    with pytest.raises(TypeError, match=r'^pid must be an int, not float$'):
        sim.open_node('dev/vfio/7', 7.0, 'qemu')
    with pytest.raises(ValueError, match=r'^fault_id is -1, outside 0\.\.4294967295$'):
        sim.remove_fault(-1)
    with pytest.raises(ValueError, match=r'^fault_id is 4294967296, outside'):
        sim.fault_hits(2**32)
    with pytest.raises(ValueError, match=r'^level is 2147483648, outside'):
        pcipass.set_log_sink(None, 2**31)
    assert sim.state() == before

    # The largest pid still reaches the simulator whole.
    engine.bind([GPU], owner='vm-42', options=FAST)
    sim.open_node('dev/vfio/7', 2**31 - 1, 'qemu')
    with pytest.raises(pcipass.DeviceInUseError, match='2147483647'):
        engine.release([GPU], owner='vm-42', options=FAST)


def test_path_like_arguments_accepted(sim, tmp_path):
    tree = tmp_path / 'tree'
    tree.mkdir()
    sim.materialize(tree)
    assert (tree / 'sys' / 'bus' / 'pci' / 'devices' / GPU).is_symlink()

    with pcipass.Host.open_live(tree) as host, host.scan() as graph:
        addresses = [device['address'] for device in graph.to_dict()['devices']]
    assert GPU in addresses

    with pcipass.Engine(sim, tmp_path / 'state'):
        assert (tmp_path / 'state').is_dir()
