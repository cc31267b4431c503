#pragma once
// Shared helpers of the cache tests and bench: bars and forecasts to cache, a clock the test
// moves, a bounded poll and a temporary directory. No Boost.Test here (bench/cache uses it too).
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/process.hpp"

#include "cache/codec.hpp"
#include "cache/entry.hpp"
#include "cache/key.hpp"
#include "core/clock.hpp"
#include "core/forecast.hpp"

namespace tb::cache {
// Printers for test diagnostics (found by ADL).
inline std::ostream& operator<<(std::ostream& os, const cache_key& k) { return os << k.symbol << ":" << k.hex(); }
inline std::ostream& operator<<(std::ostream& os, decode_status s) { return os << to_string(s); }
inline std::ostream& operator<<(std::ostream& os, window_kind k) { return os << to_string(k); }
}  // namespace tb::cache

namespace tb::cache::testing {

// Simulated time for the cache under test: a core::sim_clock (the injected clock every tier
// reads) starting at 2026-01-02 00:00:00 UTC, advanced by the test. Thread-safe.
class manual_clock {
 public:
  // Milliseconds since the epoch, as the cache stamps entries.
  std::int64_t now() const { return now_ms(*clock_); }
  void advance_s(std::int64_t s) { advance(std::chrono::seconds(s)); }
  void advance_ms(std::int64_t ms) { advance(std::chrono::milliseconds(ms)); }
  // The clock to hand to forecast_cache and the tiers.
  clock_ptr ptr() const { return clock_; }

 private:
  void advance(core::duration d) {
    if (!clock_->advance(d)) throw std::runtime_error("sim_clock refused to advance");
  }
  std::shared_ptr<core::sim_clock> clock_ = std::make_shared<core::sim_clock>(core::from_unix_seconds(1767312000));
};

// n daily bars of a smooth, deterministic series; `salt` shifts prices so windows differ.
inline std::vector<core::bar> make_bars(int n, double salt = 0.0) {
  std::vector<core::bar> bars;
  bars.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    core::bar b;
    b.time_s = 1700000000 + std::int64_t{86400} * i;
    const double base = 100.0 + salt + 0.37 * i + 0.001 * (i % 7);
    b.open = base;
    b.high = base + 1.25;
    b.low = base - 0.75;
    b.close = base + 0.5;
    b.volume = 1.0e6 + 1234.5 * i;
    b.amount = b.volume * base;
    bars.push_back(b);
  }
  return bars;
}

// The trading bot's seed sampling parameters (KRONOS.md).
inline core::sampling_params bot_params() {
  core::sampling_params p;
  p.pred_len = 7;
  p.max_context = 232;
  p.temperature = 0.152;
  p.top_k = 20;
  p.top_p = 0.83;
  p.sample_count = 192;
  p.clip = 1.85;
  return p;
}

inline core::model_identity bot_model() { return {"c0ffee" + std::string(58, '0'), "float32", false}; }

// The key of window i of a symbol (distinct for distinct i or symbol).
inline cache_key key_of(const std::string& symbol, int i, int lookback = 64) {
  auto k = make_key(symbol, make_bars(lookback, i), bot_params(), bot_model());
  if (!k) throw std::runtime_error(k.error().message);
  return *k;
}

// A forecast of `rows` rows whose values encode `tag` (to tell entries apart).
inline core::forecast make_forecast(double tag, int rows = 7) {
  core::forecast f;
  for (int r = 0; r < rows; ++r) {
    core::feature_row row;
    for (int c = 0; c < core::n_features; ++c) row[c] = tag + r * 10 + c * 0.125;
    f.rows.push_back(row);
  }
  return f;
}

// Polls `cond` until true or `limit` passes (a bounded wait, not a sleep-as-sync).
template <class F>
bool eventually(F cond, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

using tb::test::temp_dir;  // tests/support/process.hpp

}  // namespace tb::cache::testing
