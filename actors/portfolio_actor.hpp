#pragma once
// The portfolio actor: closes each analysis cycle.
//
// (run_cycle_atom, cycle_order, std::vector<std::string> symbols) from the scheduler opens a
// cycle expecting one proposal from each listed symbol; (proposal_atom, proposal) from the symbol
// actors fill it. When all have answered, or trading.cycle_deadline_s passed, it asks the broker
// actor for the account (broker_state_atom), updates the daily-loss kill switch, builds the
// target portfolio from the proposals in state ok (strategy::build_portfolio: selection, Kelly-
// lite sizing, caps), turns the difference to the held positions into orders (symbols with an
// opinion that are no longer targeted are closed; symbols in error, stale or waiting keep what
// they hold), checks each with strategy::check_order (kill switch, caps, max notional, rate
// limit on the injected clock), sends them to the broker actor (submit_atom) and, once the
// broker answered, replies caf::ok_atom to the scheduler. A symbol's first proposal of a cycle
// counts (the scheduler answers for a symbol actor that went away). A proposal of a cycle not open
// (late, or early) is counted and dropped.
//
// Runs on CAF's scheduler and never blocks: every broker call is an asynchronous request.
// /stats → portfolio: cash, equity, buying_power, positions {SYM: qty, avg_entry_price,
// market_price, market_value}, open_orders, orders_sent/accepted/rejected/duplicates/
// risk_rejected, fills, cycles, last_cycle, metrics (strategy::portfolio_metrics over the daily
// equity marks and the fills the broker actor reports with each broker_state), symbol_metrics
// {SYM: strategy::symbol_metrics over that symbol's round trips}, kill_switch. /health check
// "kill_switch": degraded while halted.
// (portfolio_summary_atom) -> portfolio_summary: the equity per cycle (time, equity) and the order
// counters, for a backtest's report.
#include <memory>

#include <caf/all.hpp>

#include "actors/protocol.hpp"
#include "actors/symbol_actor.hpp"
#include "core/clock.hpp"
#include "core/snapshot_board.hpp"

namespace tb::actors {

struct portfolio_actor_args {
  actor_lookup broker;  // the broker actor
  std::shared_ptr<const core::clock> clock;
  std::shared_ptr<core::snapshot_board> board;
  core::config_ptr cfg;
};

caf::actor spawn_portfolio_actor(caf::local_actor* parent, portfolio_actor_args args);

}  // namespace tb::actors
