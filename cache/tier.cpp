#include "cache/tier.hpp"

namespace tb::cache {

void tier_counters::fill(tier_stats& s) const {
  s.hits = hits.load(std::memory_order_relaxed);
  s.misses = misses.load(std::memory_order_relaxed);
  s.errors = errors.load(std::memory_order_relaxed);
  s.saves = saves.load(std::memory_order_relaxed);
  s.evictions = evictions.load(std::memory_order_relaxed);
  s.expired = expired.load(std::memory_order_relaxed);
  s.corrupt = corrupt.load(std::memory_order_relaxed);
  s.rejected = rejected.load(std::memory_order_relaxed);
  s.p50_us = latency.quantile_us(0.50);
  s.p99_us = latency.quantile_us(0.99);
  s.latency_samples = latency.count();
  s.latency = latency.prometheus();
}

tb::expected<std::size_t> tier::put_many(const std::vector<entry>& es) {
  std::size_t stored = 0;
  std::optional<tb::error> first;
  for (const auto& e : es) {
    auto r = put(e);
    if (r)
      ++stored;
    else if (!first)
      first = r.error();
  }
  if (stored == 0 && first) return *first;
  return stored;
}

}  // namespace tb::cache
