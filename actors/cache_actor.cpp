#include "actors/cache_actor.hpp"

#include <deque>
#include <map>
#include <optional>

#include <spdlog/spdlog.h>

#include "core/log_throttle.hpp"

namespace tb::actors {
namespace {

using tick_atom = caf::atom_constant<caf::atom("cache_tick")>;

constexpr auto tick_interval = std::chrono::seconds(1);
// A bound for a wedged inference actor only: it answers its own deadlines, overload and stop.
constexpr auto inference_timeout = std::chrono::minutes(10);
constexpr auto identity_timeout = std::chrono::seconds(10);

// One forecast_request between its arrival and its reply. Owned by the cache actor's thread.
struct job {
  caf::response_promise rp;
  forecast_reply reply;                               // one answer per window, filled as known
  std::vector<std::optional<cache::cache_key>> keys;  // nullopt: the key could not be made
  std::vector<std::size_t> misses;                    // indices forwarded to the inference actor
  std::vector<core::sampling_params> miss_params;     // what each miss asked for (to check its answer)
  std::vector<bool> closed;                           // window_request::closed() per window
  core::model_identity identity;                      // the identity the keys were made with
};
using job_ptr = std::shared_ptr<job>;

// Counters of the actor (the facade counts hits, misses, saves per tier). Cache actor thread.
struct actor_counters {
  std::uint64_t requests = 0;  // forecast_requests received
  std::uint64_t windows = 0;   // windows received
  std::uint64_t answered_from_cache = 0;
  std::uint64_t forwarded_windows = 0;  // sent to the inference actor
  std::uint64_t computed_windows = 0;   // of those, answered with a forecast (the model computed them)
  std::uint64_t bypassed_windows = 0;   // forwarded because the cache is off
  std::uint64_t key_errors = 0;         // windows answered with make_key's error
  std::uint64_t inference_errors = 0;   // windows the inference actor answered with an error
  std::uint64_t malformed_answers = 0;  // forecasts refused by core::forecast_problem (rows, NaN)
  std::uint64_t invalid_windows = 0;    // windows refused by core::window_problem, never forwarded
  std::uint64_t stores = 0;             // forecasts handed to put_many
  std::uint64_t stores_skipped_model_changed = 0;
  std::uint64_t store_errors = 0;
  std::uint64_t identity_changes = 0;
};

struct cache_state {
  actor_lookup<forecaster_actor> inference;
  std::shared_ptr<core::snapshot_board> board;
  config_ptr cfg;
  cache::clock_ptr clock;
  cache::cache_config cache_cfg;
  std::unique_ptr<cache::forecast_cache> cache;  // null when cache.enabled = false or invalid
  std::string config_error;                      // validate()'s complaint; the cache is bypassed
  std::optional<core::model_identity> identity;
  bool identity_pending = false;
  std::deque<std::pair<caf::response_promise, forecast_request>> waiting;  // before the identity
  std::map<std::uint64_t, job_ptr> in_flight;                              // at the inference actor
  std::uint64_t next_job = 0;
  std::uint64_t beats = 0;
  actor_counters n;
  core::log_throttle log{std::chrono::seconds(60)};
  static inline const char* name = "cache";
};

// The forecaster interface and the actor's own tick.
using cache_impl = forecaster_actor::extend<caf::reacts_to<tick_atom>>;
using cache_actor = cache_impl::stateful_base<cache_state>;

window_answer failed(errc code, std::string message) {
  window_answer a;
  a.error_code = code;
  a.error = std::move(message);
  return a;
}

forecast_reply all_failed(std::size_t n, errc code, const std::string& message) {
  forecast_reply r;
  r.answers.assign(n, failed(code, message));
  return r;
}

void publish(cache_actor* self) {
  auto& st = self->state;
  const cache::cache_stats stats = st.cache ? st.cache->stats() : cache::cache_stats{};
  nlohmann::json doc = cache::to_json(stats);
  const auto& n = st.n;
  nlohmann::json identity = nullptr;
  if (st.identity)
    identity = {{"checkpoint_hash", st.identity->checkpoint_hash},
                {"dtype", st.identity->dtype},
                {"compile", st.identity->compile}};
  doc["actor"] = {{"requests", n.requests},
                  {"windows", n.windows},
                  {"answered_from_cache", n.answered_from_cache},
                  {"forwarded_windows", n.forwarded_windows},
                  {"computed_windows", n.computed_windows},
                  {"bypassed_windows", n.bypassed_windows},
                  {"key_errors", n.key_errors},
                  {"inference_errors", n.inference_errors},
                  {"malformed_answers", n.malformed_answers},
                  {"invalid_windows", n.invalid_windows},
                  {"stores", n.stores},
                  {"stores_skipped_model_changed", n.stores_skipped_model_changed},
                  {"store_errors", n.store_errors},
                  {"identity_changes", n.identity_changes},
                  {"waiting_requests", st.waiting.size()},
                  {"in_flight_requests", st.in_flight.size()},
                  {"model", identity}};
  doc["ttl_seconds"] = st.cache_cfg.ttl_s;  // the configured policy, also when disabled
  doc["history_ttl_seconds"] = st.cache_cfg.history_ttl_s;
  if (!st.config_error.empty()) doc["config_error"] = st.config_error;
  st.board->publish("cache", std::move(doc));

  core::health_check check;
  if (st.cache) {
    check = cache::health_of(stats);  // the same snapshot as the section
  } else {
    check.detail = {{"enabled", false}};
  }
  if (!st.config_error.empty()) {
    check.status = core::health_status::degraded;
    check.detail["config_error"] = st.config_error;
  }
  st.board->publish_check("cache", std::move(check));
}

void log_throttled(cache_actor* self, const std::string& what) {
  std::uint64_t suppressed = 0;
  if (self->state.log.allow(&suppressed)) spdlog::warn("cache: {}{}", what, core::suppressed_note(suppressed));
}

void handle_request(cache_actor* self, caf::response_promise rp, forecast_request req);

// Takes a newly learned identity; logs a change. Cache actor thread.
void set_identity(cache_actor* self, const core::model_identity& id) {
  auto& st = self->state;
  if (st.identity && core::same_model(*st.identity, id)) return;
  if (st.identity) {
    ++st.n.identity_changes;
    spdlog::info("cache: the model changed ({} -> {}); keys follow the new checkpoint",
                 st.identity->checkpoint_hash.substr(0, 12), id.checkpoint_hash.substr(0, 12));
  }
  st.identity = id;
}

// Asks the inference actor for the model identity; serves the waiting requests once known.
void fetch_identity(cache_actor* self) {
  auto& st = self->state;
  if (st.identity_pending) return;
  auto inf = st.inference ? st.inference() : forecaster_actor();
  auto fail_waiting = [self](const std::string& why) {
    auto& st = self->state;
    log_throttled(self, "cannot learn the model identity (" + why + ")");
    while (!st.waiting.empty()) {
      auto [rp, req] = std::move(st.waiting.front());
      st.waiting.pop_front();
      rp.deliver(
          all_failed(req.windows.size(), errc::unavailable, "cache: the model identity is unknown (" + why + ")"));
    }
  };
  if (!inf) {
    fail_waiting("no inference actor");
    return;
  }
  st.identity_pending = true;
  self->request(inf, identity_timeout, model_identity_atom::value)
      .then(
          [self](core::model_identity& id) {
            auto& st = self->state;
            st.identity_pending = false;
            set_identity(self, id);
            std::deque<std::pair<caf::response_promise, forecast_request>> waiting;
            waiting.swap(st.waiting);
            for (auto& [rp, req] : waiting) handle_request(self, std::move(rp), std::move(req));
          },
          [self, fail_waiting](caf::error& err) {
            self->state.identity_pending = false;
            fail_waiting(self->system().render(err));
          });
}

// Stores the successful forecasts of a job, if the model did not change. Cache actor thread.
void store(cache_actor* self, const job& j) {
  auto& st = self->state;
  std::vector<cache::put_request> puts;
  for (const auto i : j.misses) {
    const auto& a = j.reply.answers[i];
    if (!a.ok || !j.keys[i]) continue;
    cache::put_request p;
    p.key = *j.keys[i];
    p.value = a.forecast;
    // By closure, not by who asked: only a window holding a still-forming bar is live.
    p.kind = j.closed[i] ? cache::window_kind::closed : cache::window_kind::live;
    puts.push_back(std::move(p));
  }
  if (puts.empty()) return;
  const auto count = puts.size();
  auto stored = st.cache->put_many(std::move(puts));
  if (stored) {
    st.n.stores += count;
  } else {
    st.n.store_errors += count;
    log_throttled(self, "put_many failed: " + stored.error().message);
  }
}

// The misses' answers arrived: check the model, store, deliver. Cache actor thread.
void finish(cache_actor* self, std::uint64_t id, forecast_reply inf_reply) {
  auto& st = self->state;
  auto it = st.in_flight.find(id);
  if (it == st.in_flight.end()) return;  // answered at stop already
  auto j = it->second;
  const core::model_identity computed_by = inf_reply.model;
  if (inf_reply.answers.size() != j->misses.size()) {
    inf_reply = all_failed(j->misses.size(), errc::internal,
                           "cache: the inference actor answered " + std::to_string(inf_reply.answers.size()) +
                               " windows for " + std::to_string(j->misses.size()));
  }
  bool computed = false;
  for (std::size_t k = 0; k < j->misses.size(); ++k) {
    // An answer from another process is data off the network: its shape must fit the request.
    if (auto& a = inf_reply.answers[k]; a.ok) {
      if (const auto why = core::forecast_problem(a.forecast, j->miss_params[k]); !why.empty()) {
        ++st.n.malformed_answers;
        log_throttled(self, "a malformed forecast from the inference actor: " + why);
        a = failed(errc::internal, "cache: the inference actor answered a malformed forecast: " + why);
      }
    }
    if (inf_reply.answers[k].ok)
      ++st.n.computed_windows;
    else
      ++st.n.inference_errors;
    computed = computed || inf_reply.answers[k].ok;
    inf_reply.answers[k].cached = false;
    j->reply.answers[j->misses[k]] = std::move(inf_reply.answers[k]);
  }
  // Store only what the model the keys name computed (the reply says which model did; a swap
  // mid-batch stores nothing, and the keys follow the new model at once).
  if (computed && !core::same_model(computed_by, j->identity)) {
    bool hits = false;
    for (const auto& a : j->reply.answers) hits = hits || a.cached;
    j->reply.model = hits ? core::model_identity{} : computed_by;  // two models answered: none named
    if (st.cache) st.n.stores_skipped_model_changed += j->misses.size();
    if (!computed_by.checkpoint_hash.empty()) set_identity(self, computed_by);
  } else if (st.cache) {
    store(self, *j);
  }
  j->rp.deliver(std::move(j->reply));
  st.in_flight.erase(id);
}

void handle_request(cache_actor* self, caf::response_promise rp, forecast_request req) {
  auto& st = self->state;
  const std::size_t n = req.windows.size();
  if (!st.identity) {  // queued until the inference actor says which model it serves
    st.waiting.emplace_back(std::move(rp), std::move(req));
    fetch_identity(self);
    return;
  }
  auto j = std::make_shared<job>();
  j->rp = std::move(rp);
  j->identity = *st.identity;
  j->reply.model = j->identity;  // hits: their keys name it; computed ones: checked in finish()
  j->reply.answers.resize(n);
  j->keys.resize(n);
  j->closed.resize(n);
  const int decimals = st.cache_cfg.decimals;
  std::vector<std::size_t> keyed;
  std::vector<cache::cache_key> lookup;
  for (std::size_t i = 0; i < n; ++i) {
    auto& w = req.windows[i];
    j->closed[i] = w.closed();
    // Checked before it may cross the middleman: CAF 0.17's serializer turns NaN into a number and
    // loops forever on infinity (the inference actor checks again before queuing).
    if (const auto why = core::window_problem(w.window); !why.empty()) {
      ++st.n.invalid_windows;
      j->reply.answers[i] = failed(errc::invalid_argument, "cache: window " + std::to_string(i) + " refused: " + why);
      continue;
    }
    auto k = cache::make_key(w.window, j->identity, decimals);
    if (!k) {
      ++st.n.key_errors;
      j->reply.answers[i] = failed(k.error().code, "cache key: " + k.error().message);
      continue;
    }
    w.window.seed = cache::seed_of(*k);  // always: a hit and a recompute give the same forecast
    j->keys[i] = *k;
    keyed.push_back(i);
    lookup.push_back(std::move(*k));
  }
  std::vector<bool> hit(n, false);
  if (st.cache && !lookup.empty()) {
    auto found = st.cache->get_many(lookup);
    for (std::size_t k = 0; k < keyed.size() && k < found.size(); ++k) {
      if (!found[k]) continue;
      auto& a = j->reply.answers[keyed[k]];
      a.ok = true;
      a.cached = true;
      a.forecast = std::move(found[k]->value);
      hit[keyed[k]] = true;
      ++st.n.answered_from_cache;
    }
  }
  forecast_request forward;
  for (const auto i : keyed) {
    if (hit[i]) continue;
    j->misses.push_back(i);
    j->miss_params.push_back(req.windows[i].window.params);
    forward.windows.push_back(std::move(req.windows[i]));
  }
  if (j->misses.empty()) {
    j->rp.deliver(std::move(j->reply));
    return;
  }
  st.n.forwarded_windows += j->misses.size();
  if (!st.cache) st.n.bypassed_windows += j->misses.size();
  auto inf = st.inference ? st.inference() : forecaster_actor();
  if (!inf) {
    for (const auto i : j->misses) j->reply.answers[i] = failed(errc::unavailable, "cache: no inference actor");
    st.n.inference_errors += j->misses.size();
    j->rp.deliver(std::move(j->reply));
    return;
  }
  const auto id = ++st.next_job;
  st.in_flight.emplace(id, j);
  self->request(inf, inference_timeout, forecast_atom::value, std::move(forward))
      .then([self, id](forecast_reply& r) { finish(self, id, std::move(r)); },
            [self, id](caf::error& err) {
              auto it = self->state.in_flight.find(id);
              if (it == self->state.in_flight.end()) return;
              const auto misses = it->second->misses.size();
              finish(self, id,
                     all_failed(misses, errc::unavailable, "cache: inference actor: " + self->system().render(err)));
            });
}

cache_impl::behavior_type cache_behavior(cache_actor* self, actor_lookup<forecaster_actor> inference,
                                         std::shared_ptr<core::snapshot_board> board, config_ptr cfg,
                                         cache::clock_ptr clock) {
  auto& st = self->state;
  st.inference = std::move(inference);
  st.board = std::move(board);
  st.cfg = std::move(cfg);
  st.clock = std::move(clock);
  st.cache_cfg = st.cfg->cache;
  if (st.cache_cfg.enabled) {
    auto valid = cache::validate(st.cache_cfg);
    if (valid) {
      // Blocking (the disk tier indexes its folder): on this actor's own thread.
      st.cache = std::make_unique<cache::forecast_cache>(*valid, st.clock);
      spdlog::info("cache: memory {}, disk {} ({}), redis {}", st.cache_cfg.memory_enabled ? "on" : "off",
                   st.cache_cfg.disk_enabled ? "on" : "off", st.cache_cfg.dir,
                   st.cache_cfg.redis_enabled ? st.cache_cfg.redis.host + ":" + std::to_string(st.cache_cfg.redis.port)
                                              : std::string("off"));
    } else {
      st.config_error = valid.error().message;
      spdlog::error("cache: bypassed, the cache settings are invalid: {}", st.config_error);
    }
  } else {
    spdlog::info("cache: disabled (cache.enabled = false); forecasts are seeded from their keys and computed");
  }
  fetch_identity(self);
  publish(self);
  self->delayed_send(self, tick_interval, tick_atom::value);
  return {
      [self](forecast_atom, forecast_request& req) -> caf::result<forecast_reply> {
        auto& st = self->state;
        ++st.n.requests;
        st.n.windows += req.windows.size();
        const std::size_t n = req.windows.size();
        auto rp = self->make_response_promise();
        try {
          handle_request(self, rp, std::move(req));
        } catch (const std::exception& e) {  // no exception crosses a handler
          spdlog::error("cache: request failed: {}", e.what());
          if (rp.pending()) rp.deliver(all_failed(n, errc::internal, std::string("cache: ") + e.what()));
        }
        return rp;
      },
      [self](tick_atom) {
        auto& st = self->state;
        if (st.cache) st.cache->maintain();
        fetch_identity(self);  // follows a checkpoint swap within a second
        publish(self);
        self->delayed_send(self, tick_interval, tick_atom::value);
      },
      [self](heartbeat_atom) -> caf::result<heartbeat_atom, std::uint64_t> {
        return {heartbeat_atom::value, ++self->state.beats};
      },
      // The model behind this cache: the inference actor's answer.
      [self](model_identity_atom) -> caf::result<core::model_identity> {
        auto inf = self->state.inference ? self->state.inference() : forecaster_actor();
        if (!inf) return caf::make_error(caf::sec::request_receiver_down, "cache: no inference actor");
        return self->delegate(inf, model_identity_atom::value);
      },
      [self](reload_atom, config_ptr next) {
        // Every cache.* key is read at start only (the daemon warns about changed ones); a reload
        // may swap the checkpoint, so the identity is asked again (and every second after).
        self->state.cfg = std::move(next);
        fetch_identity(self);
      },
      [self](stop_atom) {
        auto& st = self->state;
        for (auto& [rp, req] : st.waiting)
          rp.deliver(all_failed(req.windows.size(), errc::unavailable, "cache: stopped"));
        st.waiting.clear();
        for (auto& [id, j] : st.in_flight) {
          for (const auto i : j->misses) j->reply.answers[i] = failed(errc::unavailable, "cache: stopped");
          j->rp.deliver(std::move(j->reply));
        }
        st.in_flight.clear();
        if (st.cache) {
          // Half the shutdown deadline: the daemon bounds the whole stop by it.
          const auto limit = std::chrono::milliseconds(static_cast<long>(st.cfg->daemon.shutdown_deadline_s * 500));
          if (!st.cache->flush(limit))
            spdlog::warn("cache: {} queued writes not flushed within {} ms", st.cache->stats().write_queue_depth,
                         limit.count());
        }
        publish(self);
        spdlog::info("{}", cache::summary_line(st.cache ? st.cache->stats() : cache::cache_stats{}));
        st.cache.reset();  // joins the write-behind thread (its queue is empty or bounded)
        self->quit();
        return caf::ok_atom::value;
      },
  };
}

}  // namespace

forecaster_actor spawn_cache_actor(caf::local_actor* parent, actor_lookup<forecaster_actor> inference,
                                   std::shared_ptr<core::snapshot_board> board, config_ptr cfg,
                                   cache::clock_ptr clock) {
  return parent->spawn<caf::detached>(cache_behavior, std::move(inference), std::move(board), std::move(cfg),
                                      std::move(clock));
}

}  // namespace tb::actors
