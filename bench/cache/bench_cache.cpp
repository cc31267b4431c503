// bench_cache: hit latency p50/p99 per cache tier, single keys and batches of 70.
// Starts its own redis-server on a free loopback port (tests/support/redis_server.hpp) and uses
// a temporary directory for the disk tier. Usage: bench_cache [--iterations-scale X]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "cache/disk_tier.hpp"
#include "cache/forecast_cache.hpp"
#include "cache/memory_tier.hpp"
#include "cache/redis_tier.hpp"
#include "tests/cache/cache_test_support.hpp"
#include "tests/support/redis_server.hpp"

using namespace tb::cache;
using namespace tb::cache::testing;
using tb::test::redis_probe;
using tb::test::redis_server;
using clk = std::chrono::steady_clock;

namespace {

constexpr int n_keys = 1000;
constexpr int batch = 70;

struct result {
  std::string what;
  double p50_us, p99_us, max_us;
  double target_us;  // p99 target, 0 = none
  int samples;
};

result measure(const std::string& what, int iterations, double target_us, const std::function<void(int)>& op,
               double divide = 1.0) {
  for (int i = 0; i < std::min(iterations / 10 + 10, 2000); ++i) op(i);  // warm-up
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(iterations));
  for (int i = 0; i < iterations; ++i) {
    const auto t0 = clk::now();
    op(i);
    us.push_back(std::chrono::duration<double, std::micro>(clk::now() - t0).count() / divide);
  }
  std::sort(us.begin(), us.end());
  auto at = [&](double q) { return us[std::min(us.size() - 1, static_cast<std::size_t>(q * us.size()))]; };
  return {what, at(0.50), at(0.99), us.back(), target_us, iterations};
}

void must(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "bench_cache: %s\n", what);
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  double scale = 1.0;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--iterations-scale") == 0) scale = std::atof(argv[i + 1]);
  auto iters = [&](int n) { return std::max(100, static_cast<int>(n * scale)); };
  spdlog::set_level(spdlog::level::warn);

  manual_clock clock;
  temp_dir dir;
  redis_server server;

  std::vector<cache_key> keys;
  std::vector<entry> entries;
  for (int i = 0; i < n_keys; ++i) {
    keys.push_back(key_of("SYM" + std::to_string(i % 50), i, 232));
    entries.push_back(make_entry(keys.back(), make_forecast(i), window_kind::closed, ttl_policy{}, clock.now()));
  }
  std::vector<std::vector<digest>> batches;
  for (int b = 0; b < n_keys / batch; ++b) {
    std::vector<digest> ids;
    for (int i = 0; i < batch; ++i) ids.push_back(keys[static_cast<std::size_t>(b * batch + i)].id);
    batches.push_back(ids);
  }

  std::vector<result> rows;
  rows.push_back(measure("key: make_key, 232 bars", iters(2000), 0, [&](int i) {
    auto k = make_key("AAPL", make_bars(232, i % 7), bot_params(), bot_model());
    must(k.has_value(), "make_key failed");
  }));

  memory_tier mem(256u << 20, clock.ptr());
  for (const auto& e : entries) mem.put(e);
  rows.push_back(measure("memory get, 1 key", iters(200000), 5, [&](int i) {
    must(mem.get(keys[static_cast<std::size_t>(i % n_keys)].id)->has_value(), "memory miss");
  }));
  rows.push_back(measure(
      "memory get_many 70, per key", iters(20000), 5,
      [&](int i) { must(mem.get_many(batches[static_cast<std::size_t>(i) % batches.size()]).has_value(), "memory"); },
      batch));

  disk_config dc;
  dc.dir = dir.path / "disk";
  disk_tier disk(dc, clock.ptr());
  for (const auto& e : entries) must(disk.put(e).has_value(), "disk put failed");
  rows.push_back(measure("disk get, 1 key", iters(20000), 200, [&](int i) {
    must(disk.get(keys[static_cast<std::size_t>(i % n_keys)].id)->has_value(), "disk miss");
  }));
  rows.push_back(measure(
      "disk get_many 70, per key", iters(1000), 200,
      [&](int i) { must(disk.get_many(batches[static_cast<std::size_t>(i) % batches.size()]).has_value(), "disk"); },
      batch));

  redis_config rc;
  rc.port = server.port();
  redis_tier redis(rc, clock.ptr());
  must(redis.put_many(entries).has_value(), "redis put_many failed");
  rows.push_back(measure("redis get, 1 key", iters(20000), 300, [&](int i) {
    auto r = redis.get(keys[static_cast<std::size_t>(i % n_keys)].id);
    must(r.has_value() && r->has_value(), "redis miss");
  }));
  rows.push_back(measure(
      "redis MGET 70, per key", iters(2000), 300,
      [&](int i) { must(redis.get_many(batches[static_cast<std::size_t>(i) % batches.size()]).has_value(), "redis"); },
      batch));
  rows.push_back(measure("redis MGET 70, whole batch", iters(2000), 2000, [&](int i) {
    must(redis.get_many(batches[static_cast<std::size_t>(i) % batches.size()]).has_value(), "redis");
  }));
  rows.push_back(measure("redis SET pipeline 70, whole batch", iters(1000), 0, [&](int i) {
    std::vector<entry> es(entries.begin() + (i % 14) * batch, entries.begin() + (i % 14 + 1) * batch);
    must(redis.put_many(es).has_value(), "redis put_many");
  }));

  // The facade as the actor sees it: memory hits, and a batch of 70 served by Redis alone.
  cache_config fc;
  fc.dir = (dir.path / "facade").string();
  fc.redis_enabled = true;
  fc.redis.port = server.port();
  fc.redis.key_prefix = rc.key_prefix;
  forecast_cache facade(fc, clock.ptr());
  std::vector<cache_key> batch_keys(keys.begin(), keys.begin() + batch);
  facade.get_many(batch_keys);  // Redis hits, promoted to memory
  rows.push_back(measure("facade get_many 70 (memory hits), batch", iters(20000), 0,
                         [&](int) { must(facade.get_many(batch_keys)[0].has_value(), "facade miss"); }));
  cache_config rc_only = fc;
  rc_only.memory_enabled = false;
  rc_only.disk_enabled = false;
  forecast_cache redis_only(rc_only, clock.ptr());
  rows.push_back(measure("facade get_many 70 (redis hits), batch", iters(2000), 2000, [&](int i) {
    must(redis_only.get_many(batch_keys)[static_cast<std::size_t>(i % batch)].has_value(), "facade redis miss");
  }));

  std::printf("\n%-44s %10s %10s %10s %10s %8s %8s\n", "operation", "p50 us", "p99 us", "max us", "target", "samples",
              "");
  int failed = 0;
  for (const auto& r : rows) {
    const bool has_target = r.target_us > 0;
    const bool ok = !has_target || r.p99_us <= r.target_us;
    failed += ok ? 0 : 1;
    char target[32] = "-";
    if (has_target) std::snprintf(target, sizeof target, "<=%g", r.target_us);
    std::printf("%-44s %10.2f %10.2f %10.1f %10s %8d %8s\n", r.what.c_str(), r.p50_us, r.p99_us, r.max_us, target,
                r.samples, has_target ? (ok ? "ok" : "MISSED") : "");
  }
  std::printf("\n%s\n", failed ? "some p99 targets missed" : "all p99 targets met");
  return 0;
}
