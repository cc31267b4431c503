#!/usr/bin/env bash
# gpu-check.sh: builds the inference library, its tests, bench_kronos and bench_serving
# (cmake -DTRADEBOT_INFERENCE_ONLY=ON) against a LibTorch and proves the device path in one short
# run: parity, host synchronisations per batch, bench_kronos plain / ours / graphs, the batcher
# with 27 and 270 symbols. Prints a table and writes gpu-report.json to $OUT (else the current
# folder). See inference/README.md, "Proving the GPU path".
#
#   scripts/gpu-check.sh --fetch-deps DIR   here (Debian 12, online): the Debian packages the
#                                           inference build needs beside LibTorch, as .deb files
#                                           in DIR (about 16 MiB)
#   scripts/gpu-check.sh [--deps DIR]       on a GPU machine (offline): unpacks DIR's .deb files
#                                           into DIR/prefix, finds LibTorch (Torch_DIR, else
#                                           python3's torch), builds in build-gpu-check/ and runs
#                                           the checks on CUDA (default DIR: gpu-deps/)
#   scripts/gpu-check.sh --cpu              here: the CPU parts against Debian's LibTorch and
#                                           packages, small shapes (CTest:
#                                           inference_gpu_check_cpu_test)
#   --build DIR                             build folder (default build-gpu-check, or
#                                           build-gpu-check-cpu with --cpu)
#
# Exit status: 0 when every check passed, 1 when one failed (the report says which), 2 for a
# usage or set-up error (no LibTorch, no CUDA, a build that fails even without CUDA graphs).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODE=gpu
DEPS="$ROOT/gpu-deps"
BUILD=""
FETCH=""
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu) MODE=cpu ;;
    --deps) DEPS="$(realpath -m "$2")"; shift ;;
    --build) BUILD="$(realpath -m "$2")"; shift ;;
    --fetch-deps) FETCH="$(realpath -m "$2")"; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "gpu-check: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# The Debian 12 packages the inference-only build uses beside LibTorch: headers and CMake configs,
# and the shared libraries they link (core: spdlog + fmt, toml++, nlohmann-json; inference:
# OpenSSL's libcrypto for the checkpoint hash; tests: Boost.Test).
PACKAGES="nlohmann-json3-dev libspdlog-dev libspdlog1.10 libfmt-dev libfmt9 libtomlplusplus-dev libtomlplusplus3
libssl-dev libssl3 libboost1.81-dev libboost-test1.81-dev libboost-test1.81.0"

if [ -n "$FETCH" ]; then
  mkdir -p "$FETCH" && cd "$FETCH" || exit 2
  # shellcheck disable=SC2086
  apt-get download $PACKAGES || { echo "gpu-check: apt-get download failed" >&2; exit 2; }
  du -sh "$FETCH"
  echo "gpu-check: carry $FETCH to the GPU machine (run tool: carry [\"$(realpath --relative-to="$ROOT" "$FETCH" 2>/dev/null || echo "$FETCH")\"])"
  exit 0
fi

REPORT_DIR="${OUT:-$PWD}"
mkdir -p "$REPORT_DIR"
[ -n "$BUILD" ] || BUILD="$ROOT/build-gpu-check$([ "$MODE" = cpu ] && echo -cpu)"
LOGS="$REPORT_DIR/gpu-check-logs"
mkdir -p "$LOGS" "$BUILD"
RESULTS="$LOGS/results.tsv"   # name, status (pass|fail|skip), seconds, log file
: > "$RESULTS"
JOBS="$(nproc)"
export OMP_WAIT_POLICY=passive
# Where ccache is, the objects of an earlier build of the same sources are reused.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$ROOT}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
T0=$(date +%s)

