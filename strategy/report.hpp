#pragma once
// The backtest report: one value holding what a backtest run produced (run info, metrics overall
// and per symbol, equity curve, fills, order counts) and its report.json form (README.md,
// "report.json"; `compare` reads the same file). Its report.html page and the writing of both
// files are report/'s (report/report.hpp).
//
// to_json / from_json are pure and deterministic: the same report gives the same bytes.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "strategy/metrics.hpp"
#include "strategy/window.hpp"

namespace tb::strategy {

inline constexpr const char* report_format = "tradebot-report";
inline constexpr int report_version = 1;

// What the run was asked to do and when it ran. Times are seconds since the Unix epoch (UTC).
struct run_info {
  std::string config_path;           // --config as given
  std::string data_dir;              // --data as given ("" = the config's)
  std::string from_date, to_date;    // --from / --to as given, e.g. "2024-01-02" ("" = open)
  std::vector<std::string> symbols;  // the symbols traded, in the config's order
  std::string model;                 // model identity, e.g. "kronos-small@<sha256 prefix>"
  std::int64_t started_s = 0;        // wall-clock start and end of the run
  std::int64_t finished_s = 0;       // >= started_s
};

// One point of the account's equity (account currency), oldest first, times non-decreasing.
struct equity_point {
  std::int64_t time_s = 0;  // simulated time of the bar close the equity was marked at
  double equity = 0;        // > 0, finite
};

// Drawdown at one point of the curve: (running peak - equity) / running peak, a fraction >= 0.
struct drawdown_point {
  std::int64_t time_s = 0;
  double drawdown = 0;
};

enum class trade_side { buy, sell };
const char* to_string(trade_side s);  // "buy", "sell"

// One fill, as the broker reported it.
struct trade_record {
  std::int64_t time_s = 0;  // simulated time of the fill
  std::string symbol;
  trade_side side = trade_side::buy;
  double qty = 0;    // > 0, shares or coins
  double price = 0;  // > 0, account currency per unit
  double fee = 0;    // >= 0, account currency
  std::string client_order_id;
};

// One symbol's row: the strategy it traded with (to_string(strategy_kind), or "none" when it sat
// out) and the metrics of its own bars.
struct symbol_report {
  std::string symbol;
  asset_class asset = asset_class::equity;
  std::string strategy;
  strategy::metrics metrics;
};

struct order_counts {
  std::int64_t sent = 0;      // orders submitted to the broker
  std::int64_t filled = 0;    // orders that filled (fully or partly)
  std::int64_t rejected = 0;  // orders the risk checks or the broker refused
};

// What the forecast cache did during the run (the cache actor's counters when it stopped).
struct cache_figures {
  std::int64_t hits = 0;        // windows a cache tier answered
  std::int64_t misses = 0;      // windows looked up that no tier answered (0 with the cache off)
  double hit_rate_percent = 0;  // 100 * hits / (hits + misses); 0 without lookups
  std::int64_t computed = 0;    // windows the model computed
  std::int64_t stored = 0;      // computed forecasts handed to the cache
};

// What the inference service did during the run (its stats when the run ended).
struct inference_figures {
  std::int64_t errors = 0;      // requests that failed (a window errored or timed out) or were
                                // refused (queue full)
  std::int64_t oom_splits = 0;  // batches split in two after the device ran out of memory
};

// How long the run took.
struct run_timing {
  double elapsed_s = 0;     // wall-clock seconds from the start of the run to the report
  double inference_s = 0;   // seconds the model spent computing forecasts
  std::int64_t cycles = 0;  // analysis cycles the scheduler closed
};

struct backtest_report {
  run_info run;
  strategy::metrics metrics;           // the portfolio's, over all bars
  std::vector<symbol_report> symbols;  // one per symbol, in the run's order
  std::vector<equity_point> equity_curve;
  std::vector<trade_record> trades;  // every fill, oldest first
  order_counts orders;
  cache_figures cache;
  inference_figures inference;
  run_timing timing;
};

// The drawdown curve of an equity curve (same times). Empty in, empty out.
std::vector<drawdown_point> drawdown_curve(const std::vector<equity_point>& curve);

// Checks what to_json would write: finite numbers, equity > 0, curve and trade times
// non-decreasing, trades with qty > 0, price > 0, fee >= 0, a symbol and a known side,
// finished_s >= started_s, order counts >= 0, cache, inference and timing figures finite and >= 0.
// errc::bad_data naming the field
// (e.g. "trades[3].price").
expected<backtest_report> validate(const backtest_report& r);

// The report.json value (README.md, "report.json"). Does not validate; write_report does.
nlohmann::json to_json(const backtest_report& r);
// Its `orders`, `cache`, `inference` and `timing` objects.
nlohmann::json to_json(const order_counts& o);
nlohmann::json to_json(const cache_figures& c);
nlohmann::json to_json(const inference_figures& f);
nlohmann::json to_json(const run_timing& t);
// Reads it back (format "tradebot-report", version 1) and validates it. errc::bad_data naming the
// field, e.g. "report.trades[3].price: not a number". `cache`, `inference` and `timing` are optional (reports
// written before they existed read as zeros); when present every key is required.
expected<backtest_report> report_from_json(const nlohmann::json& j);

}  // namespace tb::strategy
