#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Runs the go command in a Go module of the source tree against the library
# built here, found through the uninstalled pcipass.pc. The Go caches live in
# the build directory and nothing is downloaded, so it works offline. Exits
# 77, which meson reports as skipped, when go or pkg-config is missing.
# Usage: run_go.sh BUILD_ROOT MODULE_DIR test
#        run_go.sh BUILD_ROOT MODULE_DIR run [PROGRAM_ARGS...]
set -eu

build=$1
module=$2
mode=$3
shift 3

for tool in go pkg-config; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "$tool not found; install golang-go and pkg-config" >&2
		exit 77
	fi
done

export GOCACHE="$build/go/cache"
export GOPATH="$build/go/path"
export GOPROXY=off
export GOSUMDB=off
export GOFLAGS=
export GOENV=off
export GO111MODULE=on
export CGO_ENABLED=1
export PKG_CONFIG_PATH="$build/meson-uninstalled${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export LD_LIBRARY_PATH="$build${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

cd "$module"
case "$mode" in
test)
	go vet ./...
	# -count=1: go caches test results by source, but the library they load changes.
	exec go test -count=1 ./...
	;;
run)
	exec go run . "$@"
	;;
*)
	echo "run_go.sh: unknown mode '$mode'; use test or run" >&2
	exit 2
	;;
esac
