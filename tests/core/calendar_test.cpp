// core/clock + core/calendar: civil dates, New York DST, NYSE sessions 1980-2099, schedule.
// The calendar is checked against data built apart from its rules (tests/data/nyse, see
// tests/data/README.md): every weekday 1980-2030 against a table of NYSE closures and early closes,
// and the DST switches 1980-2030 against the IANA tz database.
#define BOOST_TEST_MODULE calendar
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>
#include <string>
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
time_point ny(int y, int mo, int d, int h, int mi = 0) { return from_new_york({y, mo, d}, (h * 60 + mi) * 60).value(); }

const std::string nyse_data = std::string(TRADEBOT_TEST_DATA) + "/nyse";

// The first `n` comma-separated fields of each data line of a CSV file (the header skipped).
std::vector<std::vector<std::string>> csv_rows(const std::string& path, std::size_t n) {
  std::ifstream in(path);
  BOOST_REQUIRE_MESSAGE(in, "cannot read " << path);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<std::string> fields;
    std::stringstream ss(line);
    for (std::size_t i = 0; i < n; ++i) {
      std::string f;
      std::getline(ss, f, ',');
      fields.push_back(f);
    }
    rows.push_back(fields);
  }
  return rows;
}

civil_date date_of(const std::string& text) {
  civil_date d{std::stoi(text.substr(0, 4)), std::stoi(text.substr(5, 2)), std::stoi(text.substr(8, 2))};
  BOOST_REQUIRE_MESSAGE(is_valid(d), text);
  return d;
}

// "HH:MM" -> seconds after midnight.
std::int32_t seconds_of(const std::string& hhmm) {
  return (std::stoi(hhmm.substr(0, 2)) * 60 + std::stoi(hhmm.substr(3, 2))) * 60;
}

// tests/data/nyse/closures-1980-2030.csv: date -> (status, close in New York time).
struct closure_row {
  std::string status;  // "closed" or "early"
  std::int32_t close_s = 0;
};
std::map<std::int64_t, closure_row> published_closures() {
  std::map<std::int64_t, closure_row> out;
  for (const auto& r : csv_rows(nyse_data + "/closures-1980-2030.csv", 3)) {
    closure_row row{r[1], r[1] == "early" ? seconds_of(r[2]) : 0};
    BOOST_REQUIRE_MESSAGE(row.status == "closed" || row.status == "early", r[0] << ": " << r[1]);
    BOOST_REQUIRE_MESSAGE(out.emplace(days_from_civil(date_of(r[0])), row).second, "twice: " << r[0]);
  }
  return out;
}

std::string ny_hhmm(time_point t) {
  const auto lt = to_new_york(t);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d:%02d", lt.seconds_of_day / 3600, lt.seconds_of_day / 60 % 60);
  return buf;
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
  BOOST_TEST(weekday_of({2024, 1, 1}) == 0);    // Monday
  BOOST_TEST(weekday_of({2024, 2, 29}) == 3);   // Thursday, leap day
  BOOST_TEST(weekday_of({2027, 12, 31}) == 4);  // Friday
  BOOST_TEST(weekday_of({1970, 1, 1}) == 3);    // Thursday
  BOOST_TEST(is_valid({2024, 2, 29}));
  BOOST_TEST(!is_valid({2025, 2, 29}));
  BOOST_TEST(!is_valid({2025, 13, 1}));
  BOOST_TEST(to_string(civil_date{2025, 1, 9}) == "2025-01-09");
}

