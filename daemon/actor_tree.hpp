#pragma once
// The actor tree of tradebotd, built from a config: the trading loop's feed, clock and broker
// (make_trading_parts), the demo checkpoint when model.dir is empty (resolve_model_dir), and the
// supervisor's children (inference, cache, and with trading: broker, portfolio, scheduler).
// run_daemon (daemon/daemon.cpp) and `tradebot backtest` (daemon/tool_backtest.cpp) both build
// their actors here, so a backtest runs exactly the daemon's actors.
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/broker_actor.hpp"
#include "actors/config.hpp"
#include "actors/scheduler.hpp"
#include "actors/supervisor.hpp"
#include "core/clock.hpp"
#include "core/snapshot_board.hpp"
#include "inference/model_service.hpp"
#include "market/broker.hpp"
#include "market/equity_log.hpp"
#include "market/feed.hpp"

namespace tb::daemon {

// The current incarnation of a supervised child, for actors that talk to it (a restart replaces
// it): the one way actors find each other. Written by the child's spawn function on the
// supervisor's thread, read by any actor. Holds a weak reference: the slot never keeps an actor
// alive (CAF waits for every detached actor to be destroyed before the actor system can go).
// Handle: the child's typed interface (actors/protocol.hpp).
template <class Handle>
struct handle_slot {
  std::mutex mu;
  caf::weak_actor_ptr handle;
  void set(const Handle& h) {
    std::lock_guard<std::mutex> lock(mu);
    handle = caf::actor_cast<caf::weak_actor_ptr>(h);
  }
  Handle get() {
    std::lock_guard<std::mutex> lock(mu);
    return caf::actor_cast<Handle>(handle);
  }
};

template <class Handle>
actors::actor_lookup<Handle> lookup_of(std::shared_ptr<handle_slot<Handle>> slot) {
  return [slot] { return slot->get(); };
}

// The trading loop's feed, clock and broker.
struct trading_parts {
  std::shared_ptr<market::feed> feed;
  std::shared_ptr<core::sim_clock> sim_clock;  // market.clock = simulated
  std::shared_ptr<const core::clock> clock;    // the clock everyone reads
  std::shared_ptr<market::broker> broker;
  std::string journal_path;  // STATE/broker/orders.jsonl
  // STATE/broker/equity.jsonl, read; the portfolio actor (each incarnation in turn) appends to it.
  std::shared_ptr<market::equity_log> equity;
};

// From market.* and broker.*; the broker's ledger, the order journal and the equity curve live in
// cfg.daemon.state_dir/broker (a corrupt line of any of them fails here, naming file and line). A simulated clock
// resumes at the last record of the journal or (sim broker) of its ledger. errc::bad_config for a feed/broker the
// daemon does not wire or a bad setting.
tb::expected<trading_parts> make_trading_parts(const actors::config& cfg);

// model.dir, or when it is empty the demo checkpoint under state_dir (tiny preset, seed 0),
// written on first use.
tb::expected<std::string> resolve_model_dir(const actors::config& cfg);

// The actor system's settings for a tree built here: the protocol's message types and
// daemon.scheduler_threads workers (0 = the number of cores, at least 2).
void configure_actor_system(caf::actor_system_config& sys_cfg, const actors::config& cfg);

// Optional observers of the run, called on the actors' threads (keep them short, thread-safe).
struct actor_tree_hooks {
  std::function<void(const actors::schedule_progress&)> on_schedule;  // the scheduler's progress
  actors::broker_fault_hook broker_fault;  // the broker actor's fault seam; empty but in test builds
};

struct actor_tree {
  std::vector<actors::child_spec> children;  // for actors::spawn_supervisor
  // The current incarnations, once the supervisor spawned them.
  using forecaster_slot = handle_slot<actors::forecaster_actor>;
  std::shared_ptr<forecaster_slot> inference = std::make_shared<forecaster_slot>();   // the cache actor's upstream
  std::shared_ptr<forecaster_slot> forecaster = std::make_shared<forecaster_slot>();  // the cache actor
  std::shared_ptr<handle_slot<actors::broker_actor>> broker = std::make_shared<handle_slot<actors::broker_actor>>();
  std::shared_ptr<handle_slot<actors::portfolio_actor>> portfolio =
      std::make_shared<handle_slot<actors::portfolio_actor>>();
};

// The children: inference (serving `service`; with a null `service` the remote pool of
// actors/remote_inference.hpp, forwarding to cfg.inference.middleman.remote's hosts), cache (in front of
// inference) and, when `trading` is set, broker, portfolio and scheduler (which owns the symbol
// actors). Each spawn function puts the new incarnation in its slot of the tree, so a supervisor
// restart is followed.
actor_tree build_actor_tree(std::shared_ptr<inference::model_service> service,
                            std::shared_ptr<core::snapshot_board> board, const std::optional<trading_parts>& trading,
                            actor_tree_hooks hooks = {});

// Asks the supervisor for a heartbeat, which it answers only when every child answers its own.
// Returns "" when it answered within `timeout`, else why not. Blocks: a scoped actor of the main
// thread, never from an actor.
std::string heartbeat(caf::scoped_actor& self, const caf::actor& supervisor, std::chrono::milliseconds timeout);

// Stops a running tree: the supervisor stops its children (they finish or persist their work)
// within `deadline`, then it is ended, so that the actor system can shut down. Returns "" when the
// children stopped in time, else what went wrong. Blocks: call it from the main thread, never
// from an actor.
std::string stop_actor_tree(caf::actor_system& sys, caf::actor& supervisor, std::chrono::milliseconds deadline);

}  // namespace tb::daemon
