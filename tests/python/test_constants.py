# SPDX-License-Identifier: Apache-2.0
"""The package's constants, error classes and version check against pcipass.h."""

import re

import pytest

import pcipass
from pcipass import _lib, constants
from conftest import SOURCE_ROOT

HEADER = SOURCE_ROOT / 'capi' / 'pcipass.h'


def header_defines():
    """Every '#define PCIPASS_NAME <integer>' of pcipass.h, without the prefix."""
    text = HEADER.read_text(encoding='utf-8')
    return {name: int(value) for name, value in
            re.findall(r'^#define PCIPASS_([A-Z0-9_]+)\s+(\d+)\b', text, re.MULTILINE)}


def test_header_defines_found():
    defines = header_defines()
    assert defines['E_INTERNAL'] == 31
    assert defines['OPERATION_RELEASE'] == 2


@pytest.mark.parametrize('name,value', sorted(header_defines().items()))
def test_constant_matches_header(name, value):
    assert getattr(constants, name) == value


def test_no_constant_beyond_header():
    defined = {name for name in vars(constants) if name.isupper()}
    assert defined == set(header_defines())


def test_every_status_has_error_class():
    for name, value in header_defines().items():
        if not name.startswith('E_'):
            continue
        cls = pcipass.error_class(value)
        assert cls is not pcipass.PcipassError, name
        assert cls.code == value
        words = pcipass.status_name(value).split('_')
        expected = ''.join(word.capitalize() for word in words)
        if not expected.endswith('Error'):
            expected += 'Error'
        assert cls.__name__.lower() == expected.lower()


def test_unknown_status_gives_base_class():
    assert pcipass.error_class(999) is pcipass.PcipassError
    assert pcipass.status_name(999) == 'unknown'


def test_every_prototype_declared_in_header():
    text = HEADER.read_text(encoding='utf-8')
    declared = set(re.findall(r'^[a-z][^(\n]*?\b(pcipass_[a-z0-9_]+)\(', text, re.MULTILINE))
    assert declared == set(_lib.PROTOTYPES)


def test_library_version_matches():
    assert pcipass.version() == (constants.VERSION_MAJOR, constants.VERSION_MINOR,
                                 constants.VERSION_PATCH)


def test_other_major_version_rejected(monkeypatch):
    other = constants.VERSION_MAJOR + 1
    monkeypatch.setattr(constants, 'VERSION_MAJOR', other)
    with pytest.raises(ImportError, match=f'needs {other}\\.'):
        _lib.load()


def test_missing_library_rejected(monkeypatch, tmp_path):
    monkeypatch.setenv('PCIPASS_LIBRARY', str(tmp_path / 'libpcipass.so'))
    with pytest.raises(ImportError, match='set PCIPASS_LIBRARY'):
        _lib.load()
