// The inference actor with the real (tiny) model: many requesters at once, each answer equal to
// its window computed alone; overload and timeout answers; a reload that fails keeps serving;
// one forecast across two processes through CAF's middleman.
#define BOOST_TEST_MODULE inference_actor
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <fstream>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <nlohmann/json.hpp>

#include "actors/inference_actor.hpp"
#include "core/bar_csv.hpp"
#include "inference/kronos_init.hpp"
#include "inference/safetensors.hpp"
#include "tests/support/inference_fixture.hpp"
#include "tests/support/process.hpp"
#include "tests/support/tiny_model.hpp"

using namespace tb;
using namespace std::chrono_literals;

namespace {

actors::config_ptr test_config(const std::function<void(actors::config&)>& edit = {}) {
  return test::tiny_model_config([&](actors::config& c) {
    c.inference.batching.max_queue_delay = std::chrono::microseconds(5000);
    if (edit) edit(c);
  });
}

const std::vector<core::bar>& jd_bars() { return test::daily_bars("JD"); }

core::forecast_window window_at(std::size_t end, std::uint64_t seed, const actors::config& c) {
  core::forecast_window w;
  w.symbol = "JD";
  const auto& bars = jd_bars();
  w.bars.assign(bars.begin() + static_cast<long>(end - static_cast<std::size_t>(c.inference.lookback)),
                bars.begin() + static_cast<long>(end));
  w.params = c.inference.sampling;
  w.seed = seed;
  return w;
}

using fixture = test::inference_fixture;

}  // namespace

BOOST_AUTO_TEST_CASE(many_requesters_at_once_each_get_their_own_window_as_if_alone) {
  auto c = test_config();
  fixture fx(c);
  constexpr int requesters = 64, per_request = 10;
  const std::size_t first_end = jd_bars().size() - 700;

  caf::scoped_actor self{*fx.sys};
  auto collector = caf::actor(self);
  for (int r = 0; r < requesters; ++r) {
    actors::forecast_request req;
    for (int i = 0; i < per_request; ++i) {
      actors::window_request w;
      w.window = window_at(first_end + static_cast<std::size_t>(r * per_request + i),
                           static_cast<std::uint64_t>(1000 + r * per_request + i), *c);
      w.priority = i == 0 ? inference::priority::live : inference::priority::backfill;
      req.windows.push_back(std::move(w));
    }
    fx.sys->spawn([req, r, collector, inf = fx.inference](caf::event_based_actor* a) {
      a->request(inf, 120s, actors::forecast_atom::value, req).then([=](actors::forecast_reply& reply) {
        a->send(collector, r, reply);
      });
    });
  }
  std::vector<actors::forecast_reply> replies(requesters);
  int received = 0;
  self->receive_for(received, requesters)(
      [&](int r, actors::forecast_reply& reply) { replies[static_cast<std::size_t>(r)] = reply; });

  auto model = inference::load_checkpoint(c->inference.model_dir, {});
  BOOST_REQUIRE(model);
  for (int r = 0; r < requesters; ++r) {
    BOOST_REQUIRE(replies[static_cast<std::size_t>(r)].answers.size() == static_cast<std::size_t>(per_request));
    // The reply names the model that computed it.
    BOOST_TEST(replies[static_cast<std::size_t>(r)].model.checkpoint_hash == fx.service->identity().checkpoint_hash);
    for (int i = 0; i < per_request; ++i) {
      const auto& a = replies[static_cast<std::size_t>(r)].answers[static_cast<std::size_t>(i)];
      BOOST_REQUIRE_MESSAGE(a.ok, a.error);
      // Spot-check one window in five against the same window computed alone.
      if ((r * per_request + i) % 5) continue;
      auto alone = model->generate({window_at(first_end + static_cast<std::size_t>(r * per_request + i),
                                              static_cast<std::uint64_t>(1000 + r * per_request + i), *c)});
      BOOST_REQUIRE(alone);
      BOOST_TEST(tb::core::relative_difference(a.forecast, alone->at(0)) < 1e-5);
    }
  }
  auto stats = fx.service->stats();
  BOOST_TEST(stats["inference_count"] == requesters * per_request);
  BOOST_TEST(stats["request_success"] == requesters);
  BOOST_TEST(stats["avg_batch_windows"].get<double>() > 1.0, stats.dump());
  BOOST_TEST(stats["exec_count"].get<int>() < requesters * per_request);
}

