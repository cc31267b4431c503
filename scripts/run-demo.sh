#!/usr/bin/env bash
# `make run`: tradebotd on its embedded default, in the foreground, until Ctrl-C.
# Everything it makes lives under BUILD/demo: config, state and cache folders.
# The demo trades the synthetic feed's 20 symbols (DEMO01..DEMO18, DEMO19USD, DEMO20USD) with the
# simulated broker on simulated time; forecast sizes are small so the untrained demo checkpoint
# shows cycles, forecasts, orders and positions in /stats within a minute on a laptop CPU.
set -euo pipefail
build=${1:-build}
demo="$build/demo"
mkdir -p "$demo/state" "$demo/cache"
demo=$(cd "$demo" && pwd)

symbols=""
for i in $(seq -w 1 18); do symbols+="\"DEMO$i\", "; done
symbols+="\"DEMO19USD\", \"DEMO20USD\""

# A local redis-server for the cache's Redis tier: loopback, a free port, no
# persistence, its files in the demo folder; stopped on exit. Without redis-server the demo
# runs with the Redis tier off (the daemon would also run with it on: degraded, not failing).
redis_enabled=false
redis_port=6379
if command -v redis-server >/dev/null 2>&1; then
  # A loopback port nobody answers on (bash's /dev/tcp connects; a refused connect means free).
  for _ in $(seq 1 50); do
    redis_port=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null || break
  done
  mkdir -p "$demo/redis"
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$demo/redis" \
    --loglevel warning --logfile "$demo/redis/redis.log" &
  redis_pid=$!
  trap 'kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true' EXIT
  redis_enabled=true
  echo "tradebotd demo: redis-server on 127.0.0.1:$redis_port (pid $redis_pid, log $demo/redis/redis.log)"
else
  echo "tradebotd demo: redis-server not found; the cache's Redis tier stays off"
fi

config="$demo/tradebotd.toml"
cat > "$config" <<EOT
# Written by scripts/run-demo.sh; every other key keeps its default (tradebotd --print-config).
[daemon]
state_dir = "$demo/state"
[http]
port = ${TRADEBOT_DEMO_PORT:-8787}
[cache]
dir = "$demo/cache"
redis_enabled = $redis_enabled
redis_port = $redis_port
[forecast]
lookback = 64
max_context = 64
sample_count = 4
[inference]
max_batch_rows = 256
[trading]
symbols = [$symbols]
walk_forward_windows = 20
[market]
feed = "synthetic"
clock = "simulated"
# about 10 simulated trading days a minute: the NYSE calendar (to 2027) lasts the demo for hours
sim_cycle_interval_ms = 2000
EOT

echo "tradebotd demo: config $config"
echo "  curl -s localhost:${TRADEBOT_DEMO_PORT:-8787}/health ; curl -s localhost:${TRADEBOT_DEMO_PORT:-8787}/stats"
echo "  kill -HUP <pid> reloads $config; Ctrl-C stops"
# Not exec: the EXIT trap stops redis-server once tradebotd is gone (Ctrl-C reaches both).
"$build/bin/tradebotd" --config "$config"
