#pragma once
// Symbol rules: which asset class (and so which calendar, fee and order rules) a symbol belongs
// to, and the price grid its limit orders are on.
//
// Rule (the original bot's): a crypto pair is written as the base asset followed by "USD", e.g.
// BTCUSD, ETHUSD, SUIUSD; Alpaca's slash form (BTC/USD) is accepted too. A symbol is crypto when,
// upper-cased, it ends in "USD" with at least one character before it, or ends in "/USD".
// Everything else is an equity. The bare ticker "USD" (an ETF) is an equity.
// Thread: pure, safe from any thread.
#include <string>

#include "core/calendar.hpp"
#include "market/broker.hpp"

namespace tb::market {

// ASCII upper case ("btc/usd" -> "BTC/USD").
std::string upper_case(std::string s);

core::asset_class classify_symbol(const std::string& symbol);
inline bool is_crypto(const std::string& symbol) { return classify_symbol(symbol) == core::asset_class::crypto; }

// The price increment of a limit price (Alpaca's, which every broker here follows):
// equities $0.01 at or above $1, $0.0001 below $1 (SEC Rule 612 sub-penny rule, as Alpaca
// enforces it); crypto: `crypto_increment` when > 0, else 6 significant digits of the price,
// clamped to [1e-9, 0.01] (e.g. 60000 -> 0.01, 150 -> 0.001, 0.15 -> 1e-6).
double price_increment(const std::string& symbol, double price, double crypto_increment = 0);
// Rounds a limit price to the increment in the direction that never worsens it for us: buys down,
// sells up. A price already on the grid (within 1e-9 of a tick) stays. The result is the double
// nearest to the decimal price (190.07, not 190.06999999).
double round_limit_price(const std::string& symbol, double price, market::side s, double crypto_increment = 0);

}  // namespace tb::market
