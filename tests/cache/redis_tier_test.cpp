// The Redis tier against a real redis-server on a loopback port.
#define BOOST_TEST_MODULE cache_redis_tier
#include <boost/test/unit_test.hpp>

#include "cache/codec.hpp"
#include "cache/redis_tier.hpp"
#include "tests/cache/cache_test_support.hpp"
#include "tests/support/redis_server.hpp"

using namespace tb::cache;
using namespace tb::cache::testing;
using tb::test::redis_probe;
using tb::test::redis_server;
using namespace std::chrono_literals;

namespace {

redis_config config_for(int port) {
  redis_config c;
  c.host = "127.0.0.1";
  c.port = port;
  c.key_prefix = "test:fc:";
  c.connect_timeout = 200ms;
  c.command_timeout = 200ms;
  c.backoff_initial = 20ms;
  c.backoff_max = 160ms;
  return c;
}

struct redis_fixture {
  redis_server server;
  manual_clock clock;
  entry entry_of(const cache_key& k, double tag, window_kind kind = window_kind::live,
                 ttl_policy p = {}) {
    return make_entry(k, make_forecast(tag), kind, p, clock.now());
  }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(round_trip_single_and_batch, redis_fixture) {
  redis_tier r(config_for(server.port()), clock.ptr());
  BOOST_TEST(r.connect());
  BOOST_TEST(r.stats().state == "connected");
  const cache_key a = key_of("AAPL", 0), b = key_of("AAPL", 1), c = key_of("AAPL", 2);
  auto miss = r.get(a.id);
  BOOST_TEST_REQUIRE(miss.has_value());
  BOOST_TEST(!miss->has_value());
  BOOST_TEST(r.put(entry_of(a, 1.0)).value() > 0u);
  auto got = r.get(a.id);
  BOOST_TEST_REQUIRE((got.has_value() && got->has_value()));
  BOOST_TEST(((*got)->value.rows == make_forecast(1.0).rows));
  BOOST_TEST(r.put_many({entry_of(b, 2.0), entry_of(c, 3.0)}).value() == 2u);
  auto many = r.get_many({a.id, key_of("X", 9).id, b.id, c.id});
  BOOST_TEST_REQUIRE(many.has_value());
  BOOST_TEST((*many)[0].has_value());
  BOOST_TEST(!(*many)[1].has_value());
  BOOST_TEST(((*many)[3]->value.rows == make_forecast(3.0).rows));
  redis_probe probe(server.port());
  BOOST_TEST(probe.integer({"EXISTS", "test:fc:" + a.hex()}) == 1);
  BOOST_TEST(r.erase(a.id).value());
  BOOST_TEST(!r.erase(a.id).value());
  const tier_stats s = r.stats();
  BOOST_TEST(s.hits == 4u);
  BOOST_TEST(s.misses == 2u);
  BOOST_TEST(s.saves == 3u);
  BOOST_TEST(s.errors == 0u);
}

BOOST_FIXTURE_TEST_CASE(ttl_becomes_px_and_expiry_is_also_checked_on_read, redis_fixture) {
  redis_tier r(config_for(server.port()), clock.ptr());
  redis_probe probe(server.port());
  const cache_key live = key_of("AAPL", 0), closed = key_of("AAPL", 1), never = key_of("AAPL", 2);
  r.put(entry_of(live, 1, window_kind::live, {300, 86400}));
  r.put(entry_of(closed, 2, window_kind::closed, {300, 86400}));
  r.put(entry_of(never, 3, window_kind::live, {0, 0}));
  const long long pttl_live = probe.integer({"PTTL", r.redis_key(live.id)});
  BOOST_TEST(pttl_live > 290000);
  BOOST_TEST(pttl_live <= 300000);
  BOOST_TEST(probe.integer({"PTTL", r.redis_key(closed.id)}) > 86000000);
  BOOST_TEST(probe.integer({"PTTL", r.redis_key(never.id)}) == -1);  // no expiry
  // By the injected clock the live entry has expired: a miss even though Redis still has it.
  clock.advance_s(301);
  BOOST_TEST(!r.get(live.id)->has_value());
  BOOST_TEST(r.get(closed.id)->has_value());
  BOOST_TEST(r.stats().expired == 1u);
  // An already expired entry is not written.
  BOOST_TEST(r.put(make_entry(key_of("AAPL", 3), make_forecast(4), window_kind::live, {300, 0},
                              clock.now() - 400000))
                 .value() == 0u);
  // Redis itself drops a short-lived entry (a real 100 ms PX; bounded wait).
  const cache_key brief = key_of("AAPL", 4);
  entry e = entry_of(brief, 5);
  e.expires_ms = clock.now() + 100;
  r.put(e);
  BOOST_TEST(probe.integer({"EXISTS", r.redis_key(brief.id)}) == 1);
  BOOST_TEST(eventually([&] { return probe.integer({"EXISTS", r.redis_key(brief.id)}) == 0; }));
}

BOOST_FIXTURE_TEST_CASE(a_corrupt_value_is_a_miss_and_deleted, redis_fixture) {
  redis_tier r(config_for(server.port()), clock.ptr());
  redis_probe probe(server.port());
  const cache_key a = key_of("AAPL", 0), b = key_of("AAPL", 1), c = key_of("AAPL", 2);
  r.put(entry_of(b, 2));
  r.put(entry_of(c, 3));
  probe.integer({"SET", r.redis_key(a.id), "not an entry"});
  // c's bytes under b's name: well-formed, wrong key.
  std::string c_bytes = encode_entry(entry_of(c, 3));
  probe.integer({"SET", r.redis_key(b.id), c_bytes});
  c_bytes[c_bytes.size() - 1] ^= 1;
  const cache_key d = key_of("AAPL", 3);
  probe.integer({"SET", r.redis_key(d.id), c_bytes});
  auto many = r.get_many({a.id, b.id, c.id, d.id});
  BOOST_TEST_REQUIRE(many.has_value());
  BOOST_TEST(!(*many)[0].has_value());
  BOOST_TEST(!(*many)[1].has_value());
  BOOST_TEST((*many)[2].has_value());
  BOOST_TEST(!(*many)[3].has_value());
  BOOST_TEST(r.stats().corrupt == 3u);
  BOOST_TEST(probe.integer({"EXISTS", r.redis_key(a.id), r.redis_key(b.id), r.redis_key(d.id)}) == 0);
  BOOST_TEST(probe.integer({"EXISTS", r.redis_key(c.id)}) == 1);
}

BOOST_FIXTURE_TEST_CASE(clear_removes_only_this_prefix, redis_fixture) {
  redis_tier r(config_for(server.port()), clock.ptr());
  redis_config other_cfg = config_for(server.port());
  other_cfg.key_prefix = "test:other:";
  redis_tier other(other_cfg, clock.ptr());
  for (int i = 0; i < 25; ++i) r.put(entry_of(key_of("AAPL", i), i));
  other.put(entry_of(key_of("AAPL", 0), 0));
  redis_probe probe(server.port());
  probe.integer({"SET", "unrelated", "x"});
  BOOST_TEST(r.clear().value() == 25u);
  BOOST_TEST(probe.integer({"DBSIZE"}) == 2);
  BOOST_TEST(other.get(key_of("AAPL", 0).id)->has_value());
}

BOOST_FIXTURE_TEST_CASE(password_and_database_are_used, redis_fixture) {
  redis_server locked({"--requirepass", "s3cret"});
  redis_config cfg = config_for(locked.port());
  cfg.password = "wrong";
  redis_tier bad(cfg, clock.ptr());
  BOOST_TEST(!bad.connect());
  BOOST_TEST(bad.stats().state == "down");
  BOOST_TEST(!bad.get(key_of("AAPL", 0).id).has_value());  // fails fast: circuit open
  BOOST_TEST(bad.stats().rejected == 1u);
  cfg.password = "s3cret";
  cfg.db = 3;
  redis_tier good(cfg, clock.ptr());
  BOOST_TEST_REQUIRE(good.connect());
  good.put(entry_of(key_of("AAPL", 0), 1));
  cfg.db = 0;
  redis_tier db0(cfg, clock.ptr());
  BOOST_TEST(!db0.get(key_of("AAPL", 0).id)->has_value());
  BOOST_TEST(good.get(key_of("AAPL", 0).id)->has_value());
}

BOOST_FIXTURE_TEST_CASE(down_at_start_then_up, redis_fixture) {
  const int port = server.port();
  server.kill();
  redis_tier r(config_for(port), clock.ptr());
  auto first = r.get(key_of("AAPL", 0).id);
  BOOST_TEST_REQUIRE(!first.has_value());
  BOOST_TEST((first.error().code == tb::errc::unavailable));
  BOOST_TEST(r.stats().state == "down");
  BOOST_TEST(r.stats().errors == 1u);
  // The circuit is open: the next calls fail fast without a connection attempt.
  BOOST_TEST(!r.put(entry_of(key_of("AAPL", 0), 1)).has_value());
  BOOST_TEST(r.stats().rejected == 1u);
  BOOST_TEST(r.stats().errors == 1u);
  server.start();
  BOOST_TEST(eventually([&] { return r.get(key_of("AAPL", 0).id).has_value(); }));
  BOOST_TEST(r.stats().state == "connected");
}

BOOST_FIXTURE_TEST_CASE(killed_mid_run_and_restarted_reconnects_with_backoff, redis_fixture) {
  redis_tier r(config_for(server.port()), clock.ptr());
  const cache_key a = key_of("AAPL", 0);
  BOOST_TEST_REQUIRE(r.put(entry_of(a, 1)).has_value());
  server.kill();
  BOOST_TEST(!r.get(a.id).has_value());
  BOOST_TEST(r.stats().state == "down");
  const auto errors_after_kill = r.stats().errors;
  // Many requests while down: almost all are refused by the circuit, not tried.
  for (int i = 0; i < 200; ++i) r.get(a.id);
  BOOST_TEST(r.stats().rejected >= 150u);
  BOOST_TEST(r.stats().errors - errors_after_kill <= 50u);
  server.start();  // empty: persistence is off
  BOOST_TEST(eventually([&] { return r.put(entry_of(a, 2)).has_value(); }));
  BOOST_TEST(r.stats().state == "connected");
  auto got = r.get(a.id);
  BOOST_TEST_REQUIRE((got.has_value() && got->has_value()));
  BOOST_TEST(((*got)->value.rows == make_forecast(2).rows));
}

BOOST_FIXTURE_TEST_CASE(a_hung_server_times_out_and_opens_the_circuit, redis_fixture) {
  redis_config cfg = config_for(server.port());
  cfg.command_timeout = 50ms;
  redis_tier r(cfg, clock.ptr());
  BOOST_TEST_REQUIRE(r.connect());
  server.pause();
  const auto t0 = std::chrono::steady_clock::now();
  BOOST_TEST(!r.get(key_of("AAPL", 0).id).has_value());
  BOOST_TEST(!r.get(key_of("AAPL", 0).id).has_value());  // circuit open: immediate
  const auto took = std::chrono::steady_clock::now() - t0;
  BOOST_TEST((took < 1s));
  BOOST_TEST(r.stats().state == "down");
  server.resume();
  BOOST_TEST(eventually([&] { return r.get(key_of("AAPL", 0).id).has_value(); }));
}
