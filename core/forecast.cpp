#include "core/forecast.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace tb::core {

double relative_difference(const forecast& a, const forecast& reference) {
  if (a.rows.size() != reference.rows.size()) return std::numeric_limits<double>::infinity();
  double worst = 0;
  for (std::size_t k = 0; k < n_features; ++k) {
    double err = 0, scale = 0;
    for (std::size_t i = 0; i < a.rows.size(); ++i) {
      err = std::max(err, std::abs(a.rows[i][k] - reference.rows[i][k]));
      scale = std::max(scale, std::abs(reference.rows[i][k]));
    }
    worst = std::max(worst, scale > 0 ? err / scale : err);
  }
  return worst;
}

std::string window_problem(const forecast_window& w) {
  using L = window_limits;
  const auto& p = w.params;
  if (w.symbol.size() > L::max_symbol_chars)
    return "symbol of " + std::to_string(w.symbol.size()) + " characters (at most " +
           std::to_string(L::max_symbol_chars) + ")";
  if (w.bars.empty()) return "no bars";
  if (w.bars.size() > static_cast<std::size_t>(L::max_bars))
    return std::to_string(w.bars.size()) + " bars (at most " + std::to_string(L::max_bars) + ")";
  if (p.max_context < 1 || p.max_context > L::max_context)
    return "max_context " + std::to_string(p.max_context) + " outside 1.." + std::to_string(L::max_context);
  if (p.pred_len < 1 || p.pred_len > p.max_context || p.pred_len > L::max_pred_len)
    return "pred_len " + std::to_string(p.pred_len) + " outside 1..min(max_context, " +
           std::to_string(L::max_pred_len) + ")";
  // The double limits are whole numbers: printed as integers, like the config's bounds.
  const auto whole = [](double v) { return std::to_string(static_cast<long long>(v)); };
  if (!(p.temperature > 0) || !(p.temperature <= L::max_temperature))
    return "temperature outside (0, " + whole(L::max_temperature) + "]";
  if (p.top_k < 0 || p.top_k > L::max_top_k) return "top_k outside 0.." + std::to_string(L::max_top_k);
  if (!(p.top_p > 0 && p.top_p <= 1)) return "top_p outside (0, 1]";
  if (p.sample_count < 1 || p.sample_count > L::max_sample_count)
    return "sample_count " + std::to_string(p.sample_count) + " outside 1.." + std::to_string(L::max_sample_count);
  if (!(p.clip > 0) || !(p.clip <= L::max_clip)) return "clip outside (0, " + whole(L::max_clip) + "]";
  for (std::size_t i = 0; i < w.bars.size(); ++i) {
    const auto& b = w.bars[i];
    for (double v : {b.open, b.high, b.low, b.close, b.volume, b.amount})
      if (!std::isfinite(v)) return "bar " + std::to_string(i) + " holds NaN or infinity";
  }
  return {};
}

std::string forecast_problem(const forecast& f, const sampling_params& asked) {
  if (f.rows.size() != static_cast<std::size_t>(asked.pred_len))
    return std::to_string(f.rows.size()) + " rows for pred_len " + std::to_string(asked.pred_len);
  for (std::size_t i = 0; i < f.rows.size(); ++i)
    for (double v : f.rows[i])
      if (!std::isfinite(v)) return "row " + std::to_string(i) + " holds NaN or infinity";
  return {};
}

}  // namespace tb::core
