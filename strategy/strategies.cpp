#include "strategy/strategies.hpp"

#include <cmath>

namespace tb::strategy {

const char* to_string(strategy_kind k) {
  switch (k) {
    case strategy_kind::simple:
      return "simple";
    case strategy_kind::buy_hold:
      return "buy_hold";
    case strategy_kind::maxdiff:
      return "maxdiff";
    case strategy_kind::entry_takeprofit:
      return "entry_takeprofit";
    case strategy_kind::highlow:
      return "highlow";
  }
  return "unknown";
}

std::optional<strategy_kind> strategy_from_string(const std::string& name) {
  for (auto k : all_strategies)
    if (name == to_string(k)) return k;
  return std::nullopt;
}

expected<strategy_params> validate(const strategy_params& p) {
  auto in = [](double x, double lo, double hi) { return std::isfinite(x) && x >= lo && x <= hi; };
  if (!in(p.equity_fee, 0, 0.1)) return tb::error{errc::bad_config, "strategy equity_fee must be in [0, 0.1]"};
  if (!in(p.crypto_fee, 0, 0.1)) return tb::error{errc::bad_config, "strategy crypto_fee must be in [0, 0.1]"};
  if (!in(p.maxdiff_optimised_weight, 0, 1))
    return tb::error{errc::bad_config, "strategy maxdiff_optimised_weight must be in [0, 1]"};
  auto g = validate(p.optimiser);
  if (!g) return g.error();
  return p;
}

namespace {

// A filled one-bar round trip at `notional` of equity.
bar_result filled(double ret, double fee, double notional) {
  bar_result b;
  b.ret = notional * (ret - fee);
  b.trades = 1;
  b.traded_notional = 2 * notional;
  b.exposure = notional;
  return b;
}

// Long: limit buy at `entry` (fills when the bar's low reaches it), take profit at `target` when
// the bar's high reaches it (unless close_at_eod), else exit at the close.
bar_result long_round_trip(const window& w, double entry, double target, bool close_at_eod, double fee) {
  if (!(entry > 0) || w.actual.low > entry) return {};
  const double exit = (!close_at_eod && w.actual.high >= target) ? target : w.actual.close;
  return filled(exit / entry - 1, fee, 1);
}

// Short: limit sell at `entry` (fills when the bar's high reaches it), cover at `target` when the
// bar's low reaches it (unless close_at_eod), else at the close.
bar_result short_round_trip(const window& w, double entry, double target, bool close_at_eod, double fee) {
  if (!(entry > 0) || w.actual.high < entry) return {};
  const double exit = (!close_at_eod && target > 0 && w.actual.low <= target) ? target : w.actual.close;
  return filled((entry - exit) / entry, fee, 1);
}

bool valid_range(const window& w) { return w.forecast.low < w.forecast.high; }

}  // namespace

bar_result simple_window(const window& w, const strategy_params& p) {
  int dir = w.forecast.close > 0 ? 1 : (w.forecast.close < 0 ? -1 : 0);
  if (w.asset == asset_class::crypto && dir < 0) dir = 0;
  if (dir == 0) return {};
  return filled(dir * (w.actual.close / w.last_close - 1), p.fee(w.asset), 1);
}

bar_result maxdiff_window(const window& w, const maxdiff_settings& s, const strategy_params& p) {
  if (!valid_range(w)) return {};
  const bool is_long = std::fabs(w.forecast.high) > std::fabs(w.forecast.low);
  if (!is_long && w.asset == asset_class::crypto) return {};
  const double high_price = w.last_close * (1 + w.forecast.high + s.high_offset);
  const double low_price = w.last_close * (1 + w.forecast.low + s.low_offset);
  if (is_long) return long_round_trip(w, low_price, high_price, s.close_at_eod, p.fee(w.asset));
  return short_round_trip(w, high_price, low_price, s.close_at_eod, p.fee(w.asset));
}

bar_result entry_takeprofit_window(const window& w, const strategy_params& p) {
  if (!valid_range(w)) return {};
  return long_round_trip(w, w.last_close * (1 + w.forecast.low), w.last_close * (1 + w.forecast.high), false,
                         p.fee(w.asset));
}

bar_result highlow_window(const window& w, const strategy_params& p) {
  if (!valid_range(w)) return {};
  if (w.asset == asset_class::crypto) return entry_takeprofit_window(w, p);  // long leg only, full capital
  const double fee = p.fee(w.asset);
  const double lo = w.last_close * (1 + w.forecast.low);
  const double hi = w.last_close * (1 + w.forecast.high);
  const bool long_fills = w.actual.low <= lo;
  const bool short_fills = w.actual.high >= hi;
  const double c = w.actual.close;
  double long_exit = c, short_exit = c;
  if (long_fills && short_fills) {
    // Both limits touched: which extreme came first is unknown. Bar-path convention: a bar that
    // closes at or above its open went open -> low -> high -> close, else open -> high -> low ->
    // close. Only the leg entered at the first extreme can take profit at the second.
    if (c >= w.actual.open)
      long_exit = hi;
    else
      short_exit = lo;
  }
  bar_result b;
  auto add = [&](const bar_result& leg) {
    b.ret += leg.ret;
    b.trades += leg.trades;
    b.traded_notional += leg.traded_notional;
    b.exposure += leg.exposure;
  };
  if (long_fills) add(filled(long_exit / lo - 1, fee, 0.5));
  if (short_fills) add(filled((hi - short_exit) / hi, fee, 0.5));
  return b;
}

std::vector<bar_result> buy_hold_bars(const std::vector<window>& ws, const strategy_params& p) {
  std::vector<bar_result> out;
  out.reserve(ws.size());
  for (std::size_t i = 0; i < ws.size(); ++i) {
    const auto& w = ws[i];
    bar_result b;
    b.ret = w.actual.close / w.last_close - 1;
    b.exposure = 1;
    if (i == 0) {
      b.ret -= p.fee(w.asset);
      b.trades = 1;
      b.traded_notional += 1;  // the buy
    }
    if (i + 1 == ws.size()) b.traded_notional += 1;  // the sale at the end of the evaluation
    out.push_back(b);
  }
  return out;
}

namespace {

std::vector<double> returns_of(const std::vector<bar_result>& bars) {
  std::vector<double> r;
  r.reserve(bars.size());
  for (const auto& b : bars) r.push_back(b.ret);
  return r;
}

std::vector<bar_result> maxdiff_bars(const std::vector<window>& ws, const maxdiff_settings& s,
                                     const strategy_params& p) {
  std::vector<bar_result> out;
  out.reserve(ws.size());
  for (const auto& w : ws) out.push_back(maxdiff_window(w, s, p));
  return out;
}

}  // namespace

expected<maxdiff_fit> optimise_maxdiff(const std::vector<window>& ws, const strategy_params& p) {
  maxdiff_fit fit;
  bool have = false;
  for (bool eod : {false, true}) {
    auto objective = [&](double high_offset, double low_offset) {
      const maxdiff_settings s{high_offset, low_offset, eod};
      double sum = 0;
      for (const auto& w : ws) sum += maxdiff_window(w, s, p).ret;
      return sum;
    };
    auto best = staged_grid_maximise(objective, p.optimiser);
    if (!best) return best.error();
    fit.evaluations += best->evaluations;
    if (!have || best->value > fit.objective) {  // ties keep close_at_eod = false
      fit.settings = {best->x, best->y, eod};
      fit.objective = best->value;
      have = true;
    }
  }
  const int ppy = ws.empty() ? 252 : periods_per_year(ws.front().asset);
  const auto base = returns_of(maxdiff_bars(ws, {0, 0, fit.settings.close_at_eod}, p));
  const auto opt = returns_of(maxdiff_bars(ws, fit.settings, p));
  fit.baseline_return = compounded(base);
  fit.optimised_return = compounded(opt);
  fit.baseline_sharpe = sharpe_of(base, ppy);
  fit.optimised_sharpe = sharpe_of(opt, ppy);
  return fit;
}

expected<strategy_result> evaluate(strategy_kind k, const std::vector<window>& ws, const strategy_params& p) {
  auto pv = validate(p);
  if (!pv) return pv.error();
  auto wv = validate(ws);
  if (!wv) return wv.error();
  const asset_class asset = ws.empty() ? asset_class::equity : ws.front().asset;

  strategy_result r;
  r.kind = k;
  switch (k) {
    case strategy_kind::simple:
      for (const auto& w : ws) r.bars.push_back(simple_window(w, p));
      break;
    case strategy_kind::buy_hold:
      r.bars = buy_hold_bars(ws, p);
      break;
    case strategy_kind::entry_takeprofit:
      for (const auto& w : ws) r.bars.push_back(entry_takeprofit_window(w, p));
      break;
    case strategy_kind::highlow:
      for (const auto& w : ws) r.bars.push_back(highlow_window(w, p));
      break;
    case strategy_kind::maxdiff: {
      auto fit = optimise_maxdiff(ws, p);
      if (!fit) return fit.error();
      r.bars = maxdiff_bars(ws, fit->settings, p);
      r.maxdiff = *fit;
      break;
    }
  }
  auto m = compute_metrics(r.bars, asset);
  if (!m) return m.error();
  r.stats = *m;
  r.reported_return = r.stats.total_return;
  r.reported_sharpe = r.stats.sharpe;
  if (r.maxdiff) {
    r.reported_return = r.maxdiff->baseline_return + p.maxdiff_optimised_weight * r.maxdiff->optimised_return;
    r.reported_sharpe = r.maxdiff->baseline_sharpe + p.maxdiff_optimised_weight * r.maxdiff->optimised_sharpe;
  }
  for (std::size_t i = 0; i < ws.size(); ++i) r.spread_cost += 0.5 * ws[i].spread * r.bars[i].traded_notional;
  return r;
}

expected<std::vector<strategy_result>> evaluate_all(const std::vector<window>& ws, const strategy_params& p) {
  std::vector<strategy_result> out;
  for (auto k : all_strategies) {
    auto r = evaluate(k, ws, p);
    if (!r) return r.error();
    out.push_back(std::move(*r));
  }
  return out;
}

}  // namespace tb::strategy
