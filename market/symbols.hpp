#pragma once
// Symbol classification: which asset class (and so which calendar, fee and order rules) a symbol
// belongs to.
//
// Rule (the original bot's): a crypto pair is written as the base asset followed by "USD", e.g.
// BTCUSD, ETHUSD, SUIUSD; Alpaca's slash form (BTC/USD) is accepted too. A symbol is crypto when,
// upper-cased, it ends in "USD" with at least one character before it, or ends in "/USD".
// Everything else is an equity. The bare ticker "USD" (an ETF) is an equity.
// Thread: pure, safe from any thread.
#include <string>

#include "core/calendar.hpp"

namespace tb::market {

core::asset_class classify_symbol(const std::string& symbol);
inline bool is_crypto(const std::string& symbol) {
  return classify_symbol(symbol) == core::asset_class::crypto;
}

}  // namespace tb::market
