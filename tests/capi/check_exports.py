#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
#
# Checks the dynamic symbol table of libpcipass.so: every defined symbol is
# a pcipass_ function declared in pcipass.h and versioned by a node of
# pcipass.sym (or is that node itself), and every function pcipass.h
# declares is exported.
#
# Usage: check_exports.py LIBPCIPASS_SO PCIPASS_H PCIPASS_SYM

import re
import subprocess
import sys


def main():
    library, header, script = sys.argv[1:4]

    with open(script, encoding='utf-8') as f:
        nodes = set(re.findall(r'^(PCIPASS_[0-9.]+)\s*{', f.read(), re.MULTILINE))
    with open(header, encoding='utf-8') as f:
        # A declaration starts a line with its return type, so that names
        # mentioned in comments do not count.
        declared = set(re.findall(r'^[a-z][^(\n]*?\b(pcipass_[a-z0-9_]+)\(', f.read(),
                                  re.MULTILINE))

    output = subprocess.run(['nm', '-D', '--defined-only', library], check=True,
                            capture_output=True, text=True).stdout

    failures = []
    exported = set()
    for line in output.splitlines():
        fields = line.split()
        if len(fields) != 3:
            failures.append(f'unexpected nm line: {line!r}')
            continue
        kind, symbol = fields[1], fields[2]
        if kind == 'A' and symbol in nodes:
            continue

        name, _, version = symbol.partition('@@')
        if not name.startswith('pcipass_'):
            failures.append(f'{symbol} is exported but is not a pcipass_ symbol')
        elif kind != 'T':
            failures.append(f'{symbol} is exported as {kind!r}, not as a function')
        elif version not in nodes:
            failures.append(f'{symbol} has no version node of pcipass.sym')
        elif name not in declared:
            failures.append(f'{name} is exported but pcipass.h does not declare it')
        exported.add(name)

    for name in sorted(declared - exported):
        failures.append(f'{name} is declared in pcipass.h but not exported')

    for failure in failures:
        print(failure)
    if failures:
        return 1
    print(f'{len(exported)} pcipass_ functions exported, nothing else')
    return 0


if __name__ == '__main__':
    sys.exit(main())
