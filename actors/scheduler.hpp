#pragma once
// The scheduler: drives the analysis cycles on the injected clock and the market calendar, and
// owns the symbol actors.
//
// Time: core::next_scheduled_event(schedule, after) gives the next instant of the schedule
// (open pass, midday pass, close back-out for equities in NYSE sessions; crypto refresh around
// the clock). With a simulated clock (demo, replay, backtest) the scheduler advances it to that
// instant as soon as the previous cycle is closed, so simulated time runs as fast as the cycles
// complete (or, with market.sim_cycle_interval_ms, no faster than one cycle per that many wall
// milliseconds: the demo's pace); with the wall clock it waits (a delayed message, never a sleep) for the instant.
// market.sim_end stops a simulated run there (/stats → schedule.finished). On the wall clock with
// schedule.pass_at_start, the first cycle is a start_pass at once: crypto, and equities while NYSE
// is in session (a restart decides the same orders again; the broker actor's journal refuses to
// send them twice).
//
// A cycle: (run_cycle_atom, cycle_order, symbols) to the portfolio, then (cycle_atom, cycle_order,
// portfolio) to each symbol actor of an asset class acting at that instant; the next event is
// computed once the portfolio answers (it closes the cycle itself at its deadline).
//
// The feed actor (actors/feed_actor.hpp): spawned and linked here, it runs the calls of
// scheduler_args::feed for every symbol actor.
//
// Symbol actors: one per active symbol (symbols_of(config)), spawned and monitored here; a symbol
// actor that fails is restarted when the supervisor's restart budget for it allows
// (scheduler_args::supervisor, restart_atom; else it is left down, gave_up in /stats). A reload
// (reload_atom, config) adds and removes symbol actors to match the new config and passes the
// snapshot on to the others.
//
// Progress (the systemd watchdog's evidence that trading goes on): the scheduler is stalled when
// a cycle has been open (sent to the portfolio, not yet closed) for longer than the progress
// bound, trading.cycle_deadline_s + scheduler_args::progress_slack (the portfolio's longest
// legitimate wait after its deadline, 3 broker requests of portfolio_broker_timeout, + 60 s = 240 s), measured on the
// steady clock; or, on the wall clock, when the next scheduled event is overdue by more than that
// bound without having fired. While stalled, (heartbeat_atom) is answered with an error naming
// the reason, so the supervisor's heartbeat fails, the daemon stops feeding the watchdog and
// systemd restarts it. The check runs with each heartbeat and every second.
//
// (stop_atom) ends the symbol actors and the feed actor with urgent exit messages, ahead of any
// queued cycle work (the feed actor may hold a request of every symbol), then quits.
//
// Runs on CAF's scheduler and never blocks. /stats → schedule: clock, now, cycles, last_cycle_ms,
// cycle_duration_seconds (histogram of the completed cycles), last_event, next_event, finished,
// symbols, restarts. /health check "cycles": failing when the calendar
// cannot answer or while stalled (detail "stalled": the reason); degraded while a symbol actor
// failed too often to be restarted.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/portfolio_actor.hpp"
#include "actors/protocol.hpp"
#include "actors/symbol_actor.hpp"
#include "core/clock.hpp"
#include "core/snapshot_board.hpp"
#include "market/feed.hpp"

namespace tb::actors {

// What the scheduler reports to an observer (scheduler_args::on_progress) each time it publishes:
// after each cycle and when the run finished (a backtest's progress bar and end of run).
struct schedule_progress {
  std::int64_t now_unix_ns = 0;  // the scheduler's clock
  std::uint64_t cycles = 0;      // cycles closed so far
  bool finished = false;         // market.sim_end reached, or the calendar could not answer
  std::string finished_reason;
};

struct scheduler_args {
  std::shared_ptr<market::feed> feed;
  // Exactly one of the two: the simulated clock the scheduler advances, or a clock it only reads.
  std::shared_ptr<core::sim_clock> sim_clock;
  std::shared_ptr<const core::clock> wall_clock;
  actor_lookup<forecaster_actor> forecaster;
  actor_lookup<portfolio_actor> portfolio;
  // The supervisor, whose restart budget decides whether a failed symbol actor is spawned again
  // (restart_atom); none: it stays down.
  actor_lookup<caf::actor> supervisor;
  std::shared_ptr<core::snapshot_board> board;
  std::shared_ptr<symbol_board> symbol_stats;
  config_ptr cfg;
  // Optional: called on the scheduler's thread with its progress (keep it short).
  std::function<void(const schedule_progress&)> on_progress;
  // Added to trading.cycle_deadline_s to make the progress bound (above). Tests shorten it.
  std::chrono::milliseconds progress_slack = 3 * portfolio_broker_timeout + std::chrono::seconds(60);
};

// The symbols to trade: trading.symbols filtered by trading.tradable_pairs. When trading.symbols
// is empty: none, except without a config file (cfg.path empty, the embedded default), where
// every symbol the feed serves is traded.
std::vector<std::string> symbols_of(const config& cfg, const market::feed& feed);

caf::actor spawn_scheduler(caf::local_actor* parent, scheduler_args args);

}  // namespace tb::actors
