// bench_serving: what the inference actor's batcher buys, with the real model.
//
// For a random-weight checkpoint of the given preset, at the trading bot's parameters (the config's
// [forecast] defaults: lookback = max_context 232, pred_len 7, T 0.152, top_k 20, top_p 0.83,
// sample_count 192, clip 1.85; bench/bot_windows.hpp), on windows of real daily bars:
//   1. N symbols one after another (each forecast alone through the model), then the same N
//      symbols asking at once through the model service (dynamic batcher): total times, ratio.
//   2. A concurrency sweep: C symbols asking at once, repeated; throughput and p50/p95/p99
//      latency of a request.
//
//   bench_serving [--preset mini] [--symbols 27] [--sweep 1,4,16,64] [--samples 192]
//                 [--threads 2] [--max-batch-rows 3072] [--delay-us 2000] [--rounds 1]
//                 [--executors 1]   (batches in flight at once; --sweep "" skips the sweep)
//                 [--device cpu|cuda] [--dtype float32] [--compile 0|1] [--compile-mode default]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <future>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "bench/bot_windows.hpp"
#include "inference/kronos_init.hpp"
#include "inference/model_service.hpp"

namespace fs = std::filesystem;
namespace tbi = tb::inference;
using clock_type = std::chrono::steady_clock;

namespace {

struct args {
  std::string preset = "mini";
  int symbols = 27;
  std::vector<int> sweep = {1, 4, 16, 64};
  int samples = 192;
  int threads = 2;
  std::size_t max_batch_rows = 3072;
  long delay_us = 2000;
  int rounds = 1;
  std::size_t executors = 1;
  std::string device = "cpu";
  std::string dtype = "float32";
  bool compile = false;
  std::string compile_mode = "default";
};

std::vector<int> int_list(const std::string& s) {
  std::vector<int> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(std::stoi(item));
  return out;
}

args parse(int argc, char** argv) {
  args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", k.c_str());
      std::exit(2);
    }
    const std::string v = argv[++i];
    if (k == "--preset")
      a.preset = v;
    else if (k == "--symbols")
      a.symbols = std::stoi(v);
    else if (k == "--sweep")
      a.sweep = int_list(v);
    else if (k == "--samples")
      a.samples = std::stoi(v);
    else if (k == "--threads")
      a.threads = std::stoi(v);
    else if (k == "--max-batch-rows")
      a.max_batch_rows = static_cast<std::size_t>(std::stoul(v));
    else if (k == "--delay-us")
      a.delay_us = std::stol(v);
    else if (k == "--rounds")
      a.rounds = std::stoi(v);
    else if (k == "--executors")
      a.executors = static_cast<std::size_t>(std::stoul(v));
    else if (k == "--device")
      a.device = v;
    else if (k == "--dtype")
      a.dtype = v;
    else if (k == "--compile")
      a.compile = v == "1";
    else if (k == "--compile-mode")
      a.compile_mode = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      std::exit(2);
    }
  }
  return a;
}

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto idx = static_cast<std::size_t>(
      std::min<double>(static_cast<double>(v.size() - 1), q * static_cast<double>(v.size() - 1) + 0.5));
  return v[idx];
}

// All windows submitted at once, one request each; returns per-request latencies (s).
std::vector<double> at_once(tbi::model_service& svc, const std::vector<tb::core::forecast_window>& ws) {
  std::vector<std::promise<double>> done(ws.size());
  std::vector<std::future<double>> futures;
  for (auto& d : done) futures.push_back(d.get_future());
  const auto t0 = clock_type::now();
  for (std::size_t i = 0; i < ws.size(); ++i) {
    tbi::batch_window b;
    b.window = ws[i];
    auto err = svc.submit({b}, [&done, i, t0](tbi::completion c) {
      const auto& r = c.results;
      if (!r.at(0)) std::fprintf(stderr, "forecast failed: %s\n", r[0].error().message.c_str());
      done[i].set_value(seconds_since(t0));
    });
    if (err) {
      std::fprintf(stderr, "submit refused: %s\n", err->message.c_str());
      std::exit(1);
    }
  }
  std::vector<double> lat;
  for (auto& f : futures) lat.push_back(f.get());
  return lat;
}

}  // namespace

