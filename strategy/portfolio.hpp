#pragma once
// Portfolio selection and sizing over the symbols' proposals. README.md, "Portfolio".
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"
#include "strategy/risk.hpp"
#include "strategy/window.hpp"

namespace tb::strategy {

struct portfolio_params {
  int max_positions = 10;       // at most this many symbols
  int min_positions = 4;        // top up to this many from qualified candidates below min_score
  double min_score = 0.0;       // preferred candidates have score >= this
  double kelly_fraction = 0.2;  // weight = min(kelly_cap, kelly_fraction x edge / variance)
  double kelly_cap = 0.15;      // largest weight of one symbol
};

// The [portfolio] keys of the daemon's config, one row per member above.
const core::rows<portfolio_params>& portfolio_rows();

// The cross-key rule of those keys (min_positions <= max_positions): one line per problem.
void check(const portfolio_params& p, std::vector<std::string>& errors);

// The bounds of portfolio_rows() and check(); errc::bad_config naming the first problem.
expected<portfolio_params> validate(const portfolio_params& p);

// One symbol's proposal (from its strategy_choice and the live plan).
struct candidate {
  std::string symbol;
  asset_class asset = asset_class::equity;
  int side = +1;        // +1 long, -1 short, 0 flat
  double score = 0;     // composite score of the chosen strategy
  double edge = 0;      // mean per-window return
  double variance = 0;  // population variance of per-window returns
};

// Kelly-lite: min(cap, fraction x edge / variance); 0 when edge <= 0; cap when variance == 0.
double kelly_weight(double edge, double variance, const portfolio_params& p);

struct selection {
  std::vector<candidate> selected;   // by score, best first
  std::vector<std::string> skipped;  // "SYMBOL: why" for every candidate not selected
};

// Qualified = side != 0, finite numbers, not a crypto short under crypto_long_only, and a Kelly
// weight > 0. Ranked by score descending (ties: symbol ascending). Takes the qualified with
// score >= min_score, best first, up to max_positions; when that gives fewer than min_positions,
// adds the best remaining qualified ones (score < min_score) until min_positions or none are left.
expected<selection> select_candidates(const std::vector<candidate>& cands, const portfolio_params& p,
                                      const risk_limits& l);

struct target_position {
  std::string symbol;
  asset_class asset = asset_class::equity;
  double weight = 0;    // signed fraction of equity (short < 0)
  double notional = 0;  // signed, weight x equity
};

// Selects, sizes each with kelly_weight, then caps: per symbol (max_symbol_weight), longs scaled
// down together to max_leverage, then everything scaled down together to max_total_exposure.
expected<std::vector<target_position>> build_portfolio(const std::vector<candidate>& cands, double equity,
                                                       const portfolio_params& p, const risk_limits& l);

// The close back-out's limit price (the original's backout_near_market, as one step): a
// marketable limit near the market for an exit that should fill before the close, never a market
// order. A sell at bid x (1 - cross), a buy at ask x (1 + cross), cross = cross_bps / 10000.
// Without a two-sided quote (bid <= 0, or ask < bid) the bid and ask are taken as
// last_close x (1 - default_spread) and last_close x (1 + default_spread). Not on a tick: the
// caller rounds it (market::round_limit_price).
double backout_limit_price(bool buy, double bid, double ask, double last_close, double default_spread,
                           double cross_bps);

}  // namespace tb::strategy