BOOST_AUTO_TEST_CASE(overload_and_timeout_are_answered_per_window) {
  auto c = test_config([](actors::config& c) {
    c.inference.batching.max_queue_rows = 4;  // two windows of two samples
    c.inference.batching.max_queue_delay = std::chrono::microseconds(0);
  });
  fixture fx(c);
  caf::scoped_actor self{*fx.sys};
  actors::forecast_request big;
  for (int i = 0; i < 3; ++i)
    big.windows.push_back({window_at(500 + static_cast<std::size_t>(i), 1, *c), inference::priority::live, 0});
  self->request(fx.inference, 30s, actors::forecast_atom::value, big)
      .receive(
          [&](actors::forecast_reply& reply) {
            BOOST_REQUIRE(reply.answers.size() == 3u);
            for (const auto& a : reply.answers) {
              BOOST_TEST(!a.ok);
              BOOST_TEST((a.error_code == tb::errc::overloaded));
            }
          },
          [&](caf::error& e) { BOOST_FAIL(fx.sys->render(e)); });

  actors::forecast_request late;
  late.windows.push_back({window_at(500, 1, *c), inference::priority::live, 1});  // a deadline long past
  self->request(fx.inference, 30s, actors::forecast_atom::value, late)
      .receive(
          [&](actors::forecast_reply& reply) {
            BOOST_REQUIRE(reply.answers.size() == 1u);
            BOOST_TEST(!reply.answers[0].ok);
            BOOST_TEST((reply.answers[0].error_code == tb::errc::timeout));
          },
          [&](caf::error& e) { BOOST_FAIL(fx.sys->render(e)); });
  auto stats = fx.service->stats();
  BOOST_TEST(stats["overloaded"] == 1);
  BOOST_TEST(stats["timeouts"] == 1);
}

BOOST_AUTO_TEST_CASE(a_stop_under_heavy_inference_cancels_the_queued_work_within_its_deadline) {
  // Far more work queued than the stop's deadline (daemon.shutdown_deadline_s = 10) could finish:
  // the stop answers the queued windows `unavailable` and the batch in flight stops before its
  // next series, so it returns in well under the deadline.
  auto c = test_config([](actors::config& c) {
    c.inference.sampling.sample_count = 32;
    c.inference.batching.max_batch_rows = 32 * 20;
  });
  fixture fx(c);
  caf::scoped_actor self{*fx.sys};
  actors::forecast_request req;
  constexpr int windows = 3000;
  for (int i = 0; i < windows; ++i)
    req.windows.push_back({window_at(500 + static_cast<std::size_t>(i % 400), static_cast<std::uint64_t>(i), *c),
                           inference::priority::live, 0});
  auto collector = caf::actor(self);
  fx.sys->spawn([req, collector, inf = fx.inference](caf::event_based_actor* a) {
    a->request(inf, 300s, actors::forecast_atom::value, req).then([=](actors::forecast_reply& reply) {
      a->send(collector, reply);
    });
  });
  const auto busy_until = std::chrono::steady_clock::now() + 30s;
  while (fx.service->stats()["inference_count"].get<int>() == 0 && std::chrono::steady_clock::now() < busy_until)
    std::this_thread::sleep_for(10ms);  // polling a condition, bounded: the first batch is done
  BOOST_REQUIRE(fx.service->stats()["inference_count"].get<int>() > 0);
  const auto t0 = std::chrono::steady_clock::now();
  fx.stop(fx.inference);
  const double stop_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  BOOST_TEST_MESSAGE("stop took " << stop_s << " s");
  BOOST_TEST(stop_s < 3.0);
  self->receive(
      [&](actors::forecast_reply& reply) {
        BOOST_REQUIRE(reply.answers.size() == static_cast<std::size_t>(windows));
        std::size_t ok = 0, cancelled = 0;
        for (const auto& a : reply.answers) {
          if (a.ok)
            ++ok;
          else if (a.error_code == tb::errc::unavailable)
            ++cancelled;
        }
        BOOST_TEST(ok + cancelled == static_cast<std::size_t>(windows));
        BOOST_TEST(cancelled > static_cast<std::size_t>(windows / 2), "ok " << ok << ", cancelled " << cancelled);
      },
      caf::after(std::chrono::seconds(10)) >> [] { BOOST_FAIL("no answer to the cancelled request"); });
}

