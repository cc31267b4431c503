// The cache actor in front of the real (tiny) inference actor, with a real redis-server on a
// loopback port: a repeated request is answered without a second inference and with the same
// forecasts; seeds derive from keys (a disabled cache computes the same forecasts); the TTL follows
// the closure of the newest bar, not the priority; a changed column misses; inference errors pass through and are not
// stored; Redis killed mid-test keeps the cache serving (degraded); a second cache sharing only Redis gets hits.
#define BOOST_TEST_MODULE cache_actor
#include <boost/test/unit_test.hpp>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <nlohmann/json.hpp>

#include "actors/cache_actor.hpp"
#include "actors/inference_actor.hpp"
#include "cache/key.hpp"
#include "core/bar_csv.hpp"
#include "core/clock.hpp"
#include "inference/kronos_init.hpp"
#include "inference/kronos_model.hpp"
#include "tests/support/inference_fixture.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/tiny_model.hpp"

using namespace tb;
using namespace std::chrono_literals;

namespace {

// Small sampling shapes; the cache settings are the test's.
actors::config_ptr test_config(const std::filesystem::path& cache_dir, int redis_port,
                               std::function<void(actors::config&)> edit = {}) {
  auto base = test::tiny_model_config();
  auto c = std::make_shared<actors::config>(*base);
  c->inference.batching.max_queue_delay = std::chrono::microseconds(1000);
  c->cache.dir = cache_dir.string();
  c->cache.redis_enabled = redis_port > 0;
  c->cache.redis.port = redis_port > 0 ? redis_port : 6379;
  c->cache.redis.key_prefix = "tbtest:cache_actor:";
  c->cache.redis.backoff_initial = std::chrono::milliseconds(50);
  c->cache.redis.backoff_max = std::chrono::milliseconds(200);
  c->daemon.shutdown_deadline_s = 5;
  if (edit) edit(*c);
  return c;
}

const std::vector<core::bar>& jd_bars() { return test::daily_bars("JD"); }

actors::window_request window_at(std::size_t end, const actors::config& c, bool live, std::uint64_t seed = 0) {
  actors::window_request r;
  auto& w = r.window;
  w.symbol = "JD";
  const auto& bars = jd_bars();
  w.bars.assign(bars.begin() + static_cast<long>(end - static_cast<std::size_t>(c.inference.lookback)),
                bars.begin() + static_cast<long>(end));
  w.params = c.inference.sampling;
  w.seed = seed;  // ignored: the cache actor seeds from the key
  r.priority = live ? inference::priority::live : inference::priority::backfill;
  return r;
}

// One live window and three walk-forward windows.
actors::forecast_request four_windows(const actors::config& c, std::uint64_t seed = 0) {
  actors::forecast_request req;
  const std::size_t end = jd_bars().size() - 100;
  req.windows.push_back(window_at(end, c, true, seed));
  for (std::size_t i = 1; i <= 3; ++i) req.windows.push_back(window_at(end - i, c, false, seed + i));
  return req;
}

bool same_rows(const core::forecast& a, const core::forecast& b) { return a.rows == b.rows; }

// The inference actor of the tiny checkpoint, and cache actors in front of it.
struct fixture : test::inference_fixture {
  std::shared_ptr<core::sim_clock> clock = std::make_shared<core::sim_clock>(core::from_unix_seconds(1767312000));
  actors::config_ptr base;
  std::vector<actors::forecaster_actor> caches;

  explicit fixture(actors::config_ptr c) : inference_fixture(c), base(c) {}
  ~fixture() {
    for (auto& c : caches) stop(c);  // before the inference actor (the base class stops it)
  }

  // A cache actor in front of the inference actor, with its own board (its /stats and /health).
  actors::forecaster_actor add_cache(actors::config_ptr c, std::shared_ptr<core::snapshot_board> b) {
    caf::scoped_actor self{*sys};
    auto h = actors::spawn_cache_actor(
        self.ptr(), [inf = inference] { return inf; }, std::move(b), std::move(c), clock);
    caches.push_back(h);
    return h;
  }

