# SPDX-License-Identifier: Apache-2.0
"""Bind, release, rollback, recover and reconcile on the simulated GPU workstation."""

import errno
import json
import os

import pytest

import pcipass
from conftest import FAST, GPU, GPU_GROUP, XHCI, device_states


def test_plan_pulls_in_the_group(engine):
    plan = engine.plan('bind', [GPU], owner='vm-42', options=FAST)

    assert plan['schema'] == 'pcipass.plan/v1'
    assert plan['blocked'] is False
    assert plan['groups'] == [7]
    assert [(member['address'], member['action']) for member in plan['members']] == [
        (address, 'move') for address in GPU_GROUP]


def test_bind_and_release_gpu_group(sim, engine):
    initial = sim.state_json()
    steps = []

    result = engine.bind([GPU], owner='vm-42', options=FAST, on_step=steps.append)

    assert result['schema'] == 'pcipass.result/v1'
    assert result['outcome'] == 'committed'
    assert result['groups'] == [7]
    assert result['error'] is None
    assert [device['device'] for device in result['devices']] == GPU_GROUP
    assert device_states(sim.state(), GPU_GROUP) == {
        address: ('vfio-pci', 'vfio-pci') for address in GPU_GROUP}
    assert sim.state()['vfio_nodes'] == [7]
    assert {step['schema'] for step in steps} == {'pcipass.step/v1'}
    assert [step['status'] for step in steps].count('started') == result['writes']
    assert [step['status'] for step in steps].count('done') == result['writes']
    assert [claim['device'] for claim in engine.ownerships()] == GPU_GROUP

    result = engine.release([GPU], owner='vm-42', options=FAST)

    assert result['outcome'] == 'committed'
    assert sim.state_json() == initial
    assert engine.ownerships() == []


def test_rollback_after_injected_busy(sim, engine):
    """EBUSY on the xHCI function's bind to vfio-pci: the error names it, and nothing moved."""
    initial = sim.state()
    fault = sim.inject({'match': {'device': XHCI, 'path': 'sys/bus/pci/drivers/vfio-pci/bind'},
                        'action': 'fail', 'errno': 'EBUSY'})
    steps = []

    with pytest.raises(pcipass.BindFailedError) as raised:
        engine.bind([GPU], owner='vm-42', options=FAST, on_step=steps.append)

    error = raised.value
    assert error.code == pcipass.constants.E_BIND_FAILED
    assert error.errno == errno.EBUSY
    assert error.device == XHCI
    assert error.path == 'sys/bus/pci/drivers/vfio-pci/bind'
    assert error.step == f'bind {XHCI} to vfio-pci'
    assert 'rolled back' in error.message
    assert sim.fault_hits(fault) == 1
    assert sim.state() == initial

    failed = [step for step in steps if step['status'] == 'failed']
    assert len(failed) == 1
    assert failed[0]['step']['device'] == XHCI
    assert failed[0]['error']['errno'] == errno.EBUSY
    assert any(step['undo'] for step in steps)

    log = sim.log()
    assert [entry['errno_name'] for entry in log if entry['fault'] == fault] == ['EBUSY']

    # The rollback ended the transaction, so there is nothing to recover.
    assert engine.recover()['outcome'] == 'no_change'

    sim.remove_fault(fault)
    assert engine.bind([GPU], owner='vm-42', options=FAST)['outcome'] == 'committed'


def test_held_group_is_not_released(sim, engine):
    engine.bind([GPU], owner='vm-42', options=FAST)
    sim.open_node('dev/vfio/7', 4242, 'qemu-system-x86')
    before = sim.state()

    with pytest.raises(pcipass.DeviceInUseError) as raised:
        engine.release([GPU], owner='vm-42', options=FAST)

    assert '4242' in raised.value.message
    assert sim.state() == before
    sim.close_node('dev/vfio/7', 4242)
    assert engine.release([GPU], owner='vm-42', options=FAST)['outcome'] == 'committed'


def test_other_owner_is_refused(sim, engine):
    engine.bind([GPU], owner='vm-42', options=FAST)
    before = sim.state()

    with pytest.raises(pcipass.OwnedByOtherError):
        engine.bind([GPU], owner='vm-43', options=FAST)

    assert sim.state() == before


def test_reconcile_there_and_back(sim, engine):
    initial = sim.state()

    result = engine.reconcile([{'device': GPU, 'driver': 'vfio-pci', 'owner': 'vm-7'}],
                              options=FAST)
    assert result['outcome'] == 'committed'
    assert device_states(sim.state(), [XHCI]) == {XHCI: ('vfio-pci', 'vfio-pci')}

    result = engine.reconcile([{'device': GPU, 'driver': None, 'owner': 'vm-7'}], options=FAST)
    assert result['outcome'] == 'committed'
    assert sim.state() == initial

    result = engine.reconcile([{'device': GPU, 'driver': None, 'owner': 'vm-7'}], options=FAST)
    assert result['outcome'] == 'no_change'
    assert result['writes'] == 0


