#pragma once
// The inference actor: the one owner of the model and the device. A thin actor around
// inference::model_service (checkpoint + dynamic batcher): requests from every symbol actor (and
// from other processes through the middleman) go into the batcher; answers come back when
// their batch is done. Detached: it has its own thread, so the few calls that block (stopping
// the batcher, publishing on a port) never hold a scheduler worker; compute runs on the
// batcher's executors; a checkpoint reload loads on a helper thread while the old model serves.
//
// Interface: forecaster_actor (actors/protocol.hpp): (forecast_atom, forecast_request) ->
// forecast_reply; (model_identity_atom) -> core::model_identity; heartbeat_atom; (reload_atom,
// config_ptr); stop_atom. Also, outside that interface (remote pools ask it through an untyped
// handle): (inference_status_atom) -> inference_status (identity and queued rows).
// Publishes /stats → inference every second and the /health check "model".
#include <memory>

#include <caf/all.hpp>

#include "actors/protocol.hpp"
#include "core/snapshot_board.hpp"
#include "inference/model_service.hpp"

namespace tb::actors {

forecaster_actor spawn_inference_actor(caf::local_actor* parent, std::shared_ptr<inference::model_service> service,
                                       std::shared_ptr<core::snapshot_board> board, config_ptr cfg);

}  // namespace tb::actors
