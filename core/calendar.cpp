#include "core/calendar.hpp"

#include <algorithm>
#include <cstdio>
#include <iterator>

namespace tb::core {

// ---- civil dates ----
// days_from_civil / civil_from_days: Howard Hinnant's algorithms ("chrono-Compatible Low-Level
// Date Algorithms"), exact for the proleptic Gregorian calendar.

std::int64_t days_from_civil(civil_date d) {
  const std::int64_t y = static_cast<std::int64_t>(d.year) - (d.month <= 2 ? 1 : 0);
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;                          // [0, 399]
  const std::int64_t mp = (d.month + 9) % 12;                      // March = 0
  const std::int64_t doy = (153 * mp + 2) / 5 + d.day - 1;         // [0, 365]
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;  // [0, 146096]
  return era * 146097 + doe - 719468;
}

civil_date civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = yoe + era * 400;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return civil_date{static_cast<int>(y + (m <= 2 ? 1 : 0)), m, d};
}

bool is_valid(civil_date d) {
  if (d.month < 1 || d.month > 12 || d.day < 1 || d.day > 31) return false;
  return civil_from_days(days_from_civil(d)) == d;
}

int weekday_of(civil_date d) {
  // 1970-01-01 was a Thursday (Monday = 0 -> Thursday = 3).
  const std::int64_t z = days_from_civil(d);
  return static_cast<int>(((z % 7) + 7 + 3) % 7);
}

civil_date add_days(civil_date d, std::int64_t n) { return civil_from_days(days_from_civil(d) + n); }

std::string to_string(civil_date d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", d.year, d.month, d.day);
  return buf;
}

