#pragma once
// The summary of a sweep (`tradebot sweep`): one backtest per combination of config overrides,
// ranked by Sharpe, with the other metrics beside each and the winner's settings; its
// summary.json and summary.html forms. Pure and deterministic except write_summary, the one
// function here that writes files.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "report/report.hpp"
#include "strategy/metrics.hpp"
#include "strategy/report.hpp"

namespace tb::report {

using strategy::cache_figures;
using strategy::order_counts;
using strategy::run_timing;

inline constexpr const char* sweep_format = "tradebot-sweep";
inline constexpr int sweep_version = 1;

// One overridden key of a run: its dotted name and its effective value (as /stats shows it).
struct sweep_setting {
  std::string key;
  nlohmann::json value;
};

// One backtest of the sweep.
struct sweep_run {
  int number = 0;                       // 1-based, the order the runs ran in
  std::string report_dir;               // relative to the sweep folder: "run-001"
  std::vector<sweep_setting> settings;  // one per --grid, in --grid order
  strategy::metrics metrics;            // the backtest's portfolio metrics
  order_counts orders;
  std::int64_t fills = 0;
  cache_figures cache;  // what the forecast cache did during this run
  run_timing timing;
};

struct sweep_summary {
  std::string config_path, data_dir, from_date, to_date;               // as given on the command line
  std::vector<std::string> sets;                                       // --set arguments, as given
  std::vector<std::pair<std::string, std::vector<std::string>>> grid;  // key, values as given
  std::vector<sweep_run> runs;                                         // in run order
};

// Indices into `runs`, best first: Sharpe descending (NaN counts as -inf), then total return descending
// (NaN as -inf), then the run number ascending. The winner is the first.
std::vector<std::size_t> rank_by_sharpe(const std::vector<sweep_run>& runs);

// summary.json: format, version, the sweep's arguments, `runs` in rank order (each with its
// rank, report, settings, metrics as to_json(metrics), orders, fills, cache, timing) and
// `winner` (the first of them: run, report, settings, sharpe); winner is null without runs.
nlohmann::json to_json(const sweep_summary& s);

// summary.html: one self-contained page (the report page's style): the winner's settings, then a
// table of the runs in rank order (rank, run linking to its report.html, the grid's values,
// Sharpe, total return, max drawdown, win rate, trades, ...), then the sweep's arguments.
// Every string is HTML-escaped. Deterministic.
std::string render_html(const sweep_summary& s);

struct summary_paths {
  std::string json;  // DIR/summary.json
  std::string html;  // DIR/summary.html
};

// Creates DIR when missing and writes DIR/summary.json and DIR/summary.html, each through a
// temporary file renamed over the target (write_file_atomically). errc::io naming the path.
expected<summary_paths> write_summary(const sweep_summary& s, const std::string& dir);

}  // namespace tb::report
