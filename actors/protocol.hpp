#pragma once
// THE protocol of tradebotd's actors: every atom and message type, in one place.
//
// Message types are plain structs with `inspect` overloads so the same actors can talk across
// processes through CAF's middleman. Types that stay inside one process (config snapshots,
// board pointers) are noted as such. States, statuses, error codes and priorities are enums
// (CAF serializes an enum as its underlying integer; deep_to_string and every log, /stats and
// journal text use its `to_string`).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/config.hpp"
#include "core/error.hpp"
#include "core/forecast.hpp"
#include "inference/priority.hpp"

// --- inspect overloads of the core types that cross the middleman ----------------------------
namespace tb::core {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bar& x) {
  return f(caf::meta::type_name("bar"), x.time_s, x.utc_offset_s, x.open, x.high, x.low, x.close, x.volume, x.amount);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sampling_params& x) {
  return f(caf::meta::type_name("sampling_params"), x.pred_len, x.max_context, x.temperature, x.top_k, x.top_p,
           x.sample_count, x.clip);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, forecast_window& x) {
  return f(caf::meta::type_name("forecast_window"), x.symbol, x.bars, x.params, x.seed);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, forecast& x) {
  return f(caf::meta::type_name("forecast"), x.rows);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, model_identity& x) {
  return f(caf::meta::type_name("model_identity"), x.checkpoint_hash, x.dtype, x.compile);
}

}  // namespace tb::core

namespace tb::actors {

// --- lifecycle (daemon <-> supervisor <-> every child) ---------------------------------------
// (heartbeat_atom) -> (heartbeat_atom, std::uint64_t beats): proves the actor is scheduled.
using heartbeat_atom = caf::atom_constant<caf::atom("heartbeat")>;
// (reload_atom, config_ptr): a new frozen config snapshot. In-process only.
using reload_atom = caf::atom_constant<caf::atom("reload")>;
// (stop_atom) -> (caf::ok_atom): stop taking work, finish or persist in-flight work, then quit.
using stop_atom = caf::atom_constant<caf::atom("stop")>;
// (restart_atom, std::string child, std::string reason) -> bool, to the supervisor: a grandchild
// (a symbol actor the scheduler spawns) failed; true when its restart budget allows a restart.
using restart_atom = caf::atom_constant<caf::atom("restart")>;

// --- inference (symbol actors, other processes -> inference actor) ----------------------------
struct window_request {
  core::forecast_window window;
  inference::priority priority = inference::priority::live;  // batching order only, never the cache TTL
  std::int64_t deadline_unix_ns = 0;                         // wall clock; 0 = none
  // Closure of the window's newest bar, on the requester's clock (simulated or wall): when its
  // period ends (market::bar_timing::closes_at) and the requester's now when it asked. 0 = unknown.
  std::int64_t newest_bar_closes_unix_ns = 0;
  std::int64_t as_of_unix_ns = 0;
  // Every bar of the window is final: the newest one's period ended at or before as_of. A window
  // with unknown closure counts as still forming.
  bool closed() const { return newest_bar_closes_unix_ns > 0 && newest_bar_closes_unix_ns <= as_of_unix_ns; }
};

// (forecast_atom, forecast_request) -> (forecast_reply): one answer per window, in order.
struct forecast_request {
  std::vector<window_request> windows;
};

struct window_answer {
  bool ok = false;
  bool cached = false;               // when ok: answered from the forecast cache, not computed now
  core::forecast forecast;           // when ok
  errc error_code = errc::internal;  // when not ok: e.g. overloaded, timeout
  std::string error;                 // when not ok: what happened, for a person
};

struct forecast_reply {
  std::vector<window_answer> answers;
  // The model that computed the answers (a cached answer: the model its key names). Empty
  // checkpoint_hash when no forecast was computed, or when two models computed them (a checkpoint
  // swap between batches of one request). The cache actor stores a computed forecast only when
  // this is the model its key was made with.
  core::model_identity model;
};

using forecast_atom = caf::atom_constant<caf::atom("forecast")>;

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, window_request& x) {
  return f(caf::meta::type_name("window_request"), x.window, x.priority, x.deadline_unix_ns,
           x.newest_bar_closes_unix_ns, x.as_of_unix_ns);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, forecast_request& x) {
  return f(caf::meta::type_name("forecast_request"), x.windows);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, window_answer& x) {
  return f(caf::meta::type_name("window_answer"), x.ok, x.cached, x.forecast, x.error_code, x.error);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, forecast_reply& x) {
  return f(caf::meta::type_name("forecast_reply"), x.answers, x.model);
}

