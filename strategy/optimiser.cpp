#include "strategy/optimiser.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace tb::strategy {

expected<grid_params> validate(const grid_params& p) {
  if (!(p.bound > 0 && p.bound <= 1)) return tb::error{errc::bad_config, "optimiser bound must be in (0, 1]"};
  if (!(p.shrink > 0 && p.shrink <= 1)) return tb::error{errc::bad_config, "optimiser shrink must be in (0, 1]"};
  if (p.stage_points.empty() || p.stage_points.size() > 10)
    return tb::error{errc::bad_config, "optimiser needs 1..10 stages"};
  for (int n : p.stage_points)
    if (n < 1 || n > 1001) return tb::error{errc::bad_config, "optimiser stage points must be in 1..1001"};
  return p;
}

std::vector<double> stage_axis(const grid_params& p, int stage, double centre) {
  const double h = p.bound * std::pow(p.shrink, stage);
  const double lo = std::max(-p.bound, centre - h);
  const double hi = std::min(p.bound, centre + h);
  const int n = p.stage_points.at(static_cast<std::size_t>(stage));
  std::vector<double> xs;
  xs.reserve(static_cast<std::size_t>(n));
  if (n == 1) {
    xs.push_back(std::clamp(centre, -p.bound, p.bound));
    return xs;
  }
  for (int i = 0; i < n; ++i) xs.push_back(lo + (hi - lo) * i / (n - 1));
  return xs;
}

expected<grid_point> staged_grid_maximise(const std::function<double(double, double)>& f, const grid_params& p) {
  auto ok = validate(p);
  if (!ok) return ok.error();
  grid_point best;
  bool have = false;
  for (int s = 0; s < static_cast<int>(p.stage_points.size()); ++s) {
    const auto xs = stage_axis(p, s, have ? best.x : 0.0);
    const auto ys = stage_axis(p, s, have ? best.y : 0.0);
    for (double x : xs) {
      for (double y : ys) {
        double v = f(x, y);
        ++best.evaluations;
        if (std::isnan(v)) v = -std::numeric_limits<double>::infinity();
        const bool better = !have || v > best.value ||
                            (v == best.value && std::fabs(x) + std::fabs(y) < std::fabs(best.x) + std::fabs(best.y));
        if (better) {
          best.x = x;
          best.y = y;
          best.value = v;
          have = true;
        }
      }
    }
  }
  return best;
}

}  // namespace tb::strategy