  actors::forecast_reply ask(const actors::forecaster_actor& to, const actors::forecast_request& req) {
    caf::scoped_actor self{*sys};
    actors::forecast_reply out;
    self->request(to, 120s, actors::forecast_atom::value, req)
        .receive([&](actors::forecast_reply& r) { out = std::move(r); },
                 [&](caf::error& e) { BOOST_FAIL(sys->render(e)); });
    BOOST_REQUIRE_EQUAL(out.answers.size(), req.windows.size());
    return out;
  }

  std::int64_t inferences() const { return service->stats()["inference_count"].get<std::int64_t>(); }
};

// Polls the board's "cache" section until `pred` holds (bounded: it is published every second).
bool wait_for_cache(const core::snapshot_board& b, const std::function<bool(const nlohmann::json&)>& pred,
                    std::chrono::milliseconds limit = 10s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    auto doc = b.sections();
    doc["checks"] = b.checks();
    if (doc.contains("cache") && pred(doc)) return true;
    std::this_thread::sleep_for(20ms);  // polling a condition, bounded by `limit`
  }
  return false;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_repeated_request_is_a_hit_with_the_same_forecasts_and_seeds_come_from_keys) {
  test::redis_server redis;
  test::temp_dir dir;
  auto c = test_config(dir.path / "cache", redis.port());
  fixture fx(c);
  auto board = std::make_shared<core::snapshot_board>();
  auto cache = fx.add_cache(c, board);

  const auto first = fx.ask(cache, four_windows(*c, 1));
  for (const auto& a : first.answers) BOOST_REQUIRE_MESSAGE(a.ok, a.error);
  BOOST_TEST(fx.inferences() == 4);
  BOOST_TEST(first.model.checkpoint_hash == fx.service->identity().checkpoint_hash);  // the model that computed it

  // Again, with other seeds in the request: answered from the cache, no inference, same rows.
  const auto second = fx.ask(cache, four_windows(*c, 99));
  BOOST_TEST(fx.inferences() == 4);
  BOOST_TEST(second.model.checkpoint_hash == fx.service->identity().checkpoint_hash);  // the model the keys name
  for (std::size_t i = 0; i < 4; ++i) {
    BOOST_REQUIRE(second.answers[i].ok);
    BOOST_TEST(same_rows(second.answers[i].forecast, first.answers[i].forecast), "window " << i);
  }

  // The forecast is the model's for the seed derived from the key (computed alone, here).
  auto model = inference::load_checkpoint(c->inference.model_dir, {});
  BOOST_REQUIRE(model);
  auto w = four_windows(*c).windows[0].window;
  auto key = cache::make_key(w, fx.service->identity(), static_cast<int>(c->cache.decimals));
  BOOST_REQUIRE(key);
  w.seed = cache::seed_of(*key);
  auto alone = model->generate({w});
  BOOST_REQUIRE(alone);
  BOOST_TEST(tb::core::relative_difference(first.answers[0].forecast, alone->at(0)) < 1e-5);

  // A cache that is disabled computes every window, seeded the same way: the same forecasts.
  auto off_board = std::make_shared<core::snapshot_board>();
  auto off =
      fx.add_cache(test_config(dir.path / "off", 0, [](actors::config& x) { x.cache.enabled = false; }), off_board);
  const auto recomputed = fx.ask(off, four_windows(*c, 7));
  BOOST_TEST(fx.inferences() == 8);
  for (std::size_t i = 0; i < 4; ++i) {
    BOOST_REQUIRE_MESSAGE(recomputed.answers[i].ok, recomputed.answers[i].error);
    BOOST_TEST(tb::core::relative_difference(recomputed.answers[i].forecast, first.answers[i].forecast) < 1e-6,
               "window " << i);
  }

  // What /stats shows: hits and misses of the facade, the actor's counters, the TTLs.
  BOOST_TEST(wait_for_cache(*board,
                            [](const nlohmann::json& d) {
                              const auto& s = d["cache"];
                              return s["hits"] == 4 && s["misses"] == 4 && s["actor"]["stores"] == 4 && s["saves"] == 4;
                            }),
             board->sections().dump());
  auto stats = (*board->section("cache"));
  BOOST_TEST(stats["enabled"] == true);
  BOOST_TEST(stats["hit_rate_percent"].get<double>() == 50.0);
  BOOST_TEST(stats["history_ttl_seconds"] == c->cache.history_ttl_s);
  BOOST_TEST(stats["actor"]["answered_from_cache"] == 4);
  BOOST_TEST(stats["actor"]["model"]["checkpoint_hash"] == fx.service->identity().checkpoint_hash);
  BOOST_TEST(wait_for_cache(*off_board,
                            [](const nlohmann::json& d) {
                              return d["cache"]["enabled"] == false && d["cache"]["actor"]["bypassed_windows"] == 4 &&
                                     d["cache"]["hits"] == 0;
                            }),
             off_board->sections().dump());
}

