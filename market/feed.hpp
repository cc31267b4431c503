#pragma once
// The market-data feed interface: bars of a symbol up to a time, and the latest quote (for the
// spread). Implementations: replay_feed (CSV files), synthetic_feed (the embedded demo), and later
// an Alpaca REST feed. Synchronous, no actors: a symbol actor owns or shares one.
//
// Time: every feed reads "now" from the injected core::clock it was built with and never returns
// a bar whose period has not closed by now: a query's `until` is capped at clock.now(). That is
// what releases replayed bars one by one as a simulated clock advances.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/bar.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"

namespace tb::market {

// How a source labels a bar's instant (core::bar::time_s).
enum class bar_label {
  period_start,  // time_s is when the bar's period begins (daily files dated 00:00, Alpaca bars)
  period_end,    // time_s is when it ends (e.g. ../shared/data/intraday: 09:35 is 09:30-09:35)
};

// When a bar's period opens and closes, from its label and period.
struct bar_timing {
  core::duration period = std::chrono::hours(24);
  bar_label label = bar_label::period_start;

  core::time_point opens_at(const core::bar& b) const {
    const core::time_point t = core::from_unix_seconds(b.time_s);
    return label == bar_label::period_start ? t : t - period;
  }
  // A bar is visible (and may fill orders) once closes_at(b) <= now.
  core::time_point closes_at(const core::bar& b) const {
    const core::time_point t = core::from_unix_seconds(b.time_s);
    return label == bar_label::period_start ? t + period : t;
  }
};

// Top of book. Prices in the symbol's quote currency; `at` is when the quote was taken.
struct quote {
  double bid = 0;
  double ask = 0;
  core::time_point at{};
  double mid() const { return 0.5 * (bid + ask); }
  // (ask - bid) / mid: the fraction the simulated broker applies (half on each side).
  double relative_spread() const { return mid() > 0 ? (ask - bid) / mid() : 0.0; }
};

struct bar_query {
  std::string symbol;
  // Bars whose period closed at or before this instant (capped at the feed clock's now()).
  core::time_point until{};
  // When set: only bars whose period closed strictly after this instant (incremental updates).
  std::optional<core::time_point> closed_after;
  // 0 = every matching bar; otherwise only the most recent max_bars of them.
  std::size_t max_bars = 0;
};

class feed {
 public:
  virtual ~feed() = default;

  // The symbols this feed serves, in a stable order.
  virtual std::vector<std::string> symbols() const = 0;

  // How bars of `symbol` are timed. errc::invalid_argument for an unknown symbol.
  virtual tb::expected<bar_timing> timing(const std::string& symbol) const = 0;

  // Bars of q.symbol as described by bar_query, oldest first (possibly empty).
  // errc::invalid_argument for an unknown symbol; sources that fail report their error
  // (bad_data for a corrupt file, unavailable for a network failure).
  virtual tb::expected<core::bar_series> bars(const bar_query& q) = 0;

  // The latest quote of `symbol` at the feed clock's now(). errc::unavailable when there is none
  // yet (no bar has closed).
  virtual tb::expected<quote> latest_quote(const std::string& symbol) = 0;
};

}  // namespace tb::market
