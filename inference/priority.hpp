#pragma once
// The batching priority of a forecast window: the dynamic batcher's queue order. The actor
// protocol (actors/protocol.hpp, window_request::priority) carries this same enum.
#include <cstdint>

namespace tb::inference {

// live: a symbol's current window, batched first. backfill: a walk-forward window; it counts as
// live once it waited batcher_options::backfill_max_wait. Never decides a cache TTL.
enum class priority : std::uint8_t { live = 0, backfill = 1 };

constexpr const char* to_string(priority p) { return p == priority::backfill ? "backfill" : "live"; }

}  // namespace tb::inference
