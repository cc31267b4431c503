#include "market/synthetic_feed.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "market/symbols.hpp"

namespace tb::market {

namespace {

using std::chrono::minutes;

constexpr double regime_vol[3] = {0.6, 1.0, 2.2};
constexpr double regime_switch_per_day[3] = {0.03, 0.05, 0.10};
constexpr double regime_volume[3] = {0.8, 1.0, 1.6};
constexpr double regime_spread[3] = {0.8, 1.0, 1.8};

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// Platform-independent draws (std distributions are implementation-defined): each consumes a
// fixed number of engine outputs, so the stream position depends only on the bar count.
double uniform01(std::mt19937_64& rng) {  // [0, 1)
  return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
}
double normal(std::mt19937_64& rng) {      // Box-Muller, two outputs
  const double u1 = 1.0 - uniform01(rng);  // (0, 1]
  const double u2 = uniform01(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}
double uniform(std::mt19937_64& rng, double lo, double hi) { return lo + (hi - lo) * uniform01(rng); }
double log_uniform(std::mt19937_64& rng, double lo, double hi) {
  return std::exp(uniform(rng, std::log(lo), std::log(hi)));
}

bool is_daily(const synthetic_config& cfg) { return cfg.period == std::chrono::hours(24); }

struct day_session {
  core::time_point open, close;
};

// The equity session of New York date `d`: the NYSE calendar inside its years (1980-2099), every
// weekday as a regular 09:30-16:00 session outside them (invented data needs no holiday table).
std::optional<day_session> equity_session(core::civil_date d) {
  if (d.year >= core::calendar_first_year && d.year <= core::calendar_last_year) {
    auto s = core::nyse_session(d);
    if (!s || !s->is_trading_day()) return std::nullopt;
    return day_session{s->open, s->close};
  }
  if (core::weekday_of(d) >= 5) return std::nullopt;
  return day_session{core::from_new_york(d, core::nyse_open_s).value(),
                     core::from_new_york(d, core::nyse_close_s).value()};
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) {  // b > 0
  std::int64_t q = a / b;
  if (a % b != 0 && a > 0) ++q;
  return q;
}

}  // namespace

std::optional<tb::error> validate(const synthetic_config& cfg) {
  auto bad = [](const std::string& msg) { return tb::error{errc::bad_config, "synthetic." + msg}; };
  if (cfg.symbols.empty()) {
    if (cfg.equity_count < 0 || cfg.equity_count > 999)
      return bad("equity_count = " + std::to_string(cfg.equity_count) + " is outside [0, 999]");
    if (cfg.crypto_count < 0 || cfg.crypto_count > 999)
      return bad("crypto_count = " + std::to_string(cfg.crypto_count) + " is outside [0, 999]");
    const int n = cfg.equity_count + cfg.crypto_count;
    if (n < 1 || n > 999) return bad("equity_count + crypto_count = " + std::to_string(n) + " is outside [1, 999]");
  } else {
    std::set<std::string> seen;
    for (const std::string& s : cfg.symbols) {
      if (s.empty()) return bad("symbols: an empty name");
      if (!seen.insert(s).second) return bad("symbols: '" + s + "' appears twice");
    }
  }
  if (!is_daily(cfg)) {
    const auto p = cfg.period;
    const bool whole_minutes = p > core::duration::zero() && p % minutes(1) == core::duration::zero();
    if (!whole_minutes || minutes(30) % p != core::duration::zero())
      return bad("period = " + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(p).count()) +
                 " s: must be 24 h or whole minutes dividing 30 (1, 2, 3, 5, 6, 10, 15, 30)");
  }
  return std::nullopt;
}

std::vector<std::string> synthetic_feed::symbol_names(const synthetic_config& cfg) {
  if (!cfg.symbols.empty()) return cfg.symbols;
  std::vector<std::string> out;
  const int n = cfg.equity_count + cfg.crypto_count;
  for (int i = 1; i <= n; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "DEMO%02d%s", i, i > cfg.equity_count ? "USD" : "");
    out.push_back(buf);
  }
  return out;
}

tb::expected<std::shared_ptr<synthetic_feed>> synthetic_feed::create(synthetic_config cfg,
                                                                     std::shared_ptr<const core::clock> clock) {
  if (auto e = validate(cfg)) return *e;
  if (!clock) return tb::error{errc::invalid_argument, "synthetic_feed: null clock"};
  return std::shared_ptr<synthetic_feed>(new synthetic_feed(std::move(cfg), std::move(clock)));
}

