#pragma once
// `tradebot compare BASE/report.json NEW/report.json` as a pure function: two report JSON values
// in, a verdict and a side-by-side table out. The daemon prints the table and exits with
// exit_code(verdict). The report.json shape it reads is in README.md, "report.json".
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "strategy/metrics.hpp"

namespace tb::strategy {

enum class verdict { ok, warn, rollback };
const char* to_string(verdict v);  // "OK", "WARN", "ROLLBACK"
int exit_code(verdict v);          // ROLLBACK 1, else 0

// "More than" thresholds (a change exactly at a threshold does not trip it; 1e-9 tolerance). The
// defaults are the original bot's rollback criteria; each WARN band is half its ROLLBACK band.
struct compare_params {
  double rollback_sharpe_drop_pct = 5;  // Sharpe down more than this % of |base Sharpe|
  double warn_sharpe_drop_pct = 2.5;
  double rollback_win_rate_drop_points = 3;  // win rate down more than this many percentage points
  double warn_win_rate_drop_points = 1.5;
  // Average per-bar return "should remain similar": down more than this % of |base| AND more than
  // avg_return_floor_points percentage points per bar (so near-zero averages do not trip on noise).
  double rollback_avg_return_drop_pct = 20;
  double warn_avg_return_drop_pct = 10;
  double avg_return_floor_points = 0.01;
  // Max drawdown "should not increase significantly": deeper by more than this % of the base
  // drawdown AND more than drawdown_floor_points percentage points.
  double rollback_drawdown_increase_pct = 20;
  double warn_drawdown_increase_pct = 10;
  double drawdown_floor_points = 1;
  // Judged only when both reports have an `inference` object: failed inference requests beyond the
  // base's by more than this many is ROLLBACK; more out-of-memory batch splits than the base's by
  // more than this many is WARN (a split is recovered from, so it costs time, not forecasts).
  double rollback_inference_errors_increase = 0;
  double warn_oom_splits_increase = 0;
  // Judged only when both reports made cache lookups: hit rate down more than this many points is
  // WARN (the cache changes speed, never decisions, so it never rolls back).
  double warn_cache_hit_rate_drop_points = 10;
};

// Finite, >= 0, and each warn threshold <= its rollback threshold (errc::bad_config).
expected<compare_params> validate(const compare_params& p);

// One criterion's judgement: `change` is the criterion's measure (a drop or an increase, in `unit`,
// positive = worse); it trips WARN / ROLLBACK above warn_limit / rollback_limit (and above
// `floor` when the criterion has one). `line` names the criterion, both values and the thresholds.
struct judgement {
  std::string criterion;
  verdict result = verdict::ok;
  double base = 0, candidate = 0, change = 0;
  std::string line;
};

struct comparison {
  verdict result = verdict::ok;  // the worst judgement
  // (base - new) / |base| x 100; when base Sharpe is 0: 0 if new >= 0, +inf if new < 0.
  double sharpe_drop_pct = 0;
  double win_rate_drop_points = 0;    // (base - new) x 100, win rates being fractions
  std::vector<judgement> judgements;  // one per criterion judged, in a fixed order
  std::vector<std::string> reasons;   // the lines of the judgements that tripped the verdict
  metrics base, candidate;
  std::string table;  // the side-by-side text table, then the verdict and one line
                      // per criterion
};

// Reads "metrics" of each report (sharpe and win_rate required; other keys optional), the
// optional "symbols" array for the per-symbol rows, and the optional "cache" and "inference"
// objects. Malformed input is errc::bad_data.
expected<comparison> compare(const nlohmann::json& base_report, const nlohmann::json& new_report,
                             const compare_params& p = {});
// The same from JSON text (parse errors are errc::bad_data naming which report).
expected<comparison> compare_text(std::string_view base_report, std::string_view new_report,
                                  const compare_params& p = {});

}  // namespace tb::strategy
