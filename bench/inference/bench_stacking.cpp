// bench_stacking: one generate() call over K bot-shaped windows of different symbols, with the
// series stacked in groups of at most G rows (generate_options::max_group_rows; G = 1 runs every
// series alone), side by side in one run: wall and process CPU time per forecast, and the
// largest difference between a series' stacked and solo forecast.
//
//   bench_stacking [--preset mini] [--windows 8] [--groups 1,384,768,1536,3072] [--threads 2]
//                  [--samples 192] [--reps 1]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include "bench/bot_windows.hpp"
#include "inference/kronos_init.hpp"
#include "inference/kronos_model.hpp"
#include "inference/model_service.hpp"  // load_checkpoint

namespace fs = std::filesystem;
namespace tbi = tb::inference;
using clock_type = std::chrono::steady_clock;

namespace {
std::vector<long> int_list(const std::string& s) {
  std::vector<long> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(std::stol(item));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string preset_name = "mini";
  int windows = 8, threads = 2, samples = 192, reps = 1;
  std::vector<long> groups = {1, 384, 768, 1536, 3072};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--preset")
      preset_name = v;
    else if (k == "--windows")
      windows = std::stoi(v);
    else if (k == "--groups")
      groups = int_list(v);
    else if (k == "--threads")
      threads = std::stoi(v);
    else if (k == "--samples")
      samples = std::stoi(v);
    else if (k == "--reps")
      reps = std::stoi(v);
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  auto preset = tbi::preset_by_name(preset_name);
  if (!preset) {
    std::fprintf(stderr, "%s\n", preset.error().message.c_str());
    return 2;
  }
  const fs::path dir = fs::temp_directory_path() / ("bench_stacking_" + std::to_string(::getpid()));
  if (auto w = tbi::write_random_checkpoint(*preset, 1, dir.string()); !w) {
    std::fprintf(stderr, "%s\n", w.error().message.c_str());
    return 1;
  }
  tbi::device_options o;
  o.cpu_threads = threads;
  auto m = tbi::load_checkpoint(dir.string(), o);
  fs::remove_all(dir);
  if (!m) {
    std::fprintf(stderr, "%s\n", m.error().message.c_str());
    return 1;
  }
  const auto params = tb::bench::bot_params(samples);
  const auto batch = tb::bench::bot_windows(windows, params);
  std::printf("preset %s, %d windows of %d bars, pred_len %d, %d samples, %d threads\n", preset_name.c_str(), windows,
              tb::bench::bot_lookback(), params.pred_len, samples, threads);
  std::printf("%10s %12s %12s %14s %12s\n", "group rows", "ms/forecast", "cpu ms/fc", "vs alone", "max rel diff");
  std::vector<tb::core::forecast> alone;
  double alone_ms = 0;
  for (long g : groups) {
    tbi::generate_options go;
    go.max_group_rows = g;
    double best = 1e300, cpu = 0;
    std::vector<tb::core::forecast> out;
    for (int r = 0; r < reps; ++r) {
      const auto t0 = clock_type::now();
      const std::clock_t c0 = std::clock();
      auto f = m->generate(batch, go);
      const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
      if (!f) {
        std::fprintf(stderr, "%s\n", f.error().message.c_str());
        return 1;
      }
      if (s < best) {
        best = s;
        cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
      }
      out = *f;
    }
    if (alone.empty()) {
      alone = out;
      alone_ms = 1e3 * best / windows;
    }
    double diff = 0;
    for (std::size_t i = 0; i < out.size(); ++i) diff = std::max(diff, tb::core::relative_difference(out[i], alone[i]));
    std::printf("%10ld %12.1f %12.1f %13.2fx %12.2e\n", g, 1e3 * best / windows, 1e3 * cpu / windows,
                alone_ms / (1e3 * best / windows), diff);
  }
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  std::printf("peak RSS of the process: %.1f MiB (run one group size per process to compare peaks)\n",
              static_cast<double>(ru.ru_maxrss) / 1024.0);
  return 0;
}