BOOST_AUTO_TEST_CASE(a_changed_column_misses_and_errors_pass_through_unstored) {
  test::temp_dir dir;
  auto c = test_config(dir.path / "cache", 0);
  fixture fx(c);
  auto cache = fx.add_cache(c, std::make_shared<core::snapshot_board>());
  auto req = four_windows(*c);
  fx.ask(cache, req);
  BOOST_TEST(fx.inferences() == 4);

  // The volume of one bar of window 2 changes: that window misses, the others hit.
  auto changed = req;
  changed.windows[2].window.bars[5].volume += 1.0;
  auto r = fx.ask(cache, changed);
  for (const auto& a : r.answers) BOOST_TEST(a.ok);
  BOOST_TEST(fx.inferences() == 5);
  // A change below the rounding (cache.decimals = 8) hits.
  auto noise = req;
  noise.windows[1].window.bars[3].close += 1e-12;
  fx.ask(cache, noise);
  BOOST_TEST(fx.inferences() == 5);

  // A window without bars: answered with the key's error, never forwarded; the others are served.
  actors::forecast_request bad = req;
  bad.windows[0].window.bars.clear();
  r = fx.ask(cache, bad);
  BOOST_TEST(!r.answers[0].ok);
  BOOST_TEST((r.answers[0].error_code == tb::errc::invalid_argument));
  BOOST_TEST(r.answers[1].ok);
  BOOST_TEST(fx.inferences() == 5);

  // An inference error (a deadline long past) passes through per window and is not stored.
  actors::forecast_request late;
  late.windows.push_back(window_at(jd_bars().size() - 400, *c, true));
  late.windows[0].deadline_unix_ns = 1;
  r = fx.ask(cache, late);
  BOOST_TEST(!r.answers[0].ok);
  BOOST_TEST((r.answers[0].error_code == tb::errc::timeout));
  late.windows[0].deadline_unix_ns = 0;
  r = fx.ask(cache, late);
  BOOST_TEST(r.answers[0].ok);
  BOOST_TEST(fx.inferences() == 6);
}

// The TTL follows the closure of a window's newest bar, not its priority: yesterday's live window,
// all of whose bars closed, is today's first walk-forward window and still a hit after the live
// TTL; only a window holding a still-forming bar expires with the live TTL.
BOOST_AUTO_TEST_CASE(ttl_follows_the_closure_of_the_newest_bar_not_the_priority) {
  test::temp_dir dir;
  auto c = test_config(dir.path / "cache", 0, [](actors::config& x) {
    x.cache.ttl_s = 300;
    x.cache.history_ttl_s = 7 * 86400;
  });
  fixture fx(c);
  auto board = std::make_shared<core::snapshot_board>();
  auto cache = fx.add_cache(c, board);
  constexpr std::int64_t day_ns = 86400LL * 1000000000LL;
  // The live window ending at bar `end` and three walk-forward windows, as a symbol actor asks on
  // the day after bar end-1 (daily bars labelled at their period start close a day later); with
  // `forming`, the live window's newest bar is still open at the time of asking.
  auto cycle = [&](std::size_t end, bool forming) {
    actors::forecast_request req;
    for (std::size_t i = 0; i < 4; ++i) {
      auto w = window_at(end - i, *c, i == 0);
      w.newest_bar_closes_unix_ns = w.window.bars.back().time_s * 1000000000LL + day_ns;
      req.windows.push_back(std::move(w));
    }
    const auto live_closes = req.windows[0].newest_bar_closes_unix_ns;
    for (auto& w : req.windows) w.as_of_unix_ns = forming ? live_closes - 3600LL * 1000000000LL : live_closes;
    return req;
  };
  const std::size_t end = jd_bars().size() - 100;
  auto r = fx.ask(cache, cycle(end, false));
  BOOST_TEST(fx.inferences() == 4);
  // A day later (far past the live TTL): only the new live window is computed.
  BOOST_REQUIRE(fx.clock->advance(std::chrono::hours(24)));
  r = fx.ask(cache, cycle(end + 1, false));
  BOOST_TEST(fx.inferences() == 5);
  BOOST_TEST(!r.answers[0].cached);
  for (std::size_t i = 1; i < 4; ++i) BOOST_TEST(r.answers[i].cached, "window " << i);
  // A live window whose newest bar is still forming: stored with the live TTL ...
  r = fx.ask(cache, cycle(end + 2, true));
  BOOST_TEST(fx.inferences() == 6);
  // ... so once that passed, it is computed again as the next cycle's first walk-forward window.
  BOOST_REQUIRE(fx.clock->advance(std::chrono::seconds(600)));
  r = fx.ask(cache, cycle(end + 3, false));
  BOOST_TEST(fx.inferences() == 8);
  BOOST_TEST(!r.answers[1].cached);
  BOOST_TEST(r.answers[2].cached);
  BOOST_TEST(wait_for_cache(*board,
                            [](const nlohmann::json& d) {
                              return d["cache"]["actor"]["computed_windows"] == 8 && d["cache"]["misses"] == 8;
                            }),
             board->sections().dump());
}