// Reloads the inference actor onto `model_dir`, which must be refused: the failed load shows in
// the model check (waited for, bounded) with every one of `words`, and the old model still serves.
void expect_reload_refused(const std::string& model_dir, const std::vector<std::string>& words) {
  auto c = test_config();
  fixture fx(c);
  auto next = std::make_shared<actors::config>(*c);
  next->inference.model_dir = model_dir;
  caf::anon_send(fx.inference, actors::reload_atom::value, actors::config_ptr(next));
  const auto end = std::chrono::steady_clock::now() + 30s;
  nlohmann::json health;
  while (std::chrono::steady_clock::now() < end) {
    health = fx.service->health();
    if (health.contains("last_reload_error")) break;
    std::this_thread::sleep_for(10ms);  // polling a condition, bounded
  }
  BOOST_REQUIRE_MESSAGE(health.contains("last_reload_error"), health.dump());
  for (const auto& w : words)
    BOOST_TEST(health["last_reload_error"].get<std::string>().find(w) != std::string::npos, health.dump());
  BOOST_TEST(health["dir"] == c->inference.model_dir);
  caf::scoped_actor self{*fx.sys};
  actors::forecast_request req;
  req.windows.push_back({window_at(600, 3, *c), inference::priority::live, 0});
  self->request(fx.inference, 30s, actors::forecast_atom::value, req)
      .receive([&](actors::forecast_reply& reply) { BOOST_TEST(reply.answers.at(0).ok); },
               [&](caf::error& e) { BOOST_FAIL(fx.sys->render(e)); });
}

BOOST_AUTO_TEST_CASE(a_reload_to_a_broken_checkpoint_keeps_the_old_one_serving) {
  test::temp_dir broken;
  std::filesystem::create_directories(broken.path / "tokenizer");
  std::filesystem::create_directories(broken.path / "model");
  expect_reload_refused(broken.path.string(), {broken.path.string()});
}

BOOST_AUTO_TEST_CASE(a_reload_to_a_checkpoint_of_nan_weights_keeps_the_old_one_serving) {
  // A copy of the tiny checkpoint with one NaN weight in the predictor: it parses, has every
  // tensor at its shape, and must still be refused.
  test::temp_dir nan_ckpt;
  std::filesystem::copy(test::tiny_checkpoint().path, nan_ckpt.path, std::filesystem::copy_options::recursive);
  const auto file = nan_ckpt.path / "model" / "model.safetensors";
  auto st = inference::safetensors_file::open(file.string());
  BOOST_REQUIRE_MESSAGE(st, (st ? "" : st.error().message));
  const auto& t = st->tensors().at("norm.weight");
  const auto at =
      static_cast<std::streamoff>(st->data() - st->bytes().data()) + static_cast<std::streamoff>(t.offset) + 4;
  const float nan = std::nanf("");
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(at);
  f.write(reinterpret_cast<const char*>(&nan), sizeof nan);
  f.close();
  BOOST_REQUIRE(f);
  expect_reload_refused(nan_ckpt.path.string(), {file.string(), "'norm.weight'", "non-finite"});
}

BOOST_AUTO_TEST_CASE(one_forecast_across_two_processes) {
  // Process 1: tradebotd publishing its inference actor on a free port.
  test::temp_dir dir;
  const auto cfg_path = dir.write(
      "tradebotd.toml", "[http]\nport = 0\n[model]\ndir = \"" + test::tiny_checkpoint().path.string() +
                            "\"\n[forecast]\npred_len = 2\nlookback = 32\nmax_context = 32\nsample_count = 2\n"
                            "top_k = 0\ntop_p = 0.9\ntemperature = 1.0\n"
                            "[inference]\nmax_batch_rows = 16\npublish = true\npublish_port = 0\n");
  test::notify_socket notify(dir.path / "notify.sock");
  test::child_process daemon({std::string(TRADEBOT_BIN_DIR) + "/tradebotd", "--config", cfg_path.string()},
                             {{"NOTIFY_SOCKET", notify.path()}}, dir.path / "out.log");
  auto ready = notify.wait_for("READY=1", 60s);
  BOOST_REQUIRE_MESSAGE(ready, daemon.output());
  const auto http_port = static_cast<std::uint16_t>(std::stoi(ready->substr(ready->rfind(':') + 1)));
  int middleman_port = 0;
  for (int i = 0; i < 200 && middleman_port == 0; ++i) {  // the actor publishes right after start
    auto stats = nlohmann::json::parse(test::http_get(http_port, "/stats").body);
    middleman_port = stats["inference"].value("published_port", 0);
    if (!middleman_port) std::this_thread::sleep_for(10ms);  // polling a condition, bounded
  }
  BOOST_REQUIRE(middleman_port > 0);

  // Process 2 (this one): a remote actor handle, one forecast, equal to the local computation.
  caf::actor_system_config cfg;
  actors::register_types(cfg);
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  auto remote = sys.middleman().remote_actor("127.0.0.1", static_cast<std::uint16_t>(middleman_port));
  BOOST_REQUIRE_MESSAGE(remote, (remote ? std::string() : sys.render(remote.error())));
  auto c = test_config();
  actors::forecast_request req;
  req.windows.push_back({window_at(800, 42, *c), inference::priority::live, 0});
  caf::scoped_actor self{sys};
  core::forecast remote_forecast;
  self->request(*remote, 60s, actors::forecast_atom::value, req)
      .receive(
          [&](actors::forecast_reply& reply) {
            BOOST_REQUIRE(reply.answers.size() == 1u);
            BOOST_REQUIRE_MESSAGE(reply.answers[0].ok, reply.answers[0].error);
            remote_forecast = reply.answers[0].forecast;
          },
          [&](caf::error& e) { BOOST_FAIL(sys.render(e)); });
  auto model = inference::load_checkpoint(c->inference.model_dir, {});
  BOOST_REQUIRE(model);
  auto local = model->generate({window_at(800, 42, *c)});
  BOOST_REQUIRE(local);
  BOOST_REQUIRE(remote_forecast.rows.size() == 2u);
  BOOST_TEST(tb::core::relative_difference(remote_forecast, local->at(0)) < 1e-5);
  daemon.signal(SIGTERM);
  BOOST_TEST(daemon.wait(30s) == 0);
}

