#!/usr/bin/env bash
# `make bench`: runs every benchmark (build/bin/bench_*) one after another and prints its figures.
# Benchmarks start what they need (redis-server on a loopback port) themselves. Ratios are
# measured side by side inside each benchmark; absolute times drift on a shared machine.
set -euo pipefail
# Busy-waiting OpenMP threads starve each other on small machines (see inference/README.md).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
build=${1:-build}
status=0
for b in "$build"/bin/bench_*; do
  [ -x "$b" ] || continue
  echo "=== $(basename "$b") ==="
  "$b" || { echo "$(basename "$b") failed" >&2; status=1; }
  echo
done
exit $status
