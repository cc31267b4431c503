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
  const std::int64_t yoe = y - era * 400;                                        // [0, 399]
  const std::int64_t mp = (d.month + 9) % 12;                                    // March = 0
  const std::int64_t doy = (153 * mp + 2) / 5 + d.day - 1;                       // [0, 365]
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;                // [0, 146096]
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

tb::expected<time_point> parse_utc_instant(const std::string& text, const std::string& key) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  char tail = 0;
  bool ok = false;
  if (text.size() == 10) ok = std::sscanf(text.c_str(), "%4d-%2d-%2d%c", &y, &mo, &d, &tail) == 3;
  else if (text.size() == 20)
    ok = std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ", &y, &mo, &d, &h, &mi, &s) == 6;
  const civil_date date{y, mo, d};
  if (!ok) return tb::error{errc::bad_config, key + " = \"" + excerpt(text) + "\" is not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ"};
  if (!is_valid(date) || h > 23 || mi > 59 || s > 59)
    return tb::error{errc::bad_config, key + " = \"" + text + "\" is not a real date and time (UTC)"};
  return from_unix_seconds(days_from_civil(date) * seconds_per_day + h * 3600 + mi * 60 + s);
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

// DST start and end of `year` as Unix seconds: second Sunday of March 02:00 EST (07:00 UTC),
// first Sunday of November 02:00 EDT (06:00 UTC).
std::int64_t dst_start_s(int year) {
  return days_from_civil(nth_weekday(year, 3, 6, 2)) * seconds_per_day + 7 * 3600;
}
std::int64_t dst_end_s(int year) {
  return days_from_civil(nth_weekday(year, 11, 6, 1)) * seconds_per_day + 6 * 3600;
}

// ---- the NYSE table ----
// Sources: NYSE "Holidays and Trading Hours" (nyse.com/markets/hours-calendars) as published for
// 2024-2027; NYSE notice of 2024-12-23 closing the market on 2025-01-09 (National Day of Mourning
// for President Jimmy Carter). Observance: a Saturday holiday closes the Friday before, a Sunday
// holiday the Monday after, except New Year's Day on a Saturday (no closure; 2028-01-01 does not
// close 2027-12-31). Early closes (13:00): the day before Independence Day when that is a
// trading day and July 4 itself is a weekday after it, the day after Thanksgiving, and Christmas
// Eve when it is a trading day. tests/market/calendar_test.cpp re-derives the table from these
// rules.
struct dated {
  int year, month, day;
};

constexpr dated holidays[] = {
    // 2024
    {2024, 1, 1}, {2024, 1, 15}, {2024, 2, 19}, {2024, 3, 29}, {2024, 5, 27}, {2024, 6, 19},
    {2024, 7, 4}, {2024, 9, 2}, {2024, 11, 28}, {2024, 12, 25},
    // 2025 (Jan 9: National Day of Mourning, President Carter)
    {2025, 1, 1}, {2025, 1, 9}, {2025, 1, 20}, {2025, 2, 17}, {2025, 4, 18}, {2025, 5, 26},
    {2025, 6, 19}, {2025, 7, 4}, {2025, 9, 1}, {2025, 11, 27}, {2025, 12, 25},
    // 2026 (Independence Day on a Saturday: observed Friday Jul 3)
    {2026, 1, 1}, {2026, 1, 19}, {2026, 2, 16}, {2026, 4, 3}, {2026, 5, 25}, {2026, 6, 19},
    {2026, 7, 3}, {2026, 9, 7}, {2026, 11, 26}, {2026, 12, 25},
    // 2027 (Juneteenth on a Saturday: Fri Jun 18; Independence Day on a Sunday: Mon Jul 5;
    // Christmas on a Saturday: Fri Dec 24)
    {2027, 1, 1}, {2027, 1, 18}, {2027, 2, 15}, {2027, 3, 26}, {2027, 5, 31}, {2027, 6, 18},
    {2027, 7, 5}, {2027, 9, 6}, {2027, 11, 25}, {2027, 12, 24},
};

constexpr dated early_closes[] = {
    {2024, 7, 3}, {2024, 11, 29}, {2024, 12, 24},
    {2025, 7, 3}, {2025, 11, 28}, {2025, 12, 24},
    {2026, 11, 27}, {2026, 12, 24},
    {2027, 11, 26},
};

template <std::size_t N>
bool in_table(const dated (&table)[N], civil_date d) {
  return std::any_of(std::begin(table), std::end(table), [&](const dated& x) {
    return x.year == d.year && x.month == d.month && x.day == d.day;
  });
}

template <std::size_t N>
std::vector<civil_date> of_year(const dated (&table)[N], int year) {
  std::vector<civil_date> out;
  for (const dated& x : table)
    if (x.year == year) out.push_back(civil_date{x.year, x.month, x.day});
  return out;
}

tb::error out_of_range(const std::string& what) {
  return tb::error{errc::invalid_argument,
                   "NYSE calendar: " + what + " is outside the covered years " +
                       std::to_string(calendar_first_year) + "-" +
                       std::to_string(calendar_last_year)};
}

bool year_covered(int y) { return y >= calendar_first_year && y <= calendar_last_year; }

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
  if (!is_valid(date))
    return tb::error{errc::invalid_argument, "from_new_york: invalid date " + to_string(date)};
  if (seconds_of_day < 0 || seconds_of_day >= seconds_per_day)
    return tb::error{errc::invalid_argument,
                     "from_new_york: seconds_of_day " + std::to_string(seconds_of_day) +
                         " outside [0, 86400)"};
  const std::int64_t local_s = days_from_civil(date) * seconds_per_day + seconds_of_day;
  // Try daylight time first so an ambiguous wall time resolves to the earlier instant.
  for (const std::int32_t offset : {-4 * 3600, -5 * 3600}) {
    const time_point candidate = at_seconds(local_s - offset);
    if (new_york_utc_offset_s(candidate) == offset) return candidate;
  }
  return tb::error{errc::invalid_argument, "from_new_york: " + to_string(date) + " " +
                                               std::to_string(seconds_of_day) +
                                               " s does not exist in New York (DST gap)"};
}

