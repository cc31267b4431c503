// forecast_cache: the tiers composed, against a real redis-server on a loopback port.
#define BOOST_TEST_MODULE cache_facade
#include <boost/test/unit_test.hpp>

#include <fstream>

#include "cache/forecast_cache.hpp"
#include "tests/cache/cache_test_support.hpp"
#include "tests/support/redis_server.hpp"

using namespace tb::cache;
using namespace tb::cache::testing;
using tb::test::redis_probe;
using tb::test::redis_server;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct facade_fixture {
  redis_server server;
  manual_clock clock;
  temp_dir dir;

  cache_config config(const std::string& sub = "disk") {
    cache_config c;
    c.dir = (dir.path / sub).string();
    c.redis_enabled = true;
    c.redis.port = server.port();
    c.redis.key_prefix = "test:fc:";
    c.redis.connect_timeout = 200ms;
    c.redis.command_timeout = 200ms;
    c.redis.backoff_initial = 20ms;
    c.redis.backoff_max = 160ms;
    c.disk_retry_after = 0ms;
    auto v = validate(c);
    BOOST_TEST_REQUIRE(v.has_value(), (v ? "" : v.error().message));
    return c;
  }

  const tier_stats& tier_of(const cache_stats& s, const std::string& name) {
    for (const auto& t : s.tiers)
      if (t.name == name) return t;
    BOOST_FAIL("no tier " << name);
    return s.tiers.front();
  }
};

bool same(const std::optional<entry>& e, double tag) { return e && e->value.rows == make_forecast(tag).rows; }

}  // namespace

BOOST_FIXTURE_TEST_CASE(put_serves_from_memory_at_once_and_reaches_every_tier, facade_fixture) {
  forecast_cache c(config(), clock.ptr());
  const cache_key k = key_of("AAPL", 0);
  BOOST_TEST(!c.get(k).has_value());
  BOOST_TEST(c.put(k, make_forecast(1), window_kind::closed).value());
  BOOST_TEST(same(c.get(k), 1));  // memory, before the write-behind ran
  BOOST_TEST_REQUIRE(c.flush(5s));
  BOOST_TEST(fs::exists(fs::path(c.config().dir) / k.hex().substr(0, 2) / (k.hex() + ".tbfc")));
  redis_probe probe(server.port());
  BOOST_TEST(probe.integer({"EXISTS", "test:fc:" + k.hex()}) == 1);
  const cache_stats s = c.stats();
  BOOST_TEST(s.hits == 1u);
  BOOST_TEST(s.misses == 1u);
  BOOST_TEST(s.saves == 1u);
  BOOST_TEST(s.hit_rate_percent == 50.0);
  BOOST_TEST(s.num_entries == 1u);
  BOOST_TEST(s.redis_state == "connected");
  BOOST_TEST(tier_of(s, "disk").saves == 1u);
  BOOST_TEST(tier_of(s, "redis").saves == 1u);
  BOOST_TEST((c.health().status == tb::core::health_status::ok));
  BOOST_TEST(summary_line(s) == "Kronos Prediction Cache Stats: hits=1 misses=1 hit_rate=50.0%");
}

BOOST_FIXTURE_TEST_CASE(reads_fall_through_the_tiers_and_promote, facade_fixture) {
  const cache_key on_disk = key_of("AAPL", 0), in_redis = key_of("AAPL", 1);
  {
    forecast_cache writer(config("disk"), clock.ptr());
    writer.put(on_disk, make_forecast(1), window_kind::closed);
    writer.put(in_redis, make_forecast(2), window_kind::closed);
    BOOST_TEST_REQUIRE(writer.flush(5s));
  }
  // A restart (empty memory, same disk): on_disk comes from disk, then from memory.
  {
    cache_config cfg = config("disk");
    cfg.redis_enabled = false;
    forecast_cache c(cfg, clock.ptr());
    BOOST_TEST(same(c.get(on_disk), 1));
    BOOST_TEST(same(c.get(on_disk), 1));
    const cache_stats s = c.stats();
    BOOST_TEST(tier_of(s, "memory").hits == 1u);
    BOOST_TEST(tier_of(s, "memory").misses == 1u);
    BOOST_TEST(tier_of(s, "disk").hits == 1u);
  }
  // Another machine (empty memory, empty disk, same Redis): Redis, promoted to memory and disk.
  forecast_cache c(config("other-disk"), clock.ptr());
  BOOST_TEST(same(c.get(in_redis), 2));
  BOOST_TEST(same(c.get(in_redis), 2));
  BOOST_TEST_REQUIRE(c.flush(5s));
  const cache_stats s = c.stats();
  BOOST_TEST(tier_of(s, "redis").hits == 1u);
  BOOST_TEST(tier_of(s, "memory").hits == 1u);
  BOOST_TEST(tier_of(s, "disk").saves == 1u);   // the promotion
  BOOST_TEST(tier_of(s, "redis").saves == 0u);  // not written back to where it came from
}

