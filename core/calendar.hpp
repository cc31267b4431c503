#pragma once
// Market calendar: civil dates, New York time, NYSE sessions 1980-2099 by rule, and the analysis
// schedule.
//
// Time zone: America/New_York by the US daylight-saving rule in force each year (no tz database is
// read): until 1986 (exact from 1976) from the last Sunday of April to the last Sunday of October;
// 1987-2006 from the first Sunday of April to the last Sunday of October; from 2007 from the
// second Sunday of March to the first Sunday of November. Daylight time starts at 02:00 local
// standard time and ends at 02:00 local daylight time; UTC-4 in daylight time, UTC-5 otherwise.
//
// NYSE sessions, 1980-2099 (calendar_first_year..calendar_last_year): regular hours 09:30-16:00
// New York time (10:00-16:00 before 1985-09-30); holidays by their rules for the years they
// applied (Martin Luther King Jr. Day from 1998, Juneteenth from 2022, Good Friday from the
// Gregorian Easter), observed as NYSE observes them (Saturday -> the Friday before, Sunday -> the
// Monday after, except New Year's Day on a Saturday: not observed); scheduled early closes by
// their rules for the years they applied (14:00 until 1992, 13:00 from 1993); one-off full and
// partial closures as NYSE records them (2001-09-11..14, Hurricane Sandy, national days of
// mourning, ...). The rules, the one-off list and their sources live in calendar.cpp. Late
// openings (minutes of silence, snow) are not modelled: a session opens at the regular time.
// Any question about an equity session outside 1980-2099 is answered with
// errc::invalid_argument, never with a guess. Crypto trades 24/7 and needs no calendar.
//
// Thread: pure functions over tables built once (thread-safe static initialisation), safe from
// any thread.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/error.hpp"

