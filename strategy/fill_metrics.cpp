#include "strategy/fill_metrics.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace tb::strategy {
namespace {

double signed_qty(const trade_record& t) { return t.side == trade_side::buy ? t.qty : -t.qty; }

// A fill that opens a position or grows it (rather than reducing it).
bool opens(double held, const trade_record& t) {
  const double q = signed_qty(t);
  return std::abs(held) < 1e-12 || (held > 0) == (q > 0);
}

// An entry (a trade in the metrics' sense): a fill that opens or grows a position, or flips it
// through zero (what is left is a new position on the other side).
bool enters(double held, const trade_record& t) {
  if (opens(held, t)) return true;
  return t.qty > std::abs(held) + 1e-12;
}

std::int64_t day_of(std::int64_t time_s) { return time_s >= 0 ? time_s / 86400 : (time_s - 86399) / 86400; }

}  // namespace

tb::expected<metrics> portfolio_metrics(const std::vector<equity_point>& curve, const std::vector<trade_record>& fills,
                                        int periods) {
  // days[0]: the starting equity (the first cycle's mark, before any order); days[k]: the
  // equity at the last cycle of the k-th day. Bar k is day k.
  std::vector<equity_point> days;
  if (!curve.empty()) days.push_back(curve.front());
  for (const auto& p : curve) {
    if (days.size() > 1 && day_of(days.back().time_s) == day_of(p.time_s))
      days.back() = p;
    else
      days.push_back(p);
  }
  std::vector<bar_result> bars;
  std::map<std::string, double> held, last_price;
  std::size_t k = 0;
  auto apply_until = [&](std::int64_t t, bar_result* bar, double base) {
    for (; k < fills.size() && fills[k].time_s <= t; ++k) {
      const auto& f = fills[k];
      if (bar) {
        if (enters(held[f.symbol], f)) ++bar->trades;
        bar->traded_notional += f.qty * f.price / base;
      }
      held[f.symbol] += signed_qty(f);
      last_price[f.symbol] = f.price;
    }
  };
  for (std::size_t i = 1; i < days.size(); ++i) {
    const double base = days[i - 1].equity;
    bar_result b;
    b.ret = days[i].equity / base - 1;
    double gross = 0;
    for (const auto& [s, q] : held) gross += std::abs(q) * last_price[s];
    b.exposure = gross / base;
    apply_until(days[i].time_s, &b, base);
    bars.push_back(b);
  }
  return compute_metrics(bars, periods);
}

tb::expected<metrics> symbol_metrics(const std::string& symbol, asset_class asset,
                                     const std::vector<trade_record>& fills, double start_equity, double days) {
  std::vector<bar_result> bars;
  double pos = 0, avg = 0, entry_fee_per_unit = 0, notional = 0;
  std::int64_t entries = 0;
  for (const auto& f : fills) {
    if (f.symbol != symbol) continue;
    notional += f.qty * f.price;
    const double q = signed_qty(f);
    if (opens(pos, f)) {
      ++entries;
      const double n = std::abs(pos) + f.qty;
      avg = (avg * std::abs(pos) + f.price * f.qty) / n;
      entry_fee_per_unit = (entry_fee_per_unit * std::abs(pos) + f.fee) / n;
      pos += q;
      continue;
    }
    // Reduces (and may flip): the closed part realises P&L.
    const double closed = std::min(f.qty, std::abs(pos));
    const double dir = pos > 0 ? 1.0 : -1.0;
    const double pnl = dir * (f.price - avg) * closed - entry_fee_per_unit * closed - f.fee * (closed / f.qty);
    bar_result b;
    b.ret = pnl / start_equity;
    b.exposure = 1;
    bars.push_back(b);
    pos += q;
    if (std::abs(pos) < 1e-12) {
      pos = 0, avg = 0, entry_fee_per_unit = 0;
    } else if ((pos > 0) != (dir > 0)) {  // flipped: the rest is a new position
      ++entries;
      avg = f.price;
      entry_fee_per_unit = f.fee / f.qty;
    }
  }
  auto m = compute_metrics(bars, asset);
  if (!m) return m.error();
  m->trades = entries;
  m->turnover = days > 0 ? notional / start_equity / days : 0;
  return m;
}

}  // namespace tb::strategy