say() { printf 'gpu-check [%4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }

# run NAME TIMEOUT CMD...: runs one check, its output in $LOGS/NAME.log, its result in results.tsv.
run() {
  local name="$1" limit="$2"; shift 2
  local log="$LOGS/$name.log" t status=pass
  t=$(date +%s)
  say "$name: $*"
  if ! timeout "$limit" "$@" >"$log" 2>&1; then status=fail; fi
  printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$(( $(date +%s) - t ))" "$log" >> "$RESULTS"
  [ "$status" = pass ] || { say "$name FAILED (last lines of $log):"; tail -n 15 "$log"; }
}

# ---- LibTorch and the packages ----------------------------------------------------------------
PREFIX_PATH=""
EXTRA_CMAKE=()
if [ "$MODE" = gpu ]; then
  if [ -z "${Torch_DIR:-}" ]; then
    TORCH_PREFIX="$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null)" || TORCH_PREFIX=""
    [ -n "$TORCH_PREFIX" ] || { echo "gpu-check: set Torch_DIR or make python3 -c 'import torch' work" >&2; exit 2; }
    PREFIX_PATH="$TORCH_PREFIX"
    ABI="$(python3 -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))' 2>/dev/null || echo '?')"
    say "LibTorch from python3: $TORCH_PREFIX (torch $(python3 -c 'import torch; print(torch.__version__, torch.version.cuda)' 2>/dev/null), C++11 ABI $ABI)"
    if [ "$ABI" = 0 ]; then
      echo "gpu-check: this LibTorch uses the pre-C++11 ABI; Debian's packages (spdlog, Boost.Test) use the" >&2
      echo "           C++11 one. Use a LibTorch built with _GLIBCXX_USE_CXX11_ABI=1 (Torch_DIR=...)." >&2
      exit 2
    fi
    # pip wheels keep cuDNN in the nvidia-cudnn package; LibTorch's CMake config looks for it.
    CUDNN="$(python3 -c 'import nvidia.cudnn as c; print(list(c.__path__)[0])' 2>/dev/null || true)"
    if [ -n "$CUDNN" ] && [ -d "$CUDNN/include" ]; then
      CUDNN_LIB="$(ls "$CUDNN"/lib/libcudnn.so* 2>/dev/null | head -n 1)"
      EXTRA_CMAKE+=("-DCUDNN_ROOT=$CUDNN" "-DCUDNN_INCLUDE_PATH=$CUDNN/include" "-DCUDNN_INCLUDE_DIR=$CUDNN/include")
      [ -n "$CUDNN_LIB" ] && EXTRA_CMAKE+=("-DCUDNN_LIBRARY_PATH=$CUDNN_LIB" "-DCUDNN_LIBRARY=$CUDNN_LIB")
    fi
  else
    say "LibTorch: Torch_DIR=$Torch_DIR"
  fi
  for cuda in "${CUDA_HOME:-}" /usr/local/cuda; do
    if [ -n "$cuda" ] && [ -x "$cuda/bin/nvcc" ]; then
      EXTRA_CMAKE+=("-DCUDAToolkit_ROOT=$cuda" "-DCUDA_TOOLKIT_ROOT_DIR=$cuda" "-DCMAKE_CUDA_COMPILER=$cuda/bin/nvcc")
      export PATH="$cuda/bin:$PATH"
      break
    fi
  done
  # Debian's libraries need glibc >= 2.34 and libstdc++ from GCC >= 12 (GLIBCXX_3.4.30).
  say "glibc $(ldd --version 2>/dev/null | head -n 1 | awk '{print $NF}'), $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -n 1)"
  ls "$DEPS"/*.deb >/dev/null 2>&1 || { echo "gpu-check: no .deb files in $DEPS (make them here with --fetch-deps $DEPS)" >&2; exit 2; }
  P="$DEPS/prefix"
  if [ ! -d "$P/usr" ]; then
    mkdir -p "$P"
    for deb in "$DEPS"/*.deb; do
      if command -v dpkg-deb >/dev/null; then
        dpkg-deb -x "$deb" "$P" || exit 2
      else  # a .deb is an ar archive holding data.tar.*
        tmp="$(mktemp -d)" && (cd "$tmp" && ar x "$deb" && tar -xf data.tar.* -C "$P") || exit 2
        rm -rf "$tmp"
      fi
    done
  fi
  PREFIX_PATH="$PREFIX_PATH;$P/usr"
  # libssl-dev keeps opensslconf.h in the multiarch folder, which the compiler searches only under /usr.
  EXTRA_CMAKE+=("-DCMAKE_LIBRARY_ARCHITECTURE=x86_64-linux-gnu" "-DCMAKE_CXX_FLAGS=-isystem $P/usr/include/x86_64-linux-gnu"
                "-DOPENSSL_ROOT_DIR=$P/usr")
  export LD_LIBRARY_PATH="$P/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

# ---- build ------------------------------------------------------------------------------------
TARGETS="inference_device_path_test inference_kronos_parity_test inference_generation_test inference_dynamic_batcher_test
         inference_checkpoint_loading_test bench_kronos bench_serving"
GRAPHS=ON
build() {
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DTRADEBOT_INFERENCE_ONLY=ON -DTRADEBOT_CUDA_GRAPHS=$GRAPHS \
    ${PREFIX_PATH:+"-DCMAKE_PREFIX_PATH=$PREFIX_PATH"} "${EXTRA_CMAKE[@]}" >"$LOGS/configure.log" 2>&1 || return 1
  # shellcheck disable=SC2086
  cmake --build "$BUILD" -j "$JOBS" --target $TARGETS >"$LOGS/build.log" 2>&1
}
say "building ($MODE, $JOBS jobs) in $BUILD"
if ! build; then
  if [ "$MODE" = gpu ]; then
    say "build with CUDA graphs failed (last lines below); building without them"
    tail -n 30 "$LOGS/configure.log" "$LOGS/build.log"
    cp "$LOGS/build.log" "$LOGS/build-with-graphs.log" 2>/dev/null
    GRAPHS=OFF
    build || { tail -n 40 "$LOGS/configure.log" "$LOGS/build.log"; echo "gpu-check: the build failed" >&2; exit 2; }
  else
    tail -n 40 "$LOGS/configure.log" "$LOGS/build.log"; echo "gpu-check: the build failed" >&2; exit 2
  fi
fi
grep -h "tradebot: LibTorch" "$LOGS/configure.log" | sed 's/^-- //'
GRAPHS_BUILT="$(grep -o 'CUDA graphs built [A-Z]*' "$LOGS/configure.log" | tail -n 1 | awk '{print $4}')"
BIN="$BUILD/bin"
say "built"

# ---- checks -----------------------------------------------------------------------------------
if [ "$MODE" = gpu ]; then
  DEV=(env TB_DEVICE=cuda)
  # Parity with the reference's fixture on CUDA; host syncs per call with the sync check on.
  run device_path_f32 120 "${DEV[@]}" "$BIN/inference_device_path_test" --log_level=message
  run parity_f32 120 "${DEV[@]}" "$BIN/inference_kronos_parity_test" --log_level=message
  run parity_bf16 120 "${DEV[@]}" TB_DTYPE=bfloat16 TB_PARITY_TOL=5e-2 "$BIN/inference_kronos_parity_test" --log_level=message
  run device_path_bf16 120 "${DEV[@]}" TB_DTYPE=bfloat16 "$BIN/inference_device_path_test" --log_level=message
  # The CPU tests of the same build (one intra-op thread each, in parallel with nothing else).
  run generation_cpu 240 "$BIN/inference_generation_test" --log_level=message
  run batcher_cpu 60 "$BIN/inference_dynamic_batcher_test" --log_level=message
  run checkpoints_cpu 60 "$BIN/inference_checkpoint_loading_test" --log_level=message
  # bench_kronos at the bot's parameters: mini, small and base-shaped, plain / ours / graphs.
  run kronos_bench 300 "$BIN/bench_kronos" --device cuda --presets mini,small,base --plain-reps 1 \
    --min-seconds 2 --graphs --json "$LOGS/kronos.json"
  # The batcher: 27 and 270 symbols one after another vs at once, with CUDA graphs (compile).
  run serving_27 240 "$BIN/bench_serving" --device cuda --preset mini --symbols 27 --sweep "" --compile 1
  run serving_270 300 "$BIN/bench_serving" --device cuda --preset mini --symbols 270 --sweep "" --compile 1
else
  run device_path 120 "$BIN/inference_device_path_test" --log_level=message
  run parity 120 "$BIN/inference_kronos_parity_test" --log_level=message
  run kronos_bench 120 "$BIN/bench_kronos" --presets tiny --threads 1 --plain-reps 1 --plain-samples 8 \
    --min-seconds 0.2 --graphs --json "$LOGS/kronos.json"
  run serving_3 120 "$BIN/bench_serving" --preset tiny --symbols 3 --samples 8 --threads 1 --sweep "" --compile 1
fi

# ---- report -----------------------------------------------------------------------------------
python3 - "$MODE" "$LOGS" "$REPORT_DIR/gpu-report.json" "$GRAPHS_BUILT" <<'EOF'
import json, re, sys, os, subprocess
mode, logs, out, graphs = sys.argv[1:5]
checks = []
for line in open(os.path.join(logs, "results.tsv")):
    name, status, secs, log = line.rstrip("\n").split("\t")
    checks.append({"check": name, "status": status, "seconds": int(secs), "log": os.path.basename(log)})
def read(name):
    p = os.path.join(logs, name + ".log")
    return open(p, errors="replace").read() if os.path.exists(p) else ""
report = {"mode": mode, "cuda_graphs_built": graphs == "ON", "checks": checks}
try:
    report["device"] = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version",
                                       "--format=csv,noheader"], capture_output=True, text=True).stdout.strip()
except OSError:
    report["device"] = "cpu"
# Parity errors as the tests printed them.
for name in [c["check"] for c in checks if c["check"].startswith("parity")]:
    errs = [float(x) for x in re.findall(r"rel error ([0-9.eE+-]+)", read(name))]
    report[name + "_max_rel_error"] = max(errs) if errs else None
kp = os.path.join(logs, "kronos.json")
report["bench_kronos"] = json.load(open(kp)) if os.path.exists(kp) else []
serving = {}
for c in checks:
    if not c["check"].startswith("serving_"):
        continue
    text = read(c["check"])
    row = {"symbols": int(c["check"].split("_")[1])}
    m = re.search(r"one after another: ([0-9.]+) s", text)
    if m: row["one_by_one_s"] = float(m.group(1))
    m = re.search(r"at once \(batcher\): +([0-9.]+) s", text)
    if m: row["batched_s"] = float(m.group(1))
    m = re.search(r"speed-up through the batcher: +([0-9.]+)x", text)
    if m: row["speed_up"] = float(m.group(1))
    m = re.search(r"^batcher: (\{.*\})$", text, re.M)
    if m:
        st = json.loads(m.group(1))
        row["host_syncs_per_batch"] = st.get("host_syncs_per_batch")
        row["d2h_us"] = st.get("d2h_us")
        row["avg_batch_windows"] = st.get("avg_batch_windows")
    serving[c["check"]] = row
report["serving"] = serving
json.dump(report, open(out, "w"), indent=2)

print("\n%-18s %-6s %6s" % ("check", "status", "s"))
for c in checks:
    print("%-18s %-6s %6d" % (c["check"], c["status"], c["seconds"]))
for k in [k for k in report if k.endswith("_max_rel_error")]:
    print("%-30s %s" % (k, report[k]))
if report["bench_kronos"]:
    print("\n%-6s %-7s %6s %12s %12s %12s" % ("model", "mode", "reps", "ms/forecast", "forecasts/s", "vs ours"))
    ours = {r["model"]: r["ms_per_forecast"] for r in report["bench_kronos"] if r["mode"] == "ours"}
    for r in report["bench_kronos"]:
        print("%-6s %-7s %6d %12.2f %12.2f %11.2fx" % (r["model"], r["mode"], r["reps"], r["ms_per_forecast"],
              r["forecasts_per_s"], ours.get(r["model"], r["ms_per_forecast"]) / r["ms_per_forecast"]))
if serving:
    print("\n%8s %12s %12s %9s %12s %16s" % ("symbols", "one by one s", "batched s", "speed-up", "syncs/batch", "d2h p50/p99 us"))
    for r in serving.values():
        d = r.get("d2h_us") or {}
        print("%8d %12s %12s %9s %12s %16s" % (r["symbols"], r.get("one_by_one_s"), r.get("batched_s"),
              r.get("speed_up"), r.get("host_syncs_per_batch"), "%s/%s" % (d.get("p50"), d.get("p99"))))
print("\nreport: " + out)
sys.exit(0 if all(c["status"] == "pass" for c in checks) else 1)
EOF
status=$?
say "done"
exit $status
