#pragma once
// The symbol actor: one per active symbol, owned (spawned, monitored, restarted) by the scheduler.
//
// Each cycle, (cycle_atom, cycle_order, portfolio_actor): update the bars from the feed; unless they are
// stale or too few, form the live window (the last `forecast.lookback` bars) and the walk-forward
// windows (window i drops the last i+1 bars, i < trading.walk_forward_windows), send ONE
// (forecast_atom, forecast_request) to the forecaster (the live window first with priority live,
// the walk-forward ones backfill, each with a wall-clock deadline and the closure of its newest
// bar on this actor's clock, which decides the cache TTL), evaluate the strategies over
// the walk-forward windows (strategy/: make_window, evaluate_all, choose_strategy, plan_next_bar)
// and answer the cycle with exactly one (proposal_atom, proposal) to the portfolio, whatever
// happened: state ok (a side and a score), flat (no strategy passed the gates), stale (last bar
// older than trading.stale_after_bars periods: no proposal), waiting (not enough bars yet),
// error (bad data, feed or forecast errors: the symbol backs off 1, 2, 4 .. 16 cycles and says
// so, the others are not held up), skipped (the cycle is not for its asset class, or its previous
// forecast is still out).
//
// Threads: runs on CAF's scheduler and never blocks it: the bars come from the feed actor
// (actors/feed_actor.hpp, which runs the possibly blocking feed calls on its own thread) and the
// forecast from the forecaster, both as requests answered asynchronously. While either is out the
// symbol is busy and later cycles are skipped for it.
//
// /stats → symbols.<SYM> (through symbol_board): state, error, last_bar_time, bars_held,
// last_cycle_at, last_cycle_ms, cycles, windows_asked, windows_computed (answered by the model,
// not the cache), last_cycle_computed (of the last cycle that asked; null before one), forecast
// {close, high, low}, proposal.
// /health check "symbols": degraded while any symbol is in state error (listing them under
// "failing" with their error); "stale" lists the symbols whose feed has no fresh bar.
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/protocol.hpp"
#include "core/clock.hpp"
#include "core/snapshot_board.hpp"

namespace tb::actors {

// The "symbols" /stats section and the "symbols" /health check, written by every symbol actor.
// Thread-safe. An update costs its own document (the board puts the section together when it is
// read), and the check is published again only when the symbols, the failing or the stale ones
// change: with hundreds of symbols, each writing several times a cycle, writes stay cheap.
class symbol_board {
 public:
  explicit symbol_board(std::shared_ptr<core::snapshot_board> board);
  // Replaces one symbol's document; `error` non-empty marks it failing in the health check.
  void update(const std::string& symbol, nlohmann::json doc, const std::string& error);
  // Forgets a symbol (removed by a reload).
  void remove(const std::string& symbol);

 private:
  void publish_check_locked();
  std::shared_ptr<core::snapshot_board> board_;
  std::mutex mu_;
  std::set<std::string> symbols_;              // guarded by mu_
  std::map<std::string, std::string> errors_;  // guarded by mu_: the failing symbols
  std::set<std::string> stale_;                // guarded by mu_: state "stale"
};

struct symbol_actor_args {
  std::string symbol;
  caf::actor feed;                           // the feed actor (feed_atom, feed_query)
  std::shared_ptr<const core::clock> clock;  // the injected clock: "now" of every cycle
  actor_lookup<forecaster_actor> forecaster;
  std::shared_ptr<symbol_board> stats;
  config_ptr cfg;
};

caf::actor spawn_symbol_actor(caf::local_actor* parent, symbol_actor_args args);

}  // namespace tb::actors
