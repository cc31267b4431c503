#pragma once
// forecast_cache: the memory, disk and Redis tiers behind one object, as the cache actor owns it.
//
// Read path (owner thread): memory -> disk -> Redis (one MGET for a batch); a disk hit is
// promoted to memory, a Redis hit to memory (at once) and to disk (write-behind).
// Write path: put/put_many insert into memory synchronously and enqueue the disk and Redis
// writes for the write-behind thread; the requester never waits on a slow tier.
//
// Thread contract:
//   - get, get_many, put, put_many, erase, clear, flush, verify, maintain: ONE owner thread at a
//     time (the cache actor; a detached actor or its own executor, since a Redis read blocks up
//     to command_timeout). They are not to be called concurrently with each other.
//   - stats, health, config: any thread, any time.
//   - The write-behind thread is started by the constructor (when disk or Redis is enabled) and
//     joined by the destructor, which first drains the queue (bounded: write_queue_max entries,
//     each write bounded by the Redis command timeout or fast-failed by its circuit breaker).
//     It owns the Redis write connection; the owner thread owns the Redis read connection; the
//     disk tier is shared and thread-safe.
//   - The queue holds at most write_queue_max puts; a put beyond that is not written to disk or
//     Redis (it stays in memory) and counts in write_drops. Erase and clear are never dropped.
// enabled=false: no tier, no thread, no directory; every get misses and nothing is counted.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cache/disk_tier.hpp"
#include "cache/entry.hpp"
#include "cache/key.hpp"
#include "cache/memory_tier.hpp"
#include "cache/redis_tier.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/snapshot_board.hpp"

namespace tb::cache {

// Every knob, with its default: the [cache] section of the daemon's config (config_rows() names
// each key, its bounds and its environment variable).
struct cache_config {
  bool enabled = true;
  int decimals = default_decimals;
  std::int64_t ttl_s = 300;                // 0 = never expires
  std::int64_t history_ttl_s = 7 * 86400;  // 0 = never expires
  bool memory_enabled = true;
  std::uint64_t memory_max_mb = 256;  // MiB
  bool disk_enabled = true;
  std::string dir = "/var/cache/tradebotd";           // systemd CacheDirectory
  std::uint64_t max_size_mb = 1000;                   // MiB
  std::chrono::milliseconds disk_retry_after{30000};  // degraded disk: next write attempt after
  bool redis_enabled = false;
  redis_config redis;                             // its log_interval is this log_interval
  std::size_t write_queue_max = 10000;            // write-behind queue bound (entries)
  std::size_t write_batch_max = 256;              // entries per pipelined Redis batch
  std::chrono::milliseconds log_interval{60000};  // failures are logged at most once per this

  ttl_policy ttl() const { return {ttl_s, history_ttl_s}; }
};

// The [cache] keys, one row per member above; every one is read at start only (the cache actor
// builds its forecast_cache once).
const core::rows<cache_config>& config_rows();

// The cross-key rules of the [cache] keys: one line per problem appended to `errors`.
void check(const cache_config& c, std::vector<std::string>& errors);

// The bounds of config_rows() and check(); returns the config unchanged or errc::bad_config naming
// the first problem (its environment variable, or its key).
tb::expected<cache_config> validate(cache_config config);

struct cache_stats {
  bool enabled = false;
  std::uint64_t hits = 0;         // requests answered by some tier
  std::uint64_t misses = 0;       // requests no tier answered
  std::uint64_t saves = 0;        // entries accepted by put/put_many
  double hit_rate_percent = 0;    // 100 * hits / (hits + misses); 0 with no requests
  std::uint64_t num_entries = 0;  // entries in the disk tier if enabled, else in memory
  double cache_size_mb = 0;       // bytes of that tier / MiB
  std::int64_t ttl_seconds = 0;
  std::int64_t history_ttl_seconds = 0;
  std::uint64_t evictions = 0;           // memory + disk
  std::uint64_t corrupt_entries = 0;     // disk + redis
  std::string redis_state = "disabled";  // disabled | connecting | connected | down
  std::uint64_t write_queue_depth = 0;
  std::uint64_t write_drops = 0;
  std::vector<tier_stats> tiers;  // enabled tiers, in read order
};

// The /stats "cache" section: every field of cache_stats; tiers as
// {"memory": {"hits", "misses", "errors", "latency_p50_us", "latency_p99_us", ...,
// "latency_seconds": the get latency histogram (core::to_json(histogram_counts))}, ...}.
nlohmann::json to_json(const cache_stats& s);
// The /health check of those stats: ok, or degraded (disk degraded, Redis not connected); never
// failing: the daemon forecasts without a cache.
core::health_check health_of(const cache_stats& s);
// "Kronos Prediction Cache Stats: hits=X misses=Y hit_rate=Z%" (the daemon logs it on stop).
std::string summary_line(const cache_stats& s);

// One put of a batch.
struct put_request {
  cache_key key;
  core::forecast value;
  window_kind kind = window_kind::live;
};

class forecast_cache {
 public:
  // config must have passed validate(). Never fails: an unusable tier is degraded, not fatal.
  // clock: the injected clock (core/clock.hpp) that stamps creation and expiry; read from the
  // owner and the write-behind thread; never null (the wall clock when omitted).
  explicit forecast_cache(cache_config config, clock_ptr clock = std::make_shared<const core::wall_clock>());
  ~forecast_cache();
  forecast_cache(const forecast_cache&) = delete;
  forecast_cache& operator=(const forecast_cache&) = delete;

