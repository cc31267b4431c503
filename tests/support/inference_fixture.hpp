#pragma once
// Test support: an actor system (with the middleman, over TLS when the config names inference.tls_*
// files) holding a model service on a config and its inference actor, stopped on destruction.
// Tests that include this link tb_actors.
#include <chrono>
#include <memory>

#include <boost/test/unit_test.hpp>
#include <caf/all.hpp>

#include "actors/inference_actor.hpp"
#include "actors/middleman_transport.hpp"

namespace tb::test {

struct inference_fixture {
  caf::actor_system_config sys_cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<core::snapshot_board> board = std::make_shared<core::snapshot_board>();
  std::shared_ptr<inference::model_service> service;
  actors::forecaster_actor inference;

  explicit inference_fixture(const actors::config_ptr& c) {
    actors::register_types(sys_cfg);
    actors::configure_transport(sys_cfg, actors::tls_options_of(*c));
    sys = std::make_unique<caf::actor_system>(sys_cfg);
    auto svc = inference::model_service::start(c->inference);
    BOOST_REQUIRE_MESSAGE(svc, (svc ? "" : svc.error().message));
    service = *svc;
    caf::scoped_actor self{*sys};
    inference = actors::spawn_inference_actor(self.ptr(), service, board, c);
  }
  ~inference_fixture() { stop(inference); }

  // Asks `h` to stop and waits for its answer (bounded).
  void stop(const actors::forecaster_actor& h) {
    caf::scoped_actor self{*sys};
    self->request(h, std::chrono::seconds(10), actors::stop_atom::value)
        .receive([](caf::ok_atom) {}, [](caf::error&) {});
  }
};

}  // namespace tb::test