BOOST_AUTO_TEST_CASE(an_oversized_a_nan_and_a_zero_sample_window_each_fail_alone_and_the_actor_keeps_serving) {
  auto c = test_config();
  fixture fx(c);
  caf::scoped_actor self{*fx.sys};
  auto oversized = window_at(600, 1, *c);
  const auto last = oversized.bars.back();
  oversized.bars.resize(core::window_limits::max_bars + 1, last);
  auto nan = window_at(601, 2, *c);
  nan.bars[3].high = std::nan("");
  auto no_samples = window_at(602, 3, *c);
  no_samples.params.sample_count = 0;
  const std::pair<core::forecast_window, const char*> bad[] = {{oversized, "100001 bars (at most 100000)"},
                                                               {nan, "bar 3 holds NaN or infinity"},
                                                               {no_samples, "sample_count 0"}};
  // Each alone, then all of them among good windows: the bad ones fail, the good ones are computed.
  for (const auto& [w, words] : bad) {
    actors::forecast_request req;
    req.windows.push_back({w, inference::priority::live, 0});
    self->request(fx.inference, 30s, actors::forecast_atom::value, req)
        .receive(
            [&, words = words](actors::forecast_reply& reply) {
              BOOST_REQUIRE(reply.answers.size() == 1u);
              BOOST_TEST(!reply.answers[0].ok);
              BOOST_TEST((reply.answers[0].error_code == tb::errc::invalid_argument));
              BOOST_TEST(reply.answers[0].error.find(words) != std::string::npos, reply.answers[0].error);
            },
            [&](caf::error& e) { BOOST_FAIL(fx.sys->render(e)); });
  }
  actors::forecast_request mixed;
  mixed.windows.push_back({window_at(700, 4, *c), inference::priority::live, 0});
  for (const auto& b : bad) mixed.windows.push_back({b.first, inference::priority::live, 0});
  mixed.windows.push_back({window_at(701, 5, *c), inference::priority::live, 0});
  self->request(fx.inference, 60s, actors::forecast_atom::value, mixed)
      .receive(
          [&](actors::forecast_reply& reply) {
            BOOST_REQUIRE(reply.answers.size() == 5u);
            BOOST_TEST(reply.answers[0].ok, reply.answers[0].error);
            for (std::size_t i = 1; i <= 3; ++i)
              BOOST_TEST((reply.answers[i].error_code == tb::errc::invalid_argument));
            BOOST_TEST(reply.answers[4].ok, reply.answers[4].error);
            BOOST_TEST(reply.answers[4].forecast.rows.size() ==
                       static_cast<std::size_t>(c->inference.sampling.pred_len));
          },
          [&](caf::error& e) { BOOST_FAIL(fx.sys->render(e)); });
  // Counted in /stats → inference (published every second; the count is the actor's own).
  nlohmann::json stats;
  for (int i = 0; i < 300; ++i) {
    stats = *fx.board->section("inference");
    if (stats.value("invalid_windows", 0) == 6) break;
    std::this_thread::sleep_for(10ms);  // polling a condition, bounded
  }
  BOOST_TEST(stats.value("invalid_windows", 0) == 6, stats.dump());
  BOOST_TEST(fx.service->stats()["inference_count"] == 2);  // only the good windows reached the model
}
