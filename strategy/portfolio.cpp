#include "strategy/portfolio.hpp"

#include <algorithm>
#include <cmath>

namespace tb::strategy {

const core::rows<portfolio_params>& portfolio_rows() {
  using p = portfolio_params;
  using core::key;
  static const core::rows<portfolio_params> rows = {
      key("portfolio.max_positions", &p::max_positions, "at most this many symbols held", nullptr, 1, 1000),
      key("portfolio.min_positions", &p::min_positions, "top up to this many from qualified symbols below min_score",
          nullptr, 0, 1000),
      key("portfolio.min_score", &p::min_score, "preferred symbols score at least this", nullptr, -1e6, 1e6),
      key("portfolio.kelly_fraction", &p::kelly_fraction, "Kelly-lite weight: min(kelly_cap, this x edge / variance)",
          nullptr, 1e-9, 10),
      key("portfolio.kelly_cap", &p::kelly_cap, "largest Kelly weight of one symbol", nullptr, 1e-9, 1),
  };
  return rows;
}

void check(const portfolio_params& p, std::vector<std::string>& errors) {
  if (p.min_positions > p.max_positions)
    errors.push_back("portfolio.min_positions (" + std::to_string(p.min_positions) +
                     ") must be <= portfolio.max_positions (" + std::to_string(p.max_positions) + ")");
}

expected<portfolio_params> validate(const portfolio_params& p) {
  auto errors = core::check_values(portfolio_rows(), p);
  check(p, errors);
  if (!errors.empty()) return tb::error{errc::bad_config, errors.front()};
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
      out.skipped.push_back(q[i].symbol +
                            (q[i].score < p.min_score ? ": score below min_score" : ": ranked below max_positions"));
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
