// market/synthetic_feed: determinism, bar sanity, sessions, release on the simulated clock.
#define BOOST_TEST_MODULE synthetic_feed
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <set>

#include "core/calendar.hpp"
#include "market/symbols.hpp"
#include "market/synthetic_feed.hpp"

using namespace tb;
using namespace tb::market;
using namespace std::chrono_literals;

namespace {

core::time_point utc(int y, int mo, int d, int h = 0, int mi = 0) {
  return core::from_unix_seconds(core::days_from_civil({y, mo, d}) * 86400 + h * 3600 + mi * 60);
}

std::shared_ptr<synthetic_feed> make(const synthetic_config& cfg, std::shared_ptr<core::sim_clock> clock) {
  auto f = synthetic_feed::create(cfg, clock);
  BOOST_REQUIRE_MESSAGE(f, (f ? "" : f.error().message));
  return *f;
}

std::vector<core::bar> all(feed& f, const std::string& sym, core::time_point until) {
  bar_query q;
  q.symbol = sym;
  q.until = until;
  auto r = f.bars(q);
  BOOST_REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  return r->bars;
}

bool same(const core::bar& a, const core::bar& b) {
  return a.time_s == b.time_s && a.utc_offset_s == b.utc_offset_s && a.open == b.open && a.high == b.high &&
         a.low == b.low && a.close == b.close && a.volume == b.volume && a.amount == b.amount;
}

void check_sane(const std::vector<core::bar>& bars) {
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const core::bar& b = bars[i];
    BOOST_TEST_CONTEXT("bar " << i << " at " << b.time_s) {
      BOOST_TEST(std::isfinite(b.open));
      BOOST_TEST(std::isfinite(b.close));
      BOOST_TEST(b.high >= std::max(b.open, b.close));
      BOOST_TEST(b.low <= std::min(b.open, b.close));
      BOOST_TEST(b.low > 0);
      BOOST_TEST(b.volume > 0);
      BOOST_TEST(b.amount > 0);
      if (i > 0) BOOST_TEST(b.time_s > bars[i - 1].time_s);
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(default_names_and_classes) {
  synthetic_config cfg;
  const auto names = synthetic_feed::symbol_names(cfg);
  BOOST_REQUIRE(names.size() == 20u);
  BOOST_TEST(names.front() == "DEMO01");
  BOOST_TEST(names[17] == "DEMO18");
  BOOST_TEST(names[18] == "DEMO19USD");
  BOOST_TEST(names[19] == "DEMO20USD");
  BOOST_TEST(!is_crypto(names[17]));
  BOOST_TEST(is_crypto(names[18]));
  cfg.symbols = {"AAA", "BTCUSD"};
  BOOST_TEST(synthetic_feed::symbol_names(cfg).size() == 2u);
}

BOOST_AUTO_TEST_CASE(same_seed_same_market_whatever_the_query_pattern) {
  synthetic_config cfg;
  cfg.seed = 7;
  auto c1 = std::make_shared<core::sim_clock>(utc(2025, 1, 1));
  auto c2 = std::make_shared<core::sim_clock>(utc(2024, 1, 2));
  auto f1 = make(cfg, c1);
  auto f2 = make(cfg, c2);
  const auto a = all(*f1, "DEMO03", utc(2025, 1, 1));  // one big query
  // The second feed is asked day by day as its clock advances, symbols interleaved.
  for (int d = 0; d < 370; ++d) {
    BOOST_REQUIRE(c2->advance(24h));
    all(*f2, "DEMO03", c2->now());
    all(*f2, "DEMO19USD", c2->now());
  }
  const auto b = all(*f2, "DEMO03", utc(2025, 1, 1));
  BOOST_REQUIRE(a.size() == b.size());
  BOOST_REQUIRE(a.size() == 252u);  // NYSE trading days of 2024 (Dec 31's bar closes Jan 1 00:00)
  for (std::size_t i = 0; i < a.size(); ++i) BOOST_TEST(same(a[i], b[i]));

  cfg.seed = 8;
  auto f3 = make(cfg, c1);
  const auto c = all(*f3, "DEMO03", utc(2025, 1, 1));
  BOOST_TEST(c.front().open != a.front().open);
  // Symbols differ from each other.
  BOOST_TEST(all(*f1, "DEMO04", utc(2025, 1, 1)).front().open != a.front().open);
}

BOOST_AUTO_TEST_CASE(daily_bars_are_sane_and_follow_the_calendar) {
  auto clock = std::make_shared<core::sim_clock>(utc(2026, 1, 1));
  auto f = make(synthetic_config{}, clock);
  const auto eq = all(*f, "DEMO01", clock->now());
  check_sane(eq);
  std::set<std::int64_t> days;
  for (const core::bar& b : eq) {
    BOOST_TEST(b.time_s % 86400 == 0);  // dated 00:00 UTC
    const core::civil_date d = core::civil_from_days(b.time_s / 86400);
    BOOST_TEST_CONTEXT(core::to_string(d)) { BOOST_TEST(core::nyse_session(d)->is_trading_day()); }
    days.insert(b.time_s / 86400);
  }
  BOOST_TEST(days.count(core::days_from_civil({2025, 1, 9})) == 0u);  // closed
  BOOST_TEST(eq.size() == 252u + 250u);                               // 2024 and 2025 sessions
  const auto cr = all(*f, "DEMO20USD", clock->now());
  check_sane(cr);
  BOOST_TEST(cr.size() == 365u + 365u);  // every day from the start, 2024-01-02
  // Volatility regimes: the daily log moves are not all alike; some are large.
  double max_abs = 0, sum_sq = 0;
  for (std::size_t i = 1; i < cr.size(); ++i) {
    const double r = std::log(cr[i].close / cr[i - 1].close);
    max_abs = std::max(max_abs, std::abs(r));
    sum_sq += r * r;
  }
  const double sd = std::sqrt(sum_sq / (cr.size() - 1));
  BOOST_TEST(sd > 0.01);
  BOOST_TEST(sd < 0.2);
  BOOST_TEST(max_abs > 3 * sd);  // fat tails / turbulent regimes
}

BOOST_AUTO_TEST_CASE(intraday_bars_inside_sessions) {
  synthetic_config cfg;
  cfg.period = 5min;
  cfg.start = utc(2024, 7, 1);
  cfg.symbols = {"DEMOEQ", "DEMOCUSD"};
  auto clock = std::make_shared<core::sim_clock>(utc(2024, 7, 8));
  auto f = make(cfg, clock);
  const auto eq = all(*f, "DEMOEQ", clock->now());
  check_sane(eq);
  // Jul 1, 2 regular (78 bars), Jul 3 early close (42), Jul 4 holiday, Jul 5 regular.
  BOOST_TEST(eq.size() == 78u * 3 + 42u);
  for (const core::bar& b : eq) {
    const auto t = core::from_unix_seconds(b.time_s);
    BOOST_TEST(core::is_open(core::asset_class::equity, t).value());
    BOOST_TEST(core::is_open(core::asset_class::equity, t + 5min - 1s).value());
    BOOST_TEST(b.utc_offset_s == -4 * 3600);  // New York wall time for Kronos
  }
  BOOST_TEST(core::stamp_of(eq.front()).hour == 9);
  BOOST_TEST(core::stamp_of(eq.front()).minute == 30);
  const auto cr = all(*f, "DEMOCUSD", clock->now());
  check_sane(cr);
  BOOST_TEST(cr.size() == 7u * 288u);
}

BOOST_AUTO_TEST_CASE(bars_are_released_as_the_clock_advances) {
  synthetic_config cfg;
  cfg.period = 15min;
  cfg.symbols = {"XUSD"};
  cfg.start = utc(2024, 3, 1);
  auto clock = std::make_shared<core::sim_clock>(utc(2024, 3, 1));
  auto f = make(cfg, clock);
  BOOST_TEST(all(*f, "XUSD", clock->now()).empty());
  auto q = f->latest_quote("XUSD");
  BOOST_REQUIRE(!q.has_value());
  BOOST_TEST((q.error().code == errc::unavailable));

  BOOST_REQUIRE(clock->advance(15min - 1ns));
  BOOST_TEST(all(*f, "XUSD", clock->now()).empty());  // first bar not closed yet
  BOOST_REQUIRE(clock->advance(1ns));
  auto one = all(*f, "XUSD", clock->now());
  BOOST_REQUIRE(one.size() == 1u);
  // Asking beyond now does not reveal the future.
  BOOST_TEST(all(*f, "XUSD", utc(2024, 3, 2)).size() == 1u);
  q = f->latest_quote("XUSD");
  BOOST_REQUIRE(q.has_value());
  BOOST_TEST(q->bid < one[0].close);
  BOOST_TEST(q->ask > one[0].close);
  BOOST_TEST(q->relative_spread() > 0.0004);
  BOOST_TEST(q->relative_spread() < 0.01);

  BOOST_REQUIRE(clock->advance(2h));
  bar_query inc;
  inc.symbol = "XUSD";
  inc.until = clock->now();
  inc.closed_after = utc(2024, 3, 1, 0, 15);
  BOOST_TEST(f->bars(inc)->bars.size() == 8u);
  inc.max_bars = 3;
  auto last3 = f->bars(inc)->bars;
  BOOST_REQUIRE(last3.size() == 3u);
  BOOST_TEST(last3.back().time_s == core::to_unix_seconds(utc(2024, 3, 1, 2, 0)));
}

BOOST_AUTO_TEST_CASE(config_validation) {
  synthetic_config cfg;
  cfg.period = 7min;
  BOOST_TEST(validate(cfg).has_value());
  cfg.period = 30min;
  BOOST_TEST(!validate(cfg).has_value());
  cfg = synthetic_config{};
  cfg.equity_count = 0;
  cfg.crypto_count = 0;
  BOOST_TEST(validate(cfg).has_value());
  cfg = synthetic_config{};
  cfg.symbols = {"A", "A"};
  auto e = validate(cfg);
  BOOST_REQUIRE(e.has_value());
  BOOST_TEST((e->code == errc::bad_config));
  auto clock = std::make_shared<core::sim_clock>(utc(2024, 3, 1));
  BOOST_TEST(!synthetic_feed::create(cfg, clock).has_value());
  auto f = make(synthetic_config{}, clock);
  bar_query q;
  q.symbol = "NOPE";
  q.until = clock->now();
  BOOST_TEST(!f->bars(q).has_value());
  BOOST_TEST(!f->timing("NOPE").has_value());
}
