#include "strategy/window.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace tb::strategy {

const char* to_string(asset_class a) { return a == asset_class::crypto ? "crypto" : "equity"; }

int periods_per_year(asset_class a) { return a == asset_class::crypto ? 365 : 252; }

namespace {

tb::error bad(std::size_t index, const std::string& what) {
  return {errc::bad_data, "window " + std::to_string(index) + ": " + what};
}

bool finite(double x) { return std::isfinite(x); }

}  // namespace

expected<window> validate(const window& w, std::size_t index) {
  const double nums[] = {w.last_close,  w.forecast.close, w.forecast.high, w.forecast.low, w.actual.open,
                         w.actual.high, w.actual.low,     w.actual.close,  w.spread};
  for (double x : nums)
    if (!finite(x)) return bad(index, "NaN or infinite value (last_close, forecast, actual bar or spread)");
  if (w.last_close <= 0) return bad(index, "last_close must be > 0");
  if (w.actual.open <= 0 || w.actual.high <= 0 || w.actual.low <= 0 || w.actual.close <= 0)
    return bad(index, "actual bar prices must be > 0");
  if (w.actual.low > std::min(w.actual.open, w.actual.close) || w.actual.high < std::max(w.actual.open, w.actual.close))
    return bad(index, "actual bar is inconsistent (low above open/close or high below open/close)");
  if (w.forecast.close <= -1 || w.forecast.high <= -1 || w.forecast.low <= -1)
    return bad(index, "forecast move <= -100%");
  if (w.spread < 0) return bad(index, "spread must be >= 0");
  return w;
}

expected<std::vector<window>> validate(const std::vector<window>& ws) {
  for (std::size_t i = 0; i < ws.size(); ++i) {
    auto v = validate(ws[i], i);
    if (!v) return v.error();
    if (ws[i].asset != ws.front().asset)
      return tb::error{errc::invalid_argument,
                       "window " + std::to_string(i) + ": asset class differs from window 0 (one symbol per series)"};
  }
  return ws;
}

expected<window> make_window(const core::forecast& f, double last_close, const core::bar& actual, asset_class asset,
                             double spread) {
  if (f.rows.empty()) return tb::error{errc::bad_data, "make_window: forecast has no rows"};
  if (!finite(last_close) || last_close <= 0)
    return tb::error{errc::bad_data, "make_window: last_close must be finite and > 0"};
  const auto& row = f.rows.front();
  window w;
  w.last_close = last_close;
  w.forecast.close = row[core::f_close] / last_close - 1.0;
  w.forecast.high = row[core::f_high] / last_close - 1.0;
  w.forecast.low = row[core::f_low] / last_close - 1.0;
  w.actual = {actual.open, actual.high, actual.low, actual.close};
  w.asset = asset;
  w.spread = spread;
  return validate(w, 0);
}

}  // namespace tb::strategy