// --- forecast cache (symbol actors -> cache actor -> inference actor) -------------------------
// The cache actor speaks the inference protocol above: (forecast_atom, forecast_request) ->
// forecast_reply, one answer per window, in order. It sets every window's seed from its cache key
// (cache::seed_of), answers hits itself and forwards the misses to the inference actor in one
// request. A window whose newest bar has closed (window_request::closed()) is cached as closed
// history (history_ttl); only a window holding a still-forming bar as a live window (ttl).
// Priority decides nothing there. See actors/README.md.
//
// (model_identity_atom) -> (core::model_identity): the model the inference actor serves now
// (checkpoint content hash, dtype, compile flag): part of every cache key.
using model_identity_atom = caf::atom_constant<caf::atom("model_id")>;

// (inference_status_atom) -> inference_status: what an inference actor serves and how much work it
// holds. A trading daemon's remote pool (actors/remote_inference.hpp) asks each host every second
// and after each reply: the identity must be the pool's, the queue balances requests.
using inference_status_atom = caf::atom_constant<caf::atom("inf_status")>;

struct inference_status {
  core::model_identity identity;       // the model serving now
  std::uint64_t queued_rows = 0;       // rows (windows x samples) waiting in the batcher
  std::uint64_t computed_windows = 0;  // windows computed since start (the batcher's inference_count)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, inference_status& x) {
  return f(caf::meta::type_name("inference_status"), x.identity, x.queued_rows, x.computed_windows);
}

// --- market data (symbol actors -> feed actor) -------------------------------------------------
// (feed_atom, feed_query) -> feed_update: a symbol's bars that closed since the last one it holds
// (or its most recent max_bars), with the bar timing and the latest quote. Always answered; a
// failure is in feed_update::error, never a CAF error.
using feed_atom = caf::atom_constant<caf::atom("feed")>;

struct feed_query {
  std::string symbol;
  std::int64_t until_unix_ns = 0;         // bars whose period closed at or before this
  std::int64_t closed_after_unix_ns = 0;  // with has_closed_after: only bars closed strictly after
  bool has_closed_after = false;
  std::uint64_t max_bars = 0;  // 0: every matching bar; else the most recent max_bars
};

struct feed_update {
  bool failed = false;
  errc error_code = errc::internal;  // when failed: invalid_argument, unavailable, ...
  std::string error;                 // when failed: what happened, for a person
  std::int64_t period_ns = 0;        // market::bar_timing of the symbol
  bool period_end_label = false;
  std::vector<core::bar> bars;  // oldest first
  double bid = 0, ask = 0;      // the latest quote; 0 when the feed has none
  bool ok() const { return !failed; }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, feed_query& x) {
  return f(caf::meta::type_name("feed_query"), x.symbol, x.until_unix_ns, x.closed_after_unix_ns, x.has_closed_after,
           x.max_bars);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, feed_update& x) {
  return f(caf::meta::type_name("feed_update"), x.failed, x.error_code, x.error, x.period_ns, x.period_end_label,
           x.bars, x.bid, x.ask);
}

// --- trading loop (scheduler -> symbol actors -> portfolio -> broker actor) ----------------
// One analysis cycle: the scheduler asks the portfolio to run it, (run_cycle_atom, cycle_order,
// symbols) -> caf::ok_atom once the cycle is closed (orders answered by the broker actor), and
// sends (cycle_atom, cycle_order, portfolio) to every symbol actor it owns; each symbol actor
// answers the cycle with exactly ONE (proposal_atom, proposal) to that portfolio, whatever
// happened (state says what). The portfolio asks the broker actor (broker_state_atom) ->
// broker_state and (submit_atom, std::vector<order_intent>) -> std::vector<order_outcome>.
struct cycle_order {
  std::uint64_t id = 0;         // increasing per scheduler
  std::int64_t at_unix_ns = 0;  // the scheduled instant (the injected clock's now)
  std::uint32_t kinds = 0;      // core::event_kind bits
  bool equity = false;          // equity symbols act
  bool crypto = false;          // crypto symbols act
};

