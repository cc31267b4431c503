// The middleman over mutual TLS (actors/middleman_transport): a real inference actor with the tiny
// model published on a loopback port with a certificate; clients in a second actor system (its
// own middleman, as another process would have) connect through connect_actor. With the right
// files a forecast flows and equals the local computation; a plain client, a client whose
// certificate another CA signed, and a client that trusts another CA are all refused.
#define BOOST_TEST_MODULE middleman_transport
#include <boost/test/unit_test.hpp>

#include <caf/all.hpp>

#include "actors/middleman_transport.hpp"
#include "inference/model_service.hpp"
#include "tests/support/inference_fixture.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_pki.hpp"
#include "tests/support/tiny_model.hpp"

using namespace tb;
using namespace std::chrono_literals;

namespace {

struct pkis {
  test::temp_dir dir;
  test::pki_files trusted = test::make_pki(dir.path.string(), "a_", "tradebot inference CA");
  test::pki_files other = test::make_pki(dir.path.string(), "b_", "unrelated CA");
};

const pkis& pki() {
  static pkis p;
  return p;
}

actors::tls_options host_tls() { return {pki().trusted.server_cert, pki().trusted.server_key, pki().trusted.ca_cert}; }

// An inference host: the tiny model's inference actor published on 127.0.0.1, port `at` (0: a free
// one), with `tls`.
struct host {
  test::inference_fixture fx;
  std::uint16_t port = 0;

