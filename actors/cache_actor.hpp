#pragma once
// The cache actor: the one owner of cache::forecast_cache, a read-through cache in front of the
// inference actor that speaks the same protocol (actors/protocol.hpp, "forecast cache").
//
// (forecast_atom, forecast_request) -> forecast_reply, one answer per window, in order:
//   1. each window's key = cache::make_key(window, model identity, cache.decimals), and
//      window.seed = cache::seed_of(key) ALWAYS (also with the cache disabled), so a forecast is
//      the same whether it was computed now, earlier, or by another process sharing Redis;
//   2. hits come from forecast_cache::get_many (memory -> disk -> Redis);
//   3. the misses go to the inference actor in ONE forecast_request (priorities and deadlines
//      kept); its per-window errors pass through unchanged;
//   4. successful forecasts are stored with put_many (by closure, whatever the priority: a window
//      whose newest bar has closed, window_request::closed(), -> window_kind::closed, history_ttl;
//      one holding a still-forming bar -> window_kind::live, ttl), but only if the inference actor still
//      serves the model the keys were made with (asked right after the answers arrive: a reload
//      that swapped the checkpoint mid-batch stores nothing); then the reply is delivered, so a
//      repeated request after the reply is a hit. Answers from the cache say so
//      (window_answer::cached); the computed ones count in /stats -> cache.actor.computed_windows.
// A window whose key cannot be made (no bars, a NaN value, an empty symbol) is answered with that
// error (bad_data / invalid_argument) and not forwarded.
// cache.enabled = false: no lookups, no stores; keys and seeds are still computed, every window is
// forwarded (bypassed).
//
// Model identity: asked from the inference actor (model_identity_atom) at start, every second and
// after each reload_atom; a change is logged and keys follow it. Requests that arrive before the
// first identity is known WAIT in a queue (they cannot be keyed or seeded yet); if asking fails,
// the waiting requests are answered `unavailable` per window and the next tick asks again.
//
// Threads: detached (its own thread): get_many blocks up to the Redis command timeout and never
// holds a scheduler worker. The facade's write-behind thread does the disk and Redis writes.
// Every second: forecast_cache::maintain(), /stats -> cache (cache::to_json plus an "actor"
// object) and the /health check "cache" (ok | degraded). heartbeat_atom as every child.
// (reload_atom, config_ptr): every cache.* key is read at start only (restart_only in the
// schema); a reload re-asks the model identity. stop_atom: answers queued and in-flight requests
// `unavailable`, flushes the write-behind queue within the shutdown deadline, logs
// cache::summary_line ("Kronos Prediction Cache Stats: hits=X misses=Y hit_rate=Z%"), quits.
#include <functional>
#include <memory>

#include <caf/all.hpp>

#include "actors/protocol.hpp"
#include "cache/forecast_cache.hpp"
#include "core/snapshot_board.hpp"

namespace tb::actors {

// Spawns the cache actor (detached) under `parent`. cfg's [cache] keys configure the facade
// (its [cache] section, config::cache); clock stamps entry creation and expiry.
// `inference`: where the cache actor finds the inference actor, called for each batch of misses
// and each identity request, so it follows restarts (the daemon's handle slot; tests return a
// fixed handle). A null handle answers the misses `unavailable`.
forecaster_actor spawn_cache_actor(caf::local_actor* parent, actor_lookup<forecaster_actor> inference,
                                   std::shared_ptr<core::snapshot_board> board, config_ptr cfg, cache::clock_ptr clock);

}  // namespace tb::actors
