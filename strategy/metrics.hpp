#pragma once
// Trading-quality metrics over a sequence of bars (backtest windows, or paper-trading bars built
// from fills). Pure functions over values. Conventions (see README.md, "Metrics"):
//   r_i            return of bar i as a fraction of equity (net of fees), i = 1..n, oldest first
//   P              periods per year: 252 equities, 365 crypto (the "N" of sqrt(N) in the Sharpe)
//   std            POPULATION standard deviation (divide by n), as numpy's np.std
//   total_return   prod(1 + r_i) - 1                         (compounded)
//   avg_return     sum(r_i) / n                              (arithmetic mean per bar)
//   annualized     avg_return * P
//   sharpe         avg_return / std * sqrt(P); 0 when std == 0 (incl. n <= 1 and no bars)
//   sortino        avg_return / dd * sqrt(P), dd = sqrt(sum(min(r_i,0)^2) / n); 0 when dd == 0
//   win_rate       winning bars / bars in the market (exposure > 0); a bar wins when r_i > 0;
//                  0 when no bar is in the market
//   max_drawdown   max over i of (peak_i - E_i) / peak_i, E_0 = 1, E_i = prod_{k<=i}(1 + r_k),
//                  peak_i = max_{k<=i} E_k; a fraction >= 0
//   profit_factor  sum of positive r_i / |sum of negative r_i|; +inf when there are gains and no
//                  losses, 0 when there are neither
//   trades         sum of the bars' trade counts
//   turnover       sum of traded notional (bought + sold, as a fraction of equity) / n
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "strategy/window.hpp"

namespace tb::strategy {

// What one bar contributed.
struct bar_result {
  double ret = 0;              // return of the bar, fraction of equity, net of fees
  int trades = 0;              // positions opened in the bar (entries)
  double traded_notional = 0;  // notional bought + sold in the bar / equity (one round trip at
                               // full equity = 2)
  double exposure = 0;         // gross position held during the bar / equity; > 0 = in the market
};

struct metrics {
  std::int64_t bars = 0;
  int periods_per_year = 252;
  double total_return = 0;
  double avg_return = 0;
  double annualized_return = 0;
  double sharpe = 0;
  double sortino = 0;
  double win_rate = 0;       // fraction in [0, 1]
  double max_drawdown = 0;   // fraction in [0, inf), positive number
  double profit_factor = 0;  // may be +inf (written as null in JSON)
  std::int64_t trades = 0;
  double turnover = 0;
  double volatility = 0;  // population std of r_i (per bar)
};

// Rejects NaN/inf in any field (errc::bad_data, naming the bar) and periods_per_year < 1.
expected<metrics> compute_metrics(const std::vector<bar_result>& bars, int periods_per_year);
inline expected<metrics> compute_metrics(const std::vector<bar_result>& bars, asset_class a) {
  return compute_metrics(bars, tb::strategy::periods_per_year(a));
}

// Small helpers the metrics use, exposed for strategies, selection and sizing.
double mean(const std::vector<double>& xs);                 // 0 for an empty vector
double population_variance(const std::vector<double>& xs);  // 0 for fewer than 2 values
double sharpe_of(const std::vector<double>& xs, int periods_per_year);
double compounded(const std::vector<double>& xs);  // prod(1 + x) - 1

// The report.json "metrics" object (README.md, "report.json"). profit_factor +inf -> null.
nlohmann::json to_json(const metrics& m);
// Reads it back; missing keys take their defaults, a wrong type or NaN is errc::bad_data.
expected<metrics> metrics_from_json(const nlohmann::json& j);

}  // namespace tb::strategy
