#pragma once
// Loading candlestick bars from CSV files (as in ../shared/data and as vendors write them).
//
// Format accepted
// - The first non-empty line is a header. Columns are mapped by name, in any order and any case
//   (surrounding spaces and a UTF-8 byte-order mark are ignored); unknown columns are ignored.
//   Time: the first of `date`, `datetime`, `timestamp`, `timestamps`, `time`.
//   Required: `open`, `high`, `low`, `close`. Optional: `volume`, `amount`.
//   No volume column: volume = amount = 0. No amount column: amount = volume * mean(o, h, l, c)
//   (the Kronos reference's rule).
// - Time values: `YYYY-MM-DD`, or `YYYY-MM-DD HH:MM[:SS[.frac]]` with ` ` or `T` between date and
//   time, optionally followed by `Z`, `+HH:MM`, `-HH:MM`, `+HHMM` or `+HH`. A value without an
//   offset is naive and taken as written (utc_offset_s = 0); with an offset, time_s is the UTC
//   instant and utc_offset_s keeps the offset so calendar fields read the local time (bar.hpp).
// - Fields may be wrapped in double quotes ("" inside quotes is a quote). Empty lines and CRLF
//   line ends are accepted.
//
// Validation (every error names the file and the 1-based line number)
// - A row with a field count other than the header's, an unparsable or empty number or time,
//   a NaN or infinite value, an open, high, low or close <= 0, high < low, or a negative volume
//   or amount: errc::bad_data.
//   open or close outside [low, high] is accepted as the vendor wrote it.
// - Rows may come in ascending or descending (or any) order: they are sorted by time on load.
// - Two rows at the same instant: identical in every value -> the later line is dropped and a
//   warning naming both lines is appended to `warnings` (when given); different -> errc::bad_data
//   naming both lines.
// - A file with a header but no data rows, or without the required columns: errc::bad_data.
//   A file that cannot be opened: errc::io.
//
// Thread: pure functions, safe from any thread.
#include <istream>
#include <string>
#include <vector>

#include "core/bar.hpp"
#include "core/error.hpp"

namespace tb::core {

// Loads `path`. The series' symbol is `symbol`, or the file name without folder and extension
// when `symbol` is empty. Warnings (dropped exact duplicates) go to `warnings` when not null.
tb::expected<bar_series> load_bars_csv(const std::string& path, const std::string& symbol = "",
                                       std::vector<std::string>* warnings = nullptr);

// Same from a stream; `name` stands for the file in messages (and is the symbol when `symbol` is
// empty).
tb::expected<bar_series> load_bars_csv(std::istream& in, const std::string& name, const std::string& symbol,
                                       std::vector<std::string>* warnings = nullptr);

// Parses one time value as described above. Returns false when `text` is not one.
bool parse_bar_time(const std::string& text, std::int64_t& time_s, std::int32_t& utc_offset_s);

}  // namespace tb::core
