#include "market/broker.hpp"

#include <cmath>

#include "market/symbols.hpp"

namespace tb::market {

const char* to_string(side s) { return s == side::buy ? "buy" : "sell"; }
const char* to_string(time_in_force t) { return t == time_in_force::gtc ? "gtc" : "day"; }
const char* to_string(order_status s) {
  switch (s) {
    case order_status::open:
      return "open";
    case order_status::filled:
      return "filled";
    case order_status::canceled:
      return "canceled";
    case order_status::expired:
      return "expired";
  }
  return "unknown";
}

time_in_force default_time_in_force(const std::string& symbol, double qty) {
  if (is_crypto(symbol)) return time_in_force::gtc;
  return qty == std::floor(qty) ? time_in_force::gtc : time_in_force::day;
}

}  // namespace tb::market