namespace {

constexpr std::int64_t ns_per_s = 1000000000;

time_point at_seconds(std::int64_t unix_s) { return from_unix_seconds(unix_s); }

// Floor division for possibly negative numerators.
std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// The n-th (1-based) `weekday` (Monday = 0) of year/month.
civil_date nth_weekday(int year, int month, int weekday, int n) {
  const civil_date first{year, month, 1};
  const int delta = (weekday - weekday_of(first) + 7) % 7;
  return civil_date{year, month, 1 + delta + 7 * (n - 1)};
}

// The last `weekday` (Monday = 0) of year/month.
civil_date last_weekday(int year, int month, int weekday) {
  const civil_date last = add_days(month == 12 ? civil_date{year + 1, 1, 1} : civil_date{year, month + 1, 1}, -1);
  return add_days(last, -((weekday_of(last) - weekday + 7) % 7));
}

// US daylight saving time of `year`, as Unix seconds: it starts at 02:00 local standard time
// (07:00 UTC) and ends at 02:00 local daylight time (06:00 UTC). Rules: Uniform Time Act of 1966
// (last Sunday of April to last Sunday of October; 1974-75 differed, the rule is applied
// anyway), Public Law 99-359 from 1987 (first Sunday of April), Energy Policy Act of 2005 from
// 2007 (second Sunday of March to first Sunday of November).
civil_date dst_start_date(int year) {
  if (year >= 2007) return nth_weekday(year, 3, 6, 2);
  if (year >= 1987) return nth_weekday(year, 4, 6, 1);
  return last_weekday(year, 4, 6);
}
civil_date dst_end_date(int year) {
  if (year >= 2007) return nth_weekday(year, 11, 6, 1);
  return last_weekday(year, 10, 6);
}
std::int64_t dst_start_s(int year) { return days_from_civil(dst_start_date(year)) * seconds_per_day + 7 * 3600; }
std::int64_t dst_end_s(int year) { return days_from_civil(dst_end_date(year)) * seconds_per_day + 6 * 3600; }

// ---- the NYSE calendar by rule ----
//
// Sources:
// [A] NYSE, "Holidays and Trading Hours" (nyse.com/markets/hours-calendars), the published lists
//     of holidays and early closes (2024-2027 as published in 2024-2025).
// [B] NYSE's history of market closings ("Stocks.NYSE-Closings.pdf", NYSE Group), as transcribed
//     date by date in pandas_market_calendars (github.com/rsheftel/pandas_market_calendars,
//     calendars/nyse.py and holidays/nyse.py): every full closure, early close and late opening
//     1885-2011 and the published calendars after it.
// [C] LA Times, 1985-07-11, "NYSE Votes to Extend Trading, Open at 9:30": 09:30 from 1985-09-30.
// [D] NYSE notices of the national days of mourning: 2004-06-11 (Reagan), 2007-01-02 (Ford),
//     2018-12-05 (G. H. W. Bush), 2025-01-09 (Carter); 1994-04-27 (Nixon) from [B].
//
// Holidays (full closures) by rule, 1980 onward [A][B]: New Year's Day, Washington's Birthday
// (third Monday of February since 1971), Good Friday (every year of the range; NYSE last traded on
// a Good Friday in 1907), Memorial Day (last Monday of May since 1971), Independence Day, Labor
// Day (first Monday of September), Thanksgiving (fourth Thursday of November since 1942),
// Christmas; Martin Luther King Jr. Day (third Monday of January) from 1998; Juneteenth from
// 2022. Observance: Saturday -> the Friday before, Sunday -> the Monday after; New Year's Day on
// a Saturday is not observed (1983, 1994, 2000, 2005, 2011, 2022: December 31 traded).
//
// Scheduled early closes [B]: 14:00 until 1992, 13:00 from 1993.
// - the day after Thanksgiving: from 1992 (none before);
// - Christmas Eve, when it is Monday..Thursday: from 1990 (1980-1989 traded the full day; on a
//   Friday it is the observed Christmas holiday);
// - Independence Day: from 1995, July 3 when it is Monday, Tuesday or Thursday (July 4 then a
//   weekday after it); when July 4 is a Thursday, July 5 (Friday) until 2012 (1996, 2002) and
//   July 3 (Wednesday) from 2013;
// - one-off: Friday December 26 in 1997 and 2003 (not 2008, 2014 or 2025).
// Unscheduled partial closures [B] are listed below with the time trading stopped.

struct one_off {
  int year, month, day;
  std::int32_t close_s;  // 0: closed all day; else the New York time trading stopped
  const char* reason;
};

constexpr std::int32_t hm(int h, int m) { return (h * 60 + m) * 60; }

constexpr const char* after_1987_crash = "shortened hours after the October 19 crash";
constexpr const char* sept_11 = "September 11 attacks";

// Full closures and early closes NYSE recorded that follow no yearly rule [B][D]. Sorted.
constexpr one_off one_offs[] = {
    {1980, 11, 4, 0, "Election Day (closed in presidential election years through 1980)"},
    {1981, 3, 30, hm(15, 17), "attempted assassination of President Reagan"},
    {1981, 9, 9, hm(15, 28), "Con Edison power failure"},
    {1985, 9, 27, 0, "Hurricane Gloria"},
    {1987, 10, 23, hm(14, 0), after_1987_crash},
    {1987, 10, 26, hm(14, 0), after_1987_crash},
    {1987, 10, 27, hm(14, 0), after_1987_crash},
    {1987, 10, 28, hm(14, 0), after_1987_crash},
    {1987, 10, 29, hm(14, 0), after_1987_crash},
    {1987, 10, 30, hm(14, 0), after_1987_crash},
    {1987, 11, 2, hm(14, 30), after_1987_crash},
    {1987, 11, 3, hm(14, 30), after_1987_crash},
    {1987, 11, 4, hm(14, 30), after_1987_crash},
    {1987, 11, 5, hm(15, 0), after_1987_crash},
    {1987, 11, 6, hm(15, 0), after_1987_crash},
    {1987, 11, 9, hm(15, 30), after_1987_crash},
    {1987, 11, 10, hm(15, 30), after_1987_crash},
    {1987, 11, 11, hm(15, 30), after_1987_crash},
    {1994, 2, 11, hm(14, 30), "snowstorm"},
    {1994, 4, 27, 0, "National Day of Mourning, President Nixon"},
    {1996, 1, 8, hm(14, 0), "snowstorm"},
    {1997, 10, 27, hm(15, 30), "circuit breaker halt"},
    {1997, 12, 26, hm(13, 0), "day after Christmas"},
    {2001, 9, 11, 0, sept_11},
    {2001, 9, 12, 0, sept_11},
    {2001, 9, 13, 0, sept_11},
    {2001, 9, 14, 0, sept_11},
    {2003, 12, 26, hm(13, 0), "day after Christmas"},
    {2004, 6, 11, 0, "National Day of Mourning, President Reagan"},
    {2005, 6, 1, hm(15, 56), "systems communication problem"},
    {2007, 1, 2, 0, "National Day of Mourning, President Ford"},
    {2012, 10, 29, 0, "Hurricane Sandy"},
    {2012, 10, 30, 0, "Hurricane Sandy"},
    {2018, 12, 5, 0, "National Day of Mourning, President George H. W. Bush"},
    {2025, 1, 9, 0, "National Day of Mourning, President Carter"},
};

// Easter Sunday of `year` (Gregorian): the anonymous Gregorian computus (Meeus, "Astronomical
// Algorithms", ch. 8).
civil_date easter_sunday(int year) {
  const int a = year % 19, b = year / 100, c = year % 100, d = b / 4, e = b % 4, f = (b + 8) / 25, g = (b - f + 1) / 3,
            h = (19 * a + b - d - g + 15) % 30, i = c / 4, k = c % 4, l = (32 + 2 * e + 2 * i - h - k) % 7,
            m = (a + 11 * h + 22 * l) / 451;
  const int month = (h + l - 7 * m + 114) / 31, day = (h + l - 7 * m + 114) % 31 + 1;
  return civil_date{year, month, day};
}

// One special day of a year: a full closure (close_s 0) or an early close.
struct special_day {
  civil_date date;
  std::int32_t close_s;
  const char* reason;
};

// The holidays and early closes of `year` by the rules above plus the one-offs, in date order.
std::vector<special_day> special_days_of(int year) {
  std::vector<special_day> out;
  auto closed = [&](civil_date d, const char* why) {
    if (weekday_of(d) < 5) out.push_back({d, 0, why});
  };
  // Fixed-date holidays move to Friday (Saturday) or Monday (Sunday).
  auto observed = [&](int month, int day, const char* why) {
    const civil_date d{year, month, day};
    const int wd = weekday_of(d);
    closed(wd == 5 ? add_days(d, -1) : wd == 6 ? add_days(d, 1) : d, why);
  };
  const civil_date new_year{year, 1, 1};
  if (weekday_of(new_year) != 5) observed(1, 1, "New Year's Day");  // Saturday: not observed
  if (year >= 1998) closed(nth_weekday(year, 1, 0, 3), "Martin Luther King Jr. Day");
  closed(nth_weekday(year, 2, 0, 3), "Washington's Birthday");
  closed(add_days(easter_sunday(year), -2), "Good Friday");
  closed(last_weekday(year, 5, 0), "Memorial Day");
  if (year >= 2022) observed(6, 19, "Juneteenth");
  observed(7, 4, "Independence Day");
  closed(nth_weekday(year, 9, 0, 1), "Labor Day");
  const civil_date thanksgiving = nth_weekday(year, 11, 3, 4);
  closed(thanksgiving, "Thanksgiving Day");
  observed(12, 25, "Christmas Day");

  const std::int32_t early = year >= 1993 ? nyse_early_close_s : nyse_early_close_before_1993_s;
  auto early_close = [&](civil_date d, const char* why) { out.push_back({d, early, why}); };
  if (year >= 1995) {
    const int jul3 = weekday_of({year, 7, 3});
    if (jul3 == 0 || jul3 == 1 || jul3 == 3 || (jul3 == 2 && year >= 2013))
      early_close({year, 7, 3}, "day before Independence Day");
    if (jul3 == 2 && year <= 2012) early_close({year, 7, 5}, "day after Independence Day");
  }
  if (year >= 1992) early_close(add_days(thanksgiving, 1), "day after Thanksgiving");
  if (year >= 1990 && weekday_of({year, 12, 24}) <= 3) early_close({year, 12, 24}, "Christmas Eve");

  for (const one_off& o : one_offs)
    if (o.year == year) out.push_back({civil_date{o.year, o.month, o.day}, o.close_s, o.reason});
  std::sort(out.begin(), out.end(), [](const special_day& x, const special_day& y) { return x.date < y.date; });
  return out;
}

// Every covered year's special days, built once.
const std::vector<special_day>& special_days(int year) {
  static const std::vector<std::vector<special_day>> all = [] {
    std::vector<std::vector<special_day>> v;
    for (int y = calendar_first_year; y <= calendar_last_year; ++y) v.push_back(special_days_of(y));
    return v;
  }();
  return all[static_cast<std::size_t>(year - calendar_first_year)];
}

const special_day* find_special(civil_date d) {
  const auto& days = special_days(d.year);
  auto it = std::lower_bound(days.begin(), days.end(), d,
                             [](const special_day& x, const civil_date& v) { return x.date < v; });
  return it != days.end() && it->date == d ? &*it : nullptr;
}

tb::error out_of_range(const std::string& what) {
  return tb::error{errc::invalid_argument, "NYSE calendar: " + what + " is outside the covered years " +
                                               std::to_string(calendar_first_year) + "-" +
                                               std::to_string(calendar_last_year)};
}

bool year_covered(int y) { return y >= calendar_first_year && y <= calendar_last_year; }

std::vector<civil_date> dates_of(int year, bool early) {
  std::vector<civil_date> out;
  for (const special_day& s : special_days(year))
    if ((s.close_s != 0) == early) out.push_back(s.date);
  return out;
}

}  // namespace

