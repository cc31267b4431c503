#include "market/symbols.hpp"

#include <cctype>

namespace tb::market {

core::asset_class classify_symbol(const std::string& symbol) {
  std::string up;
  up.reserve(symbol.size());
  for (char c : symbol) up.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  const std::string suffix = "USD";
  if (up.size() > suffix.size() && up.compare(up.size() - suffix.size(), suffix.size(), suffix) == 0)
    return core::asset_class::crypto;  // covers "BTC/USD" too
  return core::asset_class::equity;
}

}  // namespace tb::market
