#pragma once
// The staged grid search that fits maxdiff's two price offsets (README.md, "Optimiser").
//
// Stage s (s = 0, 1, ...) lays stage_points[s] evenly spaced values on each axis of the interval
// [c - h_s, c + h_s] clipped to [-bound, bound], where h_s = bound * shrink^s and c is the best
// point found so far (0 at stage 0), and evaluates every pair (stage_points[s]^2 calls). The best
// point only ever improves. Ties (exactly equal values) go to the point nearer the origin
// (smaller |x| + |y|), then to the one found first. Deterministic.
#include <functional>
#include <limits>
#include <vector>

#include "core/error.hpp"

namespace tb::strategy {

struct grid_params {
  double bound = 0.03;                       // search [-bound, bound] on both axes; (0, 1]
  std::vector<int> stage_points{33, 17, 9};  // points per axis per stage; 1..1001 each, 1..10 stages
  double shrink = 0.6;                       // half-width factor per stage; (0, 1]
};

expected<grid_params> validate(const grid_params& p);

struct grid_point {
  double x = 0, y = 0;
  double value = -std::numeric_limits<double>::infinity();
  long evaluations = 0;  // calls of the objective
};

// The values stage `stage` lays on one axis around `centre` (exposed for tests and docs).
std::vector<double> stage_axis(const grid_params& p, int stage, double centre);

// Maximises f(x, y) over [-bound, bound]^2. NaN values from f count as -inf (never chosen).
expected<grid_point> staged_grid_maximise(const std::function<double(double, double)>& f, const grid_params& p);

}  // namespace tb::strategy
