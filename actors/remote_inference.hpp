#pragma once
// Remote inference: a trading daemon with `inference.remote = ["host:port", ...]` loads no model;
// its cache actor sends the misses to this pool actor (put in the daemon's `inference` handle slot in
// place of a local inference actor), which speaks the same protocol and forwards each request to one
// of the published inference hosts (tradebotd with trading.enabled = false, inference.publish =
// true) through CAF's middleman.
//
// Messages (actors/protocol.hpp): untyped, exactly forecaster_actor's (the daemon holds it as one
// through caf::actor_cast): (forecast_atom, forecast_request) -> forecast_reply (passed through
// whole from the host, `model` included), one answer per window, in order, exactly once; (model_identity_atom) ->
// core::model_identity (the pool's identity; waits up to 5 s for a first host, then a CAF error); heartbeat_atom;
// reload_atom (inference.* keys are read at start only); stop_atom (everything pending is answered `unavailable`).
//
// Hosts (one state each: connecting | connected | down | refused):
// - connecting: a helper actor (detached: the connect blocks) calls connect_actor (actors/middleman_transport: plain or
// mutual TLS); on
//   success the host is asked its inference_status and becomes connected or refused; on failure
//   it is down and retried after a backoff (100 ms, doubling up to inference.remote_backoff_max_ms,
//   reset by a successful connect).
// - One model identity: the pool's identity is the first host identity that matches
//   `inference.model_identity` (a checkpoint hash or a prefix of it; "" = any: the first host to
//   answer decides). It never changes while the daemon runs (cache keys name it). A host serving
//   another identity, at connect or after a reload (each host is asked every second; a reply is
//   used only if the model it names is the pool's: where it names none, the host is asked before
//   the reply is used), is `refused`: not used, logged, named in /health.
//   It becomes connected again when it serves the pool's identity again.
// - Balancing: a request goes to the connected host with the fewest rows (windows x samples)
//   queued: what the host last reported (every second) plus what this pool has in flight there.
// - Failover: when a host's connection drops (a down message of its proxy) or a request to it
//   fails, its in-flight requests go to another connected host; with none connected they wait
//   until one connects or until trading.forecast_timeout_s after their arrival, then they are
//   answered `unavailable`. A reply from a host is used only if its request is still current
//   there, so each window is answered once.
// /stats -> inference: {"remote": [per host: address, state, up, model, requests, failures,
// in_flight, in_flight_rows, queued_rows, last_error, rtt_ms {p50, p99}, rtt_seconds (histogram)],
// "model", "waiting"};
// /health check "model": ok while every host is connected; degraded while some host is not (and
// at start until a first host connects); failing while none is connected after one was. Refused
// and down hosts are named in the detail. Event-based: nothing here blocks.
#include <memory>

#include <caf/all.hpp>

#include "actors/protocol.hpp"
#include "core/snapshot_board.hpp"

namespace tb::actors {

// Spawns the pool for cfg->inference.middleman.remote (each entry a valid "host:port": config validation).
caf::actor spawn_remote_inference(caf::local_actor* parent, std::shared_ptr<core::snapshot_board> board,
                                  config_ptr cfg);

}  // namespace tb::actors
