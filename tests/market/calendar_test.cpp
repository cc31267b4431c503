// core/clock + core/calendar: civil dates, New York DST, NYSE sessions 2024-2027, schedule.
#define BOOST_TEST_MODULE calendar
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <ostream>
#include <vector>

#include "core/calendar.hpp"
#include "core/clock.hpp"

using namespace tb::core;
using namespace std::chrono_literals;

namespace tb::core {
std::ostream& operator<<(std::ostream& os, const civil_date& d) { return os << to_string(d); }
}  // namespace tb::core

namespace {

template <class T>
bool ok(const tb::expected<T>& e) {
  return e.has_value();
}

// An instant written as UTC wall time.
time_point utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return from_unix_seconds(days_from_civil({y, mo, d}) * 86400 + h * 3600 + mi * 60 + s);
}
// An instant written as New York wall time (must exist).
time_point ny(int y, int mo, int d, int h, int mi = 0) {
  return from_new_york({y, mo, d}, (h * 60 + mi) * 60).value();
}

// ---- an independent derivation of the NYSE rules, to check the table ----
civil_date easter(int y) {  // anonymous Gregorian algorithm (Meeus/Jones/Butcher)
  const int a = y % 19, b = y / 100, c = y % 100, d = b / 4, e = b % 4, f = (b + 8) / 25,
            g = (b - f + 1) / 3, h = (19 * a + b - d - g + 15) % 30, i = c / 4, k = c % 4,
            l = (32 + 2 * e + 2 * i - h - k) % 7, m = (a + 11 * h + 22 * l) / 451,
            month = (h + l - 7 * m + 114) / 31, day = ((h + l - 7 * m + 114) % 31) + 1;
  return {y, month, day};
}
civil_date nth(int y, int m, int wd, int n) {  // n-th weekday (Mon = 0); n = -1: last
  if (n > 0) {
    civil_date d{y, m, 1};
    while (weekday_of(d) != wd) d = add_days(d, 1);
    return add_days(d, 7 * (n - 1));
  }
  civil_date d = add_days(m == 12 ? civil_date{y + 1, 1, 1} : civil_date{y, m + 1, 1}, -1);
  while (weekday_of(d) != wd) d = add_days(d, -1);
  return d;
}
std::vector<civil_date> observed(civil_date d, bool saturday_rolls_back = true) {
  const int wd = weekday_of(d);
  if (wd == 5) return saturday_rolls_back ? std::vector<civil_date>{add_days(d, -1)} : std::vector<civil_date>{};
  if (wd == 6) return {add_days(d, 1)};
  return {d};
}
std::vector<civil_date> rule_holidays(int y) {
  std::vector<civil_date> out;
  auto add = [&](std::vector<civil_date> v) { out.insert(out.end(), v.begin(), v.end()); };
  add(observed({y, 1, 1}, /*saturday_rolls_back=*/false));  // NYSE: no Friday close for Sat Jan 1
  add({nth(y, 1, 0, 3), nth(y, 2, 0, 3), add_days(easter(y), -2), nth(y, 5, 0, -1)});
  add(observed({y, 6, 19}));
  add(observed({y, 7, 4}));
  add({nth(y, 9, 0, 1), nth(y, 11, 3, 4)});
  add(observed({y, 12, 25}));
  if (y == 2025) out.push_back({2025, 1, 9});  // National Day of Mourning, President Carter
  std::sort(out.begin(), out.end());
  return out;
}
std::vector<civil_date> rule_early_closes(int y, const std::vector<civil_date>& holidays) {
  auto trading = [&](civil_date d) {
    return weekday_of(d) < 5 && std::find(holidays.begin(), holidays.end(), d) == holidays.end();
  };
  std::vector<civil_date> out;
  if (trading({y, 7, 3})) out.push_back({y, 7, 3});
  out.push_back(add_days(nth(y, 11, 3, 4), 1));
  if (trading({y, 12, 24})) out.push_back({y, 12, 24});
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(clocks)

BOOST_AUTO_TEST_CASE(sim_clock_moves_only_forward_and_only_when_told) {
  sim_clock c(utc(2024, 1, 2, 14, 30));
  BOOST_TEST(to_iso8601(c.now()) == "2024-01-02T14:30:00Z");
  BOOST_TEST(to_iso8601(c.now()) == "2024-01-02T14:30:00Z");  // no drift between reads
  auto a = c.advance(90s);
  BOOST_REQUIRE(a);
  BOOST_TEST(to_iso8601(*a) == "2024-01-02T14:31:30Z");
  BOOST_TEST((c.now() == *a));
  BOOST_REQUIRE(c.advance_to(utc(2024, 1, 3)));
  BOOST_TEST(to_iso8601(c.now()) == "2024-01-03T00:00:00Z");
  BOOST_REQUIRE(c.advance_to(utc(2024, 1, 3)));  // same instant is allowed

  auto back = c.advance_to(utc(2024, 1, 2));
  BOOST_REQUIRE(!back);
  BOOST_TEST((back.error().code == tb::errc::invalid_argument));
  auto neg = c.advance(-1ns);
  BOOST_REQUIRE(!neg);
  BOOST_TEST(to_iso8601(c.now()) == "2024-01-03T00:00:00Z");  // unchanged by refusals
}

BOOST_AUTO_TEST_CASE(wall_clock_reads_system_time) {
  wall_clock w;
  const auto before = std::chrono::system_clock::now();
  const time_point t = w.now();
  const auto after = std::chrono::system_clock::now();
  BOOST_TEST((t >= before && t <= after));
}

BOOST_AUTO_TEST_CASE(unix_second_conversions) {
  BOOST_TEST(to_unix_seconds(from_unix_seconds(1704153600)) == 1704153600);
  BOOST_TEST(to_unix_seconds(from_unix_seconds(5) - 1ns) == 4);  // floor
  BOOST_TEST(to_iso8601(from_unix_seconds(0)) == "1970-01-01T00:00:00Z");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(dates_and_time_zone)

BOOST_AUTO_TEST_CASE(civil_dates_round_trip_and_weekdays) {
  BOOST_TEST(days_from_civil({1970, 1, 1}) == 0);
  BOOST_TEST(days_from_civil({2024, 1, 1}) == 19723);
  for (std::int64_t z = 19000; z < 21000; ++z) BOOST_TEST(days_from_civil(civil_from_days(z)) == z);
  BOOST_TEST(weekday_of({2024, 1, 1}) == 0);   // Monday
  BOOST_TEST(weekday_of({2024, 2, 29}) == 3);  // Thursday, leap day
  BOOST_TEST(weekday_of({2027, 12, 31}) == 4); // Friday
  BOOST_TEST(weekday_of({1970, 1, 1}) == 3);   // Thursday
  BOOST_TEST(is_valid({2024, 2, 29}));
  BOOST_TEST(!is_valid({2025, 2, 29}));
  BOOST_TEST(!is_valid({2025, 13, 1}));
  BOOST_TEST(to_string(civil_date{2025, 1, 9}) == "2025-01-09");
}

BOOST_AUTO_TEST_CASE(dst_switches_2024_to_2027) {
  struct sw {
    civil_date start, end;
  };
  for (const sw& s : {sw{{2024, 3, 10}, {2024, 11, 3}}, sw{{2025, 3, 9}, {2025, 11, 2}},
                      sw{{2026, 3, 8}, {2026, 11, 1}}, sw{{2027, 3, 14}, {2027, 11, 7}}}) {
    BOOST_TEST_CONTEXT(to_string(s.start)) {
      // Spring: 02:00 EST = 07:00 UTC.
      const time_point start = utc(s.start.year, s.start.month, s.start.day, 7);
      BOOST_TEST(new_york_utc_offset_s(start - 1s) == -5 * 3600);
      BOOST_TEST(new_york_utc_offset_s(start) == -4 * 3600);
      BOOST_TEST(to_new_york(start - 1s).seconds_of_day == 1 * 3600 + 59 * 60 + 59);
      BOOST_TEST(to_new_york(start).seconds_of_day == 3 * 3600);
      // Autumn: 02:00 EDT = 06:00 UTC.
      const time_point end = utc(s.end.year, s.end.month, s.end.day, 6);
      BOOST_TEST(new_york_utc_offset_s(end - 1s) == -4 * 3600);
      BOOST_TEST(new_york_utc_offset_s(end) == -5 * 3600);
      BOOST_TEST(to_new_york(end).seconds_of_day == 1 * 3600);
      BOOST_TEST(weekday_of(s.start) == 6);
      BOOST_TEST(weekday_of(s.end) == 6);
    }
  }
}

BOOST_AUTO_TEST_CASE(from_new_york_gap_and_ambiguity) {
  auto gap = from_new_york({2024, 3, 10}, 2 * 3600 + 30 * 60);
  BOOST_REQUIRE(!gap);
  BOOST_TEST((gap.error().code == tb::errc::invalid_argument));
  auto twice = from_new_york({2024, 11, 3}, 1 * 3600 + 30 * 60);  // exists twice: the earlier
  BOOST_REQUIRE(twice);
  BOOST_TEST(to_iso8601(*twice) == "2024-11-03T05:30:00Z");
  BOOST_TEST(to_iso8601(ny(2024, 1, 2, 9, 30)) == "2024-01-02T14:30:00Z");   // EST
  BOOST_TEST(to_iso8601(ny(2024, 7, 2, 9, 30)) == "2024-07-02T13:30:00Z");   // EDT
  BOOST_TEST(!ok(from_new_york({2024, 2, 30}, 0)));
  BOOST_TEST(!ok(from_new_york({2024, 2, 1}, 86400)));
  // New York date differs from the UTC date in the evening.
  const local_time lt = to_new_york(utc(2024, 7, 3, 2, 0));
  BOOST_TEST((lt.date == civil_date{2024, 7, 2}));
  BOOST_TEST(lt.seconds_of_day == 22 * 3600);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(nyse_sessions)

BOOST_AUTO_TEST_CASE(published_2024_dates) {
  const std::vector<civil_date> h2024 = {{2024, 1, 1},  {2024, 1, 15}, {2024, 2, 19}, {2024, 3, 29},
                                         {2024, 5, 27}, {2024, 6, 19}, {2024, 7, 4},  {2024, 9, 2},
                                         {2024, 11, 28}, {2024, 12, 25}};
  BOOST_TEST(nyse_holidays(2024).value() == h2024, boost::test_tools::per_element());
  const std::vector<civil_date> e2024 = {{2024, 7, 3}, {2024, 11, 29}, {2024, 12, 24}};
  BOOST_TEST(nyse_early_closes(2024).value() == e2024, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(table_matches_the_rules_for_every_covered_year) {
  for (int y = calendar_first_year; y <= calendar_last_year; ++y) {
    BOOST_TEST_CONTEXT("year " << y) {
      const auto rules = rule_holidays(y);
      const auto table = nyse_holidays(y).value();
      BOOST_TEST(table == rules, boost::test_tools::per_element());
      BOOST_TEST(nyse_early_closes(y).value() == rule_early_closes(y, rules), boost::test_tools::per_element());
      for (const civil_date& d : table) {
        BOOST_TEST(weekday_of(d) < 5);
        BOOST_TEST((nyse_session(d)->kind == day_kind::holiday));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(specific_days) {
  struct expect {
    civil_date d;
    day_kind kind;
  };
  for (const expect& e : {
           expect{{2025, 1, 9}, day_kind::holiday},       // National Day of Mourning
           expect{{2025, 1, 8}, day_kind::regular},
           expect{{2025, 4, 18}, day_kind::holiday},      // Good Friday
           expect{{2025, 6, 19}, day_kind::holiday},
           expect{{2026, 7, 3}, day_kind::holiday},       // Jul 4 on a Saturday
           expect{{2026, 7, 2}, day_kind::regular},       // no early close before it
           expect{{2026, 11, 27}, day_kind::early_close},
           expect{{2027, 6, 18}, day_kind::holiday},      // Juneteenth on a Saturday
           expect{{2027, 7, 5}, day_kind::holiday},       // Jul 4 on a Sunday
           expect{{2027, 12, 24}, day_kind::holiday},     // Christmas on a Saturday
           expect{{2027, 12, 31}, day_kind::regular},     // 2028-01-01 Saturday: no closure
           expect{{2025, 12, 24}, day_kind::early_close},
           expect{{2025, 12, 26}, day_kind::regular},
           expect{{2024, 3, 9}, day_kind::weekend},
           expect{{2024, 3, 10}, day_kind::weekend},
       }) {
    BOOST_TEST_CONTEXT(to_string(e.d)) {
      auto s = nyse_session(e.d);
      BOOST_REQUIRE(s);
      BOOST_TEST(to_string(s->kind) == to_string(e.kind));
    }
  }
}

BOOST_AUTO_TEST_CASE(session_hours_follow_dst_and_early_closes) {
  auto fri = nyse_session({2024, 3, 8}).value();  // EST
  BOOST_TEST(to_iso8601(fri.open) == "2024-03-08T14:30:00Z");
  BOOST_TEST(to_iso8601(fri.close) == "2024-03-08T21:00:00Z");
  auto mon = nyse_session({2024, 3, 11}).value();  // first session in EDT
  BOOST_TEST(to_iso8601(mon.open) == "2024-03-11T13:30:00Z");
  BOOST_TEST(to_iso8601(mon.close) == "2024-03-11T20:00:00Z");
  auto early = nyse_session({2024, 11, 29}).value();  // EST, 13:00
  BOOST_TEST(to_iso8601(early.close) == "2024-11-29T18:00:00Z");
  auto early_summer = nyse_session({2025, 7, 3}).value();  // EDT, 13:00
  BOOST_TEST(to_iso8601(early_summer.close) == "2025-07-03T17:00:00Z");
}

BOOST_AUTO_TEST_CASE(is_open_edges) {
  BOOST_TEST(!is_open(asset_class::equity, ny(2024, 7, 2, 9, 29)).value());
  BOOST_TEST(is_open(asset_class::equity, ny(2024, 7, 2, 9, 30)).value());
  BOOST_TEST(is_open(asset_class::equity, ny(2024, 7, 2, 16) - 1ns).value());
  BOOST_TEST(!is_open(asset_class::equity, ny(2024, 7, 2, 16)).value());
  BOOST_TEST(!is_open(asset_class::equity, ny(2024, 7, 3, 13)).value());   // early close
  BOOST_TEST(is_open(asset_class::equity, ny(2024, 7, 3, 12, 59)).value());
  BOOST_TEST(!is_open(asset_class::equity, ny(2024, 7, 4, 11)).value());   // holiday
  BOOST_TEST(!is_open(asset_class::equity, ny(2024, 7, 6, 11)).value());   // Saturday
  BOOST_TEST(is_open(asset_class::crypto, ny(2024, 7, 6, 3)).value());     // crypto 24/7
  BOOST_TEST(is_open(asset_class::crypto, utc(2031, 1, 1)).value());       // no table needed
}

BOOST_AUTO_TEST_CASE(next_open_and_close) {
  // Friday after the close -> Monday; Thursday before Good Friday 2024 -> Monday Apr 1.
  BOOST_TEST(to_iso8601(nyse_next_open(ny(2024, 7, 5, 16, 30)).value()) == "2024-07-08T13:30:00Z");
  BOOST_TEST(to_iso8601(nyse_next_open(ny(2024, 3, 28, 17)).value()) == "2024-04-01T13:30:00Z");
  // Before the switch to EDT (Friday EST) -> Monday opens at 13:30 UTC.
  BOOST_TEST(to_iso8601(nyse_next_open(ny(2024, 3, 8, 17)).value()) == "2024-03-11T13:30:00Z");
  // Strictly after: at the open, the next open is tomorrow's.
  BOOST_TEST(to_iso8601(nyse_next_open(ny(2024, 7, 1, 9, 30)).value()) == "2024-07-02T13:30:00Z");
  // While open, next close is today's (early close on Jul 3).
  BOOST_TEST(to_iso8601(nyse_next_close(ny(2024, 7, 3, 10)).value()) == "2024-07-03T17:00:00Z");
  // Over the Jul 4 holiday.
  BOOST_TEST(to_iso8601(nyse_next_close(ny(2024, 7, 3, 13)).value()) == "2024-07-05T20:00:00Z");
  // 2025-01-08 after the close -> Jan 10 (Jan 9 closed).
  BOOST_TEST(to_iso8601(nyse_next_open(ny(2025, 1, 8, 16)).value()) == "2025-01-10T14:30:00Z");
}

BOOST_AUTO_TEST_CASE(outside_2024_2027_is_an_error) {
  BOOST_TEST(!ok(nyse_session({2023, 12, 29})));
  BOOST_TEST(!ok(nyse_session({2028, 1, 3})));
  BOOST_TEST(!ok(nyse_holidays(2028)));
  BOOST_TEST(!ok(nyse_early_closes(2023)));
  auto e = is_open(asset_class::equity, utc(2028, 1, 4, 15));
  BOOST_REQUIRE(!e);
  BOOST_TEST((e.error().code == tb::errc::invalid_argument));
  BOOST_TEST(!ok(nyse_next_open(ny(2027, 12, 31, 10))));  // the answer would be in 2028
  BOOST_TEST(ok(nyse_next_close(ny(2027, 12, 31, 10))));  // today's close is inside
  BOOST_TEST(!ok(nyse_next_close(ny(2027, 12, 31, 16))));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(analysis_schedule)

namespace {
std::vector<scheduled_event> walk(const schedule_config& cfg, time_point from, int n, bool eq = true,
                                  bool cr = true) {
  std::vector<scheduled_event> out;
  for (int i = 0; i < n; ++i) {
    auto ev = next_scheduled_event(cfg, from, eq, cr);
    BOOST_REQUIRE_MESSAGE(ev, (ev ? "" : ev.error().message));
    out.push_back(*ev);
    from = ev->at;
  }
  return out;
}
}  // namespace

BOOST_AUTO_TEST_CASE(default_schedule_over_independence_day_2024) {
  const schedule_config cfg;
  const auto evs = walk(cfg, ny(2024, 7, 2, 8), 10);
  struct want {
    const char* at;
    event_kind kind;
    bool equity, crypto;
  };
  const want expected[] = {
      {"2024-07-02T13:30:00Z", event_kind::open_pass, true, true},       // 09:30 EDT
      {"2024-07-02T14:30:00Z", event_kind::midday_pass, true, true},     // 10:30
      {"2024-07-02T19:00:00Z", event_kind::close_backout, true, false},  // 15:00
      {"2024-07-03T00:00:00Z", event_kind::crypto_refresh, false, true},
      {"2024-07-03T13:30:00Z", event_kind::open_pass, true, true},
      {"2024-07-03T14:30:00Z", event_kind::midday_pass, true, true},
      {"2024-07-03T16:00:00Z", event_kind::close_backout, true, false},  // 12:00, early close
      {"2024-07-04T00:00:00Z", event_kind::crypto_refresh, false, true},
      {"2024-07-05T00:00:00Z", event_kind::crypto_refresh, false, true}, // Jul 4: holiday
      {"2024-07-05T13:30:00Z", event_kind::open_pass, true, true},
  };
  for (std::size_t i = 0; i < evs.size(); ++i) {
    BOOST_TEST_CONTEXT("event " << i) {
      BOOST_TEST(to_iso8601(evs[i].at) == expected[i].at);
      BOOST_TEST(evs[i].kinds == static_cast<unsigned>(expected[i].kind));
      BOOST_TEST(evs[i].equity == expected[i].equity);
      BOOST_TEST(evs[i].crypto == expected[i].crypto);
    }
  }
}

BOOST_AUTO_TEST_CASE(configured_offsets_and_coinciding_events) {
  schedule_config cfg;
  cfg.open_pass_delay_min = 30;
  cfg.midday_pass_min = 13 * 60 + 30;  // after the early close of 2024-11-29: skipped that day
  cfg.close_backout_lead_min = 15;
  cfg.crypto_refresh_interval_min = 60;
  const auto evs = walk(cfg, ny(2024, 11, 29, 9, 30), 4);
  BOOST_TEST(to_iso8601(evs[0].at) == "2024-11-29T15:00:00Z");  // 10:00 EST: open pass + hourly crypto
  BOOST_TEST(evs[0].has(event_kind::open_pass));
  BOOST_TEST(evs[0].has(event_kind::crypto_refresh));
  BOOST_TEST((evs[0].equity && evs[0].crypto));
  BOOST_TEST(to_iso8601(evs[1].at) == "2024-11-29T16:00:00Z");
  BOOST_TEST(evs[1].kinds == static_cast<unsigned>(event_kind::crypto_refresh));
  BOOST_TEST(to_iso8601(evs[2].at) == "2024-11-29T17:00:00Z");
  BOOST_TEST(to_iso8601(evs[3].at) == "2024-11-29T17:45:00Z");  // 12:45 EST, 15 min before 13:00
  BOOST_TEST(evs[3].kinds == static_cast<unsigned>(event_kind::close_backout));
}

BOOST_AUTO_TEST_CASE(equities_only_skip_weekends_and_holidays) {
  const auto evs = walk(schedule_config{}, ny(2025, 1, 8, 16), 1, true, false);
  BOOST_TEST(to_iso8601(evs[0].at) == "2025-01-10T14:30:00Z");  // Jan 9 closed
  BOOST_TEST(!evs[0].crypto);
  const auto fri = walk(schedule_config{}, ny(2024, 3, 8, 16), 1, true, false);
  BOOST_TEST(to_iso8601(fri[0].at) == "2024-03-11T13:30:00Z");  // Monday, in EDT
}

BOOST_AUTO_TEST_CASE(range_and_validation) {
  // Equities after the last covered session: an error, not a guess.
  auto late = next_scheduled_event(schedule_config{}, ny(2027, 12, 31, 15, 30), true, false);
  BOOST_REQUIRE(!late);
  BOOST_TEST((late.error().code == tb::errc::invalid_argument));
  // With crypto asked too, the crypto refresh at midnight UTC comes before any 2028 session.
  auto mixed = next_scheduled_event(schedule_config{}, ny(2027, 12, 31, 15, 30));
  BOOST_REQUIRE(mixed);
  BOOST_TEST(to_iso8601(mixed->at) == "2028-01-01T00:00:00Z");
  // Crypto only needs no calendar.
  auto crypto = next_scheduled_event(schedule_config{}, utc(2031, 5, 5, 12), false, true);
  BOOST_REQUIRE(crypto);
  BOOST_TEST(to_iso8601(crypto->at) == "2031-05-06T00:00:00Z");
  BOOST_TEST(!ok(next_scheduled_event(schedule_config{}, utc(2023, 6, 1), true, false)));
  BOOST_TEST(!ok(next_scheduled_event(schedule_config{}, utc(2024, 6, 1), false, false)));

  schedule_config bad;
  bad.midday_pass_min = 16 * 60;
  auto e = validate(bad);
  BOOST_REQUIRE(e);
  BOOST_TEST((e->code == tb::errc::bad_config));
  BOOST_TEST(e->message.find("midday_pass_min") != std::string::npos);
  bad = schedule_config{};
  bad.crypto_refresh_interval_min = 4;
  BOOST_TEST(validate(bad).has_value());
  BOOST_TEST(!ok(next_scheduled_event(bad, utc(2024, 6, 1))));
  bad = schedule_config{};
  bad.close_backout_lead_min = 0;
  BOOST_TEST(validate(bad).has_value());
  BOOST_TEST(!validate(schedule_config{}).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
