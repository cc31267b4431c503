// bench_kronos: forecasts per second and ms per forecast of (a) the plain port of the reference
// algorithm and (b) ours, at the trading bot's parameters, for random-weight mini and small models
// (written by the same init code as `tradebot model init`), and the ratio; optionally an RSS check
// over many forecasts of the tiny model.
//
//   bench_kronos [--presets mini,small] [--threads 2] [--plain-reps 1] [--min-seconds 5]
//                [--plain-samples 192] [--rss-check 10000]
//                [--device cpu|cuda] [--dtype float32|bfloat16|float16] [--graphs] [--json FILE]
//
// --graphs (CUDA builds on a CUDA device): also times ours replaying a CUDA graph captured for the
// bot window ("graphs" rows; kronos_model::capture_graphs), beside ours eager. --json writes the
// rows as a JSON array (scripts/gpu-check.sh reads it).
//
// The plain port at 192 samples takes tens of seconds per forecast (minutes for small): its
// repetition count is small (1), and it runs at S samples with its time scaled by 192 / S (its
// cost is about linear in the sample count; slightly favourable to it), printed as such. By
// default S = 192 for mini (no scaling) and 48 for small and base; --plain-samples S sets it.
#include <unistd.h>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/bot_windows.hpp"
#include "core/bar_csv.hpp"
#include "inference/cuda_graph.hpp"
#include "inference/kronos_init.hpp"
#include "inference/kronos_model.hpp"
#include "inference/model_service.hpp"  // load_checkpoint

namespace fs = std::filesystem;
namespace tbi = tb::inference;
using clock_type = std::chrono::steady_clock;

namespace {

struct args {
  std::vector<std::string> presets = {"mini", "small"};
  int threads = 2;
  int plain_reps = 1;
  double min_seconds = 5;
  int plain_samples = 0;  // 0: 192 for mini and tiny, 48 (time scaled by 4) for bigger models
  int rss_check = 0;
  std::string device = "cpu";
  std::string dtype = "float32";
  bool graphs = false;
  std::string json;
};

args parse(int argc, char** argv) {
  args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", k.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--presets") {
      a.presets.clear();
      std::stringstream ss(next());
      std::string p;
      while (std::getline(ss, p, ',')) a.presets.push_back(p);
    } else if (k == "--threads") {
      a.threads = std::stoi(next());
    } else if (k == "--plain-reps") {
      a.plain_reps = std::stoi(next());
    } else if (k == "--min-seconds") {
      a.min_seconds = std::stod(next());
    } else if (k == "--plain-samples") {
      a.plain_samples = std::stoi(next());
    } else if (k == "--rss-check") {
      a.rss_check = std::stoi(next());
    } else if (k == "--device") {
      a.device = next();
    } else if (k == "--dtype") {
      a.dtype = next();
    } else if (k == "--graphs") {
      a.graphs = true;
    } else if (k == "--json") {
      a.json = next();
    } else {
      std::fprintf(stderr,
                   "usage: bench_kronos [--presets mini,small] [--threads N] [--plain-reps N] [--min-seconds X]\n"
                   "                    [--plain-samples S] [--rss-check N] [--device D] [--dtype T] [--graphs]\n"
                   "                    [--json FILE]\n");
      std::exit(2);
    }
  }
  return a;
}

// The bot's live window: the last n daily bars of a real file, or synthetic bars without it.
std::vector<tb::core::bar> bars_for_bench(int n) {
  auto s = tb::core::load_bars_csv(std::string(TRADEBOT_TEST_DATA) + "/daily/NIO.csv");
  if (s && static_cast<int>(s->bars.size()) >= n) return std::vector<tb::core::bar>(s->bars.end() - n, s->bars.end());
  std::vector<tb::core::bar> out;
  double p = 20;
  for (int i = 0; i < n; ++i) {
    tb::core::bar b;
    b.time_s = 1600000000 + 86400LL * i;
    b.open = p;
    p *= 1 + 0.02 * std::sin(i * 0.37);
    b.close = p;
    b.high = std::max(b.open, b.close) * 1.01;
    b.low = std::min(b.open, b.close) * 0.99;
    b.volume = 1e6 * (1 + 0.3 * std::cos(i * 0.11));
    b.amount = b.volume * b.close;
    out.push_back(b);
  }
  return out;
}

tb::core::forecast_window bot_window(const std::vector<tb::core::bar>& bars, int samples) {
  tb::core::forecast_window w;
  w.symbol = "NIO";
  w.bars = bars;
  w.params = tb::bench::bot_params(samples);
  w.seed = 20260318;
  return w;
}

