#pragma once
// A grid of config overrides for research runs (`tradebot sweep --grid KEY=V1,V2,...`): parsing
// one --grid, and every combination of the grids as a validated config. Pure: no I/O.
#include <functional>
#include <memory>
#include <optional>
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
template <class C>
struct grid_point {
  std::vector<config_override> settings;
  std::shared_ptr<const C> config;
};

using override_check = std::function<tb::expected<bool>(const config_override&)>;
using combination_fn = std::function<std::optional<tb::error>(const std::vector<config_override>& settings)>;

// Checks every value of every axis alone (`check`), then calls `apply` with each combination in
// order; every problem listed, one per line (see the template below). nullopt when none.
std::optional<tb::error> expand_grid(const std::vector<grid_axis>& axes, const override_check& check,
                                     const combination_fn& apply);

// Every combination of the axes (the cartesian product; the first axis varies slowest, so with
// a=1,2 and b=x,y: a1 b=x, a1 b=y, a2 b=x, a2 b=y), each applied to `base` (schema.apply: types,
// bounds, choices and the cross-key rules). All problems are listed, one per line: each bad value
// once, naming its --grid and the value; a key in two axes; a combination that breaks a cross-key
// rule, naming its settings. No axes: one point, `base` itself. errc::bad_config.
template <class C>
tb::expected<std::vector<grid_point<C>>> expand_grid(const config_schema<C>& schema, const C& base,
                                                     const std::vector<grid_axis>& axes) {
  std::vector<grid_point<C>> points;
  auto err = expand_grid(
      axes, [&](const config_override& o) { return schema.check_override(o); },
      [&](const std::vector<config_override>& settings) -> std::optional<tb::error> {
        auto cfg = schema.apply(base, settings);
        if (!cfg) return cfg.error();
        points.push_back({settings, *cfg});
        return std::nullopt;
      });
  if (err) return *err;
  return points;
}

// "strategy.min_sharpe=0.3 portfolio.max_positions=5": a point's settings in one line.
std::string settings_text(const std::vector<config_override>& settings);

}  // namespace tb::core
