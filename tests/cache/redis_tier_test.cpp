// The Redis tier against a real redis-server on a loopback port.
#define BOOST_TEST_MODULE cache_redis_tier
#include <algorithm>
#include <thread>

#include <boost/test/unit_test.hpp>

#include "cache/codec.hpp"
#include "cache/redis_tier.hpp"
#include "tests/cache/cache_test_support.hpp"
#include "tests/support/log_capture.hpp"
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

// How many times `what` occurs in `text`.
std::size_t count_in(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

struct redis_fixture {
  redis_server server;
  manual_clock clock;
  entry entry_of(const cache_key& k, double tag, window_kind kind = window_kind::live, ttl_policy p = {}) {
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
  BOOST_TEST(r.put(make_entry(key_of("AAPL", 3), make_forecast(4), window_kind::live, {300, 0}, clock.now() - 400000))
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

// A server that stops answering (SIGSTOP: the kernel still completes TCP handshakes) must stay
// down with a growing backoff: a connection counts only once the server answered, so the tier
// neither flaps nor logs each attempt, and lookups while it is down are refused at once.
BOOST_FIXTURE_TEST_CASE(a_stopped_server_stays_down_with_growing_backoff_and_few_log_lines, redis_fixture) {
  tb::test::log_capture logs;
  redis_config cfg = config_for(server.port());
  cfg.command_timeout = 50ms;
  cfg.connect_timeout = 50ms;
  cfg.backoff_initial = 50ms;
  cfg.backoff_max = 800ms;
  cfg.log_interval = 1000ms;
  redis_tier r(cfg, clock.ptr());
  BOOST_TEST_REQUIRE(r.connect());
  const cache_key a = key_of("AAPL", 0);
  server.pause();

  // 3 s of lookups, one every 2 ms (bounded in count and time).
  constexpr auto down_for = 3s;
  const auto t0 = std::chrono::steady_clock::now();
  const auto errors_before = r.stats().errors;
  int lookups = 0, slow = 0;
  while (std::chrono::steady_clock::now() - t0 < down_for && lookups < 5000) {
    const auto s0 = std::chrono::steady_clock::now();
    const lookup got = r.get(a.id);
    const auto took = std::chrono::steady_clock::now() - s0;
    BOOST_TEST_REQUIRE(!got.has_value());  // never a hit, never a hang
    ++lookups;
    if (took >= 20ms) ++slow;  // this one made a connection attempt (connect + PING, <= 100 ms)
    BOOST_TEST_REQUIRE(r.stats().state == "down");
    std::this_thread::sleep_for(2ms);
  }
  // Attempts at about 0.05, 0.15, 0.35, 0.75, 1.55, 2.35 s (backoff 50 ms doubling, 800 ms cap)
  // after the first timeout; flapping (reconnect on the TCP handshake, backoff reset) tried every
  // ~100 ms: about 30.
  const auto attempts = r.stats().errors - errors_before;
  BOOST_TEST_MESSAGE("down " << down_for.count() << " s: " << lookups << " lookups, " << attempts
                             << " failed attempts, " << slow << " slow lookups");
  BOOST_TEST(attempts >= 3u);
  BOOST_TEST(attempts <= 9u);
  // Only the lookups that made an attempt waited (+2: a refusal preempted on a busy machine);
  // every other one was refused at once by the open circuit.
  BOOST_TEST(slow <= static_cast<int>(attempts) + 2);
  BOOST_TEST(r.stats().rejected + attempts >= static_cast<std::uint64_t>(lookups));

  // One line on going down, then "still down" at most once per log_interval (1 s over 3 s).
  const std::string text = logs.text();
  BOOST_TEST_MESSAGE("log:\n" << text);
  BOOST_TEST(count_in(text, ": down (") == 1u);
  BOOST_TEST(count_in(text, "still down") <= 3u);
  BOOST_TEST(count_in(text, "reconnected") == 0u);
  BOOST_TEST(count_in(text, "cache redis tier") <= 4u);

  server.resume();
  // The next attempt (at most backoff_max away) finds it answering.
  BOOST_TEST(eventually([&] { return r.get(a.id).has_value(); }, 3s));
  BOOST_TEST(r.stats().state == "connected");
  BOOST_TEST(count_in(logs.text(), "reconnected") == 1u);
}
