#include "strategy/portfolio.hpp"

#include <algorithm>
#include <cmath>

namespace tb::strategy {

expected<portfolio_params> validate(const portfolio_params& p) {
  if (p.max_positions < 1 || p.max_positions > 1000)
    return tb::error{errc::bad_config, "portfolio max_positions must be in [1, 1000]"};
  if (p.min_positions < 0 || p.min_positions > p.max_positions)
    return tb::error{errc::bad_config, "portfolio min_positions must be in [0, max_positions]"};
  if (!std::isfinite(p.min_score) || std::fabs(p.min_score) > 1e6)
    return tb::error{errc::bad_config, "portfolio min_score must be in [-1e6, 1e6]"};
  if (!(std::isfinite(p.kelly_fraction) && p.kelly_fraction > 0 && p.kelly_fraction <= 10))
    return tb::error{errc::bad_config, "portfolio kelly_fraction must be in (0, 10]"};
  if (!(std::isfinite(p.kelly_cap) && p.kelly_cap > 0 && p.kelly_cap <= 1))
    return tb::error{errc::bad_config, "portfolio kelly_cap must be in (0, 1]"};
  return p;
}

double kelly_weight(double edge, double variance, const portfolio_params& p) {
  if (!std::isfinite(edge) || !std::isfinite(variance) || edge <= 0 || variance < 0) return 0;
  if (variance == 0) return p.kelly_cap;
  return std::min(p.kelly_cap, p.kelly_fraction * edge / variance);
}

expected<selection> select_candidates(const std::vector<candidate>& cands, const portfolio_params& p,
                                      const risk_limits& l) {
  auto pv = validate(p);
  if (!pv) return pv.error();
  auto lv = validate(l);
  if (!lv) return lv.error();
  selection out;
  std::vector<candidate> q;
  for (const auto& c : cands) {
    if (!std::isfinite(c.score) || !std::isfinite(c.edge) || !std::isfinite(c.variance))
      return tb::error{errc::bad_data, "select_candidates: " + c.symbol + " has a NaN or infinite value"};
    if (c.side == 0)
      out.skipped.push_back(c.symbol + ": flat");
    else if (c.asset == asset_class::crypto && l.crypto_long_only && c.side < 0)
      out.skipped.push_back(c.symbol + ": crypto is long only");
    else if (kelly_weight(c.edge, c.variance, p) <= 0)
      out.skipped.push_back(c.symbol + ": no edge");
    else
      q.push_back(c);
  }
  std::sort(q.begin(), q.end(), [](const candidate& a, const candidate& b) {
    return a.score != b.score ? a.score > b.score : a.symbol < b.symbol;
  });
  const std::size_t max_n = static_cast<std::size_t>(p.max_positions);
  const std::size_t min_n = static_cast<std::size_t>(p.min_positions);
  std::vector<bool> taken(q.size(), false);
  for (std::size_t i = 0; i < q.size() && out.selected.size() < max_n; ++i)
    if (q[i].score >= p.min_score) {
      out.selected.push_back(q[i]);
      taken[i] = true;
    }
  // q is sorted, so the untaken ones are exactly those below min_score, best first.
  for (std::size_t i = 0; i < q.size() && out.selected.size() < min_n; ++i)
    if (!taken[i]) {
      out.selected.push_back(q[i]);
      taken[i] = true;
    }
  for (std::size_t i = 0; i < q.size(); ++i)
    if (!taken[i])
      out.skipped.push_back(q[i].symbol + (q[i].score < p.min_score ? ": score below min_score" : ": ranked below max_positions"));
  return out;
}

expected<std::vector<target_position>> build_portfolio(const std::vector<candidate>& cands, double equity,
                                                       const portfolio_params& p, const risk_limits& l) {
  if (!std::isfinite(equity) || equity <= 0)
    return tb::error{errc::invalid_argument, "build_portfolio: equity must be finite and > 0"};
  auto sel = select_candidates(cands, p, l);
  if (!sel) return sel.error();
  std::vector<target_position> out;
  double longs = 0;
  for (const auto& c : sel->selected) {
    const double w = std::min(kelly_weight(c.edge, c.variance, p), l.max_symbol_weight);
    out.push_back({c.symbol, c.asset, c.side * w, 0});
    if (c.side > 0) longs += w;
  }
  if (longs > l.max_leverage)
    for (auto& t : out)
      if (t.weight > 0) t.weight *= l.max_leverage / longs;
  double gross = 0;
  for (const auto& t : out) gross += std::fabs(t.weight);
  if (gross > l.max_total_exposure)
    for (auto& t : out) t.weight *= l.max_total_exposure / gross;
  for (auto& t : out) t.notional = t.weight * equity;
  return out;
}

double backout_limit_price(bool buy, double bid, double ask, double last_close, double default_spread,
                           double cross_bps) {
  const bool quoted = bid > 0 && ask >= bid;
  const double cross = cross_bps / 10000.0;
  if (buy) return (quoted ? ask : last_close * (1 + default_spread)) * (1 + cross);
  return (quoted ? bid : last_close * (1 - default_spread)) * (1 - cross);
}

}  // namespace tb::strategy
