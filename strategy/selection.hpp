#pragma once
// Strategy choice per symbol (the gates and the composite score), and the plan of the next bar's
// orders for the chosen strategy. README.md, "Choice per symbol".
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"
#include "strategy/strategies.hpp"

namespace tb::strategy {

struct selection_params {
  double min_sharpe = 0.3;             // gate: reported (walk-forward) Sharpe >= this
  int recent_windows = 5;              // gate: sum of the last K per-window returns > 0
  double min_edge = 0.0;               // gate: edge (mean return per window) > this
  double spread_penalty_weight = 1.0;  // composite = reported_return - w * spread_cost
  bool allow_buy_hold = true;          // buy_hold may be chosen (it is also the baseline)
};

// The [strategy] keys of the daemon's config, one row per member above.
const core::rows<selection_params>& selection_rows();

// The bounds of selection_rows(); errc::bad_config naming the first key out of them.
expected<selection_params> validate(const selection_params& p);

// How one strategy fared at the gates.
struct gate_report {
  strategy_kind kind = strategy_kind::simple;
  double sharpe = 0;      // strategy_result::reported_sharpe
  double recent_sum = 0;  // sum of the last recent_windows per-window returns (all when fewer)
  double edge = 0;        // stats.avg_return
  double variance = 0;    // population variance of the per-window returns
  double composite = 0;   // reported_return - spread_penalty_weight * spread_cost
  bool sharpe_ok = false, recent_ok = false, edge_ok = false, allowed = true;
  bool passed() const { return sharpe_ok && recent_ok && edge_ok && allowed; }
};

struct strategy_choice {
  strategy_kind kind = strategy_kind::simple;
  double score = 0;  // the composite
  double sharpe = 0;
  double edge = 0;
  double variance = 0;
  std::optional<maxdiff_settings> maxdiff;  // the fitted offsets when kind == maxdiff
};

struct choice_report {
  std::optional<strategy_choice> choice;  // empty: no strategy passed, the symbol sits out
  std::vector<gate_report> gates;         // one per input result, same order
};

// Among the results that pass every gate, the one with the highest reported Sharpe (ties: the
// earlier in `results`). A NaN anywhere in a result is errc::bad_data.
expected<choice_report> choose_strategy(const std::vector<strategy_result>& results, const selection_params& p = {});

// One order leg of the next bar, mirroring the window simulation of the chosen strategy.
struct planned_leg {
  int side = 0;              // +1 buy (long), -1 sell (short)
  double weight = 1;         // fraction of the symbol's allocation (highlow: 0.5 per leg)
  double entry_price = 0;    // limit price; 0 = market at the current close
  double take_profit = 0;    // limit exit; 0 = none (exit at the bar's close)
  bool close_at_eod = true;  // exit at the bar's close at the latest
};

// The legs for the live forecast (a window without its actual bar). Empty = stay flat.
// buy_hold: one market buy; simple: market long/short on the forecast close sign (crypto: no short).
expected<std::vector<planned_leg>> plan_next_bar(const strategy_choice& c, const forecast_move& live, double last_close,
                                                 asset_class asset);

}  // namespace tb::strategy
