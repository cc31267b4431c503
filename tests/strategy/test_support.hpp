#pragma once
// Printers so Boost.Test can show tb:: enums in failed assertions.
#include <ostream>

#include "core/error.hpp"
#include "strategy/compare.hpp"
#include "strategy/risk.hpp"
#include "strategy/strategies.hpp"

namespace tb {
inline std::ostream& operator<<(std::ostream& os, errc c) { return os << to_string(c); }
namespace strategy {
inline std::ostream& operator<<(std::ostream& os, strategy_kind k) { return os << to_string(k); }
inline std::ostream& operator<<(std::ostream& os, verdict v) { return os << to_string(v); }
inline std::ostream& operator<<(std::ostream& os, order_verdict v) { return os << to_string(v); }
inline std::ostream& operator<<(std::ostream& os, asset_class a) { return os << to_string(a); }
}  // namespace strategy
}  // namespace tb
