#pragma once
// The five strategies of the original bot, evaluated over walk-forward windows (README.md, "Strategies").
// Every strategy maps windows (oldest first) to one bar_result per window; then metrics.
//
// Common conventions (c0 = window.last_close, moves from window.forecast, bar = window.actual):
//   long return  = exit / entry - 1 - fee            short return = (entry - exit) / entry - fee
//   fee          = entry fee, once per filled round trip, as a fraction of its notional
//   a limit buy at price B fills (at B) when bar.low <= B; a limit sell at S fills when bar.high >= S
//   a forecast with low >= high is invalid: maxdiff, entry_takeprofit and highlow stay flat
//   the spread is NOT in the returns; it is charged once, in the composite score (selection.hpp)
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "strategy/metrics.hpp"
#include "strategy/optimiser.hpp"
#include "strategy/window.hpp"

namespace tb::strategy {

enum class strategy_kind { simple, buy_hold, maxdiff, entry_takeprofit, highlow };
inline constexpr strategy_kind all_strategies[] = {strategy_kind::simple, strategy_kind::buy_hold,
                                                   strategy_kind::maxdiff, strategy_kind::entry_takeprofit,
                                                   strategy_kind::highlow};

const char* to_string(strategy_kind k);
std::optional<strategy_kind> strategy_from_string(const std::string& name);

struct strategy_params {
  double equity_fee = 0.0000278;          // entry fee, fraction of notional; [0, 0.1]
  double crypto_fee = 0.008;              // entry fee, fraction of notional; [0, 0.1]
  double maxdiff_optimised_weight = 0.3;  // reported = baseline + w * optimised; [0, 1]
  grid_params optimiser;                  // maxdiff offsets: bound 0.03, stages 33/17/9, shrink 0.6

  double fee(asset_class a) const { return a == asset_class::crypto ? crypto_fee : equity_fee; }
};

expected<strategy_params> validate(const strategy_params& p);

// maxdiff's tunables: price offsets added to the forecast moves, and the exit policy.
struct maxdiff_settings {
  double high_offset = 0;     // added to forecast.high (fraction of last close)
  double low_offset = 0;      // added to forecast.low
  bool close_at_eod = false;  // true: the exit is always the bar's close
};

struct maxdiff_fit {
  maxdiff_settings settings;    // the optimum
  double baseline_return = 0;   // compounded return with zero offsets (same close_at_eod)
  double optimised_return = 0;  // compounded return at the optimum
  double baseline_sharpe = 0;
  double optimised_sharpe = 0;
  double objective = 0;  // sum of per-window returns at the optimum (what the grid maximises)
  long evaluations = 0;  // objective calls, both close_at_eod policies
};

struct strategy_result {
  strategy_kind kind = strategy_kind::simple;
  std::vector<bar_result> bars;  // one per window, oldest first (maxdiff: at the optimum)
  metrics stats;                 // compute_metrics(bars, asset)
  double reported_return = 0;    // stats.total_return; maxdiff: baseline + 0.3 x optimised
  double reported_sharpe = 0;    // stats.sharpe; maxdiff: baseline + 0.3 x optimised
  double spread_cost = 0;        // sum of spread_i / 2 x traded_notional_i (half spread per side)
  std::optional<maxdiff_fit> maxdiff;
};

// One window of each strategy (no validation: callers pass validated windows).
bar_result simple_window(const window& w, const strategy_params& p);
bar_result maxdiff_window(const window& w, const maxdiff_settings& s, const strategy_params& p);
bar_result entry_takeprofit_window(const window& w, const strategy_params& p);
bar_result highlow_window(const window& w, const strategy_params& p);
// buy_hold is a series, not per window: one entry (fee) on the first window, held to the end.
std::vector<bar_result> buy_hold_bars(const std::vector<window>& ws, const strategy_params& p);

// Fits maxdiff (both close_at_eod policies, each on the staged grid) on validated windows.
expected<maxdiff_fit> optimise_maxdiff(const std::vector<window>& ws, const strategy_params& p);

// Validates the windows (NaN etc. -> errc::bad_data), runs one strategy, computes its metrics.
expected<strategy_result> evaluate(strategy_kind k, const std::vector<window>& ws, const strategy_params& p = {});
// All five, in all_strategies order.
expected<std::vector<strategy_result>> evaluate_all(const std::vector<window>& ws, const strategy_params& p = {});

}  // namespace tb::strategy
