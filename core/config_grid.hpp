#pragma once
// A grid of config overrides for research runs (`tradebot sweep --grid KEY=V1,V2,...`): parsing
// one --grid, and every combination of the grids as a validated config. Pure: no I/O.
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"

namespace tb::core {

// One --grid: a key and the values to try, in the order given.
struct grid_axis {
  std::string key;
  std::vector<std::string> values;  // as typed; read by the key's type when applied
  std::string origin;               // how the user wrote it: "--grid strategy.min_sharpe=0,0.3"
};

// Parses `text` = "KEY=V1,V2,...": values split at commas outside brackets and quotes (so a list
// key takes TOML arrays: `trading.symbols=["A","B"],["C"]`). errc::bad_config "<origin>: ..." for
// a missing '=' or key, an empty value, or a value listed twice.
tb::expected<grid_axis> parse_grid_axis(const std::string& text, const std::string& origin);

// One combination: the overrides it sets (one per axis, in axis order) and the config they give.
struct grid_point {
  std::vector<config_override> settings;
  config_ptr config;
};

// Every combination of the axes (the cartesian product; the first axis varies slowest, so with
// a=1,2 and b=x,y: a1 b=x, a1 b=y, a2 b=x, a2 b=y), each applied to `base` (apply_overrides:
// types, bounds, choices and the cross-key rules). All problems are listed, one per line: each
// bad value once, naming its --grid and the value; a key in two axes; a combination that breaks
// a cross-key rule, naming its settings. No axes: one point, `base` itself. errc::bad_config.
tb::expected<std::vector<grid_point>> expand_grid(const config& base, const std::vector<grid_axis>& axes);

// "strategy.min_sharpe=0.3 portfolio.max_positions=5": a point's settings in one line.
std::string settings_text(const std::vector<config_override>& settings);

}  // namespace tb::core
