#pragma once
// A cache entry: the forecast rows plus when it was made, when it expires and what kind of window
// produced it; and the TTL policy that turns a window kind into an expiry.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "cache/key.hpp"
#include "core/clock.hpp"
#include "core/forecast.hpp"

namespace tb::cache {

// The injected clock (core/clock.hpp: wall_clock live, sim_clock in tests and replays). Entry
// creation and expiry (TTL) read ONLY this clock. The facade, its tiers and its write-behind
// thread share one, so it is held by shared_ptr and read from any thread. Latency and the Redis
// reconnect backoff are about real elapsed time and read std::chrono::steady_clock instead.
using clock_ptr = std::shared_ptr<const core::clock>;

// Milliseconds since the Unix epoch (UTC) on `c`, rounded towards negative infinity.
inline std::int64_t now_ms(const core::clock& c) {
  return std::chrono::floor<std::chrono::milliseconds>(c.now().time_since_epoch()).count();
}

// live: the window's newest bar may still change (the current, unfinished bar).
// closed: every bar of the window is final; the forecast can never change.
enum class window_kind : std::uint8_t { live = 0, closed = 1 };
const char* to_string(window_kind k);

struct entry {
  digest key_id{};              // the key this entry answers (checked on every decode)
  std::string symbol;           // copied from the key, for operators (verify, stats)
  core::forecast value;         // pred_len rows of the six features
  std::int64_t created_ms = 0;  // injected clock, ms since the epoch
  std::int64_t expires_ms = 0;  // ms since the epoch; 0 = never expires
  window_kind kind = window_kind::live;

  // Expired at `now_ms`: expires_ms != 0 and now_ms >= expires_ms.
  bool expired(std::int64_t now_ms) const { return expires_ms != 0 && now_ms >= expires_ms; }
};

// live -> ttl_s, closed -> history_ttl_s; 0 = never expires. Seconds.
struct ttl_policy {
  std::int64_t ttl_s = 300;                // KRONOS_PREDICTION_CACHE_TTL
  std::int64_t history_ttl_s = 7 * 86400;  // KRONOS_PREDICTION_CACHE_HISTORY_TTL

  // The expiry of an entry created at now_ms (0 = never).
  std::int64_t expiry_ms(window_kind kind, std::int64_t now_ms) const {
    const std::int64_t s = kind == window_kind::live ? ttl_s : history_ttl_s;
    return s <= 0 ? 0 : now_ms + s * 1000;
  }
};

// An entry for `key`, created now under `policy`.
entry make_entry(const cache_key& key, core::forecast value, window_kind kind, const ttl_policy& policy,
                 std::int64_t now_ms);

// Approximate bytes an entry occupies in memory (used by the memory tier's byte budget).
std::size_t memory_footprint(const entry& e);

}  // namespace tb::cache
