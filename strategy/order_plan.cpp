#include "strategy/order_plan.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace tb::strategy {

expected<order_plan> plan_orders(const order_inputs& in, const order_params& p, const order_venue& venue) {
  order_plan plan;
  plan.rate = in.rate;
  std::vector<candidate> cands;
  std::map<std::string, const symbol_proposal*> by_symbol;
  for (const auto& sp : in.proposals) by_symbol[sp.symbol] = &sp;
  for (const auto& [sym, sp] : by_symbol)
    if (sp->ok && sp->side != 0) cands.push_back({sym, sp->asset, sp->side, sp->score, sp->edge, sp->variance});
  std::map<std::string, double> target;  // symbol -> signed notional
  if (!cands.empty()) {
    auto targets = build_portfolio(cands, in.equity, p.portfolio, p.limits);
    if (!targets) return error{targets.error().code, "build_portfolio: " + targets.error().message};
    for (const auto& t : *targets) target[t.symbol] = t.notional;
  }
  std::map<std::string, double> held_qty;
  std::map<std::string, asset_class> held_asset;
  double long_notional = 0, short_notional = 0;
  for (const auto& h : in.positions) {
    held_qty[h.symbol] = h.qty;
    held_asset[h.symbol] = h.asset;
    const double v = h.qty * h.market_price;
    if (v > 0)
      long_notional += v;
    else
      short_notional -= v;
  }
  // Symbols with an opinion this cycle that hold a position but are not targeted: close them.
  for (const auto& [sym, qty] : held_qty)
    if (!target.count(sym) && by_symbol.count(sym) && by_symbol[sym]->has_opinion) target[sym] = 0;
  // The close back-out exits those equity positions near the market; the others stay overnight.
  if (in.close_backout)
    for (const auto& [sym, qty] : held_qty) {
      if (held_asset[sym] == asset_class::crypto || target.count(sym)) continue;
      auto pit = by_symbol.find(sym);
      const std::string why = pit == by_symbol.end() ? "no proposal this cycle" : "symbol " + pit->second->why;
      plan.decisions.push_back(sym + ": close back-out keeps " + std::to_string(qty) + " held: " + why);
    }
  for (const auto& [sym, want] : target) {
    auto pit = by_symbol.find(sym);
    if (pit == by_symbol.end() || pit->second->last_close <= 0) continue;
    const symbol_proposal& sp = *pit->second;
    const bool crypto = sp.asset == asset_class::crypto;
    const double price = sp.last_close;
    const double held = held_qty.count(sym) ? held_qty[sym] : 0.0;
    const double delta = want - held * price;
    if (std::abs(delta) < p.min_order_fraction * in.equity) continue;
    const int side = delta > 0 ? +1 : -1;
    order_request req{sym, sp.asset, side, std::abs(delta)};
    account_state acct{in.equity, held * price, long_notional, short_notional};
    auto check = check_order(req, acct, in.ks, plan.rate, in.now_ms, p.limits);
    if (!check) {
      plan.decisions.push_back(sym + ": risk check failed: " + check.error().message);
      ++plan.risk_rejected;
      continue;
    }
    plan.rate = check->rate;
    if (check->verdict == order_verdict::reject || check->notional <= 0) {
      plan.decisions.push_back(sym + ": refused by risk: " + check->reason);
      ++plan.risk_rejected;
      continue;
    }
    // An exit at the close back-out crosses the quote; an entry in the proposal's direction uses
    // its limit; anything else trades at the close. Then on the symbol's tick.
    const bool backout_exit = in.close_backout && want == 0 && !crypto;
    const bool entry = side == sp.side && !backout_exit;
    double limit = price;
    if (backout_exit)
      limit = backout_limit_price(side > 0, sp.bid, sp.ask, price, p.default_spread, p.backout_cross_bps);
    else if (entry && sp.limit_price > 0)
      limit = sp.limit_price;
    limit = venue.round_price(sym, limit, side);
    // A whole exit trades exactly what is held (its limit is not the price it was valued at).
    const bool whole_exit = want == 0 && check->verdict == order_verdict::accept;
    double qty = whole_exit ? std::abs(held) : check->notional / limit;
    if (!whole_exit) qty = !crypto && !p.fractional_equity ? std::floor(qty) : std::floor(qty * 1e6) / 1e6;
    if (qty <= 0) continue;
    planned_order o;
    o.symbol = sym;
    o.side = side;
    o.qty = qty;
    o.limit_price = limit;
    o.strategy = backout_exit ? "backout" : entry && !sp.strategy.empty() ? sp.strategy : "rebalance";
    o.bar_time_s = sp.bar_time_s;
    o.client_order_id = venue.order_id(sym, sp.bar_time_s, side, o.strategy);
    plan.decisions.push_back(o.client_order_id + " qty " + std::to_string(qty) + " limit " + std::to_string(limit) +
                             (check->verdict == order_verdict::clip ? " (clipped: " + check->reason + ")" : ""));
    plan.orders.push_back(std::move(o));
  }
  // Orders that shrink a position go first: they free the buying power the others need.
  std::stable_sort(plan.orders.begin(), plan.orders.end(), [&](const planned_order& a, const planned_order& b) {
    auto reduces = [&](const planned_order& o) {
      const double h = held_qty.count(o.symbol) ? held_qty.at(o.symbol) : 0.0;
      return (h > 0 && o.side < 0) || (h < 0 && o.side > 0);
    };
    return reduces(a) && !reduces(b);
  });
  return plan;
}

}  // namespace tb::strategy
