#include "actors/scheduler.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>

#include <spdlog/spdlog.h>

#include "actors/feed_actor.hpp"
#include "core/calendar.hpp"
#include "core/latency_histogram.hpp"
#include "market/symbols.hpp"

namespace tb::actors {

std::vector<std::string> symbols_of(const config& cfg, const market::feed& feed) {
  // No config file at all: the embedded demo trades every symbol of the feed. With a file, the
  // universe is what it lists (an empty list trades nothing: tests and tools start fast).
  std::vector<std::string> base = !cfg.trading.symbols.empty() ? cfg.trading.symbols
                                  : cfg.path.empty()           ? feed.symbols()
                                                               : std::vector<std::string>{};
  if (cfg.trading.tradable_pairs.empty()) return base;
  std::vector<std::string> out;
  for (const auto& s : base)
    if (std::find(cfg.trading.tradable_pairs.begin(), cfg.trading.tradable_pairs.end(), s) !=
        cfg.trading.tradable_pairs.end())
      out.push_back(s);
  return out;
}

namespace {

using tick_atom = caf::atom_constant<caf::atom("sch_tick")>;
using fire_atom = caf::atom_constant<caf::atom("sch_fire")>;
using progress_atom = caf::atom_constant<caf::atom("sch_prog")>;

struct symbol_child {
  caf::actor handle;
  std::uint64_t restart_count = 0;
  bool gave_up = false;  // the supervisor refused a restart: it failed too often
};

struct scheduler_state {
  scheduler_args args;
  caf::actor feed;                  // the feed actor (linked), shared by the symbol actors
  bool start_pass_pending = false;  // wall clock with schedule.pass_at_start: the first pass is now
  std::map<std::string, symbol_child> symbols;
  std::optional<core::time_point> sim_end;
  core::time_point last_event_at{};
  std::uint64_t next_cycle = 1;
  std::uint64_t current_cycle = 0;  // the cycle in progress (when in_cycle)
  std::uint64_t cycles = 0;
  bool in_cycle = false;
  bool waiting = false;  // a wall-clock fire is scheduled
  bool finished = false;
  bool stopping = false;
  std::string finished_reason;
  std::string calendar_error;
  nlohmann::json last_event = nullptr;
  nlohmann::json next_event = nullptr;
  std::chrono::steady_clock::time_point cycle_started{};
  std::optional<core::time_point> next_at;  // the next event, from when it is computed until it runs
  std::string stalled;                      // why cycles are not making progress; "" while they are
  double last_cycle_ms = 0;
  core::latency_histogram cycle_duration;  // every completed cycle, start to the portfolio's ok
  std::uint64_t beats = 0;
  static inline const char* name = "scheduler";
};

using scheduler_actor = caf::stateful_actor<scheduler_state>;

const core::clock& clock_of(const scheduler_state& st) {
  return st.args.sim_clock ? static_cast<const core::clock&>(*st.args.sim_clock) : *st.args.wall_clock;
}

nlohmann::json event_json(const core::scheduled_event& ev) {
  nlohmann::json kinds = nlohmann::json::array();
  for (auto k : {core::event_kind::open_pass, core::event_kind::midday_pass, core::event_kind::close_backout,
                 core::event_kind::crypto_refresh, core::event_kind::start_pass})
    if (ev.has(k)) kinds.push_back(core::to_string(k));
  return {{"at", core::to_iso8601(ev.at)}, {"kinds", kinds}, {"equity", ev.equity}, {"crypto", ev.crypto}};
}

void publish(scheduler_actor* self) {
  auto& st = self->state;
  nlohmann::json syms = nlohmann::json::object();
  for (const auto& [s, c] : st.symbols)
    syms[s] = {{"running", static_cast<bool>(c.handle)}, {"restarts", c.restart_count}, {"gave_up", c.gave_up}};
  st.args.board->publish("schedule", {{"clock", st.args.sim_clock ? "simulated" : "wall"},
                                      {"now", core::to_iso8601(clock_of(st).now())},
                                      {"cycles", st.cycles},
                                      {"last_cycle_ms", st.last_cycle_ms},
                                      {"cycle_duration_seconds", core::to_json(st.cycle_duration.prometheus())},
                                      {"last_event", st.last_event},
                                      {"next_event", st.next_event},
                                      {"finished", st.finished},
                                      {"finished_reason", st.finished_reason},
                                      {"symbols", syms}});
  core::health_check check;
  if (!st.calendar_error.empty() || !st.stalled.empty()) check.status = core::health_status::failing;
  for (const auto& [s, c] : st.symbols)
    if (c.gave_up) check.status = std::max(check.status, core::health_status::degraded);
  check.detail = {
      {"cycles", st.cycles}, {"finished", st.finished}, {"error", st.calendar_error}, {"stalled", st.stalled}};
  st.args.board->publish_check("cycles", std::move(check));
  if (st.args.on_progress)
    st.args.on_progress({core::to_unix_nanoseconds(clock_of(st).now()), st.cycles, st.finished, st.finished_reason});
}

void spawn_symbol(scheduler_actor* self, const std::string& sym, symbol_child& c) {
  auto& st = self->state;
  symbol_actor_args a;
  a.symbol = sym;
  a.feed = st.feed;
  a.clock = st.args.sim_clock ? std::shared_ptr<const core::clock>(st.args.sim_clock) : st.args.wall_clock;
  a.forecaster = st.args.forecaster;
  a.stats = st.args.symbol_stats;
  a.cfg = st.args.cfg;
  c.handle = spawn_symbol_actor(self, std::move(a));
  self->monitor(c.handle);
  self->link_to(c.handle);  // a scheduler that dies takes its symbol actors with it
}

// A symbol actor that went away during a cycle will not answer it: answer for it, so the
// portfolio does not wait for its deadline (a symbol's first answer wins there).
void answer_for(scheduler_actor* self, const std::string& sym, proposal_state state, const std::string& why) {
  auto& st = self->state;
  if (!st.in_cycle) return;
  auto portfolio = st.args.portfolio ? st.args.portfolio() : portfolio_actor();
  if (!portfolio) return;
  proposal p;
  p.symbol = sym;
  p.cycle = st.current_cycle;
  p.state = state;
  p.note = why;
  p.crypto = market::is_crypto(sym);
  self->send(portfolio, proposal_atom::value, std::move(p));
}

// Adds and removes symbol actors to match the config.
void match_symbols(scheduler_actor* self) {
  auto& st = self->state;
  const auto want = symbols_of(*st.args.cfg, *st.args.feed);
  for (auto it = st.symbols.begin(); it != st.symbols.end();) {
    if (std::find(want.begin(), want.end(), it->first) == want.end()) {
      spdlog::info("scheduler: symbol {} removed", it->first);
      if (it->second.handle) {
        self->demonitor(it->second.handle);
        self->unlink_from(it->second.handle);
        self->send_exit(it->second.handle, caf::exit_reason::user_shutdown);
      }
      st.args.symbol_stats->remove(it->first);
      answer_for(self, it->first, proposal_state::skipped, "removed by a reload");
      it = st.symbols.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& s : want)
    if (!st.symbols.count(s)) {
      spawn_symbol(self, s, st.symbols[s]);
      spdlog::info("scheduler: symbol {} added", s);
    }
}

// A symbol actor failed: the supervisor's budget for it decides whether it is spawned again.
// Without a supervisor it stays down.
void restart_symbol(scheduler_actor* self, const std::string& sym, const std::string& reason) {
  auto& st = self->state;
  auto decide = [self, sym](bool allowed) {
    auto& st = self->state;
    auto it = st.symbols.find(sym);
    if (st.stopping || it == st.symbols.end() || it->second.handle) return;  // removed or stopped meanwhile
    if (allowed) {
      ++it->second.restart_count;
      spawn_symbol(self, sym, it->second);
    } else {
      it->second.gave_up = true;
    }
    publish(self);
  };
  auto supervisor = st.args.supervisor ? st.args.supervisor() : caf::actor();
  if (!supervisor) {
    decide(false);
    return;
  }
  self->request(supervisor, std::chrono::seconds(10), restart_atom::value, "symbol " + sym, reason)
      .then(decide, [self, decide, sym](caf::error& err) {
        spdlog::error("scheduler: the supervisor did not answer for symbol {}: {}", sym, self->system().render(err));
        decide(false);
      });
}

void run_event(scheduler_actor* self, const core::scheduled_event& ev);

std::string seconds_text(std::chrono::duration<double> d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", d.count());
  return buf;
}

// Why cycles are not making progress (the header's rule), or "".
std::string stall_of(const scheduler_state& st) {
  const auto bound = std::chrono::duration<double>(st.args.cfg->trading.cycle_deadline_s) + st.args.progress_slack;
  const std::string rule =
      seconds_text(bound) + " (trading.cycle_deadline_s + " + seconds_text(st.args.progress_slack) + ")";
  if (st.in_cycle) {
    const auto open = std::chrono::steady_clock::now() - st.cycle_started;
    if (open > bound)
      return "cycle " + std::to_string(st.current_cycle) + " has been open for " + seconds_text(open) +
             ", longer than " + rule + ": the portfolio has not closed it";
  } else if (st.args.wall_clock && st.next_at) {
    const auto late = st.args.wall_clock->now() - *st.next_at;
    if (late > bound)
      return "the event at " + core::to_iso8601(*st.next_at) + " is " + seconds_text(late) +
             " overdue without having fired, more than " + rule;
  }
  return {};
}

// Re-evaluates progress; publishes and logs when it changed. Returns the stall reason.
const std::string& check_progress(scheduler_actor* self) {
  auto& st = self->state;
  auto stalled = stall_of(st);
  if (stalled != st.stalled) {
    if (!stalled.empty())
      spdlog::error("scheduler: stalled: {}", stalled);
    else
      spdlog::info("scheduler: cycles make progress again");
    st.stalled = std::move(stalled);
    publish(self);
  }
  return st.stalled;
}

// Computes the next event after the last one and runs it (simulated) or schedules it (wall).
void tick(scheduler_actor* self) {
  auto& st = self->state;
  if (st.in_cycle || st.waiting || st.finished || st.stopping) return;
  st.next_at.reset();
  bool eq = false, cr = false;
  for (const auto& [s, c] : st.symbols) (market::is_crypto(s) ? cr : eq) = true;
  if (!eq && !cr) {
    st.next_event = nullptr;
    publish(self);
    return;  // idle until a reload adds symbols
  }
  if (st.start_pass_pending) {
    st.start_pass_pending = false;
    core::scheduled_event start;
    start.at = st.args.wall_clock->now();
    start.kinds = static_cast<unsigned>(core::event_kind::start_pass);
    start.crypto = cr;
    if (eq)
      if (auto open = core::is_open(core::asset_class::equity, start.at)) start.equity = *open;
    if (start.equity || start.crypto) {
      run_event(self, start);
      return;
    }
  }
  auto ev = core::next_scheduled_event(st.args.cfg->schedule.passes, st.last_event_at, eq, cr);
  if (!ev) {
    st.calendar_error = ev.error().message;
    st.finished = true;
    st.finished_reason = "the calendar cannot answer: " + ev.error().message;
    spdlog::error("scheduler: {}", st.finished_reason);
    publish(self);
    return;
  }
  st.next_event = event_json(*ev);
  if (st.sim_end && ev->at > *st.sim_end) {
    st.finished = true;
    st.finished_reason = "reached market.sim_end";
    spdlog::info("scheduler: simulated run reached {} after {} cycles", core::to_iso8601(*st.sim_end), st.cycles);
    publish(self);
    return;
  }
  st.next_at = ev->at;
  if (st.args.sim_clock) {
    // market.sim_cycle_interval_ms paces a demo: wait (a delayed message) for the rest of it.
    const auto pace = std::chrono::milliseconds(st.args.cfg->market.sim_cycle_interval_ms);
    const auto since = std::chrono::steady_clock::now() - st.cycle_started;
    if (st.cycles > 0 && since < pace) {
      st.waiting = true;
      publish(self);
      self->delayed_send(self, pace - since, tick_atom::value);
      return;
    }
    (void)st.args.sim_clock->advance_to(ev->at);
    run_event(self, *ev);
    return;
  }
  const auto now = st.args.wall_clock->now();
  if (ev->at <= now) {
    run_event(self, *ev);
    return;
  }
  st.waiting = true;
  publish(self);
  self->delayed_send(self, std::chrono::duration_cast<std::chrono::nanoseconds>(ev->at - now), fire_atom::value,
                     core::to_unix_nanoseconds(ev->at), static_cast<std::uint32_t>(ev->kinds), ev->equity, ev->crypto);
}

void run_event(scheduler_actor* self, const core::scheduled_event& ev) {
  auto& st = self->state;
  st.last_event_at = ev.at;
  st.last_event = event_json(ev);
  st.next_at.reset();
  auto portfolio = st.args.portfolio ? st.args.portfolio() : portfolio_actor();
  if (!portfolio) {
    // Nothing can close a cycle: try again shortly (the supervisor is restarting it).
    spdlog::warn("scheduler: no portfolio actor; cycle at {} skipped", core::to_iso8601(ev.at));
    st.waiting = true;
    self->delayed_send(self, std::chrono::seconds(1), tick_atom::value);
    return;
  }
  cycle_order c;
  c.id = st.next_cycle++;
  st.current_cycle = c.id;
  c.at_unix_ns = core::to_unix_nanoseconds(ev.at);
  c.kinds = ev.kinds;
  c.equity = ev.equity;
  c.crypto = ev.crypto;
  std::vector<std::string> acting;
  for (const auto& [s, child] : st.symbols)
    if (child.handle && (market::is_crypto(s) ? c.crypto : c.equity)) acting.push_back(s);
  st.in_cycle = true;
  st.cycle_started = std::chrono::steady_clock::now();
  // The portfolio hears of the cycle before any symbol actor does (its mailbox has it first).
  self->request(portfolio, caf::infinite, run_cycle_atom::value, c, acting)
      .then(
          [self](caf::ok_atom) {
            auto& st = self->state;
            st.in_cycle = false;
            ++st.cycles;
            const auto took = std::chrono::steady_clock::now() - st.cycle_started;
            st.last_cycle_ms = std::chrono::duration<double, std::milli>(took).count();
            st.cycle_duration.record(took);
            publish(self);
            tick(self);
          },
          [self](caf::error& err) {
            auto& st = self->state;
            st.in_cycle = false;
            spdlog::warn("scheduler: cycle failed: {}", self->system().render(err));
            st.waiting = true;
            self->delayed_send(self, std::chrono::seconds(1), tick_atom::value);
          });
  for (const auto& s : acting) self->send(st.symbols[s].handle, cycle_atom::value, c, portfolio);
  publish(self);
}

caf::behavior scheduler_behavior(scheduler_actor* self, scheduler_args args) {
  auto& st = self->state;
  st.args = std::move(args);
  if (!st.args.cfg->market.sim_end.empty() && st.args.sim_clock)
    if (auto end = core::parse_utc_instant(st.args.cfg->market.sim_end, "market.sim_end")) st.sim_end = *end;
  st.last_event_at = clock_of(st).now();
  st.start_pass_pending = !st.args.sim_clock && st.args.cfg->schedule.pass_at_start;
  st.feed = spawn_feed_actor(self, {st.args.feed, st.args.cfg->market.feed, st.args.board});
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    for (auto& [sym, c] : st.symbols) {
      if (!c.handle || c.handle.address() != dm.source) continue;
      c.handle = nullptr;
      if (st.stopping || dm.reason == caf::exit_reason::user_shutdown || dm.reason == caf::exit_reason::normal) return;
      const std::string reason = self->system().render(dm.reason);
      answer_for(self, sym, proposal_state::error, "the symbol actor failed: " + reason);
      restart_symbol(self, sym, reason);
      return;
    }
  });
  // Symbol actors' exits are handled through their down messages; any other exit stops us.
  self->set_exit_handler([self](caf::exit_msg& em) {
    for (const auto& [s, c] : self->state.symbols)
      if (c.handle && c.handle.address() == em.source) return;
    if (em.reason) self->quit(em.reason);
  });
  match_symbols(self);
  publish(self);
  self->send(self, tick_atom::value);
  self->send(self, progress_atom::value);
  return {
      [self](tick_atom) {
        self->state.waiting = false;
        tick(self);
      },
      [self](fire_atom, std::int64_t at_ns, std::uint32_t kinds, bool eq, bool cr) {
        auto& st = self->state;
        st.waiting = false;
        if (st.stopping) return;
        core::scheduled_event ev;
        ev.at = core::time_point(core::duration(at_ns));
        ev.kinds = kinds;
        ev.equity = eq;
        ev.crypto = cr;
        run_event(self, ev);
      },
      [self](progress_atom) {
        check_progress(self);
        self->delayed_send(self, std::chrono::seconds(1), progress_atom::value);
      },
      [self](heartbeat_atom) -> caf::result<heartbeat_atom, std::uint64_t> {
        const auto& stalled = check_progress(self);
        if (!stalled.empty()) return caf::make_error(caf::sec::runtime_error, "scheduler stalled: " + stalled);
        return {heartbeat_atom::value, ++self->state.beats};
      },
      [self](reload_atom, config_ptr next) {
        auto& st = self->state;
        st.args.cfg = std::move(next);
        match_symbols(self);
        for (const auto& [s, c] : st.symbols)
          if (c.handle) self->send(c.handle, reload_atom::value, st.args.cfg);
        publish(self);
        tick(self);  // a universe that was empty may have symbols now
      },
      [self](stop_atom) {
        auto& st = self->state;
        st.stopping = true;
        // Urgent: ahead of queued cycle work (the feed actor may hold a request of every symbol,
        // answered in turn), so the stop does not wait for a backlog to drain.
        const auto stop_now = [self](const caf::actor& a) {
          self->send<caf::message_priority::high>(a, caf::exit_msg{self->address(), caf::exit_reason::user_shutdown});
        };
        for (auto& [s, c] : st.symbols)
          if (c.handle) stop_now(c.handle);
        stop_now(st.feed);
        publish(self);
        self->quit();
        return caf::ok_atom::value;
      },
  };
}

}  // namespace

caf::actor spawn_scheduler(caf::local_actor* parent, scheduler_args args) {
  return parent->spawn(scheduler_behavior, std::move(args));
}

}  // namespace tb::actors
