#pragma once
// The embedded demo feed: a seeded, invented market of any number of symbols, daily or intraday.
// The same seed, symbols, period and start give the same bars, whatever order and how often they
// are queried (each symbol has its own random stream, consumed bar by bar; bars are generated
// lazily up to the clock's now and kept).
//
// The model, per symbol (parameters drawn once from the symbol's stream):
// - price: geometric random walk with a drift of -10%..+25% a year, fat tails (3% of bars draw a
//   move 3x wider), a floor at 0.01;
// - volatility regimes: calm (0.6x), normal (1x), turbulent (2.2x the symbol's base volatility,
//   1.2-3.2% a day for equities, 2.5-5% for crypto), a Markov chain with daily switch
//   probabilities 3%, 5%, 10% (scaled to per-bar for intraday bars);
// - open: the previous close, plus an overnight gap (0.3 daily sigma) on an equity's first bar
//   of a day; intrabar range: high and low extend beyond max/min(open, close) by a half-normal
//   0.5 bar sigma; so low <= min(open, close) <= max(open, close) <= high always;
// - volume: a log-normal base (equities 2e5..2e7 shares a day, crypto 1e4..1e7 coins), times a
//   log-normal noise, times (1 + |move| / sigma), times the regime (turbulent trades more), times
//   a U-shaped intraday profile; always > 0 (equities: whole shares >= 1); amount = volume x
//   mean(o, h, l, c);
// - spread (for quotes): equities 2..10 bps, crypto 5..30 bps, times the regime factor.
// Equities trade on NYSE sessions (09:30 to the close, early closes and holidays honoured for
// 1980-2099, core/calendar.hpp; outside those years every weekday is a regular session: the data
// is invented, no calendar error stops a demo). Crypto trades 24/7. Daily bars are dated 00:00
// UTC of their day (as the daily CSV files; label period_start, period 24 h, visible at the next
// 00:00 UTC); intraday bars carry their period start as a UTC instant with utc_offset_s = New
// York's offset for equities (Kronos reads New York wall time) and 0 for crypto.
//
// Thread: safe to share between threads (one mutex).
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/calendar.hpp"
#include "market/feed.hpp"

namespace tb::market {

struct synthetic_config {
  std::uint64_t seed = 42;
  // Generated names when `symbols` is empty: DEMO01..DEMO<equity_count> for equities, then
  // DEMO<n>USD for crypto, numbering on (e.g. 18 + 2: DEMO01..DEMO18, DEMO19USD, DEMO20USD).
  int equity_count = 18;  // [0, 999]
  int crypto_count = 2;   // [0, 999]; equity_count + crypto_count in [1, 999]
  // Explicit names (unique, non-empty); asset class by classify_symbol(). Overrides the counts.
  std::vector<std::string> symbols;
  // Bar period: 24 h (daily) or a whole number of minutes dividing 30 (1, 2, 3, 5, 6, 10, 15, 30).
  core::duration period = std::chrono::hours(24);
  // The first bar starts at or after this instant. Default 2024-01-02T00:00Z.
  core::time_point start = core::from_unix_seconds(1704153600);
};

// errc::bad_config naming the first bad key.
std::optional<tb::error> validate(const synthetic_config& cfg);

class synthetic_feed final : public feed {
 public:
  // errc::bad_config for an invalid config. `clock` must not be null.
  static tb::expected<std::shared_ptr<synthetic_feed>> create(synthetic_config cfg,
                                                              std::shared_ptr<const core::clock> clock);

  std::vector<std::string> symbols() const override;
  tb::expected<bar_timing> timing(const std::string& symbol) const override;
  tb::expected<core::bar_series> bars(const bar_query& q) override;
  tb::expected<quote> latest_quote(const std::string& symbol) override;

  // The symbol names a config produces (explicit or generated).
  static std::vector<std::string> symbol_names(const synthetic_config& cfg);

 private:
  struct symbol_state {
    std::string name;
    core::asset_class cls = core::asset_class::equity;
    std::mt19937_64 rng;
    // parameters
    double drift_per_day = 0;
    double sigma_day = 0;
    double volume_per_day = 0;
    double spread = 0;  // relative, before the regime factor
    // running state
    int regime = 1;  // 0 calm, 1 normal, 2 turbulent
    double last_close = 0;
    std::optional<core::time_point> next_open;  // period start of the next bar to generate
    std::vector<core::bar> bars;
    std::vector<double> spreads;  // relative spread at each bar's close
  };

  synthetic_feed(synthetic_config cfg, std::shared_ptr<const core::clock> clock);
  symbol_state* find(const std::string& symbol);
  const symbol_state* find(const std::string& symbol) const;
  bar_timing timing_of(const symbol_state& s) const;
  // Generates bars of `s` until the next one would close after `until`. mu_ must be held.
  void extend(symbol_state& s, core::time_point until);
  // The period start of the first bar slot at or after `t` for `s`.
  core::time_point slot_at_or_after(const symbol_state& s, core::time_point t) const;
  void generate_one(symbol_state& s, core::time_point open);

  synthetic_config cfg_;
  std::shared_ptr<const core::clock> clock_;
  mutable std::mutex mu_;
  std::vector<symbol_state> states_;  // guarded by mu_ (after construction)
};

}  // namespace tb::market
