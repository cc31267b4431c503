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
// broker answered, replies caf::ok_atom to the scheduler.
//
// Orders are limit orders (actors/README.md, "The trading loop's orders"). Prices: an entry in
// the proposal's direction at its limit_price, anything else at its last_close. In a cycle whose
// kinds include close_backout, an equity position that is closed (not targeted) is backed out
// near the market instead (strategy::backout_limit_price: a sell at the proposal's bid less
// schedule.backout_cross_bps, a buy-to-cover at its ask plus them; without a quote, from the last
// close -/+ broker.default_spread), under the strategy name "backout" (a client_order_id of its
// own: the broker actor cancels the day's earlier close-out first); an equity position whose
// symbol is in error, stale, waiting or silent keeps what it holds overnight, and last_decisions
// says why. Every limit is rounded to the symbol's tick (market::round_limit_price: buys down,
// sells up) before it is sent, so the journal holds the price the broker gets. Quantities: a
// whole exit is exactly the held quantity; otherwise whole shares (gtc orders), or with
// trading.fractional_equity 1e-6 of a share (the broker actor makes a fractional equity order a
// day order: market::default_time_in_force), and 1e-6 of a coin.
//
// A symbol's first proposal of a cycle counts (the scheduler answers for a symbol actor that went
// away). A proposal of a cycle not open (late, or early) is counted and dropped.
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
#include <chrono>
#include <memory>

#include <caf/all.hpp>

#include "actors/protocol.hpp"
#include "actors/symbol_actor.hpp"
#include "core/clock.hpp"
#include "core/snapshot_board.hpp"

namespace tb::actors {

// How long the portfolio waits for each of its broker requests; a cycle makes at most three
// (state, submit, state) after its deadline.
constexpr auto portfolio_broker_timeout = std::chrono::seconds(60);

struct portfolio_actor_args {
  actor_lookup<broker_actor> broker;
  std::shared_ptr<const core::clock> clock;
  std::shared_ptr<core::snapshot_board> board;
  core::config_ptr cfg;
};

portfolio_actor spawn_portfolio_actor(caf::local_actor* parent, portfolio_actor_args args);

}  // namespace tb::actors
