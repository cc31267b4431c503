#pragma once
// THE protocol of tradebotd's actors: every atom and message type, in one place.
//
// Message types are plain structs with `inspect` overloads so the same actors can talk across
// processes through CAF's middleman. Types that stay inside one process (config snapshots,
// board pointers) are noted as such.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "core/config.hpp"
#include "core/forecast.hpp"

// --- inspect overloads of the core types that cross the middleman ----------------------------
namespace tb::core {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bar& x) {
  return f(caf::meta::type_name("bar"), x.time_s, x.utc_offset_s, x.open, x.high, x.low, x.close, x.volume,
           x.amount);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sampling_params& x) {
  return f(caf::meta::type_name("sampling_params"), x.pred_len, x.max_context, x.temperature, x.top_k, x.top_p,
           x.sample_count, x.clip);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, forecast_window& x) {
  return f(caf::meta::type_name("forecast_window"), x.symbol, x.bars, x.params, x.seed);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, forecast& x) {
  return f(caf::meta::type_name("forecast"), x.rows);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, model_identity& x) {
  return f(caf::meta::type_name("model_identity"), x.checkpoint_hash, x.dtype, x.compile);
}

}  // namespace tb::core

namespace tb::actors {

// --- lifecycle (daemon <-> supervisor <-> every child) ---------------------------------------
// (heartbeat_atom) -> (heartbeat_atom, std::uint64_t beats): proves the actor is scheduled.
using heartbeat_atom = caf::atom_constant<caf::atom("heartbeat")>;
// (reload_atom, core::config_ptr): a new frozen config snapshot. In-process only.
using reload_atom = caf::atom_constant<caf::atom("reload")>;
// (stop_atom) -> (caf::ok_atom): stop taking work, finish or persist in-flight work, then quit.
using stop_atom = caf::atom_constant<caf::atom("stop")>;


// --- inference (symbol actors, other processes -> inference actor) ----------------------------
enum class window_priority : std::uint8_t { live = 0, backfill = 1 };

struct window_request {
  core::forecast_window window;
  std::uint8_t priority = 0;          // window_priority
  std::int64_t deadline_unix_ns = 0;  // wall clock; 0 = none
};

// (forecast_atom, forecast_request) -> (forecast_reply): one answer per window, in order.
struct forecast_request {
  std::vector<window_request> windows;
};

struct window_answer {
  bool ok = false;
  core::forecast forecast;     // when ok
  std::string error_code;      // when not ok: tb::to_string(errc), e.g. "overloaded", "timeout"
  std::string error;           // when not ok: what happened, for a person
};

struct forecast_reply {
  std::vector<window_answer> answers;
};

using forecast_atom = caf::atom_constant<caf::atom("forecast")>;

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, window_request& x) {
  return f(caf::meta::type_name("window_request"), x.window, x.priority, x.deadline_unix_ns);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, forecast_request& x) {
  return f(caf::meta::type_name("forecast_request"), x.windows);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, window_answer& x) {
  return f(caf::meta::type_name("window_answer"), x.ok, x.forecast, x.error_code, x.error);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, forecast_reply& x) {
  return f(caf::meta::type_name("forecast_reply"), x.answers);
}

// --- forecast cache (symbol actors -> cache actor -> inference actor) -------------------------
// The cache actor speaks the inference protocol above: (forecast_atom, forecast_request) ->
// forecast_reply, one answer per window, in order. It sets every window's seed from its cache key
// (cache::seed_of), answers hits itself and forwards the misses to the inference actor in one
// request. A window whose priority is `live` is cached as a live window (ttl), a `backfill`
// window as closed history (history_ttl). See actors/README.md.
//
// (model_identity_atom) -> (core::model_identity): the model the inference actor serves now
// (checkpoint content hash, dtype, compile flag): part of every cache key.
using model_identity_atom = caf::atom_constant<caf::atom("model_id")>;

// Registry names (caf::actor_system::registry()): the daemon puts the CURRENT handle of each
// actor under its name and puts it again after a supervisor restart. Symbol actors look up
// `forecaster_name` (the cache actor) to ask for forecasts; the cache actor looks up
// `inference_name` for each batch of misses, so both follow restarts.
constexpr caf::atom_value forecaster_name = caf::atom("forecaster");
constexpr caf::atom_value inference_name = caf::atom("inference");

// The actor registered under `name`, or an invalid handle when none is.
inline caf::actor lookup_actor(caf::actor_system& sys, caf::atom_value name) {
  return caf::actor_cast<caf::actor>(sys.registry().get(name));
}

// Registers every message type that may cross the middleman. Call on each actor_system_config.
void register_types(caf::actor_system_config& cfg);

}  // namespace tb::actors

// Config snapshots are shared in-process only; they never cross the middleman.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tb::core::config_ptr)
