#pragma once
// `tradebot backtest` as a function: one run over replay data and simulated time, returning its
// report (daemon/tool_backtest.cpp says how each number is computed). The CLI command and other
// tools that run backtests in-process call run_backtest.
#include <string>
#include <vector>

#include "core/config.hpp"
#include "report/report.hpp"
#include "strategy/report.hpp"

namespace tb::daemon {

// Which forecast cache a backtest uses (--cache). Forecasts are the same with any of them: keys
// cover the data, every forecast parameter and the model identity, and seeds derive from keys.
enum class backtest_cache {
  shared,  // the config's cache: memory, cache.dir on disk, Redis when enabled (safe to share
           // with other backtests and a live daemon)
  fresh,   // memory and an empty disk folder DIR/.backtest-state/cache; no Redis
  off,     // no cache: every window is computed
};

struct backtest_options {
  std::string config_path, data_dir, from, to, report_dir;
  backtest_cache cache = backtest_cache::shared;
  bool progress = true;  // the progress bar (a terminal) or lines on stderr
  std::string label = "backtest";  // names the run on its progress bar and lines
  std::vector<std::string> sets;   // --set KEY=VALUE, as given (core::parse_override)
  core::config_ptr config;         // when set: the config to run, already loaded with its
                                   // overrides (tradebot sweep); config_path is then only named
};

// What a run produced: the report written to report_dir, or why not.
struct backtest_outcome {
  int exit_code = 0;    // 0 report written; 2 bad arguments or config; 1 the run failed
  std::string error;    // when exit_code != 0
  strategy::backtest_report report;
  report::report_paths paths;
  std::string cache_line;  // "Kronos Prediction Cache Stats: hits=X misses=Y hit_rate=Z%"
};

// The config file with each --set KEY=VALUE applied after the file and the environment
// (core::load_config's overrides), as tradebot backtest and sweep read it. errc::bad_config naming
// the bad --set, or "invalid configuration PATH:" and the file's errors.
tb::expected<core::config_ptr> load_config_with_sets(const std::string& path, const std::vector<std::string>& sets);

// Runs one backtest (blocking; the caller's thread waits on the actors) and writes
// report_dir/report.json and report.html. Journal, ledger and demo model go to a fresh
// report_dir/.backtest-state. Needs spdlog's default logger set up by the caller.
backtest_outcome run_backtest(const backtest_options& o);

// spdlog's default logger for a tool that runs backtests: stderr at warn, so the actors' info
// lines do not drown the progress bar. `name` names the logger (once per process).
void quiet_actor_logs(const std::string& name);

}  // namespace tb::daemon
