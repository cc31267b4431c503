// `tradebot sweep --config FILE [--data DIR] [--from DATE] [--to DATE] --grid KEY=V1,V2,...
// [--grid ...] [--set KEY=VALUE ...] --report DIR`: one backtest (daemon/tool_backtest.hpp, in
// this process, one after another) per combination of the grids' values, each over the forecast
// cache the config names, so forecasts computed by one run are hits for the next (a key that
// changes forecasts, [forecast] or [model], computes what its runs need). Each run writes
// DIR/run-NNN/report.json and report.html (NNN from 001, in the order of
// actors::expand_grid: the first --grid varies slowest); then DIR/summary.json and summary.html
// (report/sweep.hpp): the runs ranked by Sharpe, the winner's settings.
//
// Every --set and --grid value is read and checked before anything runs (core/config.hpp: as the
// file's value would be, errors naming the argument); so is every combination against the
// cross-key rules. Exit codes: 0 summary written; 2 bad arguments or config; 1 a run failed (the
// runs before it keep their reports; no summary).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "actors/config.hpp"
#include "core/config_grid.hpp"
#include "daemon/tool_backtest.hpp"
#include "daemon/tool_commands.hpp"
#include "report/sweep.hpp"

namespace tb::daemon {
namespace {

struct sweep_options {
  std::string config_path, data_dir, from, to, report_dir;
  std::vector<std::string> grids, sets;
};

std::string run_dir_name(std::size_t number) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "run-%03zu", number);
  return buf;
}

int run_sweep(const sweep_options& o) {
  auto base = load_config_with_sets(o.config_path, o.sets);
  if (!base) {
    std::cerr << "tradebot sweep: " << base.error().message << "\n";
    return exit_bad_input;
  }
  std::vector<core::grid_axis> axes;
  for (const auto& text : o.grids) {
    auto axis = core::parse_grid_axis(text, "--grid " + text);
    if (!axis) {
      std::cerr << "tradebot sweep: " << axis.error().message << "\n";
      return exit_bad_input;
    }
    axes.push_back(*axis);
  }
  auto points = actors::expand_grid(**base, axes);
  if (!points) {
    std::cerr << "tradebot sweep: " << points.error().message << "\n";
    return exit_bad_input;
  }

  report::sweep_summary summary;
  summary.config_path = o.config_path;
  summary.data_dir = o.data_dir;
  summary.from_date = o.from;
  summary.to_date = o.to;
  summary.sets = o.sets;
  for (const auto& a : axes) summary.grid.emplace_back(a.key, a.values);
  const std::size_t n = points->size();
  std::cerr << "sweep: " << n << " runs over " << axes.size() << " grid keys; reports in " << o.report_dir << "\n";
  if (!(*base)->cache.enabled)
    std::cerr << "sweep: cache.enabled = false in the config: every run computes all its forecasts\n";
  for (std::size_t i = 0; i < n; ++i) {
    const auto& point = (*points)[i];
    const auto name = run_dir_name(i + 1);
    const auto settings = core::settings_text(point.settings);
    backtest_options run;
    run.config_path = o.config_path;
    run.data_dir = o.data_dir;
    run.from = o.from;
    run.to = o.to;
    run.report_dir = (std::filesystem::path(o.report_dir) / name).string();
    run.config = point.config;
    run.cache = backtest_cache::shared;
    run.label = "sweep run " + std::to_string(i + 1) + "/" + std::to_string(n);
    std::cerr << run.label << ": " << (settings.empty() ? "the config as it is" : settings) << "\n";
    const auto done = run_backtest(run);
    if (done.exit_code != 0) {
      std::cerr << "tradebot sweep: " << name << " (" << settings << "): " << done.error << "\n";
      return done.exit_code;
    }
    const auto& r = done.report;
    report::sweep_run row;
    row.number = static_cast<int>(i + 1);
    row.report_dir = name;
    const auto values = actors::describe(*point.config);
    for (const auto& s : point.settings) row.settings.push_back({s.key, values.at(s.key).at("value")});
    row.metrics = r.metrics;
    row.orders = r.orders;
    row.fills = static_cast<std::int64_t>(r.trades.size());
    row.cache = r.cache;
    row.timing = r.timing;
    std::cout << name << " " << settings << ": sharpe " << r.metrics.sharpe << ", total return "
              << r.metrics.total_return << ", max drawdown " << r.metrics.max_drawdown << ", win rate "
              << r.metrics.win_rate << ", " << r.metrics.trades << " trades; forecasts computed " << r.cache.computed
              << ", cache hits " << r.cache.hits << ", misses " << r.cache.misses << std::endl;
    summary.runs.push_back(std::move(row));
  }
  auto written = report::write_summary(summary, o.report_dir);
  if (!written) {
    std::cerr << "tradebot sweep: " << written.error().message << "\n";
    return exit_failed;
  }
  const auto& winner = summary.runs[report::rank_by_sharpe(summary.runs).front()];
  std::cout << "winner: " << winner.report_dir << " " << core::settings_text((*points)[winner.number - 1].settings)
            << " (sharpe " << winner.metrics.sharpe << ")\n"
            << "summary: " << written->json << "\n         " << written->html << "\n";
  return 0;
}

}  // namespace

void add_sweep_commands(CLI::App& app) {
  auto opts = std::make_shared<sweep_options>();
  auto* cmd = app.add_subcommand(
      "sweep",
      "Backtest every combination of --grid values over the shared forecast cache; write DIR/run-NNN/report.json "
      "and report.html per run and DIR/summary.json and summary.html ranked by Sharpe (exit 0; 2 on bad arguments "
      "or config; 1 when a run fails)");
  cmd->add_option("--config", opts->config_path, "tradebotd config file (as for tradebot backtest)")->required();
  cmd->add_option("--data", opts->data_dir, "folder of daily/intraday CSV files (overrides market.replay_dir)");
  cmd->add_option("--from", opts->from, "start, YYYY-MM-DD (overrides market.sim_start)");
  cmd->add_option("--to", opts->to, "end, YYYY-MM-DD (overrides market.sim_end)");
  cmd->add_option("--grid", opts->grids,
                  "KEY=V1,V2,...: the values of one config key to try (repeatable; every combination runs)")
      ->required();
  cmd->add_option("--set", opts->sets, "KEY=VALUE: override a config key in every run (repeatable)");
  cmd->add_option("--report", opts->report_dir, "output folder: run-NNN/ per run, summary.json, summary.html")
      ->required();
  cmd->callback([opts] {
    quiet_actor_logs("sweep");
    const int rc = run_sweep(*opts);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace tb::daemon
