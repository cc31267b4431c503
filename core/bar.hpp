#pragma once
// Candlestick bars: the unit of market data everywhere in tradebotd.
#include <cstdint>
#include <string>
#include <vector>

namespace tb::core {

// One bar. `time_s` is the bar's instant in seconds since the Unix epoch (UTC); `utc_offset_s`
// is the offset its source wrote it with (0 for naive timestamps, which are taken as written).
// Calendar fields (minute, hour, weekday, day, month) are read in that local time, as the
// reference implementation reads them from pandas timestamps.
struct bar {
  std::int64_t time_s = 0;
  std::int32_t utc_offset_s = 0;
  double open = 0, high = 0, low = 0, close = 0;
  double volume = 0, amount = 0;
};

// Local calendar fields of a bar's timestamp, as Kronos' time embedding reads them.
struct bar_stamp {
  int minute = 0;   // 0..59
  int hour = 0;     // 0..23
  int weekday = 0;  // Monday = 0 .. Sunday = 6
  int day = 1;      // 1..31
  int month = 1;    // 1..12
};

bar_stamp stamp_of(const bar& b);

// Bars of one symbol, oldest first, strictly increasing time.
struct bar_series {
  std::string symbol;
  std::vector<bar> bars;
};

}  // namespace tb::core
