#include "actors/portfolio_actor.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include <spdlog/spdlog.h>

#include "actors/broker_actor.hpp"
#include "core/calendar.hpp"
#include "market/order_journal.hpp"
#include "market/symbols.hpp"
#include "strategy/fill_metrics.hpp"
#include "strategy/metrics.hpp"
#include "strategy/order_plan.hpp"

namespace tb::actors {
namespace {

using deadline_atom = caf::atom_constant<caf::atom("pf_dead")>;

// The last cycles of the equity curve /stats shows (portfolio.equity_curve; the dashboard draws it).
constexpr std::size_t published_curve_points = 2000;

struct open_cycle {
  cycle_order order;
  std::set<std::string> expected;
  std::map<std::string, proposal> proposals;
  caf::response_promise promise;
  bool closing = false;
};

struct portfolio_state {
  portfolio_actor_args args;
  std::optional<open_cycle> cycle;
  std::map<std::uint64_t, std::vector<proposal>> early;  // proposals of a cycle not yet opened
  // risk state
  strategy::kill_switch ks;
  strategy::rate_window rate;
  // counters and the equity curve: what portfolio_summary_atom answers
  portfolio_summary totals;
  std::uint64_t late_proposals = 0;
  std::vector<std::string> last_decisions;  // this cycle's orders and refusals, for /stats
  broker_state last_broker;
  std::vector<strategy::trade_record> trades;  // every fill the broker actor reported, oldest first
  std::string last_error;
  std::uint64_t beats = 0;
  static inline const char* name = "portfolio";
};

// The portfolio's interface and its own deadline timer.
using portfolio_impl = portfolio_actor::extend<caf::reacts_to<deadline_atom, std::uint64_t>>;
using portfolio_self = portfolio_impl::stateful_base<portfolio_state>;

void publish(portfolio_self* self) {
  auto& st = self->state;
  const auto& b = st.last_broker;
  nlohmann::json positions = nlohmann::json::object();
  for (const auto& p : b.positions)
    positions[p.symbol] = {{"qty", p.qty},
                           {"avg_entry_price", p.avg_entry_price},
                           {"market_price", p.market_price},
                           {"market_value", p.qty * p.market_price}};
  // Metrics from what was traded (strategy/fill_metrics.hpp): the portfolio over its daily
  // equity marks and fills, and each traded symbol over its round trips.
  nlohmann::json metrics = nullptr, symbol_metrics = nlohmann::json::object();
  if (st.totals.equity_curve.size() >= 2) {
    std::vector<strategy::equity_point> curve;
    for (const auto& m : st.totals.equity_curve) curve.push_back({m.at_unix_ns / 1000000000LL, m.equity});
    bool crypto = false;
    for (const auto& t : st.trades) crypto = crypto || market::is_crypto(t.symbol);
    if (auto m = strategy::portfolio_metrics(curve, st.trades, crypto ? 365 : 252)) {
      metrics = strategy::to_json(*m);
      std::set<std::string> traded;
      for (const auto& t : st.trades) traded.insert(t.symbol);
      for (const auto& sym : traded) {
        const auto asset = market::is_crypto(sym) ? strategy::asset_class::crypto : strategy::asset_class::equity;
        if (auto sm = strategy::symbol_metrics(sym, asset, st.trades, curve.front().equity,
                                               static_cast<double>(std::max<std::int64_t>(1, m->bars))))
          symbol_metrics[sym] = strategy::to_json(*sm);
      }
    }
  }
  // [unix_s, equity] per cycle, oldest first: the last published_curve_points marks.
  nlohmann::json equity_curve = nlohmann::json::array();
  const auto& marks = st.totals.equity_curve;
  for (auto i = marks.size() - std::min(marks.size(), published_curve_points); i < marks.size(); ++i)
    equity_curve.push_back({marks[i].at_unix_ns / 1000000000LL, marks[i].equity});
  st.args.board->publish("portfolio",
                         {{"cash", b.cash},
                          {"equity", b.equity},
                          {"buying_power", b.buying_power},
                          {"positions", positions},
                          {"open_orders", b.open_orders},
                          {"fills", b.fills},
                          {"orders_sent", st.totals.orders_sent},
                          {"orders_accepted", st.totals.accepted},
                          {"orders_rejected", st.totals.rejected},
                          {"orders_duplicate", st.totals.duplicates},
                          {"orders_failed", st.totals.failed},
                          {"orders_risk_rejected", st.totals.risk_rejected},
                          {"cycles", st.totals.cycles},
                          {"deadline_closes", st.totals.deadline_closes},
                          {"late_proposals", st.late_proposals},
                          {"last_cycle", st.cycle ? nlohmann::json(st.cycle->order.id) : nlohmann::json(nullptr)},
                          {"last_decisions", st.last_decisions},
                          {"metrics", metrics},
                          {"equity_curve", std::move(equity_curve)},
                          {"symbol_metrics", symbol_metrics},
                          {"kill_switch", {{"halted", st.ks.halted}, {"day_loss", st.ks.day_loss}}},
                          {"last_error", st.last_error}});
  core::health_check check;
  if (st.ks.halted) check.status = core::health_status::degraded;
  check.detail = {{"halted", st.ks.halted}, {"reason", st.ks.reason}, {"day_loss", st.ks.day_loss}};
  st.args.board->publish_check("kill_switch", std::move(check));
}

void finish(portfolio_self* self) {
  auto& st = self->state;
  if (!st.cycle) return;
  ++st.totals.cycles;
  publish(self);
  st.cycle->promise.deliver(caf::ok_atom::value);
  st.cycle.reset();
}

// Takes a fresh broker state: the account for /stats, the new fills for the metrics.
void absorb(portfolio_state& st, const broker_state& b) {
  for (const auto& f : b.new_fills) st.trades.push_back(trade_of(f));
  st.last_broker = b;
  st.last_broker.new_fills.clear();
}

// The cycle's equity mark, in the curve and (fsynced) in the equity log; a mark at or before the
// last one is a cycle re-run after a restart: the first mark of an instant stands.
void mark(portfolio_state& st, const equity_mark& m) {
  if (!st.totals.equity_curve.empty() && m.at_unix_ns <= st.totals.equity_curve.back().at_unix_ns) return;
  if (st.args.equity)
    if (auto written = st.args.equity->record({m.at_unix_ns, m.equity}); !written) {
      st.last_error = "equity curve: " + written.error().message;
      spdlog::error("portfolio: {}", st.last_error);
    }
  st.totals.equity_curve.push_back(m);
}

// The cycle's orders (strategy::plan_orders) from its proposals and a fresh broker state; keeps
// the risk state and the decisions for /stats.
std::vector<order_intent> decide(portfolio_state& st, const broker_state& b) {
  const auto& cfg = *st.args.cfg;
  st.last_decisions.clear();
  strategy::order_params params;
  params.portfolio = cfg.portfolio;
  params.limits = cfg.risk;
  params.fractional_equity = cfg.trading.fractional_equity;
  params.default_spread = cfg.broker.sim.default_spread;
  params.backout_cross_bps = cfg.schedule.backout_cross_bps;
  const auto now = st.args.clock->now();
  // kill switch: one trading day = one New York calendar day
  const auto day = core::days_from_civil(core::to_new_york(now).date);
  if (auto ks = strategy::update_kill_switch(st.ks, day, b.equity, params.limits)) st.ks = *ks;
  strategy::order_inputs in;
  for (const auto& [sym, p] : st.cycle->proposals)
    in.proposals.push_back({sym, p.crypto ? strategy::asset_class::crypto : strategy::asset_class::equity,
                            p.state == proposal_state::ok, p.has_opinion(),
                            to_string(p.state) + (p.note.empty() ? "" : " (" + p.note + ")"), p.bar_time_s, p.strategy,
                            p.side, p.score, p.edge, p.variance, p.last_close, p.limit_price, p.bid, p.ask});
  for (const auto& h : b.positions)
    in.positions.push_back({h.symbol,
                            market::is_crypto(h.symbol) ? strategy::asset_class::crypto : strategy::asset_class::equity,
                            h.qty, h.market_price});
  in.equity = b.equity;
  in.close_backout = (st.cycle->order.kinds & static_cast<std::uint32_t>(core::event_kind::close_backout)) != 0;
  in.ks = st.ks;
  in.rate = st.rate;
  in.now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const double crypto_increment = cfg.alpaca.crypto_price_increment;
  const strategy::order_venue venue{
      [crypto_increment](const std::string& sym, double price, int side) {
        return market::round_limit_price(sym, price, side > 0 ? market::side::buy : market::side::sell,
                                         crypto_increment);
      },
      [](const std::string& sym, std::int64_t bar_time_s, int side, const std::string& strat) {
        return market::client_order_id_for(sym, bar_time_s, side > 0 ? market::side::buy : market::side::sell, strat);
      }};
  auto plan = strategy::plan_orders(in, params, venue);
  if (!plan) {
    st.last_error = plan.error().message;
    return {};
  }
  st.rate = plan->rate;
  st.totals.risk_rejected += plan->risk_rejected;
  st.last_decisions = std::move(plan->decisions);
  std::vector<order_intent> out;
  for (auto& o : plan->orders)
    out.push_back({std::move(o.client_order_id), std::move(o.symbol), o.side, o.qty, o.limit_price,
                   std::move(o.strategy), o.bar_time_s});
  return out;
}

void close_cycle(portfolio_self* self) {
  auto& st = self->state;
  if (!st.cycle || st.cycle->closing) return;
  st.cycle->closing = true;
  auto broker = st.args.broker ? st.args.broker() : broker_actor();
  if (!broker) {
    st.last_error = "no broker actor is running";
    finish(self);
    return;
  }
  self->request(broker, portfolio_broker_timeout, broker_state_atom::value)
      .then(
          [self, broker](broker_state& b) {
            auto& st = self->state;
            if (!st.cycle) return;
            if (!b.ok) {
              st.last_error = "broker: " + b.error;
              finish(self);
              return;
            }
            absorb(st, b);
            mark(st, {st.cycle->order.at_unix_ns, b.equity});
            auto intents = decide(st, b);
            if (intents.empty()) {
              finish(self);
              return;
            }
            st.totals.orders_sent += intents.size();
            self->request(broker, portfolio_broker_timeout, submit_atom::value, std::move(intents))
                .then(
                    [self, broker](std::vector<order_outcome>& outcomes) {
                      auto& st = self->state;
                      for (const auto& o : outcomes) {
                        switch (o.status) {
                          case submit_status::accepted:
                            ++st.totals.accepted;
                            break;
                          case submit_status::duplicate:
                            ++st.totals.duplicates;
                            break;
                          case submit_status::rejected:
                            ++st.totals.rejected;
                            break;
                          case submit_status::failed:
                            ++st.totals.failed;
                            break;
                        }
                        if (o.status != submit_status::accepted)
                          st.last_decisions.push_back(o.client_order_id + ": " + to_string(o.status) + " " + o.error);
                      }
                      // Refresh what /stats shows after the orders.
                      self->request(broker, portfolio_broker_timeout, broker_state_atom::value)
                          .then(
                              [self](broker_state& b2) {
                                if (b2.ok) absorb(self->state, b2);
                                finish(self);
                              },
                              [self](caf::error&) { finish(self); });
                    },
                    [self](caf::error& err) {
                      self->state.last_error = "submit: " + self->system().render(err);
                      finish(self);
                    });
          },
          [self](caf::error& err) {
            self->state.last_error = "broker state: " + self->system().render(err);
            finish(self);
          });
}

void take(portfolio_self* self, proposal p) {
  auto& st = self->state;
  if (!st.cycle || p.cycle != st.cycle->order.id || st.cycle->closing) {
    if (!st.cycle || p.cycle > st.cycle->order.id)
      st.early[p.cycle].push_back(std::move(p));
    else
      ++st.late_proposals;
    return;
  }
  if (!st.cycle->expected.count(p.symbol) || st.cycle->proposals.count(p.symbol)) return;  // first answer wins
  st.cycle->proposals[p.symbol] = std::move(p);
  if (st.cycle->proposals.size() == st.cycle->expected.size()) close_cycle(self);
}

portfolio_impl::behavior_type portfolio_behavior(portfolio_self* self, portfolio_actor_args args) {
  self->state.args = std::move(args);
  if (const auto& log = self->state.args.equity)
    for (const auto& m : log->marks()) self->state.totals.equity_curve.push_back({m.at_unix_ns, m.equity});
  publish(self);
  return {
      [self](run_cycle_atom, const cycle_order& c,
             const std::vector<std::string>& symbols) -> caf::result<caf::ok_atom> {
        auto& st = self->state;
        if (st.cycle) {  // the scheduler moved on (it waits for us; only after a restart of it)
          st.cycle->promise.deliver(caf::ok_atom::value);
          st.cycle.reset();
        }
        open_cycle oc;
        oc.order = c;
        oc.expected.insert(symbols.begin(), symbols.end());
        oc.promise = self->make_response_promise();
        st.cycle = std::move(oc);
        auto rp = st.cycle->promise;
        for (auto it = st.early.begin(); it != st.early.end();) {
          if (it->first < c.id)
            it = st.early.erase(it);
          else
            ++it;
        }
        auto early = std::move(st.early[c.id]);
        st.early.erase(c.id);
        if (symbols.empty()) close_cycle(self);
        for (auto& p : early) take(self, std::move(p));
        if (st.cycle && !st.cycle->closing)
          self->delayed_send(self,
                             std::chrono::milliseconds(static_cast<long>(st.args.cfg->trading.cycle_deadline_s * 1000)),
                             deadline_atom::value, c.id);
        return rp;
      },
      [self](proposal_atom, proposal& p) { take(self, std::move(p)); },
      [self](deadline_atom, std::uint64_t id) {
        auto& st = self->state;
        if (st.cycle && st.cycle->order.id == id && !st.cycle->closing) {
          ++st.totals.deadline_closes;
          spdlog::warn("portfolio: cycle {} closed at its deadline with {} of {} proposals", id,
                       st.cycle->proposals.size(), st.cycle->expected.size());
          close_cycle(self);
        }
      },
      [self](portfolio_summary_atom) { return self->state.totals; },
      [self](heartbeat_atom) -> caf::result<heartbeat_atom, std::uint64_t> {
        return {heartbeat_atom::value, ++self->state.beats};
      },
      [self](reload_atom, config_ptr next) { self->state.args.cfg = std::move(next); },
      [self](stop_atom) {
        auto& st = self->state;
        if (st.cycle) st.cycle->promise.deliver(caf::ok_atom::value);
        st.cycle.reset();
        self->quit();
        return caf::ok_atom::value;
      },
  };
}

}  // namespace

portfolio_actor spawn_portfolio_actor(caf::local_actor* parent, portfolio_actor_args args) {
  return parent->spawn<caf::detached>(portfolio_behavior, std::move(args));
}

}  // namespace tb::actors
