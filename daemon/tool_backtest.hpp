#pragma once
// `tradebot backtest` as a function: one run over replay data and simulated time, returning its
// report (daemon/tool_backtest.cpp says how each number is computed). The CLI command and other
// tools that run backtests in-process call run_backtest.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "actors/config.hpp"
#include "market/equity_log.hpp"
#include "market/order_journal.hpp"
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
  bool progress = true;            // the progress bar (a terminal) or lines on stderr
  std::string label = "backtest";  // names the run on its progress bar and lines
  std::vector<std::string> sets;   // --set KEY=VALUE, as given (core::parse_override)
  actors::config_ptr config;       // when set: the config to run, already loaded with its
                                   // overrides (tradebot sweep); config_path is then only named
};

// What a run produced: the report written to report_dir, or why not.
struct backtest_outcome {
  int exit_code = 0;  // 0 report written; 2 bad arguments or config; 1 the run failed
  std::string error;  // when exit_code != 0
  strategy::backtest_report report;
  report::report_paths paths;
  std::string cache_line;  // "Kronos Prediction Cache Stats: hits=X misses=Y hit_rate=Z%"
};

// The config file with each --set KEY=VALUE applied after the file and the environment
// (actors::load_config's overrides), as tradebot backtest and sweep read it. errc::bad_config naming
// the bad --set, or "invalid configuration PATH:" and the file's errors.
tb::expected<actors::config_ptr> load_config_with_sets(const std::string& path, const std::vector<std::string>& sets);

// Runs one backtest (blocking; the caller's thread waits on the actors) and writes
// report_dir/report.json and report.html. Journal, ledger and demo model go to a fresh
// report_dir/.backtest-state. Needs spdlog's default logger set up by the caller.
backtest_outcome run_backtest(const backtest_options& o);

// The instants a report covers, unix ns, both ends included (default: everything).
struct report_window {
  std::int64_t from_ns = std::numeric_limits<std::int64_t>::min();
  std::int64_t to_ns = std::numeric_limits<std::int64_t>::max();
};

// The trading part of a report from what a run left: its equity marks (oldest first) and its order
// journal, each restricted to `w`: equity_curve, trades (the journal's fills, fees at cfg's rates),
// metrics, one row per symbol of `symbols`, orders (intents journaled in `w`; rejected adds
// `risk_rejected`, which the journal does not hold) and timing.cycles = the marks. The rest (run,
// cache, inference, timing) is the caller's. errc::bad_data when `w` holds no mark or a metric
// cannot be computed. `tradebot backtest` calls it after its run, `tradebot report` over a
// daemon's state folder (daemon/tool_report.cpp).
tb::expected<strategy::backtest_report> trading_report(const std::vector<market::equity_record>& curve,
                                                       const market::order_journal& journal, const actors::config& cfg,
                                                       const std::vector<std::string>& symbols,
                                                       std::int64_t risk_rejected, const report_window& w);

// spdlog's default logger for a tool that runs backtests: stderr at warn, so the actors' info
// lines do not drown the progress bar. `name` names the logger (once per process).
void quiet_actor_logs(const std::string& name);

}  // namespace tb::daemon
