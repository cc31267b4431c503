#pragma once
// Printers so Boost.Test can show strategy enums in failed assertions (core/error.hpp prints errc).
#include <ostream>

#include "core/error.hpp"
#include "strategy/compare.hpp"
#include "strategy/risk.hpp"
#include "strategy/strategies.hpp"

namespace tb {
namespace strategy {
inline std::ostream& operator<<(std::ostream& os, strategy_kind k) { return os << to_string(k); }
inline std::ostream& operator<<(std::ostream& os, verdict v) { return os << to_string(v); }
inline std::ostream& operator<<(std::ostream& os, order_verdict v) { return os << to_string(v); }
inline std::ostream& operator<<(std::ostream& os, asset_class a) { return os << to_string(a); }
}  // namespace strategy
}  // namespace tb