double rss_mib() {
  std::ifstream in("/proc/self/statm");
  long pages = 0, resident = 0;
  in >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

fs::path temp_root() {
  fs::path p = fs::temp_directory_path() / ("bench_kronos_" + std::to_string(::getpid()));
  fs::create_directories(p);
  return p;
}

tbi::kronos_model load_preset(const std::string& name, const fs::path& root, const args& a) {
  auto preset = tbi::preset_by_name(name);
  if (!preset) {
    std::fprintf(stderr, "%s\n", preset.error().message.c_str());
    std::exit(1);
  }
  const fs::path dir = root / name;
  auto w = tbi::write_random_checkpoint(*preset, 1, dir.string());
  if (!w) {
    std::fprintf(stderr, "%s\n", w.error().message.c_str());
    std::exit(1);
  }
  tbi::device_options o;
  o.cpu_threads = a.threads;
  o.device = a.device;
  o.dtype = a.dtype;
  auto m = tbi::load_checkpoint(dir.string(), o);
  if (!m) {
    std::fprintf(stderr, "%s\n", m.error().message.c_str());
    std::exit(1);
  }
  return *m;
}

struct timing {
  int reps = 0;
  double seconds = 0;
  double cpu_seconds = 0;  // process CPU time (all threads): robust to a machine shared with others
  tb::core::forecast last;
};

timing time_mode(const tbi::kronos_model& m, const tb::core::forecast_window& w, tbi::generation_mode mode,
                 int min_reps, double min_seconds, bool graphs = false) {
  tbi::generate_options o;
  o.mode = mode;
  o.graphs = graphs;
  timing t;
  const auto start = clock_type::now();
  const std::clock_t cpu_start = std::clock();
  while (t.reps < min_reps || std::chrono::duration<double>(clock_type::now() - start).count() < min_seconds) {
    auto r = m.generate({w}, o);
    if (!r) {
      std::fprintf(stderr, "generate: %s\n", r.error().message.c_str());
      std::exit(1);
    }
    t.last = (*r)[0];
    ++t.reps;
  }
  t.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  t.cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  return t;
}

void rss_check(int n, const fs::path& root, const args& a) {
  const auto m = load_preset("tiny", root, a);
  const auto bars = bars_for_bench(tb::bench::bot_lookback());
  std::printf("\nRSS check: %d forecasts, tiny model, lookback %d, pred_len %d, 8 samples, seed varies\n", n,
              tb::bench::bot_lookback(), tb::bench::bot_params(8).pred_len);
  const int warm = std::min(1000, n / 10);
  double after_warm = 0;
  const auto start = clock_type::now();
  for (int i = 0; i < n; ++i) {
    if (i == warm) after_warm = rss_mib();
    auto w = bot_window(bars, 8);
    w.seed = static_cast<std::uint64_t>(i);
    w.bars.resize(200 + static_cast<std::size_t>(i % 32));  // varying lengths: varying tensor shapes
    auto r = m.generate({w});
    if (!r) {
      std::fprintf(stderr, "generate: %s\n", r.error().message.c_str());
      std::exit(1);
    }
    if ((i + 1) % (n / 10 > 0 ? n / 10 : 1) == 0) {
      std::printf("  after %6d forecasts: RSS %.1f MiB\n", i + 1, rss_mib());
      std::fflush(stdout);
    }
  }
  const double end = rss_mib();
  const double growth = after_warm > 0 ? 100.0 * (end - after_warm) / after_warm : 0;
  std::printf(
      "  RSS after %d warm-up forecasts %.1f MiB, at the end %.1f MiB: %+.2f %% (%s, limit 5 %%), %.2f ms/forecast\n",
      warm, after_warm, end, growth, std::abs(growth) <= 5 ? "stable" : "GROWING",
      1000 * std::chrono::duration<double>(clock_type::now() - start).count() / n);
}

}  // namespace