BOOST_FIXTURE_TEST_CASE(a_batch_of_70_mixed_hits_and_misses, facade_fixture) {
  forecast_cache c(config(), clock.ptr());
  std::vector<cache_key> keys;
  std::vector<put_request> puts;
  for (int i = 0; i < 70; ++i) {
    keys.push_back(key_of("AAPL", i));
    if (i % 2 == 0) puts.push_back({keys.back(), make_forecast(i), window_kind::closed});
  }
  BOOST_TEST(c.put_many(puts).value() == 35u);
  BOOST_TEST_REQUIRE(c.flush(5s));
  auto got = c.get_many(keys);
  BOOST_TEST_REQUIRE(got.size() == 70u);
  for (int i = 0; i < 70; ++i) {
    if (i % 2 == 0)
      BOOST_TEST(same(got[i], i), "key " << i);
    else
      BOOST_TEST(!got[i].has_value(), "key " << i);
  }
  const cache_stats s = c.stats();
  BOOST_TEST(s.hits == 35u);
  BOOST_TEST(s.misses == 35u);
  // Misses went on to disk and Redis once each, as one batch.
  BOOST_TEST(tier_of(s, "redis").misses == 35u);
  BOOST_TEST(tier_of(s, "redis").latency_samples == 1u);
}

BOOST_FIXTURE_TEST_CASE(ttl_policy_live_and_closed_across_tiers, facade_fixture) {
  cache_config cfg = config();
  cfg.ttl_s = 300;
  cfg.history_ttl_s = 7 * 86400;
  forecast_cache c(cfg, clock.ptr());
  const cache_key live = key_of("AAPL", 0), closed = key_of("AAPL", 1);
  c.put(live, make_forecast(1), window_kind::live);
  c.put(closed, make_forecast(2), window_kind::closed);
  BOOST_TEST_REQUIRE(c.flush(5s));
  BOOST_TEST(c.get(live)->expires_ms == clock.now() + 300000);
  BOOST_TEST(c.get(closed)->expires_ms == clock.now() + 7 * 86400000LL);
  clock.advance_s(300);
  BOOST_TEST(!c.get(live).has_value());  // expired in memory, disk and Redis (by our clock)
  BOOST_TEST(same(c.get(closed), 2));
  clock.advance_s(7 * 86400);
  BOOST_TEST(!c.get(closed).has_value());
  // ttl 0: never expires.
  cfg.ttl_s = 0;
  forecast_cache forever(cfg, clock.ptr());
  forever.put(live, make_forecast(3), window_kind::live);
  BOOST_TEST(forever.get(live)->expires_ms == 0);
  clock.advance_s(365 * 86400);
  BOOST_TEST(same(forever.get(live), 3));
}

BOOST_FIXTURE_TEST_CASE(redis_killed_mid_run_memory_and_disk_keep_serving, facade_fixture) {
  forecast_cache c(config(), clock.ptr());
  const cache_key before = key_of("AAPL", 0), during = key_of("AAPL", 1);
  c.put(before, make_forecast(1), window_kind::closed);
  BOOST_TEST_REQUIRE(c.flush(5s));
  server.kill();
  BOOST_TEST(same(c.get(before), 1));                 // memory
  BOOST_TEST(!c.get(key_of("AAPL", 9)).has_value());  // a miss goes to Redis: fails, a miss
  BOOST_TEST(c.stats().redis_state == "down");
  BOOST_TEST((c.health().status == tb::core::health_status::degraded));
  BOOST_TEST(c.put(during, make_forecast(2), window_kind::closed).value());
  BOOST_TEST_REQUIRE(c.flush(5s));
  BOOST_TEST(same(c.get(during), 2));
  // A fresh process on the same disk still serves both without Redis.
  {
    cache_config cfg = config();
    forecast_cache other(cfg, clock.ptr());
    BOOST_TEST(same(other.get(before), 1));
    BOOST_TEST(same(other.get(during), 2));
  }
  BOOST_TEST(tier_of(c.stats(), "redis").errors >= 1u);
  server.start();
  // Reconnects by itself: the write-behind connection without traffic, the read one on use.
  BOOST_TEST(eventually([&] {
    c.maintain();
    return c.stats().redis_state == "connected";
  }));
  const cache_key after = key_of("AAPL", 2);
  c.put(after, make_forecast(3), window_kind::closed);
  BOOST_TEST_REQUIRE(c.flush(5s));
  redis_probe probe(server.port());
  BOOST_TEST(probe.integer({"EXISTS", "test:fc:" + after.hex()}) == 1);
  BOOST_TEST((c.health().status == tb::core::health_status::ok));
}