def test_step_callback_exception_is_raised_after_the_call(sim, engine):
    def fail(_step):
        raise RuntimeError('observer failed')

    with pytest.raises(RuntimeError, match='observer failed'):
        engine.bind([GPU], owner='vm-42', options=FAST, on_step=fail)

    # The transaction itself ran to its end.
    assert device_states(sim.state(), [GPU]) == {GPU: ('vfio-pci', 'vfio-pci')}


def test_malformed_requests(engine):
    with pytest.raises(pcipass.InvalidArgumentError, match='unknown field "allow_modules"'):
        engine.bind([GPU], options={'allow_modules': True})
    with pytest.raises(pcipass.InvalidArgumentError, match='no "devices"'):
        engine.bind([])
    with pytest.raises(pcipass.IdentityMismatchError):
        engine.bind([{'address': GPU, 'expected': '10de:2204'}], options=FAST)
    with pytest.raises(pcipass.BridgeRequestedError):
        engine.bind(['0000:00:01.0'], options=FAST)
    with pytest.raises(ValueError):
        engine.plan('reconcile', [GPU])


def test_sim_rejects_malformed_input(sim, tmp_path):
    with pytest.raises(pcipass.InvalidArgumentError, match='line 1'):
        pcipass.SimHost('{"schema": ')
    with pytest.raises(pcipass.InvalidArgumentError, match='is not a write kind'):
        sim.inject({'match': {'kind': 'bnd'}, 'errno': 16})
    with pytest.raises(pcipass.NotFoundError):
        sim.remove_fault(12345)
    with pytest.raises(pcipass.NotFoundError):
        sim.unload_module('no_such_module')
    with pytest.raises(pcipass.InvalidArgumentError):
        pcipass.Engine(sim, tmp_path / 'state').plan('bind', ['not an address'])


def test_topology_round_trip(sim, engine, tmp_path):
    engine.bind([GPU], owner='vm-42', options=FAST)
    topology = sim.to_topology()
    assert json.loads(topology)['schema'] == 'pcipass.topology/v1'

    with pcipass.SimHost(topology, record_log=False) as copy:
        assert copy.state() == sim.state()
        assert copy.log() == []

    sim.materialize(tmp_path / 'tree')
    with pcipass.Host.open_live(str(tmp_path / 'tree')) as tree, tree.scan() as graph:
        devices = {device['address']: device for device in graph.to_dict()['devices']}
    assert devices[XHCI]['driver'] == 'vfio-pci'


def test_live_host_is_not_simulated(tmp_path, sim):
    sim.materialize(tmp_path / 'tree')
    with pcipass.Host.open_live(str(tmp_path / 'tree')) as tree:
        with pytest.raises(pcipass.InvalidArgumentError, match='not a simulated kernel'):
            pcipass.SimHost.state_json(tree)


def test_closed_handles(sim, tmp_path):
    engine = pcipass.Engine(sim, tmp_path / 'state')
    sim.close()
    sim.close()
    assert sim.closed
    with pytest.raises(pcipass.InvalidArgumentError, match='simulated host is closed'):
        sim.state()

    # The engine keeps the simulated kernel alive.
    assert engine.plan('bind', [GPU])['blocked'] is False
    engine.close()
    engine.close()
    with pytest.raises(pcipass.InvalidArgumentError, match='engine is closed'):
        engine.ownerships()


def test_log_sink_receives_transaction_lines(engine):
    lines = []
    pcipass.set_log_sink(lambda level, category, message: lines.append((category, message)),
                         pcipass.constants.LOG_DEBUG)
    try:
        engine.bind([GPU], owner='vm-42', options=FAST)
    finally:
        pcipass.set_log_sink(None)

    assert any(category == 'Txn' for category, _ in lines)
    assert any(XHCI in message for _, message in lines)


def test_watcher_times_out(tmp_path):
    with pcipass.Watcher(subsystems=['pci']) as watcher:
        assert watcher.fileno() >= 0
        event = watcher.next(timeout=0.02)
        # Another process may change a PCI device meanwhile; the event is then well formed.
        assert event is None or event['schema'] == 'pcipass.event/v1'
    with pytest.raises(pcipass.InvalidArgumentError, match='use "kernel" or "udev"'):
        pcipass.Watcher(source='netlink')


def test_simulated_engine_needs_state_dir(sim):
    # The default state directory belongs to the real host's recover.
    with pytest.raises(pcipass.InvalidArgumentError) as raised:
        pcipass.Engine(sim)
    assert 'simulated kernel needs its own state directory' in str(raised.value)
    with pytest.raises(pcipass.InvalidArgumentError):
        pcipass.Engine(sim, '')
    # Spelled another way, the default is still the real host's.
    others = ['/run/pcipass', '/run/pcipass/', '/run//pcipass', '/run/x/../pcipass']
    if os.path.realpath('/var/run') == '/run':
        others.append('/var/run/pcipass')
    for path in others:
        with pytest.raises(pcipass.InvalidArgumentError, match='needs its own state directory'):
            pcipass.Engine(sim, path)