// What a symbol actor's answer to a cycle says. ok: a side and a score; flat: no strategy passed
// the gates; stale: the last bar is too old; waiting: too few bars yet; error: bad data, feed or
// forecast errors; skipped: not its asset class, or its previous forecast is still out.
enum class proposal_state : std::uint8_t { ok, flat, stale, waiting, error, skipped };
const char* to_string(proposal_state s);  // "ok", "flat", ... (/stats -> symbols.<SYM>.state)

struct proposal {
  std::string symbol;
  std::uint64_t cycle = 0;
  proposal_state state = proposal_state::error;
  std::string note;             // why (error text, gate result)
  std::int64_t bar_time_s = 0;  // the last bar the decision was made from
  std::string strategy;         // chosen strategy ("" when none)
  std::int32_t side = 0;        // +1 long, -1 short, 0 flat / no opinion
  double score = 0, edge = 0, variance = 0;
  double last_close = 0;    // price the portfolio values the symbol at
  double limit_price = 0;   // entry limit (the plan's entry, else the last close)
  double bid = 0, ask = 0;  // the latest quote the symbol actor saw; 0 when none
  bool crypto = false;
  bool has_opinion() const { return state == proposal_state::ok || state == proposal_state::flat; }
};

struct order_intent {
  std::string client_order_id;  // market::client_order_id_for(symbol, bar_time_s, side, strategy)
  std::string symbol;
  std::int32_t side = 1;  // +1 buy, -1 sell
  double qty = 0;
  double limit_price = 0;
  std::string strategy;
  std::int64_t bar_time_s = 0;
};

// The broker actor's answer per order_intent. accepted: journaled and acknowledged by the broker;
// rejected: the broker refused it (error: its reason); duplicate: the journal already holds the
// client_order_id, not sent again; failed: not sent (the journal cannot be written, the broker
// cannot be reached).
enum class submit_status : std::uint8_t { accepted, rejected, duplicate, failed };
const char* to_string(submit_status s);  // "accepted", ... (/stats -> portfolio.last_decisions)

struct order_outcome {
  std::string client_order_id;
  submit_status status = submit_status::failed;
  std::string error;
};

struct position_row {
  std::string symbol;
  double qty = 0, avg_entry_price = 0, market_price = 0;
};

// One fill as the journal recorded it (fee at the configured rate of the asset class).
struct fill_report {
  std::int64_t at_unix_ns = 0;  // when the fill was journaled (the injected clock)
  std::string symbol;
  bool buy = true;
  double qty = 0, price = 0, fee = 0;
  std::string client_order_id;
};

struct broker_state {
  bool ok = false;
  std::string error;  // when not ok
  double cash = 0, equity = 0, buying_power = 0;
  std::vector<position_row> positions;
  std::uint64_t open_orders = 0;
  std::uint64_t fills = 0;             // fills journaled so far
  std::vector<fill_report> new_fills;  // journaled since the previous broker_state answer
};

// (portfolio_summary_atom) -> portfolio_summary: what the portfolio saw so far (a backtest asks
// at the end of its run).
struct equity_mark {
  std::int64_t at_unix_ns = 0;  // the cycle's scheduled instant
  double equity = 0;            // the broker's equity at the cycle's start
};

struct portfolio_summary {
  std::vector<equity_mark> equity_curve;  // one per cycle the broker answered, oldest first
  std::uint64_t cycles = 0, deadline_closes = 0;
  std::uint64_t orders_sent = 0, accepted = 0, rejected = 0, duplicates = 0, failed = 0, risk_rejected = 0;
};

