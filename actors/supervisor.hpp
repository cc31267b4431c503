#pragma once
// The supervisor: the root of tradebotd's actor tree.
//
// It spawns its children from specs, restarts a child that fails (at most `max_restarts` within
// `restart_window`, then reports it failing instead of looping), fans out config reloads,
// answers the daemon's heartbeat only when every child answers its own (so the systemd watchdog
// sees a wedged actor), and on `stop` shuts the children down and answers when all are gone.
// It is the one restart policy: it also keeps the budget of each grandchild that a child spawns
// and restarts itself (the scheduler's symbol actors): (restart_atom, name, reason) -> bool says
// whether that one may be restarted now (same max_restarts in restart_window, per name). Such a
// grandchild is listed in /health "actors" (restarts, last_error, gave_up) but giving up on it
// does not fail the check: its owner reports it (the scheduler's "cycles" check degrades).
// Runs on CAF's scheduler; never blocks.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/protocol.hpp"
#include "core/snapshot_board.hpp"

namespace tb::actors {

struct child_spec {
  std::string name;
  // Spawns the child with the current config snapshot; called at start and after each failure.
  std::function<caf::actor(caf::local_actor* self, const config_ptr& cfg)> spawn;
};

struct supervisor_options {
  int max_restarts = 5;
  caf::timespan restart_window = std::chrono::seconds(60);
  caf::timespan heartbeat_timeout = std::chrono::seconds(2);  // per child
};

// Spawns the supervisor. It publishes the /health check "actors" on `board`.
caf::actor spawn_supervisor(caf::actor_system& sys, config_ptr cfg, std::shared_ptr<core::snapshot_board> board,
                            std::vector<child_spec> children, supervisor_options opts = {});

}  // namespace tb::actors