// Each year's switches against the IANA tz database (tests/data/nyse/dst-1980-2030.csv): the
// 1976-1986, 1987-2006 and 2007+ rules.
BOOST_AUTO_TEST_CASE(dst_switches_1980_to_2030_match_the_tz_database) {
  const auto rows = csv_rows(nyse_data + "/dst-1980-2030.csv", 3);
  BOOST_REQUIRE_EQUAL(rows.size(), 51u);
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT("year " << r[0]) {
      const time_point start = from_unix_seconds(days_from_civil(date_of(r[1])) * 86400 + 7 * 3600);
      const time_point end = from_unix_seconds(days_from_civil(date_of(r[2])) * 86400 + 6 * 3600);
      BOOST_REQUIRE(r[1].substr(10) == "T07:00:00Z");  // 02:00 EST
      BOOST_REQUIRE(r[2].substr(10) == "T06:00:00Z");  // 02:00 EDT
      BOOST_TEST(new_york_utc_offset_s(start - 1s) == -5 * 3600);
      BOOST_TEST(new_york_utc_offset_s(start) == -4 * 3600);
      BOOST_TEST(to_new_york(start - 1s).seconds_of_day == 1 * 3600 + 59 * 60 + 59);
      BOOST_TEST(to_new_york(start).seconds_of_day == 3 * 3600);
      BOOST_TEST(new_york_utc_offset_s(end - 1s) == -4 * 3600);
      BOOST_TEST(new_york_utc_offset_s(end) == -5 * 3600);
      BOOST_TEST(to_new_york(end).seconds_of_day == 1 * 3600);
      // Nowhere else in the year does the offset change (checked at every local noon).
      for (civil_date d{std::stoi(r[0]), 1, 1}; d.year == std::stoi(r[0]); d = add_days(d, 1)) {
        const time_point noon = utc(d.year, d.month, d.day, 17);
        const bool summer = noon > start && noon < end;
        BOOST_TEST(new_york_is_dst(noon) == summer, to_string(d));
      }
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
  BOOST_TEST(to_iso8601(ny(2024, 1, 2, 9, 30)) == "2024-01-02T14:30:00Z");  // EST
  BOOST_TEST(to_iso8601(ny(2024, 7, 2, 9, 30)) == "2024-07-02T13:30:00Z");  // EDT
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
  const std::vector<civil_date> h2024 = {{2024, 1, 1},  {2024, 1, 15}, {2024, 2, 19}, {2024, 3, 29},  {2024, 5, 27},
                                         {2024, 6, 19}, {2024, 7, 4},  {2024, 9, 2},  {2024, 11, 28}, {2024, 12, 25}};
  BOOST_TEST(nyse_holidays(2024).value() == h2024, boost::test_tools::per_element());
  const std::vector<civil_date> e2024 = {{2024, 7, 3}, {2024, 11, 29}, {2024, 12, 24}};
  BOOST_TEST(nyse_early_closes(2024).value() == e2024, boost::test_tools::per_element());
}

// Every day 1980-2030 against tests/data/nyse/closures-1980-2030.csv, a table of NYSE's closures
// and early closes written from its published lists, not from the rules in calendar.cpp: listed
// "closed" -> holiday; listed "early" -> closes at the listed New York time; weekends closed; any
// other weekday a regular 09:30 (10:00 before 1985-09-30) to 16:00 session. The year lists agree.
BOOST_AUTO_TEST_CASE(every_day_1980_to_2030_matches_the_published_table) {
  const auto table = published_closures();
  BOOST_REQUIRE(table.size() > 500u);
  int trading_days = 0;
  for (civil_date d{1980, 1, 1}; d.year <= 2030; d = add_days(d, 1)) {
    BOOST_TEST_CONTEXT(to_string(d)) {
      const auto s = nyse_session(d);
      BOOST_REQUIRE(s);
      const auto row = table.find(days_from_civil(d));
      if (weekday_of(d) >= 5) {
        BOOST_TEST(to_string(s->kind) == "weekend");
        BOOST_TEST((row == table.end()), "the table lists a weekend day");
        continue;
      }
      if (row != table.end() && row->second.status == "closed") {
        BOOST_TEST(to_string(s->kind) == "holiday");
        BOOST_TEST(std::string(s->reason) != "");
        continue;
      }
      ++trading_days;
      const bool early = row != table.end();
      BOOST_TEST(to_string(s->kind) == (early ? "early_close" : "regular"));
      BOOST_TEST(ny_hhmm(s->open) == (d < civil_date{1985, 9, 30} ? "10:00" : "09:30"));
      const std::int32_t close_s = early ? row->second.close_s : nyse_close_s;
      BOOST_TEST((s->close == from_new_york(d, close_s).value()));
      BOOST_TEST(to_new_york(s->close).date == d);
    }
  }
  BOOST_TEST(trading_days > 50 * 250);
  // nyse_holidays / nyse_early_closes list the same days.
  for (int y = 1980; y <= 2030; ++y) {
    BOOST_TEST_CONTEXT("year " << y) {
      std::vector<civil_date> closed, early;
      for (const auto& [day, row] : table) {
        const civil_date d = civil_from_days(day);
        if (d.year == y) (row.status == "closed" ? closed : early).push_back(d);
      }
      BOOST_TEST(nyse_holidays(y).value() == closed, boost::test_tools::per_element());
      BOOST_TEST(nyse_early_closes(y).value() == early, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(rule_edges) {
  struct expect {
    civil_date d;
    day_kind kind;
  };
  for (const expect& e : {
           // New Year's Day on a Saturday is not observed on the Friday before.
           expect{{1982, 12, 31}, day_kind::regular},
           expect{{1999, 12, 31}, day_kind::regular},
           expect{{2021, 12, 31}, day_kind::regular},
           expect{{2022, 1, 3}, day_kind::regular},
           // ... on a Sunday it is observed on the Monday after.
           expect{{2012, 1, 2}, day_kind::holiday},
           expect{{2023, 1, 2}, day_kind::holiday},
           // Martin Luther King Jr. Day from 1998.
           expect{{1997, 1, 20}, day_kind::regular},
           expect{{1998, 1, 19}, day_kind::holiday},
           // Juneteenth from 2022 (2022-06-19 a Sunday: observed Monday).
           expect{{2021, 6, 18}, day_kind::regular},
           expect{{2021, 6, 21}, day_kind::regular},
           expect{{2022, 6, 20}, day_kind::holiday},
           expect{{2023, 6, 19}, day_kind::holiday},
           // Good Friday from Easter, early and late Easters.
           expect{{2008, 3, 21}, day_kind::holiday},
           expect{{2011, 4, 22}, day_kind::holiday},
           expect{{2038, 4, 23}, day_kind::holiday},
           // Election Day 1980 (the last one NYSE closed for); 1984 traded.
           expect{{1980, 11, 4}, day_kind::holiday},
           expect{{1984, 11, 6}, day_kind::regular},
           // One-off closures.
           expect{{1985, 9, 27}, day_kind::holiday},
           expect{{1994, 4, 27}, day_kind::holiday},
           expect{{2001, 9, 10}, day_kind::regular},
           expect{{2001, 9, 11}, day_kind::holiday},
           expect{{2001, 9, 14}, day_kind::holiday},
           expect{{2001, 9, 17}, day_kind::regular},
           expect{{2004, 6, 11}, day_kind::holiday},
           expect{{2007, 1, 2}, day_kind::holiday},
           expect{{2012, 10, 29}, day_kind::holiday},
           expect{{2012, 10, 30}, day_kind::holiday},
           expect{{2012, 10, 31}, day_kind::regular},
           expect{{2018, 12, 5}, day_kind::holiday},
           // Early-close rules start in their years.
           expect{{1989, 12, 22}, day_kind::regular},
           expect{{1990, 12, 24}, day_kind::early_close},
           expect{{1991, 11, 29}, day_kind::regular},
           expect{{1992, 11, 27}, day_kind::early_close},
           expect{{1994, 7, 1}, day_kind::regular},
           expect{{1995, 7, 3}, day_kind::early_close},
           expect{{2002, 7, 3}, day_kind::regular},      // Wednesday before a Thursday July 4 ...
           expect{{2002, 7, 5}, day_kind::early_close},  // ... until 2012 the Friday after closed early
           expect{{2019, 7, 3}, day_kind::early_close},  // from 2013 the Wednesday before
           expect{{2019, 7, 5}, day_kind::regular},
           expect{{2008, 12, 26}, day_kind::regular},
           expect{{2003, 12, 26}, day_kind::early_close},
       }) {
    BOOST_TEST_CONTEXT(to_string(e.d)) {
      auto s = nyse_session(e.d);
      BOOST_REQUIRE(s);
      BOOST_TEST(to_string(s->kind) == to_string(e.kind));
    }
  }
  BOOST_TEST(std::string(nyse_session({2012, 10, 29})->reason) == "Hurricane Sandy");
  BOOST_TEST(std::string(nyse_session({2022, 6, 20})->reason) == "Juneteenth");
  BOOST_TEST(std::string(nyse_session({2024, 7, 2})->reason) == "");
  // Early closes: 14:00 until 1992, 13:00 from 1993; unscheduled ones at their own time.
  BOOST_TEST(to_iso8601(nyse_session({1992, 11, 27})->close) == "1992-11-27T19:00:00Z");  // 14:00 EST
  BOOST_TEST(to_iso8601(nyse_session({1993, 11, 26})->close) == "1993-11-26T18:00:00Z");  // 13:00 EST
  BOOST_TEST(to_iso8601(nyse_session({1987, 10, 26})->close) == "1987-10-26T19:00:00Z");  // 14:00 EST
  BOOST_TEST(to_iso8601(nyse_session({2005, 6, 1})->close) == "2005-06-01T19:56:00Z");    // 15:56 EDT
}

// The UTC open across the DST rule changes, and the 09:30 open from 1985-09-30.
BOOST_AUTO_TEST_CASE(session_open_in_utc_across_dst_rule_changes) {
  struct want {
    civil_date d;
    const char* open;
  };
  for (const want& w : {
           // 1986: daylight time from the last Sunday of April (Apr 27).
           want{{1986, 4, 25}, "1986-04-25T14:30:00Z"},
           want{{1986, 4, 28}, "1986-04-28T13:30:00Z"},
           want{{1986, 10, 24}, "1986-10-24T13:30:00Z"},
           want{{1986, 10, 27}, "1986-10-27T14:30:00Z"},
           // 1987: from the first Sunday of April (Apr 5).
           want{{1987, 4, 3}, "1987-04-03T14:30:00Z"},
           want{{1987, 4, 6}, "1987-04-06T13:30:00Z"},
           want{{1987, 4, 27}, "1987-04-27T13:30:00Z"},
           // 2006: first Sunday of April (Apr 2) to the last Sunday of October (Oct 29).
           want{{2006, 3, 13}, "2006-03-13T14:30:00Z"},
           want{{2006, 4, 3}, "2006-04-03T13:30:00Z"},
           want{{2006, 10, 30}, "2006-10-30T14:30:00Z"},
           // 2007: second Sunday of March (Mar 11) to the first Sunday of November (Nov 4).
           want{{2007, 3, 9}, "2007-03-09T14:30:00Z"},
           want{{2007, 3, 12}, "2007-03-12T13:30:00Z"},
           want{{2007, 10, 30}, "2007-10-30T13:30:00Z"},
           want{{2007, 11, 5}, "2007-11-05T14:30:00Z"},
           // 10:00 New York before 1985-09-30.
           want{{1985, 9, 26}, "1985-09-26T14:00:00Z"},
           want{{1985, 9, 30}, "1985-09-30T13:30:00Z"},
           want{{1980, 1, 2}, "1980-01-02T15:00:00Z"},
       }) {
    BOOST_TEST_CONTEXT(to_string(w.d)) {
      auto s = nyse_session(w.d);
      BOOST_REQUIRE(s);
      BOOST_TEST(to_iso8601(s->open) == w.open);
    }
  }
}

BOOST_AUTO_TEST_CASE(specific_days) {
  struct expect {
    civil_date d;
    day_kind kind;
  };
  for (const expect& e : {
           expect{{2025, 1, 9}, day_kind::holiday},  // National Day of Mourning
           expect{{2025, 1, 8}, day_kind::regular},
           expect{{2025, 4, 18}, day_kind::holiday},  // Good Friday
           expect{{2025, 6, 19}, day_kind::holiday},
           expect{{2026, 7, 3}, day_kind::holiday},  // Jul 4 on a Saturday
           expect{{2026, 7, 2}, day_kind::regular},  // no early close before it
           expect{{2026, 11, 27}, day_kind::early_close},
           expect{{2027, 6, 18}, day_kind::holiday},   // Juneteenth on a Saturday
           expect{{2027, 7, 5}, day_kind::holiday},    // Jul 4 on a Sunday
           expect{{2027, 12, 24}, day_kind::holiday},  // Christmas on a Saturday
           expect{{2027, 12, 31}, day_kind::regular},  // 2028-01-01 Saturday: no closure
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
  BOOST_TEST(!is_open(asset_class::equity, ny(2024, 7, 3, 13)).value());  // early close
  BOOST_TEST(is_open(asset_class::equity, ny(2024, 7, 3, 12, 59)).value());
  BOOST_TEST(!is_open(asset_class::equity, ny(2024, 7, 4, 11)).value());  // holiday
  BOOST_TEST(!is_open(asset_class::equity, ny(2024, 7, 6, 11)).value());  // Saturday
  BOOST_TEST(is_open(asset_class::crypto, ny(2024, 7, 6, 3)).value());    // crypto 24/7
  BOOST_TEST(is_open(asset_class::crypto, utc(2101, 1, 1)).value());      // no calendar needed
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

BOOST_AUTO_TEST_CASE(outside_1980_2099_is_an_error) {
  BOOST_TEST(!ok(nyse_session({1979, 12, 31})));
  BOOST_TEST(!ok(nyse_session({2100, 1, 4})));
  BOOST_TEST(ok(nyse_session({1980, 1, 2})));
  BOOST_TEST(ok(nyse_session({2099, 12, 31})));
  BOOST_TEST(!ok(nyse_holidays(2100)));
  BOOST_TEST(!ok(nyse_early_closes(1979)));
  auto e = is_open(asset_class::equity, utc(2100, 1, 4, 15));
  BOOST_REQUIRE(!e);
  BOOST_TEST((e.error().code == tb::errc::invalid_argument));
  BOOST_TEST(e.error().message.find("1980-2099") != std::string::npos);
  BOOST_TEST(!ok(nyse_next_open(ny(2099, 12, 31, 10))));  // the answer would be in 2100
  BOOST_TEST(ok(nyse_next_close(ny(2099, 12, 31, 10))));  // today's close is inside
  BOOST_TEST(!ok(nyse_next_close(ny(2099, 12, 31, 16))));
}

BOOST_AUTO_TEST_CASE(dates_are_parsed_inside_the_covered_years) {
  BOOST_TEST(to_iso8601(parse_utc_instant("2001-09-17", "market.sim_start").value()) == "2001-09-17T00:00:00Z");
  BOOST_TEST(to_iso8601(parse_utc_instant("1980-01-01T14:30:00Z", "k").value()) == "1980-01-01T14:30:00Z");
  BOOST_TEST(to_iso8601(parse_utc_instant("2099-12-31T23:59:59Z", "k").value()) == "2099-12-31T23:59:59Z");
  for (const char* bad : {"1979-12-31", "2100-01-01", "1979-12-31T23:59:59Z", "2100-01-01T00:00:00Z"}) {
    auto e = parse_utc_instant(bad, "market.sim_end");
    BOOST_REQUIRE(!e);
    BOOST_TEST((e.error().code == tb::errc::bad_config));
    BOOST_TEST(e.error().message == std::string("market.sim_end = \"") + bad +
                                        "\" is outside the years the NYSE calendar covers (1980-2099)");
  }
  for (const char* bad : {"20250101", "2025-01-01x", "2025-01-01 00:00"}) {
    auto e = parse_utc_instant(bad, "--from");
    BOOST_REQUIRE(!e);
    BOOST_TEST(e.error().message.find("is not YYYY-MM-DD") != std::string::npos, e.error().message);
  }
  for (const char* bad : {"2025-13-01", "2025-02-29", "2025-01-01T25:00:00Z"}) {
    auto e = parse_utc_instant(bad, "--from");
    BOOST_REQUIRE(!e);
    BOOST_TEST(e.error().message.find("is not a real date") != std::string::npos, e.error().message);
  }
  BOOST_TEST((parse_calendar_date("2001-09-07", "--from").value() == civil_date{2001, 9, 7}));
  BOOST_TEST(!ok(parse_calendar_date("2001-09-07T00:00:00Z", "--from")));
  BOOST_TEST(!ok(parse_calendar_date("2100-01-01", "--to")));
  BOOST_TEST(!ok(parse_calendar_date("2001-02-29", "--to")));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(analysis_schedule)

namespace {
std::vector<scheduled_event> walk(const schedule_config& cfg, time_point from, int n, bool eq = true, bool cr = true) {
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
      {"2024-07-05T00:00:00Z", event_kind::crypto_refresh, false, true},  // Jul 4: holiday
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
  auto late = next_scheduled_event(schedule_config{}, ny(2099, 12, 31, 15, 30), true, false);
  BOOST_REQUIRE(!late);
  BOOST_TEST((late.error().code == tb::errc::invalid_argument));
  // With crypto asked too, the crypto refresh at midnight UTC comes before any 2100 session.
  auto mixed = next_scheduled_event(schedule_config{}, ny(2099, 12, 31, 15, 30));
  BOOST_REQUIRE(mixed);
  BOOST_TEST(to_iso8601(mixed->at) == "2100-01-01T00:00:00Z");
  // Crypto only needs no calendar.
  auto crypto = next_scheduled_event(schedule_config{}, utc(2101, 5, 5, 12), false, true);
  BOOST_REQUIRE(crypto);
  BOOST_TEST(to_iso8601(crypto->at) == "2101-05-06T00:00:00Z");
  BOOST_TEST(!ok(next_scheduled_event(schedule_config{}, utc(1979, 6, 1), true, false)));
  BOOST_TEST(!ok(next_scheduled_event(schedule_config{}, utc(2024, 6, 1), false, false)));

  schedule_config bad;
  bad.midday_pass_min = 16 * 60;
  auto e = validate(bad);
  BOOST_REQUIRE(e);
  BOOST_TEST((e->code == tb::errc::bad_config));
  BOOST_TEST(e->message.rfind("schedule.midday_pass_min: 960 is out of range", 0) == 0u, e->message);
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
