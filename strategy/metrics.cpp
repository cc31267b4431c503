#include "strategy/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace tb::strategy {

double mean(const std::vector<double>& xs) {
  if (xs.empty()) return 0;
  double s = 0;
  for (double x : xs) s += x;
  return s / static_cast<double>(xs.size());
}

double population_variance(const std::vector<double>& xs) {
  if (xs.size() < 2) return 0;
  const double m = mean(xs);
  double s = 0;
  for (double x : xs) s += (x - m) * (x - m);
  return s / static_cast<double>(xs.size());
}

double sharpe_of(const std::vector<double>& xs, int ppy) {
  const double sd = std::sqrt(population_variance(xs));
  // A standard deviation at rounding-noise level is zero variance (constant returns).
  if (!(sd > 1e-15 * std::max(1.0, std::fabs(mean(xs))))) return 0;
  return mean(xs) / sd * std::sqrt(static_cast<double>(ppy));
}

double compounded(const std::vector<double>& xs) {
  double e = 1;
  for (double x : xs) e *= 1 + x;
  return e - 1;
}

expected<metrics> compute_metrics(const std::vector<bar_result>& bars, int ppy) {
  if (ppy < 1) return tb::error{errc::invalid_argument, "compute_metrics: periods_per_year must be >= 1"};
  metrics m;
  m.periods_per_year = ppy;
  m.bars = static_cast<std::int64_t>(bars.size());
  std::vector<double> r;
  r.reserve(bars.size());
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const auto& b = bars[i];
    if (!std::isfinite(b.ret) || !std::isfinite(b.traded_notional) || !std::isfinite(b.exposure))
      return tb::error{errc::bad_data, "compute_metrics: bar " + std::to_string(i) + " has a NaN or infinite value"};
    if (b.trades < 0 || b.traded_notional < 0 || b.exposure < 0)
      return tb::error{errc::bad_data,
                       "compute_metrics: bar " + std::to_string(i) + " has negative trades, notional or exposure"};
    r.push_back(b.ret);
  }
  if (bars.empty()) return m;

  const double n = static_cast<double>(bars.size());
  m.total_return = compounded(r);
  m.avg_return = mean(r);
  m.annualized_return = m.avg_return * ppy;
  m.volatility = std::sqrt(population_variance(r));
  m.sharpe = sharpe_of(r, ppy);

  double down_sq = 0, gross_profit = 0, gross_loss = 0, notional = 0;
  std::int64_t traded_bars = 0, wins = 0;
  double equity = 1, peak = 1;
  for (const auto& b : bars) {
    if (b.ret < 0) {
      down_sq += b.ret * b.ret;
      gross_loss += -b.ret;
    } else {
      gross_profit += b.ret;
    }
    if (b.exposure > 0) {
      ++traded_bars;
      if (b.ret > 0) ++wins;
    }
    m.trades += b.trades;
    notional += b.traded_notional;
    equity *= 1 + b.ret;
    peak = std::max(peak, equity);
    if (peak > 0) m.max_drawdown = std::max(m.max_drawdown, (peak - equity) / peak);
  }
  const double dd = std::sqrt(down_sq / n);
  m.sortino = dd > 0 ? m.avg_return / dd * std::sqrt(static_cast<double>(ppy)) : 0;
  m.win_rate = traded_bars > 0 ? static_cast<double>(wins) / static_cast<double>(traded_bars) : 0;
  if (gross_loss > 0)
    m.profit_factor = gross_profit / gross_loss;
  else
    m.profit_factor = gross_profit > 0 ? std::numeric_limits<double>::infinity() : 0;
  m.turnover = notional / n;
  return m;
}

nlohmann::json to_json(const metrics& m) {
  nlohmann::json j;
  j["bars"] = m.bars;
  j["periods_per_year"] = m.periods_per_year;
  j["total_return"] = m.total_return;
  j["avg_return"] = m.avg_return;
  j["annualized_return"] = m.annualized_return;
  j["sharpe"] = m.sharpe;
  j["sortino"] = m.sortino;
  j["win_rate"] = m.win_rate;
  j["max_drawdown"] = m.max_drawdown;
  if (std::isfinite(m.profit_factor))
    j["profit_factor"] = m.profit_factor;
  else
    j["profit_factor"] = nullptr;
  j["trades"] = m.trades;
  j["turnover"] = m.turnover;
  j["volatility"] = m.volatility;
  return j;
}

namespace {

template <class T>
bool read_number(const nlohmann::json& j, const char* key, T& out, std::string& err) {
  auto it = j.find(key);
  if (it == j.end()) return true;
  if (!it->is_number()) {
    err = std::string("metrics.") + key + " is not a number";
    return false;
  }
  const double d = it->get<double>();
  if (!std::isfinite(d)) {
    err = std::string("metrics.") + key + " is not finite";
    return false;
  }
  out = it->get<T>();
  return true;
}

}  // namespace

expected<metrics> metrics_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return tb::error{errc::bad_data, "metrics is not a JSON object"};
  metrics m;
  std::string err;
  bool ok = read_number(j, "bars", m.bars, err) && read_number(j, "periods_per_year", m.periods_per_year, err) &&
            read_number(j, "total_return", m.total_return, err) && read_number(j, "avg_return", m.avg_return, err) &&
            read_number(j, "annualized_return", m.annualized_return, err) && read_number(j, "sharpe", m.sharpe, err) &&
            read_number(j, "sortino", m.sortino, err) && read_number(j, "win_rate", m.win_rate, err) &&
            read_number(j, "max_drawdown", m.max_drawdown, err) && read_number(j, "trades", m.trades, err) &&
            read_number(j, "turnover", m.turnover, err) && read_number(j, "volatility", m.volatility, err);
  if (ok) {
    auto it = j.find("profit_factor");
    if (it != j.end()) {
      if (it->is_null())
        m.profit_factor = std::numeric_limits<double>::infinity();
      else
        ok = read_number(j, "profit_factor", m.profit_factor, err);
    }
  }
  if (!ok) return tb::error{errc::bad_data, err};
  return m;
}

}  // namespace tb::strategy
