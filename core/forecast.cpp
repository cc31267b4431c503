#include "core/forecast.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace tb::core {

double relative_difference(const forecast& a, const forecast& reference) {
  if (a.rows.size() != reference.rows.size()) return std::numeric_limits<double>::infinity();
  double worst = 0;
  for (std::size_t k = 0; k < n_features; ++k) {
    double err = 0, scale = 0;
    for (std::size_t i = 0; i < a.rows.size(); ++i) {
      err = std::max(err, std::abs(a.rows[i][k] - reference.rows[i][k]));
      scale = std::max(scale, std::abs(reference.rows[i][k]));
    }
    worst = std::max(worst, scale > 0 ? err / scale : err);
  }
  return worst;
}

}  // namespace tb::core
