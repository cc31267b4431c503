#include "actors/broker_actor.hpp"

#include <map>
#include <optional>
#include <set>

#include <spdlog/spdlog.h>

#include "market/order_journal.hpp"
#include "market/symbols.hpp"

namespace tb::actors {
namespace {

struct broker_actor_state {
  broker_actor_args args;
  std::optional<market::order_journal> journal;
  long intents_written = 0, submits_done = 0;
  std::uint64_t accepted = 0, rejected = 0, duplicates = 0, failed = 0, canceled = 0;
  nlohmann::json reconciled = nlohmann::json::object();
  std::string last_error;
  bool journal_broken = false;
  std::size_t records_reported = 0;  // journal records already scanned for fills (broker_state)
  std::uint64_t beats = 0;
  static inline const char* name = "broker";
};

using broker_self = broker_actor::stateful_base<broker_actor_state>;

// The journal's last orders /stats shows (broker.recent_orders; the dashboard lists them).
constexpr std::size_t published_recent_orders = 50;

std::int64_t now_ns(const broker_actor_state& st) { return core::to_unix_nanoseconds(st.args.clock->now()); }

void publish(broker_self* self) {
  auto& st = self->state;
  std::map<std::string, int> by_state;
  std::uint64_t fills = 0;
  if (st.journal)
    for (const auto& [id, e] : st.journal->entries()) {
      ++by_state[e.state];
      if (e.state == "filled") ++fills;
    }
  nlohmann::json states = nlohmann::json::object();
  for (const auto& [k, v] : by_state) states[k] = v;
  // Newest first: each order's intent as journaled and its state now.
  nlohmann::json recent = nlohmann::json::array();
  if (st.journal) {
    const auto& ids = st.journal->order_of_intents();
    for (auto i = ids.size(); i > 0 && recent.size() < published_recent_orders; --i) {
      const auto& e = st.journal->entries().at(ids[i - 1]);
      const auto& o = e.intent.order;
      recent.push_back({{"client_order_id", ids[i - 1]},
                        {"at", core::to_iso8601(core::time_point(std::chrono::nanoseconds(e.intent.at_unix_ns)))},
                        {"symbol", o.symbol},
                        {"side", market::to_string(o.side)},
                        {"qty", o.qty},
                        {"limit_price", o.limit_price},
                        {"strategy", e.intent.strategy},
                        {"state", e.state},
                        {"filled_qty", e.filled_qty},
                        {"filled_price", e.filled_price}});
    }
  }
  st.args.board->publish("broker", {{"journal", st.args.journal_path},
                                    {"journal_orders", states},
                                    {"accepted", st.accepted},
                                    {"rejected", st.rejected},
                                    {"duplicates_refused", st.duplicates},
                                    {"failed", st.failed},
                                    {"canceled", st.canceled},
                                    {"fills", fills},
                                    {"recent_orders", std::move(recent)},
                                    {"reconciled_at_start", st.reconciled},
                                    {"last_error", st.last_error}});
  core::health_check check;
  if (st.journal_broken)
    check.status = core::health_status::failing;
  else if (!st.last_error.empty())
    check.status = core::health_status::degraded;
  check.detail = {{"last_error", st.last_error}, {"journal", st.args.journal_path}};
  st.args.board->publish_check("broker", std::move(check));
}

bool append(broker_actor_state& st, market::journal_record r) {
  r.at_unix_ns = now_ns(st);
  if (auto err = st.journal->append(r)) {
    st.journal_broken = true;
    st.last_error = err->message;
    spdlog::critical("broker: {}", err->message);
    return false;
  }
  return true;
}

void fault_point(const broker_actor_state& st, const std::string& point, long count) {
  if (st.args.fault) st.args.fault(point, count);
}

// Brings the journal up to date with what the broker says about one journaled order.
void follow(broker_actor_state& st, const std::string& id, const market::order& o) {
  const auto& e = st.journal->entries().at(id);
  // A final record stays final. A broker that reports another outcome for that order (one that
  // forgot a fill, say) disagrees with the journal: said in /health, never journaled over.
  if (e.terminal()) {
    st.last_error = "the journal and the broker disagree on " + id + ": journal " + e.state + ", broker " +
                    market::to_string(o.status);
    spdlog::error("broker: {}", st.last_error);
    return;
  }
  if (e.state == "intent") {
    market::journal_record ack;
    ack.kind = market::journal_kind::ack;
    ack.client_order_id = id;
    ack.broker_order_id = o.id;
    if (!append(st, ack)) return;
  }
  // A filled order is a fill; one that ended (canceled, expired) after filling in part is a fill
  // of that part, then closed.
  const bool ended = o.status == market::order_status::canceled || o.status == market::order_status::expired;
  if (o.status == market::order_status::filled || (ended && o.filled_qty > 0)) {
    market::journal_record f;
    f.kind = market::journal_kind::fill;
    f.client_order_id = id;
    f.broker_order_id = o.id;
    f.fill_qty = o.filled_qty;
    f.fill_price = o.filled_avg_price;
    if (!append(st, f)) return;
  }
  if (ended) {
    market::journal_record c;
    c.kind = market::journal_kind::closed;
    c.client_order_id = id;
    c.broker_order_id = o.id;
    c.reason = market::to_string(o.status);
    append(st, c);
  }
}

// Every journaled order without a final record, brought up to date with the broker. One still in
// `working` (the broker's open orders, when the caller has them) is taken from there; any other is
// asked of the broker by client_order_id, one request each. `at_start`: an order the broker never
// saw is abandoned (it is never sent again).
void reconcile(broker_self* self, bool at_start, const tb::expected<std::vector<market::order>>& working) {
  auto& st = self->state;
  int found = 0, abandoned = 0, errors = 0;
  std::vector<std::string> open_ids;
  for (const auto& id : st.journal->order_of_intents())
    if (!st.journal->entries().at(id).terminal()) open_ids.push_back(id);
  std::map<std::string, const market::order*> working_by_id;
  if (working)
    for (const auto& o : *working) working_by_id[o.client_order_id] = &o;
  for (const auto& id : open_ids) {
    if (auto w = working_by_id.find(id); w != working_by_id.end()) {
      ++found;
      follow(st, id, *w->second);
      continue;
    }
    auto o = st.args.broker->order_by_client_id(id);
    if (!o) {
      ++errors;
      st.last_error = "reconcile " + id + ": " + o.error().message;
      continue;
    }
    if (!*o) {
      if (at_start && st.journal->entries().at(id).state == "intent") {
        market::journal_record r;
        r.kind = market::journal_kind::abandoned;
        r.client_order_id = id;
        r.reason = "journaled but never reached the broker before a restart; not sent again";
        append(st, r);
        ++abandoned;
      }
      continue;
    }
    ++found;
    follow(st, id, **o);
  }
  if (at_start) {
    st.reconciled = {
        {"open_in_journal", open_ids.size()}, {"found_at_broker", found}, {"abandoned", abandoned}, {"errors", errors}};
    spdlog::info("broker: journal {} reconciled: {} open in the journal, {} found at the broker, {} abandoned",
                 st.args.journal_path, open_ids.size(), found, abandoned);
  }
}

broker_state state_of(broker_self* self) {
  auto& st = self->state;
  broker_state out;
  auto open = st.args.broker->open_orders();
  reconcile(self, false, open);
  auto acct = st.args.broker->account();
  auto pos = st.args.broker->positions();
  if (!acct || !pos || !open) {
    out.error = !acct ? acct.error().message : !pos ? pos.error().message : open.error().message;
    st.last_error = out.error;
    return out;
  }
  out.ok = true;
  out.cash = acct->cash;
  out.equity = acct->equity;
  out.buying_power = acct->buying_power;
  for (const auto& p : *pos) out.positions.push_back({p.symbol, p.qty, p.avg_entry_price, p.market_price});
  out.open_orders = open->size();
  for (const auto& [id, e] : st.journal->entries())
    if (e.state == "filled") ++out.fills;
  out.new_fills = journal_fills(*st.journal, *st.args.cfg, st.records_reported);
  return out;
}

// `working`: the broker's open orders, fetched once per batch (on its first order that reaches
// the broker; again on the next one while fetching fails) and kept up to date by submit_one:
// what it cancels leaves, what it submits joins.
order_outcome submit_one(broker_self* self, const order_intent& in,
                         std::optional<std::vector<market::order>>& working) {
  auto& st = self->state;
  order_outcome out;
  out.client_order_id = in.client_order_id;
  if (st.journal->contains(in.client_order_id)) {
    ++st.duplicates;
    out.status = submit_status::duplicate;
    out.error = "already journaled (" + st.journal->entries().at(in.client_order_id).state + "); not sent again";
    return out;
  }
  // Replace, don't stack: the symbol's working orders go first.
  if (!working)
    if (auto open = st.args.broker->open_orders()) working = std::move(*open);
  if (working)
    for (auto o = working->begin(); o != working->end();) {
      if (o->symbol != in.symbol) {
        ++o;
        continue;
      }
      if (auto c = st.args.broker->cancel_order(o->id)) {
        ++st.canceled;
        if (st.journal->contains(o->client_order_id)) follow(st, o->client_order_id, *c);
      }
      // Canceled; or still pending_cancel (Alpaca), followed by later reconciles until it ends
      // (canceled, or filled by a fill that raced the cancel); or no longer open (cancel refused).
      o = working->erase(o);
    }
  market::order_request req;
  req.client_order_id = in.client_order_id;
  req.symbol = in.symbol;
  req.side = in.side > 0 ? market::side::buy : market::side::sell;
  req.qty = in.qty;
  req.limit_price = in.limit_price;
  req.tif = market::default_time_in_force(in.symbol, in.qty);
  market::journal_record intent;
  intent.kind = market::journal_kind::intent;
  intent.client_order_id = in.client_order_id;
  intent.order = req;
  intent.strategy = in.strategy;
  intent.bar_time_s = in.bar_time_s;
  if (!append(st, intent)) {
    ++st.failed;
    out.status = submit_status::failed;
    out.error = st.last_error;
    return out;
  }
  fault_point(st, "intent", ++st.intents_written);
  auto o = st.args.broker->submit_limit_order(req);
  fault_point(st, "submit", ++st.submits_done);
  if (o) {
    market::journal_record ack;
    ack.kind = market::journal_kind::ack;
    ack.client_order_id = in.client_order_id;
    ack.broker_order_id = o->id;
    append(st, ack);
    if (working && o->status == market::order_status::open) working->push_back(*o);
    ++st.accepted;
    out.status = submit_status::accepted;
    return out;
  }
  // A refused submit may still have landed (a retried POST): the broker knows best.
  if (auto known = st.args.broker->order_by_client_id(in.client_order_id); known && *known) {
    follow(st, in.client_order_id, **known);
    if (working && (*known)->status == market::order_status::open) working->push_back(**known);
    ++st.accepted;
    out.status = submit_status::accepted;
    return out;
  }
  market::journal_record rej;
  rej.kind = market::journal_kind::reject;
  rej.client_order_id = in.client_order_id;
  rej.reason = o.error().message;
  append(st, rej);
  ++st.rejected;
  out.status = submit_status::rejected;
  out.error = o.error().message;
  return out;
}

broker_actor::behavior_type broker_behavior(broker_self* self, broker_actor_args args) {
  auto& st = self->state;
  st.args = std::move(args);
  auto j = market::order_journal::open(st.args.journal_path);
  if (!j) {
    spdlog::critical("broker: {}", j.error().message);
    st.last_error = j.error().message;
    st.journal_broken = true;
    publish(self);
    self->quit(caf::make_error(caf::sec::runtime_error, j.error().message));
    return broker_actor::behavior_type::make_empty_behavior();
  }
  st.journal.emplace(std::move(*j));
  for (const auto& w : st.journal->warnings()) spdlog::warn("broker: {}", w);
  reconcile(self, true, st.args.broker->open_orders());
  publish(self);
  return {
      [self](broker_state_atom) {
        auto s = state_of(self);
        publish(self);
        return s;
      },
      [self](submit_atom, const std::vector<order_intent>& intents) {
        std::vector<order_outcome> out;
        std::optional<std::vector<market::order>> working;
        for (const auto& in : intents) {
          if (self->state.journal_broken) {
            out.push_back({in.client_order_id, submit_status::failed, "the order journal cannot be written"});
            continue;
          }
          out.push_back(submit_one(self, in, working));
        }
        publish(self);
        return out;
      },
      [self](heartbeat_atom) -> caf::result<heartbeat_atom, std::uint64_t> {
        return {heartbeat_atom::value, ++self->state.beats};
      },
      [self](reload_atom, config_ptr next) { self->state.args.cfg = std::move(next); },
      [self](stop_atom) {
        publish(self);
        self->quit();
        return caf::ok_atom::value;
      },
  };
}

}  // namespace

broker_actor spawn_broker_actor(caf::local_actor* parent, broker_actor_args args) {
  return parent->spawn<caf::detached>(broker_behavior, std::move(args));
}

std::vector<fill_report> journal_fills(const market::order_journal& journal, const config& cfg, std::size_t& from) {
  std::vector<fill_report> out;
  const auto& records = journal.records();
  for (; from < records.size(); ++from) {
    const auto& r = records[from];
    if (r.kind != market::journal_kind::fill || r.fill_qty <= 0) continue;
    const auto& order = journal.entries().at(r.client_order_id).intent.order;
    const double rate =
        market::is_crypto(order.symbol) ? cfg.broker.sim.crypto_fee_rate : cfg.broker.sim.equity_fee_rate;
    out.push_back({r.at_unix_ns, order.symbol, order.side == market::side::buy, r.fill_qty, r.fill_price,
                   rate * r.fill_qty * r.fill_price, r.client_order_id});
  }
  return out;
}

strategy::trade_record trade_of(const fill_report& f) {
  strategy::trade_record t;
  t.time_s = f.at_unix_ns / 1000000000LL;
  t.symbol = f.symbol;
  t.side = f.buy ? strategy::trade_side::buy : strategy::trade_side::sell;
  t.qty = f.qty;
  t.price = f.price;
  t.fee = f.fee;
  t.client_order_id = f.client_order_id;
  return t;
}

}  // namespace tb::actors
