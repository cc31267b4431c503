#include "actors/supervisor.hpp"

#include <deque>
#include <map>

#include <spdlog/spdlog.h>

namespace tb::actors {
namespace {

// One child's (or grandchild's) restart budget.
struct restart_budget {
  std::deque<caf::timestamp> restarts;  // within the restart window
  std::uint64_t restart_count = 0;
  bool gave_up = false;  // restarted too often: left stopped
  std::string last_error;
};

struct child_state {
  child_spec spec;
  caf::actor handle;      // null when not running
  restart_budget budget;  // gave_up: /health failing
};

struct supervisor_state {
  config_ptr cfg;
  std::shared_ptr<core::snapshot_board> board;
  supervisor_options opts;
  std::vector<child_state> children;
  std::map<std::string, restart_budget> grandchildren;  // by the name their owner gives
  std::uint64_t beats = 0;
  bool stopping = false;
  std::vector<caf::response_promise> stop_promises;
  static inline const char* name = "supervisor";
};

using supervisor_actor = caf::stateful_actor<supervisor_state>;

void publish(supervisor_state& st) {
  core::health_check check;
  nlohmann::json children = nlohmann::json::object();
  for (const auto& c : st.children) {
    children[c.spec.name] = {{"running", static_cast<bool>(c.handle)},
                             {"restarts", c.budget.restart_count},
                             {"last_error", c.budget.last_error}};
    if (c.budget.gave_up) check.status = core::health_status::failing;
  }
  for (const auto& [name, b] : st.grandchildren)
    children[name] = {{"restarts", b.restart_count}, {"last_error", b.last_error}, {"gave_up", b.gave_up}};
  check.detail = {{"children", children}, {"heartbeats", st.beats}, {"stopping", st.stopping}};
  st.board->publish_check("actors", std::move(check));
}

void start_child(supervisor_actor* self, child_state& c) {
  c.handle = c.spec.spawn(self, self->state.cfg);
  self->monitor(c.handle);
  self->link_to(c.handle);  // a killed supervisor takes its children with it
}

void finish_stop_if_done(supervisor_actor* self) {
  auto& st = self->state;
  for (const auto& c : st.children)
    if (c.handle) return;
  for (auto& rp : st.stop_promises) rp.deliver(caf::ok_atom::value);
  st.stop_promises.clear();
  publish(st);
}

// Counts a failure of `name` against its budget: true when it may be restarted (max_restarts
// within restart_window), false when it failed too often (gave_up, logged).
bool may_restart(const supervisor_state& st, const std::string& name, restart_budget& b, std::string reason) {
  b.last_error = std::move(reason);
  const auto now = caf::make_timestamp();
  while (!b.restarts.empty() && now - b.restarts.front() > st.opts.restart_window) b.restarts.pop_front();
  if (static_cast<int>(b.restarts.size()) >= st.opts.max_restarts) {
    b.gave_up = true;
    spdlog::critical("supervisor: {} failed {} times within {}s ({}); not restarting it", name, b.restarts.size() + 1,
                     std::chrono::duration_cast<std::chrono::seconds>(st.opts.restart_window).count(), b.last_error);
    return false;
  }
  b.restarts.push_back(now);
  ++b.restart_count;
  spdlog::error("supervisor: {} failed ({}); restarting", name, b.last_error);
  return true;
}

void on_child_down(supervisor_actor* self, caf::down_msg& dm) {
  auto& st = self->state;
  auto it = std::find_if(st.children.begin(), st.children.end(),
                         [&](const child_state& c) { return c.handle && c.handle.address() == dm.source; });
  if (it == st.children.end()) return;
  auto& c = *it;
  c.handle = nullptr;
  if (st.stopping) {
    finish_stop_if_done(self);
    return;
  }
  if (dm.reason == caf::exit_reason::normal || dm.reason == caf::exit_reason::user_shutdown) {
    spdlog::info("supervisor: {} stopped", c.spec.name);
    publish(st);
    return;
  }
  if (may_restart(st, c.spec.name, c.budget, self->system().render(dm.reason))) start_child(self, c);
  publish(st);
}

caf::behavior supervisor(supervisor_actor* self, config_ptr cfg, std::shared_ptr<core::snapshot_board> board,
                         std::vector<child_spec> specs, supervisor_options opts) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.board = std::move(board);
  st.opts = opts;
  self->set_down_handler([self](caf::down_msg& dm) { on_child_down(self, dm); });
  // Children's exits are handled through their down messages; any other exit stops us.
  self->set_exit_handler([self](caf::exit_msg& em) {
    for (const auto& c : self->state.children)
      if (c.handle && c.handle.address() == em.source) return;
    if (em.reason) self->quit(em.reason);
  });
  for (auto& spec : specs) {
    child_state c;
    c.spec = std::move(spec);
    st.children.push_back(std::move(c));
    start_child(self, st.children.back());
  }
  publish(st);
  return {
      [self](heartbeat_atom) -> caf::result<heartbeat_atom, std::uint64_t> {
        auto& st = self->state;
        std::vector<caf::actor> live;
        for (const auto& c : st.children)
          if (c.handle) live.push_back(c.handle);
        if (live.empty()) {
          ++st.beats;
          publish(st);
          return {heartbeat_atom::value, st.beats};
        }
        auto rp = self->make_response_promise();
        auto pending = std::make_shared<std::size_t>(live.size());
        auto answered = std::make_shared<bool>(false);
        for (const auto& child : live)
          self->request(child, st.opts.heartbeat_timeout, heartbeat_atom::value)
              .then(
                  [self, rp, pending, answered](heartbeat_atom, std::uint64_t) mutable {
                    if (--*pending == 0 && !*answered) {
                      *answered = true;
                      ++self->state.beats;
                      publish(self->state);
                      rp.deliver(heartbeat_atom::value, self->state.beats);
                    }
                  },
                  [rp, answered](caf::error& err) mutable {
                    if (!*answered) {
                      *answered = true;
                      rp.deliver(std::move(err));
                    }
                  });
        return rp;
      },
      [self](reload_atom, config_ptr cfg) {
        auto& st = self->state;
        st.cfg = cfg;
        for (const auto& c : st.children)
          if (c.handle) self->send(c.handle, reload_atom::value, cfg);
      },
      [self](restart_atom, const std::string& name, std::string& reason) {
        auto& st = self->state;
        auto& b = st.grandchildren[name];
        const bool allowed = !st.stopping && !b.gave_up && may_restart(st, name, b, std::move(reason));
        publish(st);
        return allowed;
      },
      // A child's answer to the stop_atom it was sent (its down message is what counts).
      [](caf::ok_atom) {},
      [self](stop_atom) -> caf::result<caf::ok_atom> {
        auto& st = self->state;
        st.stopping = true;
        for (const auto& c : st.children)
          if (c.handle) self->send(c.handle, stop_atom::value);
        auto rp = self->make_response_promise();
        st.stop_promises.push_back(rp);
        finish_stop_if_done(self);
        return rp;
      },
  };
}

}  // namespace

caf::actor spawn_supervisor(caf::actor_system& sys, config_ptr cfg, std::shared_ptr<core::snapshot_board> board,
                            std::vector<child_spec> children, supervisor_options opts) {
  return sys.spawn(supervisor, std::move(cfg), std::move(board), std::move(children), opts);
}

}  // namespace tb::actors
