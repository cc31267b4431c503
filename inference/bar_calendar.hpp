#pragma once
// Time stamps of bars to come, for the model's time embedding. Torch-free, pure functions.
#include <vector>

#include "core/bar.hpp"

namespace tb::inference {

// The next `count` bar instants after `history` (oldest first), extrapolated from it: the step is
// the most frequent spacing among the last bars; an instant is only used if its local time of day
// occurs in the history (so intraday sessions and lunch breaks are respected) and, when the
// history holds no Saturday or Sunday bar, if it falls on a weekday. Exchange holidays are not
// known. The offset of the last bar is kept. Returns bars with only time_s and utc_offset_s set.
std::vector<core::bar> future_bar_times(const std::vector<core::bar>& history, int count);

// stamp_of() of each of future_bar_times(history, count).
std::vector<core::bar_stamp> future_stamps(const std::vector<core::bar>& history, int count);

}  // namespace tb::inference
