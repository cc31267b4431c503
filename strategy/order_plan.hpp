#pragma once
// From one cycle's proposals to the orders to send: selection and sizing (build_portfolio), the
// close-outs, the close back-out, the risk check of each order, its limit on the tick, its
// quantity and its client order id. Pure: the caller passes the account, the positions, the
// risk state and the time in, and keeps the returned risk state. README.md, "Orders".
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "strategy/portfolio.hpp"
#include "strategy/risk.hpp"
#include "strategy/window.hpp"

namespace tb::strategy {

// One symbol's answer this cycle (the symbol actor's proposal).
struct symbol_proposal {
  std::string symbol;
  asset_class asset = asset_class::equity;
  bool ok = false;              // it proposes side, score, edge and variance as a candidate
  bool has_opinion = false;     // ok or flat: a held position it does not target is closed
  std::string why;              // its state (and note) when it is not ok, e.g. "error (timeout)"
  std::int64_t bar_time_s = 0;  // the bar the decision was made from
  std::string strategy;         // chosen strategy ("" when none)
  int side = 0;                 // +1 long, -1 short, 0 flat
  double score = 0, edge = 0, variance = 0;
  double last_close = 0;    // the price the symbol is valued at; <= 0: it gets no order
  double limit_price = 0;   // the entry limit (<= 0: the last close)
  double bid = 0, ask = 0;  // the latest quote; 0 when none
};

struct held_position {
  std::string symbol;
  asset_class asset = asset_class::equity;
  double qty = 0;           // signed (short < 0), shares or coins
  double market_price = 0;  // account currency
};

struct order_params {
  portfolio_params portfolio;
  risk_limits limits;
  bool fractional_equity = false;     // equity quantities in 1e-6 shares; false: whole shares
  double default_spread = 0.0005;     // the close back-out's quote when there is none
  double backout_cross_bps = 5.0;     // the close back-out crosses the bid / ask by this
  double min_order_fraction = 0.002;  // smaller orders (fraction of equity) are not worth their fees
};

// What the venue decides, injected so this stays free of market/: the limit on the symbol's tick
// (market::round_limit_price: buys down, sells up) and the client order id
// (market::client_order_id_for). side: +1 buy, -1 sell.
struct order_venue {
  std::function<double(const std::string& symbol, double price, int side)> round_price;
  std::function<std::string(const std::string& symbol, std::int64_t bar_time_s, int side, const std::string& strategy)>
      order_id;
};

struct order_inputs {
  std::vector<symbol_proposal> proposals;  // this cycle's, at most one per symbol
  std::vector<held_position> positions;    // the broker's
  double equity = 0;                       // the broker's, account currency
  bool close_backout = false;              // this cycle is the close back-out
  kill_switch ks;                          // already fed this cycle's equity
  rate_window rate;
  std::int64_t now_ms = 0;  // the clock's now (ms since the epoch)
};

struct planned_order {
  std::string client_order_id;
  std::string symbol;
  int side = +1;           // +1 buy, -1 sell
  double qty = 0;          // > 0, shares or coins
  double limit_price = 0;  // on the tick
  std::string strategy;    // the proposal's, "rebalance" or "backout"
  std::int64_t bar_time_s = 0;
};

struct order_plan {
  std::vector<planned_order> orders;   // those that shrink a position first
  std::vector<std::string> decisions;  // each order and each refusal or kept position, one line
  rate_window rate;                    // the limiter state to keep
  std::uint64_t risk_rejected = 0;     // orders the risk check refused
};

// Targets: build_portfolio over the ok proposals with a side; a held position whose symbol has an
// opinion but is not targeted is closed (target 0). At the close back-out a held equity position
// that is not targeted (in error, stale, waiting or silent) is kept, with a decision line saying
// why. Each target whose change is at least min_order_fraction of equity goes through check_order.
// Limit: a back-out exit at backout_limit_price, an entry in the proposal's direction at its
// limit_price, anything else at the last close; then on the tick. Quantity: a whole exit (target
// 0, accepted unclipped) is exactly the held quantity; otherwise the notional / limit in whole
// shares, or in 1e-6 of a coin (and of a share with fractional_equity), and nothing when 0.
// Errors: build_portfolio's, its message prefixed "build_portfolio: ".
expected<order_plan> plan_orders(const order_inputs& in, const order_params& p, const order_venue& venue);

}  // namespace tb::strategy