int main(int argc, char** argv) {
  const args a = parse(argc, argv);
  auto preset = tbi::preset_by_name(a.preset);
  if (!preset) {
    std::fprintf(stderr, "%s\n", preset.error().message.c_str());
    return 2;
  }
  const fs::path dir = fs::temp_directory_path() / ("bench_serving_" + a.preset + "_" + std::to_string(::getpid()));
  if (auto w = tbi::write_random_checkpoint(*preset, 1, dir.string()); !w) {
    std::fprintf(stderr, "%s\n", w.error().message.c_str());
    return 1;
  }
  const auto p = tb::bench::bot_params(a.samples);

  tbi::service_options o;
  o.model_dir = dir.string();
  o.device.cpu_threads = a.threads;
  o.device.device = a.device;
  o.device.dtype = a.dtype;
  o.compile = a.compile;
  o.compile_mode = a.compile_mode;
  o.batching.max_batch_rows = a.max_batch_rows;
  o.batching.max_queue_delay = std::chrono::microseconds(a.delay_us);
  o.batching.executors = a.executors;
  o.sampling = p;
  o.lookback = tb::bench::bot_lookback();
  auto svc = tbi::model_service::start(o);
  if (!svc) {
    std::fprintf(stderr, "%s\n", svc.error().message.c_str());
    return 1;
  }
  // The same checkpoint once more for the one-after-another path (the service does not lend its own).
  auto model = tbi::load_checkpoint(dir.string(), o.device);
  if (!model) {
    std::fprintf(stderr, "%s\n", model.error().message.c_str());
    return 1;
  }
  std::printf(
      "preset %s, %d samples, lookback %d, max_context %d, pred_len %d, %d intra-op threads, "
      "max_batch_rows %zu, max_queue_delay %ld us, %zu executors\n",
      a.preset.c_str(), a.samples, tb::bench::bot_lookback(), p.max_context, p.pred_len, a.threads, a.max_batch_rows,
      a.delay_us, a.executors);

  // 1. One after another vs at once, side by side.
  const auto ws = tb::bench::bot_windows(a.symbols, p);
  const char* omp_wait = std::getenv("OMP_WAIT_POLICY");
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  std::printf("OMP_WAIT_POLICY=%s OPENBLAS_CORETYPE=%s\n", omp_wait ? omp_wait : "(unset)",
              coretype ? coretype : "(unset)");
  std::clock_t c0 = std::clock();
  auto t0 = clock_type::now();
  for (const auto& w : ws) {
    auto f = model->generate({w});
    if (!f) {
      std::fprintf(stderr, "%s\n", f.error().message.c_str());
      return 1;
    }
  }
  const double sequential = seconds_since(t0);
  const double sequential_cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  c0 = std::clock();
  t0 = clock_type::now();
  at_once(**svc, ws);
  const double batched = seconds_since(t0);
  const double batched_cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  std::printf("\n%d symbols one after another: %.2f s (%.1f ms per forecast)\n", a.symbols, sequential,
              1e3 * sequential / a.symbols);
  std::printf("%d symbols at once (batcher):   %.2f s (%.1f ms per forecast)\n", a.symbols, batched,
              1e3 * batched / a.symbols);
  std::printf("speed-up through the batcher:   %.2fx (process CPU time: %.2f s vs %.2f s, %.2fx)\n",
              sequential / batched, sequential_cpu, batched_cpu, sequential_cpu / batched_cpu);

  // 2. Concurrency sweep.
  std::printf("\n%12s %14s %10s %10s %10s\n", "concurrent", "forecasts/s", "p50 ms", "p95 ms", "p99 ms");
  for (int c : a.sweep) {
    std::vector<double> lat;
    double busy = 0;
    for (int r = 0; r < a.rounds; ++r) {
      const auto round = tb::bench::bot_windows(c, p);
      const auto start = clock_type::now();
      auto l = at_once(**svc, round);
      busy += seconds_since(start);
      lat.insert(lat.end(), l.begin(), l.end());
    }
    std::printf("%12d %14.2f %10.1f %10.1f %10.1f\n", c, static_cast<double>(lat.size()) / busy,
                1e3 * percentile(lat, 0.50), 1e3 * percentile(lat, 0.95), 1e3 * percentile(lat, 0.99));
  }
  std::printf("\nbatcher: %s\n", (*svc)->stats().dump().c_str());
  (*svc)->stop();
  fs::remove_all(dir);
  return 0;
}
