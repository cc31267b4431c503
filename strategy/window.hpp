#pragma once
// Walk-forward window inputs: what one evaluation window of one symbol holds. Pure values.
//
// A window is "the forecast of the next bar, made from the bars up to the last close, and the bar
// that actually came next". The symbol actor builds one per walk-forward window (window i drops the
// last i+1 bars) and hands them to the strategies OLDEST FIRST.
#include <string>
#include <vector>

#include "core/bar.hpp"
#include "core/error.hpp"
#include "core/forecast.hpp"

namespace tb::strategy {

enum class asset_class { equity, crypto };

const char* to_string(asset_class a);

// Bars per year used to annualise: 252 trading days for equities, 365 days for crypto.
int periods_per_year(asset_class a);

// The forecast of the next bar as moves relative to the last close: pred / last_close - 1.
struct forecast_move {
  double close = 0;  // e.g. +0.01 = forecast close 1% above the last close
  double high = 0;
  double low = 0;
};

// The bar that actually followed (prices, not moves).
struct next_bar {
  double open = 0, high = 0, low = 0, close = 0;
};

struct window {
  double last_close = 0;   // > 0, the close the forecast was made from
  forecast_move forecast;  // moves relative to last_close
  next_bar actual;         // the next bar as it happened
  asset_class asset = asset_class::equity;
  double spread = 0;  // relative bid/ask spread, (ask - bid) / mid, >= 0, as the feed gives it
};

// Checks one window: every number finite, last_close and prices > 0, actual.low <= min(open, close),
// actual.high >= max(open, close), spread >= 0. `index` names the window in the error message.
expected<window> validate(const window& w, std::size_t index = 0);

// Checks every window and that all share one asset class (a walk-forward series is one symbol).
expected<std::vector<window>> validate(const std::vector<window>& ws);

// Builds a window from a forecast (row 0 = the next bar), the last close and the actual next bar.
// Rejects an empty forecast, NaN/inf anywhere and non-positive prices (errc::bad_data).
expected<window> make_window(const core::forecast& f, double last_close, const core::bar& actual, asset_class asset,
                             double spread);

}  // namespace tb::strategy
