#include "strategy/risk.hpp"

#include <algorithm>
#include <cmath>

namespace tb::strategy {

const core::rows<risk_limits>& risk_rows() {
  using l = risk_limits;
  using core::key;
  static const core::rows<risk_limits> rows = {
      key("risk.max_symbol_weight", &l::max_symbol_weight, "|position| <= this x equity per symbol", nullptr, 1e-9, 10),
      key("risk.max_total_exposure", &l::max_total_exposure, "sum of |positions| <= this x equity", nullptr, 1e-9, 10),
      key("risk.max_leverage", &l::max_leverage, "sum of long positions <= this x equity", nullptr, 1e-9, 10),
      key("risk.crypto_long_only", &l::crypto_long_only, "never short crypto"),
      key("risk.max_daily_loss", &l::max_daily_loss,
          "kill switch: no new entries once equity fell this fraction below the day's start", nullptr, 1e-9, 1),
      key("risk.max_orders_per_minute", &l::max_orders_per_minute, "accepted orders in any 60 s (clock time)", nullptr,
          1, 100000),
      key("risk.max_order_notional", &l::max_order_notional, "largest order (USD)", nullptr, 1e-9, 1e12),
  };
  return rows;
}

expected<risk_limits> validate(const risk_limits& l) {
  auto errors = core::check_values(risk_rows(), l);
  if (!errors.empty()) return tb::error{errc::bad_config, errors.front()};
  return l;
}

expected<kill_switch> update_kill_switch(const kill_switch& s, std::int64_t trading_day, double equity,
                                         const risk_limits& l) {
  if (!std::isfinite(equity)) return tb::error{errc::bad_data, "kill switch: equity is NaN or infinite"};
  if (s.day && trading_day < *s.day)
    return tb::error{errc::invalid_argument, "kill switch: trading day went backwards"};
  kill_switch n = s;
  if (!s.day || trading_day != *s.day) {
    n = kill_switch{};
    n.day = trading_day;
    n.day_start_equity = equity;
  }
  n.day_loss = n.day_start_equity > 0 ? (n.day_start_equity - equity) / n.day_start_equity : 1.0;
  if (!n.halted && n.day_loss >= l.max_daily_loss) {
    n.halted = true;
    n.reason = "daily loss " + std::to_string(n.day_loss * 100) + "% reached the limit of " +
               std::to_string(l.max_daily_loss * 100) + "%: new entries halted for the day";
  }
  return n;
}

expected<rate_decision> rate_limit(const rate_window& w, std::int64_t now_ms, int max_per_minute) {
  if (!w.sent_ms.empty() && now_ms < w.sent_ms.back())
    return tb::error{errc::invalid_argument, "rate limiter: time went backwards"};
  rate_decision d;
  for (auto t : w.sent_ms)
    if (now_ms - t < 60000) d.next.sent_ms.push_back(t);
  d.allowed = static_cast<int>(d.next.sent_ms.size()) < max_per_minute;
  if (d.allowed) d.next.sent_ms.push_back(now_ms);
  return d;
}

const char* to_string(order_verdict v) {
  switch (v) {
    case order_verdict::accept:
      return "accept";
    case order_verdict::clip:
      return "clip";
    case order_verdict::reject:
      return "reject";
  }
  return "unknown";
}

expected<order_check> check_order(const order_request& o, const account_state& a, const kill_switch& ks,
                                  const rate_window& rate, std::int64_t now_ms, const risk_limits& l) {
  auto lv = validate(l);
  if (!lv) return lv.error();
  for (double x : {o.notional, a.equity, a.position_notional, a.long_notional, a.short_notional})
    if (!std::isfinite(x)) return tb::error{errc::bad_data, "check_order " + o.symbol + ": NaN or infinite value"};
  if (o.side != 1 && o.side != -1)
    return tb::error{errc::invalid_argument, "check_order " + o.symbol + ": side must be +1 or -1"};
  if (o.notional <= 0) return tb::error{errc::invalid_argument, "check_order " + o.symbol + ": notional must be > 0"};
  if (a.equity <= 0) return tb::error{errc::invalid_argument, "check_order " + o.symbol + ": equity must be > 0"};
  if (a.long_notional < 0 || a.short_notional < 0)
    return tb::error{errc::invalid_argument, "check_order " + o.symbol + ": gross notionals must be >= 0"};

  // Work in the order's direction: x = side * position. The order moves x from p up to p + n.
  const double s = o.side;
  const double p = s * a.position_notional;
  const double floor = std::max(p, 0.0);  // always allowed: reducing toward zero
  const double other_long = a.long_notional - std::max(a.position_notional, 0.0);
  const double other_gross = a.long_notional + a.short_notional - std::fabs(a.position_notional);

  double x_max = p + o.notional;
  std::string reason;
  auto bound = [&](double b, const char* why) {
    const double eff = std::max(b, floor);
    if (eff < x_max) {
      x_max = eff;
      reason = why;
    }
  };
  if (ks.halted) bound(floor, "kill switch: daily loss limit reached, only reducing orders");
  if (o.asset == asset_class::crypto && l.crypto_long_only && o.side < 0) bound(0.0, "crypto is long only");
  bound(l.max_symbol_weight * a.equity, "per-symbol cap");
  if (o.side > 0) bound(l.max_leverage * a.equity - other_long, "leverage cap");
  bound(l.max_total_exposure * a.equity - other_gross, "total exposure cap");

  double n = reason.empty() ? o.notional : std::max(0.0, std::min(o.notional, x_max - p));
  if (n > l.max_order_notional) {
    n = l.max_order_notional;
    if (reason.empty()) reason = "max order notional";
  }
  order_check c;
  c.rate = rate;
  if (n <= 0) {
    c.verdict = order_verdict::reject;
    c.notional = 0;
    c.reason = reason;
    return c;
  }
  auto rd = rate_limit(rate, now_ms, l.max_orders_per_minute);
  if (!rd) return rd.error();
  if (!rd->allowed) {
    c.verdict = order_verdict::reject;
    c.notional = 0;
    c.reason = "order rate limit";
    return c;
  }
  c.rate = rd->next;
  c.notional = n;
  c.verdict = n < o.notional ? order_verdict::clip : order_verdict::accept;
  if (c.verdict == order_verdict::clip) c.reason = reason;
  return c;
}

}  // namespace tb::strategy