  // The key of a window under this cache's rounding (config().decimals).
  tb::expected<cache_key> make_key(const core::forecast_window& window, const core::model_identity& model) const;

  // Owner thread. A hit is an unexpired entry of exactly this key.
  std::optional<entry> get(const cache_key& key);
  // Owner thread. One answer per key, in order; one disk pass and one Redis MGET for the misses.
  std::vector<std::optional<entry>> get_many(const std::vector<cache_key>& keys);

  // Owner thread. Stores into memory now and queues the disk and Redis writes. Returns whether
  // the slow-tier write was queued (false: queue full, memory only). Errors: invalid_argument
  // for a forecast with a non-finite value or too many rows (nothing is stored). Disabled: false.
  tb::expected<bool> put(const cache_key& key, core::forecast value, window_kind kind);
  // Owner thread. As put, for many; returns how many were queued for the slow tiers.
  tb::expected<std::size_t> put_many(std::vector<put_request> requests);

  // Owner thread. Removes from memory now and queues the removal from disk and Redis.
  // Returns whether memory held it.
  tb::expected<bool> erase(const cache_key& key);
  // Owner thread. Drops queued writes, then clears every tier; waits up to `timeout` for the
  // write-behind thread. Returns entries removed from disk + Redis + memory.
  tb::expected<std::size_t> clear(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Owner thread. Waits until every queued write has been done; false on timeout.
  bool flush(std::chrono::milliseconds timeout);
  // Owner thread. Operator `verify`: decodes every disk entry; removes corrupt (and expired)
  // ones when `remove`. An empty report when the disk tier is off.
  verify_report verify(bool remove);
  // Owner thread, optional: call on a timer (e.g. every second). Re-opens the Redis read
  // connection once its backoff has passed, so state recovers without read traffic, and lets the
  // disk tier re-read its folder every resync_interval (disk_tier::maintain: other processes'
  // files count in the budget).
  void maintain();

  // Any thread.
  cache_stats stats() const;
  // Any thread. health_of(stats()).
  core::health_check health() const;
  const cache_config& config() const { return config_; }

 private:
  enum class job_kind { put, erase, clear };
  struct job {
    job_kind kind = job_kind::put;
    entry value;          // put
    digest key{};         // erase
    bool to_disk = true;  // put: which slow tiers
    bool to_redis = true;
  };

  std::optional<tb::error> check_forecast(const core::forecast& f) const;
  // mu_ must be held. Returns false when the bounded queue is full (puts only).
  bool enqueue_locked(job j);
  void writer_loop();
  void run_jobs(std::vector<job>& jobs);

  const cache_config config_;
  const clock_ptr clock_;  // never null
  std::unique_ptr<memory_tier> memory_;
  std::unique_ptr<disk_tier> disk_;
  std::unique_ptr<redis_tier> redis_read_;   // owner thread
  std::unique_ptr<redis_tier> redis_write_;  // write-behind thread

  mutable std::mutex mu_;
  std::condition_variable work_cv_;       // jobs queued or stop
  std::condition_variable idle_cv_;       // queue empty and writer idle
  std::deque<job> queue_;                 // guarded by mu_
  std::size_t queued_puts_ = 0;           // guarded by mu_
  bool busy_ = false;                     // guarded by mu_: the writer is running jobs
  bool stop_ = false;                     // guarded by mu_
  std::size_t clear_removed_ = 0;         // guarded by mu_: result of the last clear job
  std::optional<tb::error> clear_error_;  // guarded by mu_
  std::thread writer_;

  std::atomic<std::uint64_t> hits_{0}, misses_{0}, saves_{0}, write_drops_{0};
};

}  // namespace tb::cache