BOOST_FIXTURE_TEST_CASE(two_instances_share_one_redis, facade_fixture) {
  // As two daemons on two machines: own memory, own disk, one Redis.
  forecast_cache a(config("a"), clock.ptr());
  forecast_cache b(config("b"), clock.ptr());
  std::vector<cache_key> keys;
  std::vector<put_request> puts;
  for (int i = 0; i < 10; ++i) {
    keys.push_back(key_of("MSFT", i));
    puts.push_back({keys.back(), make_forecast(i), window_kind::closed});
  }
  a.put_many(puts);
  BOOST_TEST_REQUIRE(a.flush(5s));
  auto got = b.get_many(keys);
  for (int i = 0; i < 10; ++i) BOOST_TEST(same(got[i], i));
  BOOST_TEST(tier_of(b.stats(), "redis").hits == 10u);
  BOOST_TEST(tier_of(b.stats(), "disk").hits == 0u);
}

BOOST_FIXTURE_TEST_CASE(unwritable_directory_memory_and_redis_go_on, facade_fixture) {
  std::ofstream(dir.path / "blocker") << "x";
  cache_config cfg = config();
  cfg.dir = (dir.path / "blocker" / "cache").string();
  forecast_cache c(cfg, clock.ptr());
  const cache_key k = key_of("AAPL", 0);
  BOOST_TEST(c.put(k, make_forecast(1), window_kind::closed).value());
  BOOST_TEST_REQUIRE(c.flush(5s));
  BOOST_TEST(same(c.get(k), 1));
  const cache_stats s = c.stats();
  BOOST_TEST(tier_of(s, "disk").state == "degraded");
  BOOST_TEST(tier_of(s, "redis").saves == 1u);
  BOOST_TEST((c.health().status == tb::core::health_status::degraded));
  // Another instance (empty memory) finds it in Redis.
  forecast_cache other(cfg, clock.ptr());
  BOOST_TEST(same(other.get(k), 1));
}

BOOST_FIXTURE_TEST_CASE(corrupt_disk_entry_is_never_served, facade_fixture) {
  cache_config cfg = config();
  cfg.redis_enabled = false;
  const cache_key k = key_of("AAPL", 0);
  fs::path file;
  {
    forecast_cache c(cfg, clock.ptr());
    c.put(k, make_forecast(1), window_kind::closed);
    BOOST_TEST_REQUIRE(c.flush(5s));
    file = fs::path(cfg.dir) / k.hex().substr(0, 2) / (k.hex() + ".tbfc");
  }
  fs::resize_file(file, fs::file_size(file) - 8);  // truncated
  forecast_cache c(cfg, clock.ptr());
  BOOST_TEST(!c.get(k).has_value());
  BOOST_TEST(!fs::exists(file));
  BOOST_TEST(c.stats().corrupt_entries == 1u);
  BOOST_TEST(c.verify(false).corrupt == 0u);
}

BOOST_FIXTURE_TEST_CASE(disabled_bypasses_everything, facade_fixture) {
  cache_config cfg = config();
  cfg.enabled = false;
  cfg.dir = (dir.path / "never-created").string();
  forecast_cache c(cfg, clock.ptr());
  const cache_key k = key_of("AAPL", 0);
  BOOST_TEST(!c.put(k, make_forecast(1), window_kind::closed).value());
  BOOST_TEST(!c.get(k).has_value());
  BOOST_TEST(c.get_many({k, k}).size() == 2u);
  const cache_stats s = c.stats();
  BOOST_TEST(!s.enabled);
  BOOST_TEST(s.hits + s.misses + s.saves == 0u);
  BOOST_TEST(s.redis_state == "disabled");
  BOOST_TEST(!fs::exists(cfg.dir));
  redis_probe probe(server.port());
  BOOST_TEST(probe.integer({"DBSIZE"}) == 0);
  BOOST_TEST(to_json(s)["enabled"] == false);
}

