// The memory and disk tiers: hits, TTLs on an injected clock, eviction order, corrupt and
// truncated files, an unwritable directory, a full disk, verify and clear; one folder shared by
// several tiers and processes (the budget counts every writer's files; racing puts, gets and
// evictions never serve a torn or wrong entry).
#define BOOST_TEST_MODULE cache_local_tiers
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <csignal>
#include <fstream>
#include <thread>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cache/codec.hpp"
#include "cache/disk_tier.hpp"
#include "cache/memory_tier.hpp"
#include "tests/cache/cache_test_support.hpp"

using namespace tb::cache;
using namespace tb::cache::testing;
namespace fs = std::filesystem;

namespace {

entry entry_of(const cache_key& k, double tag, window_kind kind, const manual_clock& clock, ttl_policy policy = {}) {
  return make_entry(k, make_forecast(tag), kind, policy, clock.now());
}

std::optional<entry> hit(tier& t, const cache_key& k) {
  auto r = t.get(k.id);
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
  return *r;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void spit(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

disk_config disk_in(const fs::path& dir, std::uint64_t max_bytes = 1ull << 30) {
  disk_config c;
  c.dir = dir;
  c.max_bytes = max_bytes;
  return c;
}

}  // namespace

// ---------------------------------------------------------------- memory

BOOST_AUTO_TEST_CASE(memory_hit_miss_and_stats) {
  manual_clock clock;
  memory_tier m(1 << 20, clock.ptr());
  const cache_key a = key_of("AAPL", 0), b = key_of("AAPL", 1);
  BOOST_TEST(!hit(m, a).has_value());
  BOOST_TEST_REQUIRE(m.put(entry_of(a, 1.0, window_kind::live, clock)).has_value());
  auto got = hit(m, a);
  BOOST_TEST_REQUIRE(got.has_value());
  BOOST_TEST((got->value.rows == make_forecast(1.0).rows));
  auto many = m.get_many({a.id, b.id});
  BOOST_TEST_REQUIRE(many.has_value());
  BOOST_TEST((*many)[0].has_value());
  BOOST_TEST(!(*many)[1].has_value());
  const tier_stats s = m.stats();
  BOOST_TEST(s.hits == 2u);
  BOOST_TEST(s.misses == 2u);
  BOOST_TEST(s.saves == 1u);
  BOOST_TEST(s.entries == 1u);
  BOOST_TEST(s.latency_samples == 3u);
  BOOST_TEST(m.erase(a.id).value());
  BOOST_TEST(!m.erase(a.id).value());
  BOOST_TEST(!hit(m, a).has_value());
}

BOOST_AUTO_TEST_CASE(memory_evicts_least_recently_used_under_the_byte_budget) {
  manual_clock clock;
  const cache_key k0 = key_of("AAPL", 0);
  const std::size_t one = memory_footprint(entry_of(k0, 0, window_kind::live, clock));
  memory_tier m(one * 3, clock.ptr());  // room for exactly three
  std::vector<cache_key> k;
  for (int i = 0; i < 5; ++i) k.push_back(key_of("AAPL", i));
  for (int i = 0; i < 3; ++i) m.put(entry_of(k[i], i, window_kind::live, clock));
  BOOST_TEST(hit(m, k[0]).has_value());  // k0 becomes most recently used: k1 is now the LRU
  m.put(entry_of(k[3], 3, window_kind::live, clock));
  BOOST_TEST(!hit(m, k[1]).has_value());
  BOOST_TEST(hit(m, k[0]).has_value());
  m.put(entry_of(k[4], 4, window_kind::live, clock));  // evicts k2 (k0, k3 used later)
  BOOST_TEST(!hit(m, k[2]).has_value());
  const auto mru = m.keys_mru();
  BOOST_TEST_REQUIRE(mru.size() == 3u);
  BOOST_TEST((mru[0] == k[4].id));
  BOOST_TEST((mru[1] == k[0].id));
  BOOST_TEST((mru[2] == k[3].id));
  BOOST_TEST(m.stats().evictions == 2u);
  BOOST_TEST(m.stats().bytes <= one * 3);
  // An entry larger than the whole budget is refused, and evicts nothing.
  memory_tier tiny(16, clock.ptr());
  BOOST_TEST(!tiny.put(entry_of(k[0], 0, window_kind::live, clock)).has_value());
}

BOOST_AUTO_TEST_CASE(memory_ttl_live_closed_and_never) {
  manual_clock clock;
  memory_tier m(1 << 20, clock.ptr());
  ttl_policy policy{300, 7 * 86400};
  const cache_key live = key_of("AAPL", 0), closed = key_of("AAPL", 1), never = key_of("AAPL", 2);
  m.put(entry_of(live, 1, window_kind::live, clock, policy));
  m.put(entry_of(closed, 2, window_kind::closed, clock, policy));
  m.put(entry_of(never, 3, window_kind::live, clock, ttl_policy{0, 0}));
  clock.advance_s(299);
  BOOST_TEST(hit(m, live).has_value());
  clock.advance_s(1);  // 300 s: the live window expired
  BOOST_TEST(!hit(m, live).has_value());
  BOOST_TEST(hit(m, closed).has_value());
  clock.advance_s(7 * 86400);
  BOOST_TEST(!hit(m, closed).has_value());
  BOOST_TEST(hit(m, never).has_value());
  BOOST_TEST(m.stats().expired == 2u);
  BOOST_TEST(m.stats().entries == 1u);
  BOOST_TEST(m.clear().value() == 1u);
}

// ---------------------------------------------------------------- disk

BOOST_AUTO_TEST_CASE(disk_round_trip_survives_a_restart) {
  manual_clock clock;
  temp_dir dir;
  const cache_key a = key_of("AAPL", 0), b = key_of("MSFT", 0);
  {
    disk_tier d(disk_in(dir.path), clock.ptr());
    BOOST_TEST(!d.degraded());
    BOOST_TEST(!hit(d, a).has_value());
    BOOST_TEST_REQUIRE(d.put(entry_of(a, 7.0, window_kind::closed, clock)).has_value());
    BOOST_TEST(fs::exists(d.path_of(a.id)));
    BOOST_TEST(d.path_of(a.id).parent_path().filename().string() == a.hex().substr(0, 2));
    auto got = hit(d, a);
    BOOST_TEST_REQUIRE(got.has_value());
    BOOST_TEST((got->value.rows == make_forecast(7.0).rows));
    BOOST_TEST((got->kind == window_kind::closed));
  }
  disk_tier d(disk_in(dir.path), clock.ptr());  // a new process: the index comes from a scan
  BOOST_TEST(d.stats().entries == 1u);
  BOOST_TEST(d.stats().bytes == fs::file_size(d.path_of(a.id)));
  BOOST_TEST(hit(d, a).has_value());
  auto many = d.get_many({a.id, b.id});
  BOOST_TEST_REQUIRE(many.has_value());
  BOOST_TEST((*many)[0].has_value());
  BOOST_TEST(!(*many)[1].has_value());
  // No temporary file is left behind.
  for (const auto& f : fs::recursive_directory_iterator(dir.path)) BOOST_TEST(f.path().extension() != ".tmp");
}

BOOST_AUTO_TEST_CASE(disk_expired_entries_are_misses_and_removed) {
  manual_clock clock;
  temp_dir dir;
  disk_tier d(disk_in(dir.path), clock.ptr());
  const cache_key live = key_of("AAPL", 0), closed = key_of("AAPL", 1);
  d.put(entry_of(live, 1, window_kind::live, clock, {300, 86400}));
  d.put(entry_of(closed, 2, window_kind::closed, clock, {300, 86400}));
  clock.advance_s(301);
  BOOST_TEST(!hit(d, live).has_value());
  BOOST_TEST(!fs::exists(d.path_of(live.id)));
  BOOST_TEST(hit(d, closed).has_value());
  clock.advance_s(86400);
  BOOST_TEST(!hit(d, closed).has_value());
  BOOST_TEST(d.stats().expired == 2u);
  BOOST_TEST(d.stats().entries == 0u);
}

BOOST_AUTO_TEST_CASE(disk_evicts_oldest_first_above_the_size_cap) {
  manual_clock clock;
  temp_dir dir;
  std::vector<cache_key> k;
  for (int i = 0; i < 6; ++i) k.push_back(key_of("AAPL", i));
  const std::uint64_t one = encode_entry(entry_of(k[0], 0, window_kind::live, clock)).size();
  {
    disk_tier d(disk_in(dir.path, one * 3), clock.ptr());
    for (int i = 0; i < 3; ++i) d.put(entry_of(k[i], i, window_kind::live, clock));
    BOOST_TEST(hit(d, k[0]).has_value());                 // reads do not refresh: oldest WRITTEN goes first
    d.put(entry_of(k[1], 11, window_kind::live, clock));  // a rewrite makes k1 the newest
    d.put(entry_of(k[3], 3, window_kind::live, clock));   // evicts k0
    BOOST_TEST(!fs::exists(d.path_of(k[0].id)));
    d.put(entry_of(k[4], 4, window_kind::live, clock));  // evicts k2
    BOOST_TEST(!fs::exists(d.path_of(k[2].id)));
    const auto order = d.keys_oldest_first();
    BOOST_TEST_REQUIRE(order.size() == 3u);
    BOOST_TEST((order[0] == k[1].id));
    BOOST_TEST((order[1] == k[3].id));
    BOOST_TEST((order[2] == k[4].id));
    BOOST_TEST(d.stats().evictions == 2u);
    BOOST_TEST(d.stats().bytes <= one * 3);
  }
  // At start, files are ordered by modification time: make k4 the oldest on disk.
  disk_tier probe(disk_in(dir.path, one * 3), clock.ptr());
  const auto t = fs::last_write_time(probe.path_of(k[1].id));
  fs::last_write_time(probe.path_of(k[4].id), t - std::chrono::hours(1));
  fs::last_write_time(probe.path_of(k[3].id), t + std::chrono::hours(1));
  disk_tier d(disk_in(dir.path, one * 3), clock.ptr());
  d.put(entry_of(k[5], 5, window_kind::live, clock));  // evicts k4, the oldest file
  BOOST_TEST(!fs::exists(d.path_of(k[4].id)));
  BOOST_TEST(fs::exists(d.path_of(k[1].id)));
  BOOST_TEST(fs::exists(d.path_of(k[3].id)));
}

BOOST_AUTO_TEST_CASE(disk_corrupt_truncated_and_misnamed_files_are_misses_and_removed) {
  manual_clock clock;
  temp_dir dir;
  disk_tier d(disk_in(dir.path), clock.ptr());
  std::vector<cache_key> k;
  for (int i = 0; i < 5; ++i) {
    k.push_back(key_of("AAPL", i));
    d.put(entry_of(k[i], i, window_kind::closed, clock));
  }
  // 0: one flipped bit in a forecast value.
  std::string bytes = slurp(d.path_of(k[0].id));
  bytes[bytes.size() - 3] ^= 0x10;
  spit(d.path_of(k[0].id), bytes);
  // 1: truncated mid-payload; 2: empty (a crash before the first byte).
  bytes = slurp(d.path_of(k[1].id));
  spit(d.path_of(k[1].id), bytes.substr(0, bytes.size() / 2));
  spit(d.path_of(k[2].id), "");
  // 3: a valid entry of key 4 under key 3's name (never serve another key's forecast).
  fs::copy_file(d.path_of(k[4].id), d.path_of(k[3].id), fs::copy_options::overwrite_existing);
  for (int i = 0; i < 4; ++i) {
    BOOST_TEST_CONTEXT("file " << i) {
      BOOST_TEST(!hit(d, k[i]).has_value());
      BOOST_TEST(!fs::exists(d.path_of(k[i].id)));
    }
  }
  BOOST_TEST(d.stats().corrupt == 4u);
  BOOST_TEST(d.stats().errors == 0u);
  auto good = hit(d, k[4]);
  BOOST_TEST_REQUIRE(good.has_value());
  BOOST_TEST((good->value.rows == make_forecast(4).rows));
}

BOOST_AUTO_TEST_CASE(disk_verify_reports_and_removes_corrupt_entries) {
  manual_clock clock;
  temp_dir dir;
  disk_tier d(disk_in(dir.path), clock.ptr());
  std::vector<cache_key> k;
  for (int i = 0; i < 4; ++i) {
    k.push_back(key_of("AAPL", i));
    d.put(entry_of(k[i], i, i == 3 ? window_kind::live : window_kind::closed, clock));
  }
  spit(d.path_of(k[0].id), "garbage");
  clock.advance_s(301);  // k3 (live) expired
  const verify_report dry = d.verify(false);
  BOOST_TEST(dry.files == 4u);
  BOOST_TEST(dry.ok == 2u);
  BOOST_TEST(dry.corrupt == 1u);
  BOOST_TEST(dry.expired == 1u);
  BOOST_TEST(dry.removed == 0u);
  BOOST_TEST_REQUIRE(dry.problems.size() == 1u);
  BOOST_TEST(dry.problems[0].find(k[0].hex()) != std::string::npos);
  BOOST_TEST(fs::exists(d.path_of(k[0].id)));
  const verify_report rep = d.verify(true);
  BOOST_TEST(rep.removed == 2u);
  BOOST_TEST(!fs::exists(d.path_of(k[0].id)));
  BOOST_TEST(!fs::exists(d.path_of(k[3].id)));
  BOOST_TEST(d.stats().entries == 2u);
  BOOST_TEST(d.verify(false).corrupt == 0u);
}

BOOST_AUTO_TEST_CASE(disk_clear_removes_only_cache_files) {
  manual_clock clock;
  temp_dir dir;
  disk_tier d(disk_in(dir.path), clock.ptr());
  for (int i = 0; i < 3; ++i) d.put(entry_of(key_of("AAPL", i), i, window_kind::live, clock));
  spit(dir.path / "operator-notes.txt", "keep me");
  fs::create_directories(dir.path / "ab");
  spit(dir.path / "ab" / "not-an-entry.bin", "keep me too");
  BOOST_TEST(d.clear().value() == 3u);
  BOOST_TEST(d.stats().entries == 0u);
  BOOST_TEST(d.stats().bytes == 0u);
  BOOST_TEST(fs::exists(dir.path / "operator-notes.txt"));
  BOOST_TEST(fs::exists(dir.path / "ab" / "not-an-entry.bin"));
}

BOOST_AUTO_TEST_CASE(disk_unwritable_directory_is_degraded_not_fatal) {
  manual_clock clock;
  temp_dir dir;
  // A regular file where the cache directory should be: mkdir fails even for root.
  spit(dir.path / "blocker", "x");
  disk_tier d(disk_in(dir.path / "blocker" / "cache"), clock.ptr());
  BOOST_TEST(d.degraded());
  BOOST_TEST(d.stats().state == "degraded");
  const cache_key a = key_of("AAPL", 0);
  auto put = d.put(entry_of(a, 1, window_kind::live, clock));
  BOOST_TEST(!put.has_value());
  BOOST_TEST(!hit(d, a).has_value());  // reads are a plain miss
  BOOST_TEST(d.stats().rejected == 1u);
}

BOOST_AUTO_TEST_CASE(disk_full_degrades_then_recovers) {
  manual_clock clock;
  temp_dir dir;
  disk_config cfg = disk_in(dir.path);
  cfg.retry_after = std::chrono::milliseconds(0);  // retry on the next put
  disk_tier d(cfg, clock.ptr());
  const cache_key a = key_of("AAPL", 0), b = key_of("AAPL", 1);
  // A file-size limit makes write(2) fail with EFBIG, as a full disk fails with ENOSPC.
  std::signal(SIGXFSZ, SIG_IGN);
  rlimit old{};
  getrlimit(RLIMIT_FSIZE, &old);
  rlimit small = old;
  small.rlim_cur = 64;
  BOOST_TEST_REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
  auto put = d.put(entry_of(a, 1, window_kind::live, clock));
  setrlimit(RLIMIT_FSIZE, &old);
  BOOST_TEST(!put.has_value());
  BOOST_TEST(d.degraded());
  BOOST_TEST(d.stats().errors == 1u);
  BOOST_TEST(!hit(d, a).has_value());
  // No partial file and no temporary file remain.
  BOOST_TEST(!fs::exists(d.path_of(a.id)));
  for (const auto& f : fs::recursive_directory_iterator(dir.path)) BOOST_TEST(!f.is_regular_file());
  // Space again: the next put succeeds and clears the state.
  BOOST_TEST(d.put(entry_of(b, 2, window_kind::live, clock)).has_value());
  BOOST_TEST(!d.degraded());
  BOOST_TEST(hit(d, b).has_value());
}

// ---------------------------------------------------------------- one folder, several writers

BOOST_AUTO_TEST_CASE(disk_budget_counts_what_other_writers_put_in_the_folder) {
  manual_clock clock;
  temp_dir dir;
  std::vector<cache_key> k;
  for (int i = 0; i < 16; ++i) k.push_back(key_of("AAPL", i));
  const std::uint64_t one = encode_entry(entry_of(k[0], 0, window_kind::closed, clock)).size();
  const std::uint64_t budget = one * 10;
  // Two processes' tiers on one folder (two instances here): each writes 8 entries.
  disk_tier a(disk_in(dir.path, budget), clock.ptr());
  disk_tier b(disk_in(dir.path, budget), clock.ptr());
  for (int i = 0; i < 8; ++i) BOOST_TEST_REQUIRE(b.put(entry_of(k[i], i, window_kind::closed, clock)).has_value());
  for (int i = 8; i < 16; ++i) BOOST_TEST_REQUIRE(a.put(entry_of(k[i], i, window_kind::closed, clock)).has_value());
  auto on_disk = [&] {
    std::uint64_t bytes = 0, files = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir.path))
      if (e.is_regular_file()) bytes += e.file_size(), ++files;
    return std::make_pair(files, bytes);
  };
  BOOST_TEST(on_disk().second == one * 16);  // each tier is within its own budget
  // A re-reads the folder: 16 entries against a budget of 10, the oldest go.
  a.resync();
  BOOST_TEST(on_disk().second <= budget);
  BOOST_TEST(a.stats().bytes == on_disk().second);
  BOOST_TEST(a.stats().entries == on_disk().first);
  BOOST_TEST(a.stats().evictions == 6u);
  // B forgets what A removed, and a missing file is a plain miss for it.
  b.resync();
  BOOST_TEST(b.stats().entries == on_disk().first);
  std::uint64_t misses = 0;
  for (const auto& key : k) {
    auto r = b.get(key.id);
    BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
    if (!*r) ++misses;
  }
  BOOST_TEST(misses == 6u);
  BOOST_TEST(b.stats().errors == 0u);
  BOOST_TEST(b.stats().corrupt == 0u);
  // maintain() resyncs only once resync_interval has passed.
  disk_config lazy = disk_in(dir.path, budget);
  lazy.resync_interval = std::chrono::hours(1);
  disk_tier c(lazy, clock.ptr());
  const auto before = c.stats().entries;
  BOOST_TEST_REQUIRE(b.put(entry_of(k[0], 0, window_kind::closed, clock)).has_value());
  c.maintain();
  BOOST_TEST(c.stats().entries == before);
}