using cycle_atom = caf::atom_constant<caf::atom("cycle")>;
using run_cycle_atom = caf::atom_constant<caf::atom("runcycle")>;
using proposal_atom = caf::atom_constant<caf::atom("proposal")>;
using broker_state_atom = caf::atom_constant<caf::atom("brkstate")>;
using submit_atom = caf::atom_constant<caf::atom("submit")>;
using portfolio_summary_atom = caf::atom_constant<caf::atom("pfsummary")>;

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cycle_order& x) {
  return f(caf::meta::type_name("cycle_order"), x.id, x.at_unix_ns, x.kinds, x.equity, x.crypto);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, proposal& x) {
  return f(caf::meta::type_name("proposal"), x.symbol, x.cycle, x.state, x.note, x.bar_time_s, x.strategy, x.side,
           x.score, x.edge, x.variance, x.last_close, x.limit_price, x.bid, x.ask, x.crypto);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_intent& x) {
  return f(caf::meta::type_name("order_intent"), x.client_order_id, x.symbol, x.side, x.qty, x.limit_price, x.strategy,
           x.bar_time_s);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_outcome& x) {
  return f(caf::meta::type_name("order_outcome"), x.client_order_id, x.status, x.error);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, position_row& x) {
  return f(caf::meta::type_name("position_row"), x.symbol, x.qty, x.avg_entry_price, x.market_price);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fill_report& x) {
  return f(caf::meta::type_name("fill_report"), x.at_unix_ns, x.symbol, x.buy, x.qty, x.price, x.fee,
           x.client_order_id);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, broker_state& x) {
  return f(caf::meta::type_name("broker_state"), x.ok, x.error, x.cash, x.equity, x.buying_power, x.positions,
           x.open_orders, x.fills, x.new_fills);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, equity_mark& x) {
  return f(caf::meta::type_name("equity_mark"), x.at_unix_ns, x.equity);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, portfolio_summary& x) {
  return f(caf::meta::type_name("portfolio_summary"), x.equity_curve, x.cycles, x.deadline_closes, x.orders_sent,
           x.accepted, x.rejected, x.duplicates, x.failed, x.risk_rejected);
}

// --- typed interfaces ---------------------------------------------------------------------------
// The handles of the forecaster, the broker and the portfolio are typed: a message that is not in
// the receiver's interface, or a reply handler of the wrong type, does not compile
// (tests/actors/typed_protocol_test.cpp shows it). An actor's own timer messages are not part of
// these: its .cpp extends the interface with them (e.g. the cache actor's tick).

// What every supervised child answers (actors/supervisor.hpp).
using supervised_actor =
    caf::typed_actor<caf::replies_to<heartbeat_atom>::with<heartbeat_atom, std::uint64_t>,
                     caf::reacts_to<reload_atom, config_ptr>, caf::replies_to<stop_atom>::with<caf::ok_atom>>;

// The forecaster: the inference actor, and the cache actor in front of it, which forwards its
// misses to the inference actor through this same interface. A remote inference host's handle
// (middleman remote_actor<caf::actor>: the inference actor is published untyped) becomes one with
// caf::actor_cast<forecaster_actor>.
using forecaster_actor =
    supervised_actor::extend<caf::replies_to<forecast_atom, forecast_request>::with<forecast_reply>,
                             caf::replies_to<model_identity_atom>::with<core::model_identity>>;

// The broker actor (actors/broker_actor.hpp).
using broker_actor =
    supervised_actor::extend<caf::replies_to<broker_state_atom>::with<broker_state>,
                             caf::replies_to<submit_atom, std::vector<order_intent>>::with<std::vector<order_outcome>>>;

// The portfolio actor (actors/portfolio_actor.hpp).
using portfolio_actor =
    supervised_actor::extend<caf::replies_to<run_cycle_atom, cycle_order, std::vector<std::string>>::with<caf::ok_atom>,
                             caf::reacts_to<proposal_atom, proposal>,
                             caf::replies_to<portfolio_summary_atom>::with<portfolio_summary>>;

// How an actor finds another: a function that returns the CURRENT incarnation of a supervised
// actor (a restart replaces it), or a null handle while none runs. The daemon makes them from its
// handle slots (daemon/actor_tree.hpp); tests return a fixed handle.
template <class Handle>
using actor_lookup = std::function<Handle()>;

// Registers every message type that may cross the middleman. Call on each actor_system_config.
void register_types(caf::actor_system_config& cfg);

}  // namespace tb::actors

// Config snapshots are shared in-process only; they never cross the middleman.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tb::actors::config_ptr)