BOOST_AUTO_TEST_CASE(redis_killed_mid_test_keeps_serving_and_a_second_cache_shares_redis) {
  test::redis_server redis;
  test::temp_dir dir;
  auto c = test_config(dir.path / "a", redis.port());
  fixture fx(c);
  auto board_a = std::make_shared<core::snapshot_board>();
  auto a = fx.add_cache(c, board_a);
  const auto computed = fx.ask(a, four_windows(*c));
  BOOST_TEST(fx.inferences() == 4);

  // Cache B shares only Redis (no memory tier, its own disk folder): hits, no inference.
  auto b_cfg = test_config(dir.path / "b", redis.port(), [](actors::config& x) { x.cache.memory_enabled = false; });
  auto b = fx.add_cache(b_cfg, std::make_shared<core::snapshot_board>());
  // A's writes to Redis are write-behind: poll until B finds all four (bounded).
  actors::forecast_reply shared;
  for (int i = 0; i < 200; ++i) {
    test::redis_probe probe(redis.port());
    if (probe.integer({"DBSIZE"}) >= 4) break;
    std::this_thread::sleep_for(10ms);  // polling a condition, bounded
  }
  shared = fx.ask(b, four_windows(*c));
  BOOST_TEST(fx.inferences() == 4);
  for (std::size_t i = 0; i < 4; ++i) BOOST_TEST(same_rows(shared.answers[i].forecast, computed.answers[i].forecast));

  // Redis goes away: A keeps serving (memory, disk, inference), /health says degraded.
  redis.kill();
  auto again = fx.ask(a, four_windows(*c));
  for (std::size_t i = 0; i < 4; ++i) BOOST_TEST(same_rows(again.answers[i].forecast, computed.answers[i].forecast));
  actors::forecast_request fresh;
  fresh.windows.push_back(window_at(jd_bars().size() - 300, *c, true));
  auto r = fx.ask(a, fresh);
  BOOST_TEST(r.answers[0].ok);
  BOOST_TEST(fx.inferences() == 5);
  r = fx.ask(a, fresh);  // stored in memory and disk while Redis is down
  BOOST_TEST(fx.inferences() == 5);
  BOOST_TEST(wait_for_cache(*board_a,
                            [](const nlohmann::json& d) {
                              return d["checks"]["cache"]["status"] == "degraded" &&
                                     d["cache"]["redis_state"] != "connected";
                            }),
             board_a->checks().dump());

  // Redis back (empty): the cache reconnects by itself (maintain() every second), health ok.
  redis.start();
  BOOST_TEST(wait_for_cache(
                 *board_a,
                 [](const nlohmann::json& d) {
                   return d["checks"]["cache"]["status"] == "ok" && d["cache"]["redis_state"] == "connected";
                 },
                 15s),
             board_a->checks().dump());
}
