#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Materializes a topology in a temporary directory and runs the C test on
# it, with a second topology for the simulated kernel and a work directory.
# Usage: run_capi_test.sh MAKE_TREE CAPI_TEST TREE_TOPOLOGY SIM_TOPOLOGY
set -eu

dir=$(mktemp -d "${TMPDIR:-/tmp}/pcipass-capi-XXXXXX")
trap 'rm -rf "$dir"' EXIT

"$1" "$3" "$dir/root"
mkdir "$dir/work"
"$2" "$dir/root" "$4" "$dir/work"