// ---- New York time ----

bool new_york_is_dst(time_point utc) {
  const std::int64_t s = to_unix_seconds(utc);
  const int year = civil_from_days(floor_div(s, seconds_per_day)).year;  // UTC year: DST is
  return s >= dst_start_s(year) && s < dst_end_s(year);                  // never on at Jan 1
}

std::int32_t new_york_utc_offset_s(time_point utc) { return new_york_is_dst(utc) ? -4 * 3600 : -5 * 3600; }

local_time to_new_york(time_point utc) {
  const std::int64_t local_s = to_unix_seconds(utc) + new_york_utc_offset_s(utc);
  const std::int64_t days = floor_div(local_s, seconds_per_day);
  return local_time{civil_from_days(days), static_cast<std::int32_t>(local_s - days * seconds_per_day)};
}

tb::expected<time_point> from_new_york(civil_date date, std::int32_t seconds_of_day) {
  if (!is_valid(date)) return tb::error{errc::invalid_argument, "from_new_york: invalid date " + to_string(date)};
  if (seconds_of_day < 0 || seconds_of_day >= seconds_per_day)
    return tb::error{errc::invalid_argument,
                     "from_new_york: seconds_of_day " + std::to_string(seconds_of_day) + " outside [0, 86400)"};
  const std::int64_t local_s = days_from_civil(date) * seconds_per_day + seconds_of_day;
  // Try daylight time first so an ambiguous wall time resolves to the earlier instant.
  for (const std::int32_t offset : {-4 * 3600, -5 * 3600}) {
    const time_point candidate = at_seconds(local_s - offset);
    if (new_york_utc_offset_s(candidate) == offset) return candidate;
  }
  return tb::error{errc::invalid_argument, "from_new_york: " + to_string(date) + " " + std::to_string(seconds_of_day) +
                                               " s does not exist in New York (DST gap)"};
}