// ---- NYSE sessions ----

const char* to_string(asset_class c) {
  switch (c) {
    case asset_class::equity: return "equity";
    case asset_class::crypto: return "crypto";
  }
  return "unknown";
}

const char* to_string(day_kind k) {
  switch (k) {
    case day_kind::weekend: return "weekend";
    case day_kind::holiday: return "holiday";
    case day_kind::regular: return "regular";
    case day_kind::early_close: return "early_close";
  }
  return "unknown";
}

tb::expected<session> nyse_session(civil_date date) {
  if (!is_valid(date))
    return tb::error{errc::invalid_argument, "NYSE calendar: invalid date " + to_string(date)};
  if (!year_covered(date.year)) return out_of_range(to_string(date));
  session s;
  s.date = date;
  if (weekday_of(date) >= 5) {
    s.kind = day_kind::weekend;
    return s;
  }
  if (in_table(holidays, date)) {
    s.kind = day_kind::holiday;
    return s;
  }
  s.kind = in_table(early_closes, date) ? day_kind::early_close : day_kind::regular;
  // 09:30, 13:00 and 16:00 always exist and are unambiguous in New York.
  s.open = from_new_york(date, nyse_open_s).value();
  s.close = from_new_york(date, s.kind == day_kind::early_close ? nyse_early_close_s : nyse_close_s).value();
  return s;
}

tb::expected<std::vector<civil_date>> nyse_holidays(int year) {
  if (!year_covered(year)) return out_of_range("year " + std::to_string(year));
  return of_year(holidays, year);
}

tb::expected<std::vector<civil_date>> nyse_early_closes(int year) {
  if (!year_covered(year)) return out_of_range("year " + std::to_string(year));
  return of_year(early_closes, year);
}

tb::expected<bool> is_open(asset_class c, time_point t) {
  if (c == asset_class::crypto) return true;
  auto s = nyse_session(to_new_york(t).date);
  if (!s) return s.error();
  return s->is_trading_day() && s->open <= t && t < s->close;
}

namespace {

// Walks New York dates from the date of `t` and returns the first session instant (open or
// close, chosen by `pick`) strictly after `t`. A gap between trading days is at most 4 days in
// the table; 10 leaves room.
template <class Pick>
tb::expected<time_point> next_session_instant(time_point t, Pick pick, const char* what) {
  civil_date d = to_new_york(t).date;
  for (int i = 0; i < 10; ++i, d = add_days(d, 1)) {
    auto s = nyse_session(d);
    if (!s) return tb::error{s.error().code, std::string("nyse_next_") + what + " after " +
                                                 to_iso8601(t) + ": " + s.error().message};
    if (s->is_trading_day() && pick(*s) > t) return pick(*s);
  }
  return tb::error{errc::internal, std::string("nyse_next_") + what + ": no session within 10 days"};
}

}  // namespace

tb::expected<time_point> nyse_next_open(time_point t) {
  return next_session_instant(t, [](const session& s) { return s.open; }, "open");
}

tb::expected<time_point> nyse_next_close(time_point t) {
  return next_session_instant(t, [](const session& s) { return s.close; }, "close");
}

// ---- the analysis schedule ----

std::optional<tb::error> validate(const schedule_config& cfg) {
  auto bad = [](const char* key, int v, int lo, int hi) -> std::optional<tb::error> {
    if (v >= lo && v <= hi) return std::nullopt;
    return tb::error{errc::bad_config, std::string("schedule.") + key + " = " + std::to_string(v) +
                                           " is outside [" + std::to_string(lo) + ", " +
                                           std::to_string(hi) + "]"};
  };
  if (auto e = bad("open_pass_delay_min", cfg.open_pass_delay_min, 0, 120)) return e;
  if (auto e = bad("midday_pass_min", cfg.midday_pass_min, 570, 959)) return e;
  if (auto e = bad("close_backout_lead_min", cfg.close_backout_lead_min, 1, 180)) return e;
  if (auto e = bad("crypto_refresh_interval_min", cfg.crypto_refresh_interval_min, 5, 10080)) return e;
  return std::nullopt;
}

const char* to_string(event_kind k) {
  switch (k) {
    case event_kind::open_pass: return "open_pass";
    case event_kind::midday_pass: return "midday_pass";
    case event_kind::close_backout: return "close_backout";
    case event_kind::crypto_refresh: return "crypto_refresh";
    case event_kind::start_pass: return "start_pass";
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
  std::stable_sort(out.begin(), out.end(),
                   [](const candidate& a, const candidate& b) { return a.at < b.at; });
  return out;
}

}  // namespace

tb::expected<scheduled_event> next_scheduled_event(const schedule_config& cfg, time_point after,
                                                   bool equities, bool crypto) {
  if (auto e = validate(cfg)) return *e;
  if (!equities && !crypto)
    return tb::error{errc::invalid_argument, "next_scheduled_event: no asset class asked for"};

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
      if (!s) return tb::error{s.error().code, "next_scheduled_event after " + to_iso8601(after) +
                                                   ": " + s.error().message};
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
      case event_kind::close_backout: ev.equity = true; break;
      case event_kind::crypto_refresh: ev.crypto = true; break;
      case event_kind::start_pass: break;  // not a calendar event
    }
  }
  return ev;
}

}  // namespace tb::core