synthetic_feed::synthetic_feed(synthetic_config cfg, std::shared_ptr<const core::clock> clock)
    : cfg_(std::move(cfg)), clock_(std::move(clock)) {
  for (const std::string& name : symbol_names(cfg_)) {
    symbol_state s;
    s.name = name;
    s.cls = classify_symbol(name);
    s.rng.seed(splitmix64(cfg_.seed) ^ fnv1a(name));
    const bool crypto = s.cls == core::asset_class::crypto;
    s.last_close = crypto ? log_uniform(s.rng, 0.2, 50000.0) : log_uniform(s.rng, 5.0, 500.0);
    s.drift_per_day = uniform(s.rng, -0.10, 0.25) / (crypto ? 365.0 : 252.0);
    s.sigma_day = crypto ? uniform(s.rng, 0.025, 0.05) : uniform(s.rng, 0.012, 0.032);
    s.volume_per_day = crypto ? log_uniform(s.rng, 1e4, 1e7) : log_uniform(s.rng, 2e5, 2e7);
    s.spread = (crypto ? uniform(s.rng, 5.0, 30.0) : uniform(s.rng, 2.0, 10.0)) * 1e-4;
    s.regime = 1;
    states_.push_back(std::move(s));
  }
}

std::vector<std::string> synthetic_feed::symbols() const {
  std::vector<std::string> out;
  for (const symbol_state& s : states_) out.push_back(s.name);
  return out;
}

synthetic_feed::symbol_state* synthetic_feed::find(const std::string& symbol) {
  for (symbol_state& s : states_)
    if (s.name == symbol) return &s;
  return nullptr;
}
const synthetic_feed::symbol_state* synthetic_feed::find(const std::string& symbol) const {
  return const_cast<synthetic_feed*>(this)->find(symbol);
}

bar_timing synthetic_feed::timing_of(const symbol_state&) const {
  return bar_timing{cfg_.period, bar_label::period_start};
}

tb::expected<bar_timing> synthetic_feed::timing(const std::string& symbol) const {
  const symbol_state* s = find(symbol);
  if (!s) return tb::error{errc::invalid_argument, "synthetic_feed: unknown symbol '" + symbol + "'"};
  return timing_of(*s);
}

core::time_point synthetic_feed::slot_at_or_after(const symbol_state& s, core::time_point t) const {
  const bool crypto = s.cls == core::asset_class::crypto;
  const std::int64_t t_s = core::to_unix_seconds(t) + (t > core::from_unix_seconds(core::to_unix_seconds(t)) ? 1 : 0);
  if (is_daily(cfg_)) {
    std::int64_t day = ceil_div(t_s, core::seconds_per_day);
    if (!crypto)
      while (!equity_session(core::civil_from_days(day))) ++day;
    return core::from_unix_seconds(day * core::seconds_per_day);
  }
  const std::int64_t period_s = std::chrono::duration_cast<std::chrono::seconds>(cfg_.period).count();
  if (crypto) return core::from_unix_seconds(ceil_div(t_s, period_s) * period_s);
  core::civil_date d = core::to_new_york(t).date;
  for (;; d = core::add_days(d, 1)) {
    auto sess = equity_session(d);
    if (!sess) continue;
    core::time_point candidate = sess->open;
    if (t > sess->open) {
      const std::int64_t k = ceil_div(t_s - core::to_unix_seconds(sess->open), period_s);
      candidate = sess->open + std::chrono::seconds(k * period_s);
    }
    if (candidate + cfg_.period <= sess->close) return candidate;
  }
}

