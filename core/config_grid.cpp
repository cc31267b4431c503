#include "core/config_grid.hpp"

#include <algorithm>
#include <set>

namespace tb::core {
namespace {

tb::error bad(const std::string& origin, const std::string& what) { return {errc::bad_config, origin + ": " + what}; }

// Splits at commas outside [...] and "..." / '...'.
std::vector<std::string> split_values(const std::string& s) {
  std::vector<std::string> out(1);
  int depth = 0;
  char quote = 0;
  for (char c : s) {
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '[') {
      ++depth;
    } else if (c == ']') {
      depth = std::max(0, depth - 1);
    } else if (c == ',' && depth == 0) {
      out.emplace_back();
      continue;
    }
    out.back() += c;
  }
  return out;
}

}  // namespace

tb::expected<grid_axis> parse_grid_axis(const std::string& text, const std::string& origin) {
  auto kv = parse_override(text, origin);
  if (!kv) return kv.error();
  grid_axis axis{kv->key, {}, origin};
  std::set<std::string> seen;
  for (const auto& v : split_values(kv->value)) {
    if (v.find_first_not_of(" \t") == std::string::npos)
      return bad(origin, "an empty value; expected KEY=V1,V2,... (e.g. strategy.min_sharpe=0,0.3,0.6)");
    if (!seen.insert(v).second) return bad(origin, "the value " + v + " is listed twice");
    axis.values.push_back(v);
  }
  return axis;
}

std::string settings_text(const std::vector<config_override>& settings) {
  std::string out;
  for (const auto& s : settings) out += (out.empty() ? "" : " ") + s.key + "=" + s.value;
  return out;
}

std::optional<tb::error> expand_grid(const std::vector<grid_axis>& axes, const override_check& check,
                                     const combination_fn& apply) {
  std::vector<std::string> errors;
  std::set<std::string> keys;
  for (const auto& a : axes) {
    if (!keys.insert(a.key).second) errors.push_back(a.origin + ": key '" + a.key + "' is in another --grid too");
    // Each value alone first, so a bad one is named once, not in every combination holding it.
    for (const auto& v : a.values)
      if (auto ok = check({a.key, v, a.origin + " (value " + v + ")"}); !ok) errors.push_back(ok.error().message);
  }
  if (!errors.empty()) return joined(errors);
  std::vector<std::size_t> at(axes.size(), 0);  // an odometer over the axes, the last one fastest
  for (;;) {
    std::vector<config_override> settings;
    for (std::size_t i = 0; i < axes.size(); ++i)
      settings.push_back({axes[i].key, axes[i].values[at[i]], axes[i].origin});
    if (auto e = apply(settings)) errors.push_back("the combination " + settings_text(settings) + ": " + e->message);
    std::size_t i = axes.size();
    while (i > 0 && ++at[i - 1] == axes[i - 1].values.size()) at[--i] = 0;
    if (i == 0) break;
  }
  return joined(errors);
}

}  // namespace tb::core