  explicit host(const actors::tls_options& tls, std::uint16_t at = 0)
      : fx(test::tiny_model_config([&](actors::config& c) {
          c.inference.middleman.publish = true;
          c.inference.middleman.publish_address = "127.0.0.1";
          c.inference.middleman.publish_port = at;
          c.inference.middleman.tls_certificate = tls.certificate;
          c.inference.middleman.tls_key = tls.key;
          c.inference.middleman.tls_ca = tls.ca;
        })) {
    // The actor publishes in its constructor; the section holds the port from its first publish.
    for (int i = 0; i < 500 && port == 0; ++i) {
      if (auto s = fx.board->section("inference")) port = s->value("published_port", std::uint16_t{0});
      if (port == 0) std::this_thread::sleep_for(10ms);  // polling a condition, bounded
    }
    BOOST_REQUIRE_MESSAGE(port != 0, "the inference actor did not publish");
  }
};

// A second actor system, as another process has it: its own middleman with `tls`.
struct client {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  actors::tls_options tls;
  explicit client(actors::tls_options t) : tls(std::move(t)) {
    actors::register_types(cfg);
    actors::configure_transport(cfg, tls);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
  caf::expected<caf::actor> connect(std::uint16_t port) {
    return actors::connect_actor(*sys, "127.0.0.1", port, tls, 5s);
  }
};

core::forecast_window window_at(std::size_t end, std::uint64_t seed, const actors::config& c) {
  core::forecast_window w;
  w.symbol = "JD";
  const auto& bars = test::daily_bars("JD");
  w.bars.assign(bars.begin() + static_cast<long>(end - static_cast<std::size_t>(c.inference.lookback)),
                bars.begin() + static_cast<long>(end));
  w.params = c.inference.sampling;
  w.seed = seed;
  return w;
}

}  // namespace

BOOST_AUTO_TEST_CASE(check_tls_files_names_a_bad_file_and_a_key_of_another_certificate) {
  BOOST_TEST(!actors::check_tls_files(host_tls()));
  BOOST_TEST(!actors::check_tls_files({}));  // plain
  auto swapped = host_tls();
  swapped.key = pki().other.server_key;
  auto err = actors::check_tls_files(swapped);
  BOOST_REQUIRE(err);
  BOOST_TEST(err->message.find("inference.tls_key " + swapped.key + ": does not match") != std::string::npos,
             err->message);
  auto not_pem = host_tls();
  not_pem.ca = pki().trusted.server_key;
  err = actors::check_tls_files(not_pem);
  BOOST_REQUIRE(err);
  BOOST_TEST(err->message.find("inference.tls_ca") != std::string::npos, err->message);
}

BOOST_AUTO_TEST_CASE(with_the_right_files_forecasts_flow_over_mutual_tls) {
  host h(host_tls());
  BOOST_TEST(h.fx.board->section("inference")->value("published_tls", false));
  client c({pki().trusted.client_cert, pki().trusted.client_key, pki().trusted.ca_cert});
  auto remote = c.connect(h.port);
  BOOST_REQUIRE_MESSAGE(remote, (remote ? std::string() : c.sys->render(remote.error())));

  const auto cfg = test::tiny_model_config();
  // A malformed window off the network fails alone; its neighbour is computed. (Not a NaN: CAF
  // 0.17's serializer cannot carry one, so the sender's cache actor refuses those before sending.)
  auto no_samples = window_at(801, 43, *cfg);
  no_samples.params.sample_count = 0;
  actors::forecast_request req;
  req.windows.push_back({no_samples, inference::priority::live, 0});
  req.windows.push_back({window_at(800, 42, *cfg), inference::priority::live, 0});
  caf::scoped_actor self{*c.sys};
  core::forecast got;
  self->request(*remote, 60s, actors::forecast_atom::value, req)
      .receive(
          [&](actors::forecast_reply& reply) {
            BOOST_REQUIRE(reply.answers.size() == 2u);
            BOOST_TEST((reply.answers[0].error_code == tb::errc::invalid_argument));
            BOOST_TEST(reply.answers[0].error.find("sample_count 0") != std::string::npos, reply.answers[0].error);
            BOOST_REQUIRE_MESSAGE(reply.answers[1].ok, reply.answers[1].error);
            got = reply.answers[1].forecast;
          },
          [&](caf::error& e) { BOOST_FAIL(c.sys->render(e)); });
  auto model = inference::load_checkpoint(cfg->inference.model_dir, {});
  BOOST_REQUIRE(model);
  auto local = model->generate({window_at(800, 42, *cfg)});
  BOOST_REQUIRE(local);
  BOOST_TEST(tb::core::relative_difference(got, local->at(0)) < 1e-5);
}

BOOST_AUTO_TEST_CASE(a_stopped_host_frees_its_port_for_its_successor) {
  host first(host_tls());
  first.fx.stop(first.fx.inference);
  // A restarted inference actor publishes on the same port (its config's); the first one's
  // middleman is still up, so only the stopped actor's unpublish lets the port go.
  host second(host_tls(), first.port);
  BOOST_TEST(second.port == first.port);
  client c({pki().trusted.client_cert, pki().trusted.client_key, pki().trusted.ca_cert});
  BOOST_TEST(static_cast<bool>(c.connect(second.port)));
}

BOOST_AUTO_TEST_CASE(a_plain_client_cannot_talk_to_a_tls_host) {
  host h(host_tls());
  client plain({});
  auto remote = plain.connect(h.port);
  BOOST_TEST(!remote, "a plain middleman connected to a TLS host");
  // The host keeps serving a client with the right files.
  client good({pki().trusted.client_cert, pki().trusted.client_key, pki().trusted.ca_cert});
  BOOST_TEST(static_cast<bool>(good.connect(h.port)));
}

BOOST_AUTO_TEST_CASE(a_client_whose_certificate_another_ca_signed_is_refused_by_the_host) {
  host h(host_tls());
  // It trusts the host's CA, so only the host's check of the client's certificate can refuse it.
  client stranger({pki().other.client_cert, pki().other.client_key, pki().trusted.ca_cert});
  auto remote = stranger.connect(h.port);
  BOOST_TEST(!remote, "the host accepted a client certificate of another CA");
}

BOOST_AUTO_TEST_CASE(a_client_that_trusts_another_ca_refuses_the_host) {
  host h(host_tls());
  // Its own certificate is good for the host; it is the client that refuses the host's.
  client wary({pki().trusted.client_cert, pki().trusted.client_key, pki().other.ca_cert});
  auto remote = wary.connect(h.port);
  BOOST_TEST(!remote, "the client accepted a host certificate of another CA");
}

BOOST_AUTO_TEST_CASE(a_tls_client_cannot_talk_to_a_plain_host) {
  host h(actors::tls_options{});
  BOOST_TEST(!h.fx.board->section("inference")->value("published_tls", true));
  client c({pki().trusted.client_cert, pki().trusted.client_key, pki().trusted.ca_cert});
  BOOST_TEST(!c.connect(h.port));
}
