#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Runs the Python package tests with the first interpreter that has pytest
# (python3 on PATH may be a pyenv shim without it), against the built
# library. Exits 77, which meson reports as skipped, when none has pytest.
# Usage: run_pytest.sh LIBPCIPASS_SO TEST_DIR TEMP_DIR [PYTEST_ARGS...]
set -eu

library=$1
tests=$2
temp=$3
shift 3

for python in ${PYTHON:-} /usr/bin/python3 python3; do
	if command -v "$python" >/dev/null 2>&1 &&
		"$python" -c 'import pytest' >/dev/null 2>&1; then
		# Keep the source tree free of caches: no bytecode, no .pytest_cache.
		PCIPASS_LIBRARY=$library PYTHONDONTWRITEBYTECODE=1 \
			exec "$python" -m pytest -q -p no:cacheprovider --basetemp="$temp" "$tests" "$@"
	fi
done

echo "no Python interpreter with pytest; install python3-pytest" >&2
exit 77
