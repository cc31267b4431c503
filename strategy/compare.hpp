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

// "More than" thresholds (a drop exactly at a threshold does not trip it; 1e-9 tolerance).
struct compare_params {
  double rollback_sharpe_drop_pct = 10;      // Sharpe down more than this % of |base Sharpe|
  double rollback_win_rate_drop_points = 5;  // win rate down more than this many percentage points
  double warn_sharpe_drop_pct = 5;
  double warn_win_rate_drop_points = 3;
};

// Finite, >= 0, and each warn threshold <= its rollback threshold (errc::bad_config).
expected<compare_params> validate(const compare_params& p);

struct comparison {
  verdict result = verdict::ok;
  // (base - new) / |base| x 100; when base Sharpe is 0: 0 if new >= 0, +inf if new < 0.
  double sharpe_drop_pct = 0;
  double win_rate_drop_points = 0;   // (base - new) x 100, win rates being fractions
  std::vector<std::string> reasons;  // one line per tripped criterion
  metrics base, candidate;
  std::string table;                 // the side-by-side text table, verdict line last
};

// Reads "metrics" of each report (sharpe and win_rate required; other keys optional) and the
// optional "symbols" array for the per-symbol rows. Malformed input is errc::bad_data.
expected<comparison> compare(const nlohmann::json& base_report, const nlohmann::json& new_report,
                             const compare_params& p = {});
// The same from JSON text (parse errors are errc::bad_data naming which report).
expected<comparison> compare_text(std::string_view base_report, std::string_view new_report,
                                  const compare_params& p = {});

}  // namespace tb::strategy
