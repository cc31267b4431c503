#pragma once
// The portfolio actor: closes each analysis cycle.
//
// (run_cycle_atom, cycle_order, std::vector<std::string> symbols) from the scheduler opens a
// cycle expecting one proposal from each listed symbol; (proposal_atom, proposal) from the symbol
// actors fill it. When all have answered, or trading.cycle_deadline_s passed, it asks the broker
// actor for the account (broker_state_atom), updates the daily-loss kill switch, and hands the
// proposals, the positions, the account, the risk state and the injected clock's now to
// strategy::plan_orders, which decides the orders (selection and Kelly-lite sizing, close-outs,
// the close back-out, risk checks, limits on the tick, quantities, client order ids; the rules:
// actors/README.md, "The trading loop's orders", and strategy/README.md, "Orders"). The actor
// sends them to the broker actor (submit_atom) and, once the broker answered, replies
// caf::ok_atom to the scheduler. The venue rules plan_orders is given are market's:
// market::round_limit_price (with alpaca.crypto_price_increment) and market::client_order_id_for.
//
// A symbol's first proposal of a cycle counts (the scheduler answers for a symbol actor that went
// away). A proposal of a cycle not open (late, or early) is counted and dropped.
//
// Detached (its own thread): each cycle's equity mark is fsynced to the equity log
// (market/equity_log.hpp, STATE/broker/equity.jsonl) when one is given; the curve it starts with
// is the log's, so it continues across restarts. Every broker call is an asynchronous request.
// /stats → portfolio: cash, equity, buying_power, positions {SYM: qty, avg_entry_price,
// market_price, market_value}, open_orders, orders_sent/accepted/rejected/duplicates/
// risk_rejected, fills, cycles, last_cycle, metrics (strategy::portfolio_metrics over the daily
// equity marks and the fills the broker actor reports with each broker_state), symbol_metrics
// {SYM: strategy::symbol_metrics over that symbol's round trips}, kill_switch. /health check
// "kill_switch": degraded while halted.
// (portfolio_summary_atom) -> portfolio_summary: the equity per cycle (time, equity) and the order
// counters, for a backtest's report.
#include <chrono>
#include <memory>

#include <caf/all.hpp>

#include "actors/protocol.hpp"
#include "actors/symbol_actor.hpp"
#include "core/clock.hpp"
#include "core/snapshot_board.hpp"
#include "market/equity_log.hpp"

namespace tb::actors {

// How long the portfolio waits for each of its broker requests; a cycle makes at most three
// (state, submit, state) after its deadline.
constexpr auto portfolio_broker_timeout = std::chrono::seconds(60);

struct portfolio_actor_args {
  actor_lookup<broker_actor> broker;
  std::shared_ptr<const core::clock> clock;
  std::shared_ptr<core::snapshot_board> board;
  config_ptr cfg;
  std::shared_ptr<market::equity_log> equity;  // null: the curve is kept in memory only
};

portfolio_actor spawn_portfolio_actor(caf::local_actor* parent, portfolio_actor_args args);

}  // namespace tb::actors
