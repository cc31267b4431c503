#pragma once
// The broker actor: the one owner of the broker (market::broker: the durable sim broker for the
// demo and replays; Alpaca's Trading API with broker.kind = "alpaca") and of the order journal
// (market/order_journal.hpp). Detached: journal appends fsync and broker calls may block (Alpaca is HTTPS), so it has
// its own thread and never holds a scheduler worker.
//
// The order path: for each order_intent, in order,
//   1. a client_order_id the journal already holds is answered `duplicate` and NOT submitted (a
//      re-run pass, a restart replaying a cycle: the same decision has the same id);
//   2. open orders of the same symbol are canceled first (journal: closed);
//   3. the intent is journaled and fsynced BEFORE the submit;
//   4. submit; the answer is journaled (ack, or reject with the broker's reason).
// On start it reconciles the journal with the broker: each journaled order without a final
// record is looked up (among the broker's open orders, else by client_order_id): found -> ack
// (and fill/closed as the broker says), never found -> abandoned (it never reached the broker;
// it is not sent again). Positions, cash and open orders are the broker's: the broker is the
// truth, the journal the memory of intents.
// Fills are journaled when a state query sees a journaled order filled, or when an order that
// ended (canceled, e.g. replaced, or expired) had filled in part: a fill of that part, then closed.
// A final record (filled, closed, rejected, abandoned) is never followed by another: a broker that
// later reports another outcome for the order disagrees with the journal, which is logged and
// shown in /health (broker degraded, last_error), and the journal is left as it is.
//
// Messages: (broker_state_atom) -> broker_state; (submit_atom, std::vector<order_intent>) ->
// std::vector<order_outcome>; heartbeat_atom; reload_atom; stop_atom.
// Publishes /stats → broker and the /health check "broker" (degraded when the broker answers
// with errors, failing when the journal cannot be written).
//
// Fault seam for the crash tests: broker_actor_args::fault, when set, is called right after the
// N-th intent is journaled (before its submit: point "intent", count N) and right after the N-th
// submit returned (before its answer is journaled: point "submit"), on the actor's thread. Empty
// in tradebotd; only the test build's tradebotd_faults sets it (tests/support/broker_faults.hpp).
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/protocol.hpp"
#include "core/clock.hpp"
#include "core/snapshot_board.hpp"
#include "market/broker.hpp"
#include "market/order_journal.hpp"
#include "strategy/report.hpp"

namespace tb::actors {

// Called with the fault point ("intent", "submit") and how many times the actor reached it.
using broker_fault_hook = std::function<void(const std::string& point, long count)>;

struct broker_actor_args {
  std::shared_ptr<market::broker> broker;
  std::string journal_path;
  std::shared_ptr<const core::clock> clock;
  std::shared_ptr<core::snapshot_board> board;
  config_ptr cfg;
  broker_fault_hook fault;  // empty in production (see above)
};

broker_actor spawn_broker_actor(caf::local_actor* parent, broker_actor_args args);

// The fills of `journal` from record index `from` on, oldest first, with the side and symbol of
// their intents and the fee at the configured rate of the asset class; `from` moves past the
// records read. The one reader of fills: broker_state (for the portfolio) and the backtest report.
std::vector<fill_report> journal_fills(const market::order_journal& journal, const config& cfg, std::size_t& from);

// A fill as the strategy library's metrics and reports take it.
strategy::trade_record trade_of(const fill_report& f);

}  // namespace tb::actors