void synthetic_feed::generate_one(symbol_state& s, core::time_point open_at) {
  const bool crypto = s.cls == core::asset_class::crypto;
  const bool daily = is_daily(cfg_);
  std::mt19937_64& rng = s.rng;

  // Fraction of a trading day this bar covers; position in the day for the volume profile.
  double frac = 1.0;
  double profile = 1.0;
  bool first_of_day = daily && !crypto;
  std::int32_t utc_offset = 0;
  if (!daily) {
    const double period_min = std::chrono::duration<double, std::ratio<60>>(cfg_.period).count();
    if (crypto) {
      frac = period_min / 1440.0;
    } else {
      const auto sess = equity_session(core::to_new_york(open_at).date);
      // slot_at_or_after only yields slots inside a session
      const double len_min = std::chrono::duration<double, std::ratio<60>>(sess->close - sess->open).count();
      frac = period_min / 390.0;
      const double x = std::chrono::duration<double, std::ratio<60>>(open_at - sess->open).count() / len_min;  // [0, 1)
      profile = (1.0 + 1.5 * (2.0 * x - 1.0) * (2.0 * x - 1.0)) / 1.5;
      first_of_day = open_at == sess->open;
      utc_offset = core::new_york_utc_offset_s(open_at);
    }
  }

  // Regime switch (two draws always).
  const double u_switch = uniform01(rng);
  const double u_which = uniform01(rng);
  const double p_switch = 1.0 - std::pow(1.0 - regime_switch_per_day[s.regime], frac);
  if (u_switch < p_switch) s.regime = (s.regime + 1 + (u_which < 0.5 ? 0 : 1)) % 3;

  const double rv = regime_vol[s.regime];
  const double sig = s.sigma_day * std::sqrt(frac) * rv;
  const double z_gap = normal(rng);
  const double u_jump = uniform01(rng);
  const double z_ret = normal(rng);
  const double z_high = normal(rng);
  const double z_low = normal(rng);
  const double z_vol = normal(rng);
  const double z_spread = normal(rng);

  const double gap = first_of_day ? 0.3 * s.sigma_day * rv * z_gap : 0.0;
  double open = std::max(0.01, s.last_close * std::exp(gap));
  const double jump = u_jump < 0.03 ? 3.0 : 1.0;
  const double r = s.drift_per_day * frac - 0.5 * sig * sig + sig * jump * z_ret;
  double close = std::max(0.01, open * std::exp(r));
  const double high = std::max(open, close) * std::exp(0.5 * sig * std::abs(z_high));
  const double low = std::max(0.005, std::min(open, close) * std::exp(-0.5 * sig * std::abs(z_low)));

  double volume = s.volume_per_day * frac * profile * regime_volume[s.regime] * std::exp(0.35 * z_vol - 0.06125) *
                  (1.0 + std::abs(std::log(close / open)) / sig) * 0.6;
  volume = crypto ? std::max(1e-4, std::round(volume * 1e4) / 1e4) : std::max(1.0, std::round(volume));

  core::bar b;
  b.time_s = core::to_unix_seconds(open_at);
  b.utc_offset_s = utc_offset;
  b.open = open;
  b.high = high;
  b.low = std::min(low, std::min(open, close));
  b.close = close;
  b.volume = volume;
  b.amount = volume * (b.open + b.high + b.low + b.close) / 4.0;
  s.bars.push_back(b);
  s.spreads.push_back(s.spread * regime_spread[s.regime] * (1.0 + 0.2 * std::abs(z_spread)));
  s.last_close = close;
}

void synthetic_feed::extend(symbol_state& s, core::time_point until) {
  if (!s.next_open) s.next_open = slot_at_or_after(s, cfg_.start);
  while (*s.next_open + cfg_.period <= until) {
    generate_one(s, *s.next_open);
    s.next_open = slot_at_or_after(s, *s.next_open + cfg_.period);
  }
}

tb::expected<core::bar_series> synthetic_feed::bars(const bar_query& q) {
  std::lock_guard<std::mutex> lock(mu_);
  symbol_state* s = find(q.symbol);
  if (!s) return tb::error{errc::invalid_argument, "synthetic_feed: unknown symbol '" + q.symbol + "'"};
  const core::time_point until = std::min(q.until, clock_->now());
  extend(*s, until);
  const bar_timing t = timing_of(*s);
  auto closes_by = [&](core::time_point limit) {
    return std::partition_point(s->bars.begin(), s->bars.end(),
                                [&](const core::bar& b) { return t.closes_at(b) <= limit; });
  };
  auto end = closes_by(until);
  auto begin = q.closed_after ? closes_by(*q.closed_after) : s->bars.begin();
  if (begin > end) begin = end;
  if (q.max_bars > 0 && static_cast<std::size_t>(end - begin) > q.max_bars) begin = end - q.max_bars;
  return core::bar_series{s->name, std::vector<core::bar>(begin, end)};
}

tb::expected<quote> synthetic_feed::latest_quote(const std::string& symbol) {
  std::lock_guard<std::mutex> lock(mu_);
  symbol_state* s = find(symbol);
  if (!s) return tb::error{errc::invalid_argument, "synthetic_feed: unknown symbol '" + symbol + "'"};
  const core::time_point now = clock_->now();
  extend(*s, now);
  const bar_timing t = timing_of(*s);
  auto end =
      std::partition_point(s->bars.begin(), s->bars.end(), [&](const core::bar& b) { return t.closes_at(b) <= now; });
  if (end == s->bars.begin())
    return tb::error{errc::unavailable,
                     "synthetic_feed: no bar of '" + symbol + "' has closed by " + core::to_iso8601(now)};
  const std::size_t i = static_cast<std::size_t>(end - s->bars.begin()) - 1;
  const double mid = s->bars[i].close;
  const double half = 0.5 * s->spreads[i];
  return quote{mid * (1.0 - half), mid * (1.0 + half), t.closes_at(s->bars[i])};
}

}  // namespace tb::market
