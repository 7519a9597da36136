# SPDX-License-Identifier: Apache-2.0
"""Claims and their owner reference (scenario S20), and the other objects."""

import copy

import pytest

import pcipass

TEKTON_PCIDEVICE = {
    'apiVersion': 'devices.harvesterhci.io/v1beta1',
    'kind': 'PCIDevice',
    'metadata': {'name': 'tekton28a-0000c1000', 'uid': 'cb439de7-3145-4b0f-a64e-f34a4dec2059'},
    'status': {'address': '0000:c1:00.0', 'nodeName': 'tekton28a', 'vendorId': '10de',
               'deviceId': '24fa', 'resourceName': 'nvidia.com/GA104_RTX_A4500_EMBEDDED_GPU'},
}


def test_s20_claim_has_exactly_one_owner_reference():
    claim = pcipass.claim_from_pcidevice(TEKTON_PCIDEVICE)

    assert claim['kind'] == 'PCIDeviceClaim'
    assert claim['metadata']['name'] == 'tekton28a-0000c1000'
    assert claim['metadata']['ownerReferences'] == [{
        'apiVersion': 'devices.harvesterhci.io/v1beta1',
        'kind': 'PCIDevice',
        'name': 'tekton28a-0000c1000',
        'uid': 'cb439de7-3145-4b0f-a64e-f34a4dec2059',
    }]
    assert claim['spec'] == {'address': '0000:c1:00.0', 'nodeName': 'tekton28a', 'userName': ''}


def test_s20_claim_options():
    claim = pcipass.claim_from_pcidevice(TEKTON_PCIDEVICE, user_name='admin', controller=True)

    reference = claim['metadata']['ownerReferences'][0]
    assert reference['controller'] is True
    assert 'blockOwnerDeletion' not in reference
    assert claim['spec']['userName'] == 'admin'


def test_s20_no_uid_no_claim():
    pcidevice = copy.deepcopy(TEKTON_PCIDEVICE)
    del pcidevice['metadata']['uid']

    with pytest.raises(pcipass.MissingOwnerReferenceError) as raised:
        pcipass.claim_from_pcidevice(pcidevice)

    error = raised.value
    assert error.code == pcipass.constants.E_MISSING_OWNER_REFERENCE
    assert error.name == 'missing_owner_reference'
    assert error.device == '0000:c1:00.0'
    assert error.errno == 0
    assert 'has no metadata.uid' in error.message


def test_s20_validation_says_what_to_add(sim):
    claim = {
        'apiVersion': 'devices.harvesterhci.io/v1beta1', 'kind': 'PCIDeviceClaim',
        'metadata': {'name': 'ws1-000001000'},
        'spec': {'address': '0000:01:00.0', 'nodeName': 'ws1', 'userName': ''},
    }
    pcidevice = {
        'apiVersion': 'devices.harvesterhci.io/v1beta1', 'kind': 'PCIDevice',
        'metadata': {'name': 'ws1-000001000', 'uid': 'uid-gpu'},
        'status': {'address': '0000:01:00.0', 'nodeName': 'ws1', 'vendorId': '10de',
                   'deviceId': '1f02'},
    }

    with sim.scan() as graph:
        report = graph.validate_claim(claim, 'ws1', pcidevice)

    assert report['schema'] == 'pcipass.claim-check/v1'
    assert report['valid'] is False
    # The USB receiver behind the GPU's xHCI function is in use, which the check also reports.
    assert [problem['reason'] for problem in report['problems']] == [
        'missing_owner_reference', 'usb_device_in_use']
    problem = report['problems'][0]
    assert problem['code'] == 'missing_owner_reference'
    assert problem['device'] == '0000:01:00.0'
    assert problem['fix'] == {'apiVersion': 'devices.harvesterhci.io/v1beta1',
                              'kind': 'PCIDevice', 'name': 'ws1-000001000', 'uid': 'uid-gpu'}
    assert 'as the first entry of metadata.ownerReferences' in problem['message']

    claim['metadata']['ownerReferences'] = [problem['fix']]
    with sim.scan() as graph:
        report = graph.validate_claim(claim, 'ws1', pcidevice)
    assert [problem['reason'] for problem in report['problems']] == ['usb_device_in_use']


def test_group_objects(sim):
    request = {'address': '0000:01:00.0', 'node': 'ws1', 'siblings': True, 'kubevirt': True,
               'uids': {'0000:01:00.0': 'u0', '0000:01:00.1': 'u1', '0000:01:00.2': 'u2',
                        '0000:01:00.3': 'u3'}}
    with sim.scan() as graph:
        objects = graph.build_objects(request)

    assert objects['schema'] == 'pcipass.objects/v1'
    names = [claim['metadata']['name'] for claim in objects['claims']]
    assert names == ['ws1-000001000', 'ws1-000001001', 'ws1-000001002', 'ws1-000001003']
    for claim in objects['claims']:
        assert len(claim['metadata']['ownerReferences']) == 1


def test_libvirt_hostdev():
    xml = pcipass.libvirt_hostdev('0000:01:00.1')
    assert "<address domain='0x0000' bus='0x01' slot='0x00' function='0x1'/>" in xml
    with pytest.raises(pcipass.InvalidArgumentError):
        pcipass.libvirt_hostdev('01:00')


def test_kubevirt_entries():
    entries = pcipass.kubevirt_entries([TEKTON_PCIDEVICE])
    assert entries['pciHostDevices'] == [{
        'pciVendorSelector': '10de:24fa',
        'resourceName': 'nvidia.com/GA104_RTX_A4500_EMBEDDED_GPU',
        'externalResourceProvider': True,
    }]
