#include "market/symbols.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace tb::market {

std::string upper_case(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

core::asset_class classify_symbol(const std::string& symbol) {
  const std::string up = upper_case(symbol);
  const std::string suffix = "USD";
  if (up.size() > suffix.size() && up.compare(up.size() - suffix.size(), suffix.size(), suffix) == 0)
    return core::asset_class::crypto;  // covers "BTC/USD" too
  return core::asset_class::equity;
}

double price_increment(const std::string& symbol, double price, double crypto_increment) {
  if (!is_crypto(symbol)) return price >= 1.0 ? 0.01 : 0.0001;
  if (crypto_increment > 0) return crypto_increment;
  if (!(price > 0)) return 1e-9;
  const double exp10 = std::floor(std::log10(price)) - 5;
  return std::clamp(std::pow(10.0, exp10), 1e-9, 0.01);
}

double round_limit_price(const std::string& symbol, double price, market::side s, double crypto_increment) {
  const double tick = price_increment(symbol, price, crypto_increment);
  const double units = price / tick;
  const double nearest = std::round(units);
  double n;
  if (std::fabs(units - nearest) <= 1e-9 * std::max(1.0, std::fabs(units)))
    n = nearest;
  else
    n = s == side::buy ? std::floor(units) : std::ceil(units);
  // Through the whole number of the tick's last decimal (exact in a double), so the result is the
  // double nearest to the decimal price: 190.07 stays 190.07 and not 190.06999999.
  const int decimals = std::clamp(static_cast<int>(std::ceil(-std::log10(tick) - 1e-9)), 0, 12);
  const double scale = std::pow(10.0, decimals);
  return std::round(n * tick * scale) / scale;
}

}  // namespace tb::market