namespace tb::core {

// ---- civil dates (proleptic Gregorian) ----

struct civil_date {
  int year = 1970;
  int month = 1;  // 1..12
  int day = 1;    // 1..31
};
inline bool operator==(const civil_date& a, const civil_date& b) {
  return a.year == b.year && a.month == b.month && a.day == b.day;
}
inline bool operator!=(const civil_date& a, const civil_date& b) { return !(a == b); }
inline bool operator<(const civil_date& a, const civil_date& b) {
  if (a.year != b.year) return a.year < b.year;
  if (a.month != b.month) return a.month < b.month;
  return a.day < b.day;
}

// Days since 1970-01-01 (negative before). The date must be valid (see is_valid).
std::int64_t days_from_civil(civil_date d);
civil_date civil_from_days(std::int64_t days);
bool is_valid(civil_date d);
// Monday = 0 .. Sunday = 6 (as bar_stamp::weekday).
int weekday_of(civil_date d);
civil_date add_days(civil_date d, std::int64_t n);
std::string to_string(civil_date d);  // "YYYY-MM-DD"

// ---- New York time ----

constexpr std::int32_t seconds_per_day = 86400;

// True when `utc` falls in US daylight saving time.
bool new_york_is_dst(time_point utc);
// The New York offset from UTC at `utc`: -4 h (daylight) or -5 h (standard), in seconds.
std::int32_t new_york_utc_offset_s(time_point utc);

struct local_time {
  civil_date date;
  std::int32_t seconds_of_day = 0;  // 0..86399, sub-second part truncated
};
local_time to_new_york(time_point utc);

// The UTC instant of New York wall time `seconds_of_day` (0..86399) on `date`. A wall time that
// does not exist (the skipped hour of the spring switch, 02:00-02:59) is errc::invalid_argument;
// one that exists twice (01:00-01:59 on the autumn switch day) is the earlier (daylight) instant.
tb::expected<time_point> from_new_york(civil_date date, std::int32_t seconds_of_day);

// ---- NYSE sessions ----

enum class asset_class { equity, crypto };
const char* to_string(asset_class c);

constexpr int calendar_first_year = 1980;  // the NYSE calendar covers these years, inclusive
constexpr int calendar_last_year = 2099;

constexpr std::int32_t nyse_open_s = (9 * 60 + 30) * 60;               // 09:30 New York, from 1985-09-30
constexpr std::int32_t nyse_open_before_1985_10_s = 10 * 60 * 60;      // 10:00 New York, until 1985-09-27
constexpr std::int32_t nyse_close_s = 16 * 60 * 60;                    // 16:00 New York
constexpr std::int32_t nyse_early_close_s = 13 * 60 * 60;              // 13:00 New York, from 1993
constexpr std::int32_t nyse_early_close_before_1993_s = 14 * 60 * 60;  // 14:00 New York, until 1992

// early_close: the session closes before 16:00 (a scheduled early close at 13:00, 14:00 until
// 1992, or an unscheduled partial closure at the time NYSE stopped trading that day).
enum class day_kind { weekend, holiday, regular, early_close };
const char* to_string(day_kind k);

// One New York calendar day of NYSE. open/close are set (as UTC instants) on trading days only.
// `reason` names a holiday or early close ("Good Friday", "Christmas Eve", "Hurricane Sandy");
// it is "" on regular days and weekends. It points to a string literal (static storage).
struct session {
  civil_date date;
  day_kind kind = day_kind::weekend;
  time_point open{};
  time_point close{};
  const char* reason = "";
  bool is_trading_day() const { return kind == day_kind::regular || kind == day_kind::early_close; }
};

// The session of New York date `date`; errc::invalid_argument outside 1980-2099.
tb::expected<session> nyse_session(civil_date date);

// Full-day closures (weekday holidays, observed dates, one-off closures) and early closes (any
// session closing before 16:00) of one year, in date order; errc::invalid_argument outside
// 1980-2099.
tb::expected<std::vector<civil_date>> nyse_holidays(int year);
tb::expected<std::vector<civil_date>> nyse_early_closes(int year);

// Whether the market of `c` trades at `t`: equity: a session's open <= t < its close (errors
// outside 1980-2099); crypto: always true (never an error).
tb::expected<bool> is_open(asset_class c, time_point t);
// The first NYSE session open strictly after `t`, and the first close strictly after `t` (the
// running session's close while open). errc::invalid_argument when `t` or the answer falls
// outside 1980-2099.
tb::expected<time_point> nyse_next_open(time_point t);
tb::expected<time_point> nyse_next_close(time_point t);

// Parses "YYYY-MM-DD" (a New York date for the calendar). errc::bad_config naming `key` and the
// text when it is not a valid date or its year is outside calendar_first_year..calendar_last_year.
tb::expected<civil_date> parse_calendar_date(const std::string& text, const std::string& key);
// Parses "YYYY-MM-DD" (00:00 UTC) or "YYYY-MM-DDTHH:MM:SSZ" (UTC): a simulated clock's start or
// end (market.sim_start, market.sim_end, `tradebot backtest --from/--to`). errc::bad_config naming
// `key` and the text when it is malformed or its UTC year is outside the calendar's years, so a
// run is refused when its config or arguments are read rather than stopped when the schedule
// reaches a year the calendar cannot answer.
tb::expected<time_point> parse_utc_instant(const std::string& text, const std::string& key);

// ---- the analysis schedule ----
//
// Defaults follow the original bot's main loop: a pass at the open (it ran in the first loop
// iteration of 09:30-10:00), a second pass an hour later (its "market open hour 2", 10:30), the
// close back-out 60 minutes before the close (its close analysis started at 16:00 - 45 min shift
// - 15 min window = 15:00), and a crypto refresh once a day at 00:00 UTC (when the new daily crypto
// bar exists). Here the back-out is relative to the day's real close, so early-close days
// (13:00) back out at 12:00.
struct schedule_config {
  // Minutes after the session open for the open pass. [0, 120], default 0.
  int open_pass_delay_min = 0;
  // New York wall time of the midday pass, minutes after midnight. [570, 959] (09:30..15:59),
  // default 630 (10:30). Skipped on days whose session does not contain it (after an early close).
  int midday_pass_min = 10 * 60 + 30;
  // Minutes before the session close for the close back-out. [1, 180], default 60.
  int close_backout_lead_min = 60;
  // Crypto refresh every this many minutes, at multiples of the interval since the Unix epoch
  // (so 1440 = every 00:00 UTC). [5, 10080], default 1440.
  int crypto_refresh_interval_min = 1440;
};

// The [schedule] rows of the config for the fields above (name, bounds, description): the daemon
// binds them into its schema, validate() checks a schedule built in code against them.
const rows<schedule_config>& schedule_config_rows();

// Checks the rows' bounds; errc::bad_config naming each key out of bounds, one per line.
std::optional<tb::error> validate(const schedule_config& cfg);

enum class event_kind : unsigned {
  open_pass = 1u << 0,       // equities and crypto are analysed and may trade
  midday_pass = 1u << 1,     // equities and crypto are analysed and may trade
  close_backout = 1u << 2,   // equity positions that should not be held overnight are closed
  crypto_refresh = 1u << 3,  // crypto only: new daily bar, refresh crypto decisions
  start_pass = 1u << 4,      // the daemon started on the wall clock: crypto, and equities in session
                             // (never returned by next_scheduled_event; the scheduler's own)
};
const char* to_string(event_kind k);

// One instant of the schedule. Events that fall on the same instant are merged: `kinds` holds
// every event kind at `at`, and equity/crypto say which asset classes act at `at`.
struct scheduled_event {
  time_point at{};
  unsigned kinds = 0;   // bit set of event_kind
  bool equity = false;  // equity symbols act (open_pass, midday_pass, close_backout)
  bool crypto = false;  // crypto symbols act (open_pass, midday_pass, crypto_refresh)
  bool has(event_kind k) const { return (kinds & static_cast<unsigned>(k)) != 0; }
};

// The first scheduled instant strictly after `after`, considering the asset classes asked for
// (at least one must be asked). Equity events exist on NYSE trading days only, in session
// (open pass at open + delay if before the close; midday if inside [open, close); back-out at
// max(open, close - lead)). An invalid config is errc::bad_config. When the answer depends on
// equity sessions outside 1980-2099: errc::invalid_argument. With equities not asked, only
// crypto_refresh events occur, the calendar is not read and no date is out of range.
tb::expected<scheduled_event> next_scheduled_event(const schedule_config& cfg, time_point after, bool equities = true,
                                                   bool crypto = true);

}  // namespace tb::core
