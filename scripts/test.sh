#!/usr/bin/env bash
# Runs the whole suite under CTest. Tests start what they need (redis-server on a loopback port,
# the daemon binary) themselves.
set -euo pipefail
build=${1:-build}
ctest --test-dir "$build" --output-on-failure --timeout 900 -j "${TEST_JOBS:-2}"
