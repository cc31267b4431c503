#include "inference/bar_calendar.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace tb::inference {

std::vector<core::bar> future_bar_times(const std::vector<core::bar>& history, int count) {
  std::vector<core::bar> out;
  if (count <= 0) return out;
  constexpr std::int64_t day = 86400;
  std::int64_t step = day;
  const std::size_t n = history.size();
  if (n >= 2) {
    std::map<std::int64_t, int> freq;
    const std::size_t from = n > 257 ? n - 257 : 0;
    for (std::size_t i = from + 1; i < n; ++i) {
      const std::int64_t d = history[i].time_s - history[i - 1].time_s;
      if (d > 0) ++freq[d];
    }
    int best = 0;
    for (const auto& [d, c] : freq) {
      if (c > best) {
        best = c;
        step = d;
      }
    }
  }
  std::set<std::int64_t> times_of_day;
  bool weekend_seen = false;
  for (const auto& b : history) {
    const std::int64_t local = b.time_s + b.utc_offset_s;
    times_of_day.insert(((local % day) + day) % day);
    const auto s = core::stamp_of(b);
    if (s.weekday >= 5) weekend_seen = true;
  }
  const std::int32_t offset = history.empty() ? 0 : history.back().utc_offset_s;
  std::int64_t t = history.empty() ? 0 : history.back().time_s;
  // Enough tries to cross a long weekend at any step; past that, plain spacing.
  const std::int64_t max_tries = std::max<std::int64_t>(8, (5 * day) / std::max<std::int64_t>(step, 1) + 8);
  for (int k = 0; k < count; ++k) {
    std::int64_t candidate = t;
    bool found = false;
    for (std::int64_t tries = 0; tries < max_tries; ++tries) {
      candidate += step;
      core::bar b;
      b.time_s = candidate;
      b.utc_offset_s = offset;
      const std::int64_t local = candidate + offset;
      const bool tod_ok = times_of_day.empty() || times_of_day.count(((local % day) + day) % day) > 0;
      const bool wd_ok = weekend_seen || core::stamp_of(b).weekday < 5;
      if (tod_ok && wd_ok) {
        found = true;
        break;
      }
    }
    if (!found) candidate = t + step;
    t = candidate;
    core::bar b;
    b.time_s = t;
    b.utc_offset_s = offset;
    out.push_back(b);
  }
  return out;
}

std::vector<core::bar_stamp> future_stamps(const std::vector<core::bar>& history, int count) {
  std::vector<core::bar_stamp> out;
  for (const auto& b : future_bar_times(history, count)) out.push_back(core::stamp_of(b));
  return out;
}

}  // namespace tb::inference
