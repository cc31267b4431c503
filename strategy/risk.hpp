#pragma once
// Risk limits as values: the caps sizing applies, the daily-loss kill switch, the per-minute order
// rate limiter and the per-order checks. Pure: the caller passes time, equity and positions in and
// keeps the returned state. README.md, "Risk".
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"
#include "strategy/window.hpp"

namespace tb::strategy {

struct risk_limits {
  double max_symbol_weight = 0.60;    // |position| <= this x equity, per symbol
  double max_total_exposure = 1.20;   // sum of |positions| (longs + shorts) <= this x equity
  double max_leverage = 1.0;          // sum of long positions <= this x equity
  bool crypto_long_only = true;       // no short crypto positions
  double max_daily_loss = 0.03;       // halt new entries once equity fell this fraction below the
                                      // day's starting equity
  int max_orders_per_minute = 60;     // accepted orders in any 60 s window
  double max_order_notional = 50000;  // per order, account currency
};

// The [risk] keys of the daemon's config, one row per member above.
const core::rows<risk_limits>& risk_rows();

// The bounds of risk_rows(); errc::bad_config naming the first key out of them.
expected<risk_limits> validate(const risk_limits& l);

// ---- Daily loss kill switch -------------------------------------------------------------------
struct kill_switch {
  std::optional<std::int64_t> day;  // the trading day it tracks (any monotone day number)
  double day_start_equity = 0;      // equity at the first update of that day
  double day_loss = 0;              // (day_start_equity - equity) / day_start_equity, last update
  bool halted = false;              // latched until the next trading day
  std::string reason;               // why it is halted (for /health)
};

// Feeds one equity observation. A new day resets it (start equity = this equity, not halted);
// once day_loss >= max_daily_loss it halts and stays halted for the rest of the day.
// Errors: NaN/inf equity (bad_data), a day earlier than the tracked one (invalid_argument).
expected<kill_switch> update_kill_switch(const kill_switch& s, std::int64_t trading_day, double equity,
                                         const risk_limits& l);

// ---- Order rate limiter -----------------------------------------------------------------------
struct rate_window {
  std::vector<std::int64_t> sent_ms;  // accepted orders' times (ms), ascending, within the last 60 s
};

struct rate_decision {
  bool allowed = false;
  rate_window next;  // the state to keep: expired entries dropped, `now_ms` added when allowed
};

// Allows an order at now_ms when fewer than max_per_minute were accepted in (now_ms - 60000, now_ms].
// now_ms earlier than the last accepted time is errc::invalid_argument (time never goes back).
expected<rate_decision> rate_limit(const rate_window& w, std::int64_t now_ms, int max_per_minute);

// ---- Per-order check --------------------------------------------------------------------------
struct order_request {
  std::string symbol;
  asset_class asset = asset_class::equity;
  int side = +1;        // +1 buy, -1 sell
  double notional = 0;  // > 0, account currency
};

struct account_state {
  double equity = 0;             // > 0
  double position_notional = 0;  // this symbol's position, signed (short < 0)
  double long_notional = 0;      // sum of all long positions (this symbol included), >= 0
  double short_notional = 0;     // sum of |all short positions| (this symbol included), >= 0
};

enum class order_verdict { accept, clip, reject };
const char* to_string(order_verdict v);

struct order_check {
  order_verdict verdict = order_verdict::reject;
  double notional = 0;  // approved notional: the request (accept), less (clip) or 0 (reject)
  std::string reason;   // the tightest limit that bound (or the rate limit); empty on accept
  rate_window rate;     // the limiter state to keep
};

// Applies, in order: the kill switch (a halted account may only reduce positions), crypto long
// only, the per-symbol cap, the leverage cap, the total exposure cap, the max order notional, then
// the rate limiter (a rejected order consumes no slot). Caps clip the part of an order that would
// grow |position|; an order is never clipped below what moves the position toward zero.
expected<order_check> check_order(const order_request& o, const account_state& a, const kill_switch& ks,
                                  const rate_window& rate, std::int64_t now_ms, const risk_limits& l);

}  // namespace tb::strategy
