#pragma once
// What every tier has in common: its counters (declared once, here) and the interface the
// forecast_cache facade composes.
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cache/entry.hpp"
#include "core/error.hpp"
#include "core/latency_histogram.hpp"

namespace tb::cache {

// A point-in-time copy of a tier's counters (plain values).
struct tier_stats {
  std::string name;             // memory | disk | redis
  std::string state = "ok";     // ok | degraded (disk) ; connected | connecting | down (redis)
  std::uint64_t hits = 0;       // get found a valid, unexpired entry
  std::uint64_t misses = 0;     // get found nothing usable (absent, expired, corrupt, error)
  std::uint64_t errors = 0;     // failed operations (I/O, Redis), each counted once
  std::uint64_t saves = 0;      // entries stored
  std::uint64_t evictions = 0;  // entries removed to stay under the size budget
  std::uint64_t expired = 0;    // entries found expired and removed
  std::uint64_t corrupt = 0;    // entries that failed to decode, removed
  std::uint64_t rejected = 0;   // requests refused without trying (circuit open, degraded)
  std::uint64_t entries = 0;    // entries held now (memory, disk; 0 for redis: not tracked)
  std::uint64_t bytes = 0;      // bytes held now (memory footprint, disk file bytes)
  double p50_us = 0;            // get/get_many call latency, microseconds (steady clock)
  double p99_us = 0;
  std::uint64_t latency_samples = 0;
  core::histogram_counts latency;  // the same get/get_many latencies, for Prometheus
};

// The live counters of a tier. Thread: every field may be updated and read from any thread.
struct tier_counters {
  std::atomic<std::uint64_t> hits{0}, misses{0}, errors{0}, saves{0}, evictions{0}, expired{0}, corrupt{0}, rejected{0};
  core::latency_histogram latency;

  // Fills the counter fields of `s` (not name, state, entries, bytes).
  void fill(tier_stats& s) const;
};

// A lookup of one key: nullopt is a miss. A tier turns every problem it can classify (absent,
// expired, corrupt) into a miss; it returns an error only when it could not look at all (Redis
// unreachable, circuit open, an I/O error), so the caller can tell "not there" from "unknown".
using lookup = tb::expected<std::optional<entry>>;
using lookups = tb::expected<std::vector<std::optional<entry>>>;

// The interface every tier implements. The thread contract is each class's own (see its header).
class tier {
 public:
  virtual ~tier() = default;
  virtual const char* name() const = 0;
  virtual lookup get(const digest& key) = 0;
  // One answer per key, in order.
  virtual lookups get_many(const std::vector<digest>& keys) = 0;
  // Stores e under e.key_id; returns the bytes stored.
  virtual tb::expected<std::size_t> put(const entry& e) = 0;
  // Stores each entry; returns how many were stored (an error only if none could be tried).
  virtual tb::expected<std::size_t> put_many(const std::vector<entry>& es);
  // Removes a key; returns whether it was there (redis: whether DEL removed one).
  virtual tb::expected<bool> erase(const digest& key) = 0;
  // Removes every entry of this cache; returns how many were removed.
  virtual tb::expected<std::size_t> clear() = 0;
  // Thread: may be called from any thread.
  virtual tier_stats stats() const = 0;
};

}  // namespace tb::cache