// ---- NYSE sessions ----

const char* to_string(asset_class c) {
  switch (c) {
    case asset_class::equity:
      return "equity";
    case asset_class::crypto:
      return "crypto";
  }
  return "unknown";
}

const char* to_string(day_kind k) {
  switch (k) {
    case day_kind::weekend:
      return "weekend";
    case day_kind::holiday:
      return "holiday";
    case day_kind::regular:
      return "regular";
    case day_kind::early_close:
      return "early_close";
  }
  return "unknown";
}

tb::expected<session> nyse_session(civil_date date) {
  if (!is_valid(date)) return tb::error{errc::invalid_argument, "NYSE calendar: invalid date " + to_string(date)};
  if (!year_covered(date.year)) return out_of_range(to_string(date));
  session s;
  s.date = date;
  if (weekday_of(date) >= 5) {
    s.kind = day_kind::weekend;
    return s;
  }
  const special_day* special = find_special(date);
  if (special && special->close_s == 0) {
    s.kind = day_kind::holiday;
    s.reason = special->reason;
    return s;
  }
  s.kind = special ? day_kind::early_close : day_kind::regular;
  if (special) s.reason = special->reason;
  const std::int32_t open_s = date < civil_date{1985, 9, 30} ? nyse_open_before_1985_10_s : nyse_open_s;
  // 09:30..16:00 always exist and are unambiguous in New York (the DST switch is at 02:00).
  s.open = from_new_york(date, open_s).value();
  s.close = from_new_york(date, special ? special->close_s : nyse_close_s).value();
  return s;
}