int main(int argc, char** argv) {
  const args a = parse(argc, argv);
  const fs::path root = temp_root();
  const auto bars = bars_for_bench(tb::bench::bot_lookback());
  const auto bp = tb::bench::bot_params(192);
  std::printf("bench_kronos: lookback %d, max_context %d, pred_len %d, T %g, top_k %d, top_p %g, samples %d, clip %g\n",
              tb::bench::bot_lookback(), bp.max_context, bp.pred_len, bp.temperature, bp.top_k, bp.top_p,
              bp.sample_count, bp.clip);
  std::printf("threads %d, plain port reps %d, device %s, dtype %s\n\n", a.threads, a.plain_reps, a.device.c_str(),
              a.dtype.c_str());
  nlohmann::json rows = nlohmann::json::array();
  auto row = [&rows](const std::string& model, const std::string& mode, const timing& t, double scale) {
    rows.push_back({{"model", model},
                    {"mode", mode},
                    {"reps", t.reps},
                    {"ms_per_forecast", 1000 * t.seconds / t.reps * scale},
                    {"forecasts_per_s", t.reps / (t.seconds * scale)},
                    {"cpu_ms_per_forecast", 1000 * t.cpu_seconds / t.reps * scale}});
  };
  std::printf("%-6s %-6s %6s %12s %14s %10s %16s %14s\n", "model", "mode", "reps", "ms/forecast", "forecasts/s",
              "speed-up", "cpu ms/forecast", "cpu speed-up");
  for (const auto& name : a.presets) {
    const auto m = load_preset(name, root, a);
    const auto w = bot_window(bars, 192);
    // Ours: one warm-up, then at least 3 reps and min_seconds.
    (void)time_mode(m, w, tbi::generation_mode::cached, 1, 0);
    const timing ours = time_mode(m, w, tbi::generation_mode::cached, 3, a.min_seconds);
    const double ours_ms = 1000 * ours.seconds / ours.reps;
    const double ours_cpu = 1000 * ours.cpu_seconds / ours.reps;
    row(name, "ours", ours, 1);
    if (a.graphs) {
      auto captured = m.capture_graphs(w, {1});
      if (!captured) {
        std::fprintf(stderr, "capture_graphs: %s\n", captured.error().message.c_str());
        std::exit(1);
      }
      if (*captured == 0) {
        std::printf("%-6s %-6s  no CUDA graph here (device %s, CUDA graphs built: %s)\n", name.c_str(), "graphs",
                    a.device.c_str(), tbi::cuda_graphs_built() ? "yes" : "no");
      } else {
        const timing g = time_mode(m, w, tbi::generation_mode::cached, 3, a.min_seconds, true);
        const double g_ms = 1000 * g.seconds / g.reps;
        std::printf("%-6s %-6s %6d %12.1f %14.3f %9.1fx %16.1f %14s  (vs ours eager)\n", name.c_str(), "graphs", g.reps,
                    g_ms, 1000 / g_ms, ours_ms / g_ms, 1000 * g.cpu_seconds / g.reps, "-");
        std::printf("       graphs vs eager, same draws: max relative difference of the forecasts %.2e\n",
                    tb::core::relative_difference(g.last, ours.last));
        row(name, "graphs", g, 1);
        rows.back()["max_rel_diff_vs_ours"] = tb::core::relative_difference(g.last, ours.last);
      }
    }
    if (a.plain_reps <= 0) {
      std::printf("%-6s %-6s %6d %12.1f %14.3f %10s %16.1f %14s\n", name.c_str(), "ours", ours.reps, ours_ms,
                  1000 / ours_ms, "-", ours_cpu, "-");
      continue;
    }
    const int plain_samples = a.plain_samples > 0 ? a.plain_samples : (name == "mini" || name == "tiny") ? 192 : 48;
    const auto wp = bot_window(bars, plain_samples);
    const timing plain = time_mode(m, wp, tbi::generation_mode::plain, a.plain_reps, 0);
    row(name, "plain", plain, 192.0 / plain_samples);
    const double plain_ms = 1000 * plain.seconds / plain.reps * (192.0 / plain_samples);
    const double plain_cpu = 1000 * plain.cpu_seconds / plain.reps * (192.0 / plain_samples);
    if (plain_samples != 192) {
      std::printf("       plain port ran at %d samples; its times are scaled by 192/%d\n", plain_samples,
                  plain_samples);
    }
    std::printf("%-6s %-6s %6d %12.1f %14.3f %10s %16.1f %14s\n", name.c_str(), "plain", plain.reps, plain_ms,
                1000 / plain_ms, "1.0x", plain_cpu, "1.0x");
    std::printf("%-6s %-6s %6d %12.1f %14.3f %9.1fx %16.1f %13.1fx\n", name.c_str(), "ours", ours.reps, ours_ms,
                1000 / ours_ms, plain_ms / ours_ms, ours_cpu, plain_cpu / ours_cpu);
    if (plain_samples == 192) {
      std::printf("       same draws in both modes: max relative difference of the forecasts %.2e\n",
                  tb::core::relative_difference(ours.last, plain.last));
    }
    std::fflush(stdout);
  }
  if (a.rss_check > 0) rss_check(a.rss_check, root, a);
  if (!a.json.empty()) {
    std::ofstream out(a.json);
    out << rows.dump(2) << "\n";
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", a.json.c_str());
      return 1;
    }
  }
  std::error_code ec;
  fs::remove_all(root, ec);
  return 0;
}
