#include "market/sim_broker.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <set>

#include <spdlog/spdlog.h>

#include "core/calendar.hpp"
#include "market/symbols.hpp"

namespace tb::market {

namespace {

// Quantities below this are zero (fractional crypto goes to 1e-9 at most in practice).
constexpr double qty_epsilon = 1e-9;

tb::error refuse(const std::string& msg) { return tb::error{errc::invalid_argument, "sim_broker: " + msg}; }

std::string fmt(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

}  // namespace

const core::rows<sim_broker_config>& sim_broker_rows() {
  using b = sim_broker_config;
  using core::key;
  static const core::rows<sim_broker_config> rows = {
      key("broker.initial_cash", &b::initial_cash, "sim broker: starting cash (USD)", nullptr, 1, 1e12),
      key("broker.equity_fee_rate", &b::equity_fee_rate, "sim broker: fee per fill, fraction of notional, equities",
          nullptr, 0, 0.1),
      key("broker.crypto_fee_rate", &b::crypto_fee_rate, "sim broker: fee per fill, fraction of notional, crypto",
          nullptr, 0, 0.1),
      key("broker.default_spread", &b::default_spread, "sim broker: relative spread when the feed has no quote",
          nullptr, 0, 0.1),
      key("broker.allow_short_equity", &b::allow_short_equity, "sim broker: equity sells may open shorts"),
  };
  return rows;
}

std::optional<tb::error> validate(const sim_broker_config& cfg) {
  return core::joined(core::check_values(sim_broker_rows(), cfg));
}

sim_broker::sim_broker(sim_broker_config cfg, std::shared_ptr<const core::clock> clock, std::shared_ptr<feed> feed)
    : cfg_(cfg), clock_(std::move(clock)), feed_(std::move(feed)), cash_(cfg.initial_cash) {
  assert(clock_ != nullptr);
  assert(!validate(cfg_));
}

double sim_broker::fee_rate(const std::string& symbol) const {
  return is_crypto(symbol) ? cfg_.crypto_fee_rate : cfg_.equity_fee_rate;
}

double sim_broker::reserved_for_buys() const {
  double r = 0;
  for (const order_state& os : orders_) {
    if (os.o.status == order_status::open && os.o.side == side::buy)
      r += os.o.qty * os.o.limit_price * (1.0 + fee_rate(os.o.symbol));
  }
  return r;
}

market::account sim_broker::account_now() const {
  market::account a;
  a.cash = cash_;
  a.equity = cash_;
  for (const auto& [sym, p] : positions_) {
    auto m = marks_.find(sym);
    a.equity += p.qty * (m != marks_.end() ? m->second : p.avg_entry_price);
  }
  a.buying_power = std::max(0.0, cash_ - reserved_for_buys());
  return a;
}

tb::expected<market::account> sim_broker::account() {
  sync();
  return account_now();
}

tb::expected<std::vector<position>> sim_broker::positions() {
  sync();
  std::vector<position> out;
  for (const auto& [sym, p] : positions_) {
    position pos;
    pos.symbol = sym;
    pos.qty = p.qty;
    pos.avg_entry_price = p.avg_entry_price;
    auto m = marks_.find(sym);
    pos.market_price = m != marks_.end() ? m->second : p.avg_entry_price;
    out.push_back(pos);
  }
  return out;
}

tb::expected<std::vector<order>> sim_broker::open_orders() {
  sync();
  std::vector<order> out;
  for (const order_state& os : orders_)
    if (os.o.status == order_status::open) out.push_back(os.o);
  return out;
}

std::vector<order> sim_broker::all_orders() const {
  std::vector<order> out;
  out.reserve(orders_.size());
  for (const order_state& os : orders_) out.push_back(os.o);
  return out;
}

tb::expected<std::optional<order>> sim_broker::order_by_client_id(const std::string& client_order_id) {
  sync();
  auto it = by_client_id_.find(client_order_id);
  if (it == by_client_id_.end()) return std::optional<order>{};
  return std::optional<order>{orders_[it->second].o};
}

std::optional<double> sim_broker::spread_of(const std::string& order_id) const {
  auto it = by_id_.find(order_id);
  if (it == by_id_.end()) return std::nullopt;
  return orders_[it->second].spread;
}

tb::expected<order> sim_broker::submit_limit_order(const order_request& req) { return submit(req, std::nullopt); }

tb::expected<order> sim_broker::submit_limit_order(const order_request& req, double spread) {
  assert(std::isfinite(spread));
  return submit(req, spread);
}

tb::expected<order> sim_broker::submit(const order_request& req, std::optional<double> spread) {
  sync();
  if (req.client_order_id.empty() || req.client_order_id.size() > 128)
    return refuse("client_order_id must have 1..128 characters (got " + std::to_string(req.client_order_id.size()) +
                  ")");
  if (auto it = by_client_id_.find(req.client_order_id); it != by_client_id_.end())
    return refuse("duplicate client_order_id '" + req.client_order_id + "' (order " + orders_[it->second].o.id + ", " +
                  to_string(orders_[it->second].o.status) + ")");
  if (req.symbol.empty()) return refuse("empty symbol");
  if (feed_) {
    if (auto t = feed_->timing(req.symbol); !t)
      return refuse(req.symbol + ": the feed cannot price it: " + t.error().message);
  }
  if (!std::isfinite(req.qty) || req.qty <= 0) return refuse("qty must be > 0 (got " + fmt(req.qty) + ")");
  if (!std::isfinite(req.limit_price) || req.limit_price <= 0)
    return refuse("limit_price must be > 0 (got " + fmt(req.limit_price) + ")");

  const bool crypto = is_crypto(req.symbol);
  const double rate = fee_rate(req.symbol);
  const core::time_point now = clock_->now();
  const market::account acct = account_now();

  if (crypto && req.tif != time_in_force::gtc) return refuse(req.symbol + ": crypto orders are gtc only");

  if (req.side == side::buy) {
    const double need = req.qty * req.limit_price * (1.0 + rate);
    if (need > acct.buying_power + 1e-9)
      return refuse(req.symbol + ": insufficient buying power: need " + fmt(need) + ", have " + fmt(acct.buying_power));
  } else {
    double held = 0;
    if (auto p = positions_.find(req.symbol); p != positions_.end()) held = p->second.qty;
    double selling = 0;
    for (const order_state& os : orders_)
      if (os.o.status == order_status::open && os.o.side == side::sell && os.o.symbol == req.symbol)
        selling += os.o.qty;
    const double available = std::max(0.0, held - selling);
    const double short_qty = req.qty - available;
    if (short_qty > qty_epsilon) {
      if (crypto)
        return refuse(req.symbol + ": crypto cannot be sold short (sell " + fmt(req.qty) + ", available " +
                      fmt(available) + ")");
      if (!cfg_.allow_short_equity)
        return refuse(req.symbol + ": short selling is disabled (sell " + fmt(req.qty) + ", available " +
                      fmt(available) + ")");
      if (short_qty * req.limit_price > acct.buying_power + 1e-9)
        return refuse(req.symbol + ": insufficient buying power to short " + fmt(short_qty));
    }
  }

  order_state os;
  if (req.tif == time_in_force::day) {
    auto close = core::nyse_next_close(now);
    if (!close) return refuse(req.symbol + ": day order: " + close.error().message);
    os.expires_at = *close;
  }
  os.spread = spread.value_or(cfg_.default_spread);
  if (feed_ && !spread) {
    auto q = feed_->latest_quote(req.symbol);
    if (q) {
      if (std::isfinite(q->relative_spread())) os.spread = q->relative_spread();
    } else if (q.error().code != errc::unavailable) {
      return q.error();
    }
  }

  char id[32];
  std::snprintf(id, sizeof id, "sim-%08llu", static_cast<unsigned long long>(next_seq_++));
  os.o.id = id;
  os.o.client_order_id = req.client_order_id;
  os.o.symbol = req.symbol;
  os.o.side = req.side;
  os.o.qty = req.qty;
  os.o.limit_price = req.limit_price;
  os.o.tif = req.tif;
  os.o.status = order_status::open;
  os.o.submitted_at = now;
  os.o.updated_at = now;
  orders_.push_back(os);
  by_client_id_[req.client_order_id] = orders_.size() - 1;
  by_id_[os.o.id] = orders_.size() - 1;
  return os.o;
}

tb::expected<order> sim_broker::cancel_order(const std::string& order_id) {
  sync();
  auto it = by_id_.find(order_id);
  if (it == by_id_.end()) return refuse("cancel: unknown order id '" + order_id + "'");
  order_state& os = orders_[it->second];
  if (os.o.status != order_status::open) return refuse("cancel: order " + order_id + " is " + to_string(os.o.status));
  os.o.status = order_status::canceled;
  os.o.updated_at = clock_->now();
  return os.o;
}

void sim_broker::expire(order_state& os, core::time_point at) {
  os.o.status = order_status::expired;
  os.o.updated_at = at;
}

void sim_broker::apply_fill(order_state& os, double price, core::time_point at) {
  const std::string& sym = os.o.symbol;
  const double qty = os.o.qty;
  const double fee = fee_rate(sym) * qty * price;
  const double signed_qty = os.o.side == side::buy ? qty : -qty;
  cash_ += os.o.side == side::buy ? -(qty * price + fee) : (qty * price - fee);

  position_state& p = positions_[sym];
  if (std::abs(p.qty) < qty_epsilon || (p.qty > 0) == (signed_qty > 0)) {
    const double total = std::abs(p.qty) + qty;
    p.avg_entry_price = (std::abs(p.qty) * p.avg_entry_price + qty * price) / total;
    p.qty += signed_qty;
  } else {
    const double after = p.qty + signed_qty;
    if (std::abs(after) < qty_epsilon) {
      positions_.erase(sym);
    } else {
      if ((after > 0) != (p.qty > 0)) p.avg_entry_price = price;  // crossed zero
      p.qty = after;
    }
  }

  os.o.status = order_status::filled;
  os.o.filled_qty = qty;
  os.o.filled_avg_price = price;
  os.o.updated_at = at;
  fills_.push_back(fill{os.o.id, os.o.client_order_id, sym, os.o.side, qty, price, fee, at});
}

void sim_broker::process_bar(const std::string& symbol, const core::bar& b, const bar_timing& timing) {
  const core::time_point opens = timing.opens_at(b);
  const core::time_point closes = timing.closes_at(b);
  if (auto last = last_closed_.find(symbol); last != last_closed_.end() && closes <= last->second)
    return;  // already seen
  last_closed_[symbol] = closes;
  periods_[symbol] = timing.period;
  marks_[symbol] = b.close;

  for (order_state& os : orders_) {
    if (os.o.status != order_status::open || os.o.symbol != symbol) continue;
    if (os.expires_at && opens >= *os.expires_at) {
      expire(os, *os.expires_at);
      continue;
    }
    if (!(closes > os.o.submitted_at)) continue;  // the bar was complete before the order
    const double half = 0.5 * os.spread;
    const double limit = os.o.limit_price;
    if (os.o.side == side::buy) {
      if (b.low * (1.0 + half) <= limit) apply_fill(os, std::min(limit, b.open * (1.0 + half)), closes);
    } else {
      if (b.high * (1.0 - half) >= limit) apply_fill(os, std::max(limit, b.open * (1.0 - half)), closes);
    }
  }
}

void sim_broker::sync() {
  last_feed_error_ = catch_up();
  if (last_feed_error_)
    spdlog::warn("sim_broker: catching up with the feed failed: {} (orders of that symbol wait)",
                 last_feed_error_->message);
}

std::optional<tb::error> sim_broker::catch_up() {
  const core::time_point now = clock_->now();
  std::optional<tb::error> first_error;
  // At the instant of the last clean catch-up the feed has no bar this broker has not processed:
  // a symbol caught up then has none closing after its last one and by now; a symbol whose
  // first order came since has none closing after the order (submitted at now) and by now.
  if (feed_ && caught_up_at_ != now) {
    std::set<std::string> symbols;
    for (const order_state& os : orders_)
      if (os.o.status == order_status::open) symbols.insert(os.o.symbol);
    for (const auto& [sym, p] : positions_) symbols.insert(sym);

    struct pending_bar {
      const std::string* symbol;
      core::bar b;
      bar_timing timing;
    };
    std::vector<pending_bar> pending;
    for (const std::string& sym : symbols) {
      auto timing = feed_->timing(sym);
      if (!timing) {
        if (!first_error) first_error = timing.error();
        continue;
      }
      bar_query q;
      q.symbol = sym;
      q.until = now;
      if (auto last = last_closed_.find(sym); last != last_closed_.end()) {
        q.closed_after = last->second;
      } else {
        // No bar seen yet: only bars closing after the earliest open order can fill it.
        std::optional<core::time_point> earliest;
        for (const order_state& os : orders_)
          if (os.o.status == order_status::open && os.o.symbol == sym && (!earliest || os.o.submitted_at < *earliest))
            earliest = os.o.submitted_at;
        if (earliest)
          q.closed_after = *earliest;
        else
          q.max_bars = 1;
      }
      auto bars = feed_->bars(q);
      if (!bars) {
        if (!first_error) first_error = bars.error();
        continue;
      }
      for (const core::bar& b : bars->bars) pending.push_back({&sym, b, *timing});
    }
    // In the order of their close, whatever the symbols (stable: ties keep the symbol order).
    std::stable_sort(pending.begin(), pending.end(), [](const pending_bar& x, const pending_bar& y) {
      return x.timing.closes_at(x.b) < y.timing.closes_at(y.b);
    });
    for (const pending_bar& p : pending) process_bar(*p.symbol, p.b, p.timing);
    if (!first_error) caught_up_at_ = now;
  }
  for (order_state& os : orders_) {
    if (os.o.status != order_status::open || !os.expires_at) continue;
    core::duration period{0};
    if (feed_) {
      if (auto p = periods_.find(os.o.symbol); p != periods_.end())
        period = p->second;
      else if (auto t = feed_->timing(os.o.symbol))
        period = t->period;
    }
    if (now >= *os.expires_at + period) expire(os, *os.expires_at);
  }
  return first_error;
}

}  // namespace tb::market