tb::expected<std::vector<civil_date>> nyse_holidays(int year) {
  if (!year_covered(year)) return out_of_range("year " + std::to_string(year));
  return dates_of(year, false);
}

tb::expected<std::vector<civil_date>> nyse_early_closes(int year) {
  if (!year_covered(year)) return out_of_range("year " + std::to_string(year));
  return dates_of(year, true);
}

namespace {

tb::error outside_years(const std::string& text, const std::string& key) {
  return tb::error{errc::bad_config, key + " = \"" + text + "\" is outside the years the NYSE calendar covers (" +
                                         std::to_string(calendar_first_year) + "-" +
                                         std::to_string(calendar_last_year) + ")"};
}

}  // namespace

tb::expected<civil_date> parse_calendar_date(const std::string& text, const std::string& key) {
  int y = 0, mo = 0, d = 0;
  char tail = 0;
  const bool ok = text.size() == 10 && std::sscanf(text.c_str(), "%4d-%2d-%2d%c", &y, &mo, &d, &tail) == 3;
  const civil_date date{y, mo, d};
  if (!ok || !is_valid(date))
    return tb::error{errc::bad_config, key + " = \"" + excerpt(text) + "\" is not a date (YYYY-MM-DD)"};
  if (!year_covered(y)) return outside_years(text, key);
  return date;
}

tb::expected<time_point> parse_utc_instant(const std::string& text, const std::string& key) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  char tail = 0;
  bool ok = false;
  if (text.size() == 10)
    ok = std::sscanf(text.c_str(), "%4d-%2d-%2d%c", &y, &mo, &d, &tail) == 3;
  else if (text.size() == 20)
    ok = std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ", &y, &mo, &d, &h, &mi, &s) == 6;
  const civil_date date{y, mo, d};
  if (!ok)
    return tb::error{errc::bad_config, key + " = \"" + excerpt(text) + "\" is not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ"};
  if (!is_valid(date) || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59)
    return tb::error{errc::bad_config, key + " = \"" + text + "\" is not a real date and time (UTC)"};
  if (!year_covered(y)) return outside_years(text, key);
  return at_seconds(days_from_civil(date) * seconds_per_day + h * 3600 + mi * 60 + s);
}

tb::expected<bool> is_open(asset_class c, time_point t) {
  if (c == asset_class::crypto) return true;
  auto s = nyse_session(to_new_york(t).date);
  if (!s) return s.error();
  return s->is_trading_day() && s->open <= t && t < s->close;
}

namespace {

// Walks New York dates from the date of `t` and returns the first session instant (open or
// close, chosen by `pick`) strictly after `t`. The longest gap between trading days is 7 days
// (2001-09-10 to 2001-09-17); 10 leaves room.
template <class Pick>
tb::expected<time_point> next_session_instant(time_point t, Pick pick, const char* what) {
  civil_date d = to_new_york(t).date;
  for (int i = 0; i < 10; ++i, d = add_days(d, 1)) {
    auto s = nyse_session(d);
    if (!s)
      return tb::error{s.error().code,
                       std::string("nyse_next_") + what + " after " + to_iso8601(t) + ": " + s.error().message};
    if (s->is_trading_day() && pick(*s) > t) return pick(*s);
  }
  return tb::error{errc::internal, std::string("nyse_next_") + what + ": no session within 10 days"};
}

}  // namespace

tb::expected<time_point> nyse_next_open(time_point t) {
  return next_session_instant(
      t, [](const session& s) { return s.open; }, "open");
}

tb::expected<time_point> nyse_next_close(time_point t) {
  return next_session_instant(
      t, [](const session& s) { return s.close; }, "close");
}

// ---- the analysis schedule ----

const rows<schedule_config>& schedule_config_rows() {
  using s = schedule_config;
  static const rows<schedule_config> rows = {
      key("schedule.open_pass_delay_min", &s::open_pass_delay_min, "open pass this many minutes after the NYSE open",
          nullptr, 0, 120),
      key("schedule.midday_pass_min", &s::midday_pass_min,
          "New York time of the midday pass, minutes after midnight (630 = 10:30)", nullptr, 570, 959),
      key("schedule.close_backout_lead_min", &s::close_backout_lead_min,
          "close back-out this many minutes before the NYSE close", nullptr, 1, 180),
      key("schedule.crypto_refresh_interval_min", &s::crypto_refresh_interval_min,
          "crypto refresh at multiples of this many minutes since the epoch (1440 = 00:00 UTC)", nullptr, 5, 10080),
  };
  return rows;
}

