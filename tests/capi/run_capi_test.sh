#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Materializes a topology in a temporary directory and runs the C test on it.
# Usage: run_capi_test.sh MAKE_TREE CAPI_TEST TOPOLOGY
set -eu

dir=$(mktemp -d "${TMPDIR:-/tmp}/pcipass-capi-XXXXXX")
trap 'rm -rf "$dir"' EXIT

"$1" "$3" "$dir/root"
"$2" "$dir/root"