// Processes (fork) x instances (threads) on one small folder: puts, gets and eviction race; every
// hit is the entry of its key, bit for bit, and no read is an error or a corrupt file.
BOOST_AUTO_TEST_CASE(disk_concurrent_processes_and_instances_never_serve_a_torn_or_wrong_entry) {
  temp_dir dir;
  constexpr int n_keys = 60, n_procs = 4, n_threads = 2, n_ops = 1500;
  std::vector<cache_key> keys;
  for (int i = 0; i < n_keys; ++i) keys.push_back(key_of("NVDA", i));
  const std::uint64_t one = encode_entry(make_entry(keys[0], make_forecast(0), window_kind::closed, {}, 0)).size();
  const std::uint64_t budget = one * 20;  // a third of the keys: eviction all the time
  std::vector<pid_t> children;
  for (int p = 0; p < n_procs; ++p) {
    const pid_t pid = ::fork();
    BOOST_REQUIRE(pid >= 0);
    if (pid > 0) {
      children.push_back(pid);
      continue;
    }
    // Child: exit codes say what went wrong (no Boost.Test here).
    std::atomic<int> failure{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < n_threads; ++t)
      threads.emplace_back([&, t] {
        manual_clock clock;
        disk_tier d(disk_in(dir.path, budget), clock.ptr());
        std::uint64_t x = 0x9e3779b97f4a7c15ull * static_cast<std::uint64_t>(::getpid() * 4 + t + 1);
        for (int op = 0; op < n_ops && !failure; ++op) {
          x ^= x << 13, x ^= x >> 7, x ^= x << 17;
          const int i = static_cast<int>(x % n_keys);
          if (x >> 60 < 6) {
            if (!d.put(make_entry(keys[i], make_forecast(i), window_kind::closed, {}, clock.now()))) failure = 2;
          } else {
            auto r = d.get(keys[i].id);
            if (!r)
              failure = 3;  // a read error, not a miss
            else if (*r && (*r)->value.rows != make_forecast(i).rows)
              failure = 4;
          }
          if (op % 200 == 199) d.resync();
        }
        const auto s = d.stats();
        if (!failure && (s.corrupt != 0 || s.errors != 0)) failure = 5;
        if (!failure && s.hits == 0) failure = 6;  // the test must really read entries
      });
    for (auto& th : threads) th.join();
    ::_exit(failure);
  }
  for (const pid_t c : children) {
    int status = 0;
    BOOST_REQUIRE(::waitpid(c, &status, 0) == c);
    BOOST_TEST(WIFEXITED(status));
    BOOST_TEST(WEXITSTATUS(status) == 0, "child "
                                             << c << " failed with " << WEXITSTATUS(status)
                                             << " (2 put, 3 read error, 4 wrong entry, 5 corrupt/errors, 6 no hit)");
  }
  manual_clock clock;
  disk_tier d(disk_in(dir.path, budget), clock.ptr());
  const auto rep = d.verify(false);
  BOOST_TEST(rep.corrupt == 0u);
  BOOST_TEST(rep.ok == rep.files);
  BOOST_TEST(rep.files > 0u);
  std::size_t temp_files = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir.path))
    if (e.path().filename().string().front() == '.') ++temp_files;
  BOOST_TEST(temp_files == 0u);  // every write was renamed or removed
}
