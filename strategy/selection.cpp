#include "strategy/selection.hpp"

#include <algorithm>
#include <cmath>

namespace tb::strategy {

const core::rows<selection_params>& selection_rows() {
  using p = selection_params;
  using core::key;
  static const core::rows<selection_params> rows = {
      key("strategy.min_sharpe", &p::min_sharpe, "gate: walk-forward Sharpe at least this", nullptr, -10, 10),
      key("strategy.recent_windows", &p::recent_windows, "gate: the last K window returns sum above 0", nullptr, 1,
          10000),
      key("strategy.min_edge", &p::min_edge, "gate: mean return per window above this", nullptr, -1, 1),
      key("strategy.spread_penalty_weight", &p::spread_penalty_weight,
          "the composite score is return minus this weight x spread cost", nullptr, 0, 100),
      key("strategy.allow_buy_hold", &p::allow_buy_hold, "buy_hold may be chosen"),
  };
  return rows;
}

expected<selection_params> validate(const selection_params& p) {
  auto errors = core::check_values(selection_rows(), p);
  if (!errors.empty()) return tb::error{errc::bad_config, errors.front()};
  return p;
}

expected<choice_report> choose_strategy(const std::vector<strategy_result>& results, const selection_params& p) {
  auto pv = validate(p);
  if (!pv) return pv.error();
  choice_report rep;
  const strategy_result* best = nullptr;
  for (const auto& r : results) {
    std::vector<double> rets;
    for (const auto& b : r.bars) rets.push_back(b.ret);
    gate_report g;
    g.kind = r.kind;
    g.sharpe = r.reported_sharpe;
    g.edge = mean(rets);
    g.variance = population_variance(rets);
    const std::size_t k = std::min<std::size_t>(rets.size(), static_cast<std::size_t>(p.recent_windows));
    for (std::size_t i = rets.size() - k; i < rets.size(); ++i) g.recent_sum += rets[i];
    g.composite = r.reported_return - p.spread_penalty_weight * r.spread_cost;
    for (double x : {g.sharpe, g.edge, g.variance, g.recent_sum, g.composite})
      if (!std::isfinite(x))
        return tb::error{errc::bad_data,
                         std::string("choose_strategy: ") + to_string(r.kind) + " has a NaN or infinite value"};
    g.sharpe_ok = g.sharpe >= p.min_sharpe;
    g.recent_ok = g.recent_sum > 0;
    g.edge_ok = g.edge > p.min_edge;
    g.allowed = p.allow_buy_hold || r.kind != strategy_kind::buy_hold;
    rep.gates.push_back(g);
    if (g.passed() && (!best || g.sharpe > best->reported_sharpe)) {
      best = &r;
      strategy_choice c;
      c.kind = r.kind;
      c.score = g.composite;
      c.sharpe = g.sharpe;
      c.edge = g.edge;
      c.variance = g.variance;
      if (r.maxdiff) c.maxdiff = r.maxdiff->settings;
      rep.choice = c;
    }
  }
  return rep;
}

expected<std::vector<planned_leg>> plan_next_bar(const strategy_choice& c, const forecast_move& f, double last_close,
                                                 asset_class asset) {
  if (!std::isfinite(f.close) || !std::isfinite(f.high) || !std::isfinite(f.low) || !std::isfinite(last_close) ||
      last_close <= 0)
    return tb::error{errc::bad_data, "plan_next_bar: NaN forecast or non-positive last close"};
  std::vector<planned_leg> legs;
  const bool crypto = asset == asset_class::crypto;
  const bool valid = f.low < f.high;
  const double lo = last_close * (1 + f.low), hi = last_close * (1 + f.high);
  switch (c.kind) {
    case strategy_kind::buy_hold:
      legs.push_back({+1, 1, 0, 0, false});  // held, never closed by the plan
      break;
    case strategy_kind::simple: {
      const int dir = f.close > 0 ? 1 : (f.close < 0 ? -1 : 0);
      if (dir > 0 || (dir < 0 && !crypto)) legs.push_back({dir, 1, 0, 0, true});
      break;
    }
    case strategy_kind::entry_takeprofit:
      if (valid) legs.push_back({+1, 1, lo, hi, true});
      break;
    case strategy_kind::highlow:
      if (!valid) break;
      if (crypto) {
        legs.push_back({+1, 1, lo, hi, true});
      } else {
        legs.push_back({+1, 0.5, lo, hi, true});
        legs.push_back({-1, 0.5, hi, lo, true});
      }
      break;
    case strategy_kind::maxdiff: {
      if (!valid) break;
      const maxdiff_settings s = c.maxdiff.value_or(maxdiff_settings{});
      const double h = last_close * (1 + f.high + s.high_offset), l = last_close * (1 + f.low + s.low_offset);
      const bool is_long = std::fabs(f.high) > std::fabs(f.low);
      if (is_long)
        legs.push_back({+1, 1, l, s.close_at_eod ? 0 : h, true});
      else if (!crypto)
        legs.push_back({-1, 1, h, s.close_at_eod ? 0 : l, true});
      break;
    }
  }
  return legs;
}

}  // namespace tb::strategy
