#pragma once
// Memory tier: an LRU of entries under a byte budget.
//
// Thread: thread-safe (one internal mutex, held for a map lookup and a list splice; entries are
// copied out). Expiry reads the injected clock; an expired entry is removed when seen.
#include <cstddef>
#include <list>
#include <mutex>
#include <unordered_map>

#include "cache/tier.hpp"

namespace tb::cache {

class memory_tier final : public tier {
 public:
  // max_bytes: the budget for memory_footprint() of all entries (KRONOS_CACHE_MEMORY_MAX_MB).
  memory_tier(std::size_t max_bytes, clock_ptr clock);

  const char* name() const override { return "memory"; }
  lookup get(const digest& key) override;
  lookups get_many(const std::vector<digest>& keys) override;
  // Inserts or replaces, as most recently used; evicts least recently used entries until the
  // budget holds. An entry larger than the whole budget is not stored (invalid_argument).
  tb::expected<std::size_t> put(const entry& e) override;
  tb::expected<bool> erase(const digest& key) override;
  tb::expected<std::size_t> clear() override;
  tier_stats stats() const override;

  // The keys from most to least recently used (tests, operators).
  std::vector<digest> keys_mru() const;

 private:
  struct node {
    entry value;
    std::size_t bytes;
  };
  using list_t = std::list<node>;

  // mu_ must be held.
  std::optional<entry> get_locked(const digest& key, std::int64_t now_ms);
  void remove_locked(list_t::iterator it);

  const std::size_t max_bytes_;
  const clock_ptr clock_;  // never null; shared with the other tiers
  mutable std::mutex mu_;
  list_t lru_;                                                       // front = most recently used; guarded by mu_
  std::unordered_map<digest, list_t::iterator, digest_hash> index_;  // guarded by mu_
  std::size_t bytes_ = 0;                                            // guarded by mu_
  tier_counters counters_;
};

}  // namespace tb::cache
