#include "cache/memory_tier.hpp"

namespace tb::cache {

memory_tier::memory_tier(std::size_t max_bytes, clock_ptr clock) : max_bytes_(max_bytes), clock_(std::move(clock)) {}

void memory_tier::remove_locked(list_t::iterator it) {
  bytes_ -= it->bytes;
  index_.erase(it->value.key_id);
  lru_.erase(it);
}

std::optional<entry> memory_tier::get_locked(const digest& key, std::int64_t now_ms) {
  auto found = index_.find(key);
  if (found == index_.end()) {
    counters_.misses.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  auto it = found->second;
  if (it->value.expired(now_ms)) {
    remove_locked(it);
    counters_.expired.fetch_add(1, std::memory_order_relaxed);
    counters_.misses.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it);
  counters_.hits.fetch_add(1, std::memory_order_relaxed);
  return it->value;
}

lookup memory_tier::get(const digest& key) {
  core::scoped_latency t(counters_.latency);
  const std::int64_t now = now_ms(*clock_);
  std::lock_guard<std::mutex> lock(mu_);
  return get_locked(key, now);
}

lookups memory_tier::get_many(const std::vector<digest>& keys) {
  core::scoped_latency t(counters_.latency);
  const std::int64_t now = now_ms(*clock_);
  std::vector<std::optional<entry>> out;
  out.reserve(keys.size());
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& k : keys) out.push_back(get_locked(k, now));
  return out;
}

tb::expected<std::size_t> memory_tier::put(const entry& e) {
  const std::size_t bytes = memory_footprint(e);
  if (bytes > max_bytes_) {
    counters_.rejected.fetch_add(1, std::memory_order_relaxed);
    return tb::error{errc::invalid_argument, "memory cache: entry of " + std::to_string(bytes) +
                                                 " bytes exceeds the budget of " + std::to_string(max_bytes_)};
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto found = index_.find(e.key_id);
  if (found != index_.end()) remove_locked(found->second);
  while (bytes_ + bytes > max_bytes_ && !lru_.empty()) {
    remove_locked(std::prev(lru_.end()));
    counters_.evictions.fetch_add(1, std::memory_order_relaxed);
  }
  lru_.push_front(node{e, bytes});
  index_.emplace(e.key_id, lru_.begin());
  bytes_ += bytes;
  counters_.saves.fetch_add(1, std::memory_order_relaxed);
  return bytes;
}

tb::expected<bool> memory_tier::erase(const digest& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto found = index_.find(key);
  if (found == index_.end()) return false;
  remove_locked(found->second);
  return true;
}

tb::expected<std::size_t> memory_tier::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  const std::size_t n = lru_.size();
  lru_.clear();
  index_.clear();
  bytes_ = 0;
  return n;
}

tier_stats memory_tier::stats() const {
  tier_stats s;
  s.name = name();
  counters_.fill(s);
  std::lock_guard<std::mutex> lock(mu_);
  s.entries = lru_.size();
  s.bytes = bytes_;
  return s;
}

std::vector<digest> memory_tier::keys_mru() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<digest> out;
  out.reserve(lru_.size());
  for (const auto& n : lru_) out.push_back(n.value.key_id);
  return out;
}

}  // namespace tb::cache