std::optional<tb::error> validate(const schedule_config& cfg) {
  return joined(check_values(schedule_config_rows(), cfg));
}

const char* to_string(event_kind k) {
  switch (k) {
    case event_kind::open_pass:
      return "open_pass";
    case event_kind::midday_pass:
      return "midday_pass";
    case event_kind::close_backout:
      return "close_backout";
    case event_kind::crypto_refresh:
      return "crypto_refresh";
    case event_kind::start_pass:
      return "start_pass";
  }
  return "unknown";
}

namespace {

struct candidate {
  time_point at;
  event_kind kind;
};

// Equity events of one trading session, in time order.
std::vector<candidate> equity_events(const schedule_config& cfg, const session& s) {
  std::vector<candidate> out;
  if (!s.is_trading_day()) return out;
  const time_point open_pass = s.open + std::chrono::minutes(cfg.open_pass_delay_min);
  if (open_pass < s.close) out.push_back({open_pass, event_kind::open_pass});
  // 09:30..15:59 always exist in New York (the DST switch is at 02:00).
  const time_point midday = from_new_york(s.date, cfg.midday_pass_min * 60).value();
  if (midday >= s.open && midday < s.close) out.push_back({midday, event_kind::midday_pass});
  const time_point backout = std::max(s.open, s.close - std::chrono::minutes(cfg.close_backout_lead_min));
  out.push_back({backout, event_kind::close_backout});
  std::stable_sort(out.begin(), out.end(), [](const candidate& a, const candidate& b) { return a.at < b.at; });
  return out;
}

}  // namespace

tb::expected<scheduled_event> next_scheduled_event(const schedule_config& cfg, time_point after, bool equities,
                                                   bool crypto) {
  if (auto e = validate(cfg)) return *e;
  if (!equities && !crypto) return tb::error{errc::invalid_argument, "next_scheduled_event: no asset class asked for"};

  std::vector<candidate> found;
  std::optional<time_point> crypto_at;
  if (crypto) {
    const std::int64_t interval = std::int64_t{cfg.crypto_refresh_interval_min} * 60 * ns_per_s;
    const std::int64_t k = floor_div(to_unix_nanoseconds(after), interval) + 1;
    crypto_at = time_point(duration(k * interval));
    found.push_back({*crypto_at, event_kind::crypto_refresh});
  }
  if (equities) {
    civil_date d = to_new_york(after).date;
    for (int i = 0; i < 10; ++i, d = add_days(d, 1)) {
      // Nothing on this New York day or later can precede the crypto event: stop looking.
      if (crypto_at) {
        auto day_start = from_new_york(d, 0);
        if (day_start && *day_start > *crypto_at) break;
      }
      auto s = nyse_session(d);
      if (!s)
        return tb::error{s.error().code, "next_scheduled_event after " + to_iso8601(after) + ": " + s.error().message};
      bool any = false;
      for (const candidate& c : equity_events(cfg, *s)) {
        if (c.at > after) {
          found.push_back(c);
          any = true;
        }
      }
      if (any) break;
    }
  }
  if (found.empty())
    return tb::error{errc::internal, "next_scheduled_event: no event found after " + to_iso8601(after)};

  time_point first = found.front().at;
  for (const candidate& c : found) first = std::min(first, c.at);
  scheduled_event ev;
  ev.at = first;
  for (const candidate& c : found) {
    if (c.at != first) continue;
    ev.kinds |= static_cast<unsigned>(c.kind);
    switch (c.kind) {
      case event_kind::open_pass:
      case event_kind::midday_pass:
        ev.equity = true;
        ev.crypto = ev.crypto || crypto;
        break;
      case event_kind::close_backout:
        ev.equity = true;
        break;
      case event_kind::crypto_refresh:
        ev.crypto = true;
        break;
      case event_kind::start_pass:
        break;  // not a calendar event
    }
  }
  return ev;
}

}  // namespace tb::core
