// `tradebot compare BASE/report.json NEW/report.json`: the quality gate between two backtests.
// Prints the side-by-side table (strategy::compare) and the verdict; the exit code is the gate:
//   0  OK or WARN      1  ROLLBACK      2  a report cannot be read or is malformed (one line on
//   stderr naming the file).
// Runs on the caller's thread; reads two files, nothing else.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "daemon/tool_commands.hpp"
#include "strategy/compare.hpp"

namespace tb::daemon {

namespace {

struct compare_options {
  std::string base_path, new_path;
  strategy::compare_params params;
};

// The report at `path` as JSON, well-formed enough for compare (a metrics object with numeric
// sharpe and win_rate, a well-formed symbols array when present). Errors name the file.
expected<nlohmann::json> read_report(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return tb::error{errc::io, path + ": cannot open: " + std::strerror(errno)};
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return tb::error{errc::io, path + ": cannot read: " + std::strerror(errno)};
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded()) return tb::error{errc::bad_data, path + ": not valid JSON"};
  // A report compared with itself fails exactly when it is malformed; this names the file.
  if (auto self = strategy::compare(j, j); !self) {
    std::string msg = self.error().message;
    if (msg.rfind("base report", 0) == 0) msg = "report" + msg.substr(std::strlen("base report"));
    return tb::error{errc::bad_data, path + ": " + msg};
  }
  return j;
}

int run_compare(const compare_options& o) {
  auto base = read_report(o.base_path);
  if (!base) {
    std::cerr << "tradebot compare: " << base.error().message << "\n";
    return exit_bad_input;
  }
  auto cand = read_report(o.new_path);
  if (!cand) {
    std::cerr << "tradebot compare: " << cand.error().message << "\n";
    return exit_bad_input;
  }
  auto c = strategy::compare(*base, *cand, o.params);
  if (!c) {
    std::cerr << "tradebot compare: " << c.error().message << "\n";
    return exit_bad_input;
  }
  std::cout << "base: " << o.base_path << "\nnew:  " << o.new_path << "\n\n" << c->table << std::flush;
  return strategy::exit_code(c->result);
}

}  // namespace

void add_compare_commands(CLI::App& app) {
  auto opts = std::make_shared<compare_options>();
  auto* cmd = app.add_subcommand(
      "compare",
      "Compare two backtest reports: ROLLBACK (exit 1) or WARN by the original bot's criteria (Sharpe, "
      "win rate, average return, max drawdown, inference errors; OOM splits and cache hit rate WARN only), "
      "else OK (exit 0); exit 2 on unreadable input");
  cmd->add_option("base", opts->base_path, "the baseline's report.json")->required();
  cmd->add_option("new", opts->new_path, "the candidate's report.json")->required();
  auto& p = opts->params;
  const struct {
    const char* name;
    double* value;
    const char* help;
  } thresholds[] = {
      {"--rollback-sharpe-drop-pct", &p.rollback_sharpe_drop_pct,
       "ROLLBACK when the Sharpe drops more than this % of |base|"},
      {"--warn-sharpe-drop-pct", &p.warn_sharpe_drop_pct, "WARN when the Sharpe drops more than this % of |base|"},
      {"--rollback-win-rate-drop", &p.rollback_win_rate_drop_points,
       "ROLLBACK when the win rate drops more than this many points"},
      {"--warn-win-rate-drop", &p.warn_win_rate_drop_points, "WARN when the win rate drops more than this many points"},
      {"--rollback-avg-return-drop-pct", &p.rollback_avg_return_drop_pct,
       "ROLLBACK when the average per-bar return drops more than this % of |base| (and the floor)"},
      {"--warn-avg-return-drop-pct", &p.warn_avg_return_drop_pct,
       "WARN when the average per-bar return drops more than this % of |base| (and the floor)"},
      {"--avg-return-floor", &p.avg_return_floor_points,
       "an average-return drop of at most this many percentage points per bar never trips"},
      {"--rollback-drawdown-increase-pct", &p.rollback_drawdown_increase_pct,
       "ROLLBACK when the max drawdown deepens more than this % of the base's (and the floor)"},
      {"--warn-drawdown-increase-pct", &p.warn_drawdown_increase_pct,
       "WARN when the max drawdown deepens more than this % of the base's (and the floor)"},
      {"--drawdown-floor", &p.drawdown_floor_points,
       "a max-drawdown deepening of at most this many percentage points never trips"},
      {"--rollback-inference-errors-increase", &p.rollback_inference_errors_increase,
       "ROLLBACK when the new run has more than this many inference errors beyond the base's"},
      {"--warn-oom-splits-increase", &p.warn_oom_splits_increase,
       "WARN when the new run has more than this many out-of-memory batch splits beyond the base's"},
      {"--warn-cache-hit-rate-drop", &p.warn_cache_hit_rate_drop_points,
       "WARN when the cache hit rate drops more than this many points"},
  };
  for (const auto& t : thresholds) cmd->add_option(t.name, *t.value, t.help)->capture_default_str();
  cmd->callback([opts] {
    if (auto p = strategy::validate(opts->params); !p) {
      std::cerr << "tradebot compare: " << p.error().message << "\n";
      throw CLI::RuntimeError(exit_bad_input);
    }
    const int rc = run_compare(*opts);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace tb::daemon
