#pragma once
// Trading metrics from what was actually traded: the equity curve and the fills (a backtest's
// report, paper trading). Pure functions over values.
#include <string>
#include <vector>

#include "core/error.hpp"
#include "strategy/metrics.hpp"
#include "strategy/report.hpp"
#include "strategy/window.hpp"

namespace tb::strategy {

// The portfolio: one bar per UTC day (the first measured from the curve's first point, the
// starting equity), return = that day's last mark over the previous day's; exposure = gross
// position value over equity before the day's fills; trades = fills that open, grow or flip a
// position; turnover = traded notional over equity. `fills` oldest first.
tb::expected<metrics> portfolio_metrics(const std::vector<equity_point>& curve, const std::vector<trade_record>& fills,
                                        int periods_per_year);

// One symbol: each reducing fill realises one bar (P&L net of the entry and exit fees over
// `start_equity`); trades = entries (opens, grows, flips); turnover = notional / start_equity /
// `days`.
tb::expected<metrics> symbol_metrics(const std::string& symbol, asset_class asset,
                                     const std::vector<trade_record>& fills, double start_equity, double days);

}  // namespace tb::strategy
