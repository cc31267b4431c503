#!/usr/bin/env bash
# Installs the Debian 12 packages tradebotd needs to build, test and run.
# Idempotent: does nothing (and needs no network) when every package is present.
set -euo pipefail

packages=(
  build-essential cmake ccache pkg-config git ca-certificates
  clang-format  # make format / make format-check (.clang-format)
  libcaf-dev libtorch-dev libopenblas0-openmp
  libboost1.81-dev libboost-test1.81-dev
  libhiredis-dev libssl-dev libspdlog-dev libsystemd-dev
  libtomlplusplus-dev nlohmann-json3-dev libcli11-dev libbenchmark-dev
  redis-server curl systemd
  prometheus  # for promtool: tests/daemon/metrics_exposition_test runs `promtool check metrics`
  chromium firefox-esr  # tests/daemon/dashboard_test renders the dashboard in both; report_report_test in chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages: ${missing[*]}; run as root (or: sudo $0)" >&2
  exit 1
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
