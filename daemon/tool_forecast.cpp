// `tradebot forecast`: Kronos forecasts of row ranges of a CSV file, as JSON or a table.
//
//   tradebot forecast --model DIR --tokenizer DIR --csv FILE --rows A:B [--rows C:D ...]
//       --pred-len N [--max-context N] [--samples N] [--temperature X] [--top-k N] [--top-p X]
//       [--clip X] [--seed N] [--json] [--threads N] [--device cpu|cuda|auto] [--mode cached|plain]
//
// Rows count data rows of the loaded (time-sorted) file from 0, end exclusive. The stamps of the
// bars to come are those of rows B.. of the file when it has them, else extrapolated from the
// history (inference/bar_calendar.hpp). All ranges run in one batch; each gets the seed given.
// JSON: {"series": [{"rows": [A, B], "forecast": [[o, h, l, c, v, a], ...]}], "elapsed_ms": X}
// where elapsed_ms is the generation time (model loading excluded).
// Runs on the caller's thread; LibTorch only through inference/.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/bar_csv.hpp"
#include "daemon/tool_commands.hpp"
#include "inference/bar_calendar.hpp"
#include "inference/kronos_model.hpp"

namespace tb::daemon {

namespace {

struct forecast_options {
  std::string model_dir, tokenizer_dir, csv;
  std::vector<std::string> rows;
  core::sampling_params params;
  std::uint64_t seed = 0;
  bool json = false;
  int threads = 0;
  std::string device = "cpu";
  std::string mode = "cached";
};

[[noreturn]] void fail(const std::string& message, int code) {
  std::cerr << "tradebot forecast: " << message << "\n";
  throw CLI::RuntimeError(code);
}

bool parse_range(const std::string& s, long& a, long& b) {
  const auto colon = s.find(':');
  if (colon == std::string::npos) return false;
  char* end = nullptr;
  a = std::strtol(s.c_str(), &end, 10);
  if (end != s.c_str() + colon) return false;
  b = std::strtol(s.c_str() + colon + 1, &end, 10);
  return end == s.c_str() + s.size() && colon + 1 < s.size();
}

std::string local_time(const core::bar& b) {
  const std::time_t t = static_cast<std::time_t>(b.time_s + b.utc_offset_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

void run(const forecast_options& o) {
  const char* env_dtype = std::getenv("KRONOS_DTYPE");
  auto series = core::load_bars_csv(o.csv);
  if (!series) fail(series.error().message, exit_bad_input);
  const auto& bars = series->bars;
  const long total = static_cast<long>(bars.size());

  std::vector<core::forecast_window> batch;
  std::vector<std::pair<long, long>> ranges;
  inference::generate_options gen;
  gen.mode = o.mode == "plain" ? inference::generation_mode::plain : inference::generation_mode::cached;
  std::vector<std::vector<core::bar>> future_bars;
  for (const auto& r : o.rows) {
    long a = 0, b = 0;
    if (!parse_range(r, a, b)) fail("--rows '" + r + "': expected A:B", exit_bad_input);
    if (a < 0 || b <= a || b > total) {
      fail("--rows " + r + ": needs 0 <= A < B <= " + std::to_string(total) + " (data rows of " + o.csv + ")",
           exit_bad_input);
    }
    core::forecast_window w;
    w.symbol = series->symbol;
    w.bars.assign(bars.begin() + a, bars.begin() + b);
    w.params = o.params;
    w.seed = o.seed;
    // Stamps of the bars to come: the file's own next rows when it has them.
    std::vector<core::bar> next;
    const long have = std::min<long>(total - b, o.params.pred_len);
    next.assign(bars.begin() + b, bars.begin() + b + have);
    if (have < o.params.pred_len) {
      std::vector<core::bar> hist(bars.begin() + a, bars.begin() + b + have);
      for (const auto& f : inference::future_bar_times(hist, o.params.pred_len - static_cast<int>(have)))
        next.push_back(f);
    }
    std::vector<core::bar_stamp> stamps;
    for (const auto& f : next) stamps.push_back(core::stamp_of(f));
    gen.future_stamps.push_back(stamps);
    future_bars.push_back(next);
    batch.push_back(std::move(w));
    ranges.emplace_back(a, b);
  }

  inference::device_options dev;
  dev.device = o.device;
  dev.dtype = env_dtype && *env_dtype ? env_dtype : "float32";
  dev.cpu_threads = o.threads;
  auto model = inference::kronos_model::load(o.tokenizer_dir, o.model_dir, dev);
  if (!model) fail(model.error().message, exit_bad_input);

  const auto start = std::chrono::steady_clock::now();
  auto out = model->generate(batch, gen);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!out) fail(out.error().message, out.error().code == errc::invalid_argument ? exit_bad_input : exit_failed);

  if (o.json) {
    nlohmann::json j;
    j["series"] = nlohmann::json::array();
    for (std::size_t s = 0; s < out->size(); ++s) {
      nlohmann::json rows = nlohmann::json::array();
      for (const auto& row : (*out)[s].rows) rows.push_back(std::vector<double>(row.begin(), row.end()));
      j["series"].push_back({{"rows", {ranges[s].first, ranges[s].second}}, {"forecast", rows}});
    }
    j["elapsed_ms"] = ms;
    std::cout << j.dump() << "\n";
    return;
  }
  std::printf("%s: %s, %d samples, T %g, top_k %d, top_p %g, clip %g, seed %llu, max_context %d (%.1f ms)\n",
              o.csv.c_str(), series->symbol.c_str(), o.params.sample_count, o.params.temperature, o.params.top_k,
              o.params.top_p, o.params.clip, static_cast<unsigned long long>(o.seed), o.params.max_context, ms);
  for (std::size_t s = 0; s < out->size(); ++s) {
    std::printf("\nrows %ld:%ld (history %s .. %s)\n", ranges[s].first, ranges[s].second,
                local_time(batch[s].bars.front()).c_str(), local_time(batch[s].bars.back()).c_str());
    std::printf("%-17s %12s %12s %12s %12s %15s %15s\n", "bar", "open", "high", "low", "close", "volume", "amount");
    for (std::size_t i = 0; i < (*out)[s].rows.size(); ++i) {
      const auto& r = (*out)[s].rows[i];
      std::printf("%-17s %12.4f %12.4f %12.4f %12.4f %15.2f %15.2f\n", local_time(future_bars[s][i]).c_str(), r[0],
                  r[1], r[2], r[3], r[4], r[5]);
    }
  }
}

}  // namespace

void add_forecast_commands(CLI::App& app) {
  auto o = std::make_shared<forecast_options>();
  CLI::App* cmd = app.add_subcommand("forecast", "Kronos forecasts of row ranges of a CSV file");
  cmd->add_option("--model", o->model_dir, "predictor folder (config.json + model.safetensors)")->required();
  cmd->add_option("--tokenizer", o->tokenizer_dir, "tokenizer folder (config.json + model.safetensors)")->required();
  cmd->add_option("--csv", o->csv, "bars (core/bar_csv.hpp describes the format)")->required();
  cmd->add_option("--rows", o->rows, "A:B data rows from 0, end exclusive; repeat for a batch")->required();
  cmd->add_option("--pred-len", o->params.pred_len, "bars to forecast")->required()->check(CLI::PositiveNumber);
  cmd->add_option("--max-context", o->params.max_context, "tokens the predictor sees (default 512)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--samples", o->params.sample_count, "forecasts averaged (default 1)")->check(CLI::PositiveNumber);
  cmd->add_option("--temperature", o->params.temperature, "sampling temperature > 0 (default 1)");
  cmd->add_option("--top-k", o->params.top_k, "keep the k most likely tokens; > 0 ignores --top-p (default 0)");
  cmd->add_option("--top-p", o->params.top_p, "nucleus mass in (0, 1] (default 0.9)");
  cmd->add_option("--clip", o->params.clip, "normalised inputs clipped to +-clip (default 5)");
  cmd->add_option("--seed", o->seed, "sampling seed (default 0)");
  cmd->add_flag("--json", o->json, "JSON on stdout instead of a table");
  cmd->add_option("--threads", o->threads, "LibTorch intra-op threads (default: LibTorch's)");
  cmd->add_option("--device", o->device, "cpu, cuda, cuda:N or auto (default cpu); KRONOS_DTYPE sets the CUDA dtype");
  cmd->add_option("--mode", o->mode, "cached (default) or plain (the reference's algorithm, slow)")
      ->check(CLI::IsMember({"cached", "plain"}));
  cmd->callback([o] { run(*o); });
}

}  // namespace tb::daemon