BOOST_FIXTURE_TEST_CASE(erase_and_clear_reach_every_tier, facade_fixture) {
  forecast_cache c(config(), clock.ptr());
  std::vector<put_request> puts;
  for (int i = 0; i < 5; ++i) puts.push_back({key_of("AAPL", i), make_forecast(i), window_kind::closed});
  c.put_many(puts);
  BOOST_TEST(c.erase(key_of("AAPL", 0)).value());
  BOOST_TEST_REQUIRE(c.flush(5s));
  redis_probe probe(server.port());
  BOOST_TEST(probe.integer({"DBSIZE"}) == 4);
  BOOST_TEST(!c.get(key_of("AAPL", 0)).has_value());
  // Queued writes are dropped by clear, so nothing comes back after it.
  for (int i = 10; i < 20; ++i) c.put(key_of("AAPL", i), make_forecast(i), window_kind::closed);
  auto removed = c.clear();
  BOOST_TEST_REQUIRE(removed.has_value());
  BOOST_TEST_REQUIRE(c.flush(5s));
  BOOST_TEST(probe.integer({"DBSIZE"}) == 0);
  BOOST_TEST(c.stats().num_entries == 0u);
  for (int i = 0; i < 20; ++i) BOOST_TEST(!c.get(key_of("AAPL", i)).has_value());
}

BOOST_FIXTURE_TEST_CASE(write_queue_is_bounded_while_redis_hangs, facade_fixture) {
  cache_config cfg = config();
  cfg.write_queue_max = 4;
  cfg.write_batch_max = 2;
  cfg.disk_enabled = false;
  cfg.redis.command_timeout = 300ms;
  forecast_cache c(cfg, clock.ptr());
  BOOST_TEST_REQUIRE(c.flush(5s));
  server.pause();  // the writer's next Redis call hangs until the command timeout
  const auto t0 = std::chrono::steady_clock::now();
  std::size_t queued = 0;
  for (int i = 0; i < 100; ++i) queued += c.put(key_of("AAPL", i), make_forecast(i), window_kind::live).value() ? 1 : 0;
  const auto took = std::chrono::steady_clock::now() - t0;
  BOOST_TEST((took < 250ms));  // the requester never waited on Redis
  BOOST_TEST(queued <= 4u + 2u + 4u);
  const cache_stats s = c.stats();
  BOOST_TEST(s.write_queue_depth <= 4u);
  BOOST_TEST(s.write_drops == 100u - queued);
  for (int i = 0; i < 100; ++i) BOOST_TEST(c.get(key_of("AAPL", i)).has_value());  // memory
  server.resume();
  BOOST_TEST(c.flush(5s));
}

BOOST_AUTO_TEST_CASE(stats_json_has_every_field) {
  manual_clock clock;
  temp_dir dir;
  cache_config cfg;
  cfg.dir = dir.path.string();
  forecast_cache c(cfg, clock.ptr());
  c.put(key_of("AAPL", 0), make_forecast(1), window_kind::live);
  c.get(key_of("AAPL", 0));
  const auto j = to_json(c.stats());
  for (const char* f :
       {"enabled", "hits", "misses", "saves", "hit_rate_percent", "num_entries", "cache_size_mb", "ttl_seconds",
        "history_ttl_seconds", "evictions", "corrupt_entries", "redis_state", "write_queue_depth", "write_drops"})
    BOOST_TEST(j.contains(f), f);
  BOOST_TEST(j["ttl_seconds"] == 300);
  BOOST_TEST(j["history_ttl_seconds"] == 604800);
  BOOST_TEST(j["redis_state"] == "disabled");
  for (const char* t : {"memory", "disk"})
    for (const char* f : {"hits", "misses", "errors", "latency_p50_us", "latency_p99_us"})
      BOOST_TEST(j["tiers"][t].contains(f), t << "." << f);
  BOOST_TEST(j["tiers"]["memory"]["hits"] == 1);
}

BOOST_AUTO_TEST_CASE(validate_names_the_bad_key) {
  cache_config c;
  c.decimals = 16;
  BOOST_TEST(validate(c).error().message.find("KRONOS_CACHE_DECIMALS") == 0u);
  c = {};
  c.ttl_s = -1;
  BOOST_TEST(validate(c).error().message.find("KRONOS_PREDICTION_CACHE_TTL") == 0u);
  c = {};
  c.redis_enabled = true;
  c.redis.port = 0;
  BOOST_TEST(validate(c).error().message.find("KRONOS_REDIS_PORT") == 0u);
  c = {};
  c.max_size_mb = 0;
  BOOST_TEST(!validate(c).has_value());
  BOOST_TEST(validate(cache_config{}).has_value());
}

BOOST_AUTO_TEST_CASE(a_non_finite_forecast_is_refused) {
  manual_clock clock;
  cache_config cfg;
  cfg.disk_enabled = false;
  forecast_cache c(cfg, clock.ptr());
  auto f = make_forecast(1);
  f.rows[2][3] = std::numeric_limits<double>::quiet_NaN();
  auto r = c.put(key_of("AAPL", 0), f, window_kind::live);
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST((r.error().code == tb::errc::invalid_argument));
  BOOST_TEST(!c.get(key_of("AAPL", 0)).has_value());
}
