#!/usr/bin/env bash
# `make run`: tradebotd on its embedded default, in the foreground, until Ctrl-C.
# Everything it makes lives under BUILD/demo: config, state and cache folders.
set -euo pipefail
build=${1:-build}
demo="$build/demo"
mkdir -p "$demo/state" "$demo/cache"
demo=$(cd "$demo" && pwd)

config="$demo/tradebotd.toml"
cat > "$config" <<EOT
# Written by scripts/run-demo.sh; every other key keeps its default (tradebotd --print-config).
[daemon]
state_dir = "$demo/state"
[http]
port = ${TRADEBOT_DEMO_PORT:-8787}
[cache]
dir = "$demo/cache"
EOT

echo "tradebotd demo: config $config"
echo "  curl -s localhost:${TRADEBOT_DEMO_PORT:-8787}/health ; curl -s localhost:${TRADEBOT_DEMO_PORT:-8787}/stats"
echo "  kill -HUP <pid> reloads $config; Ctrl-C stops"
exec "$build/bin/tradebotd" --config "$config"
