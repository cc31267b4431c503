// `tradebot report --state-dir DIR --from DATE --to DATE --report OUT [--config FILE]`: the
// report.json and report.html of a backtest (report::write_report), from what a running or
// stopped daemon keeps in its state folder: the equity curve (STATE/broker/equity.jsonl, one mark
// per cycle, market/equity_log.hpp) and the order journal (STATE/broker/orders.jsonl), restricted
// to the instants [--from, --to] (dates are 00:00 UTC, or YYYY-MM-DDTHH:MM:SSZ; both ends
// included). The trading part is daemon::trading_report, the function `tradebot backtest` builds
// its own from, so a paper-trading period and a backtest of it compare field for field
// (`tradebot compare`).
//
// --config (optional; default the built-in defaults): the fee rates of broker.equity_fee_rate and
// broker.crypto_fee_rate (the journal records fills, not fees) and the symbol rows
// (trading.symbols after trading.tradable_pairs); without symbols there, every symbol the journal
// has an intent for in the period, in the order of their first intent.
//
// What a daemon does not keep and the report therefore leaves at zero: cache and inference
// figures, timing.elapsed_s and inference_s; orders.rejected counts the broker's rejects only
// (refusals by the risk checks are not journaled). timing.cycles = the marks in the period.
// The files are read, never written: a running daemon's torn last line is left to it (and
// ignored here, with a warning).
// Exit codes: 0 written; 2 bad arguments or config, a missing state folder, no mark in the period,
// a corrupt line of the journal or the curve (named file:line); 1 the report cannot be written.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "actors/config.hpp"
#include "core/calendar.hpp"
#include "daemon/tool_backtest.hpp"
#include "daemon/tool_commands.hpp"
#include "market/equity_log.hpp"
#include "market/order_journal.hpp"
#include "strategy/report.hpp"

namespace tb::daemon {
namespace {

struct report_options {
  std::string state_dir, from, to, report_dir, config_path;
};

std::optional<tool_failure> run_report(const report_options& o, report::report_paths& paths) {
  auto cfg = load_config_with_sets(o.config_path, {});
  if (!cfg) return tool_failure{exit_bad_input, cfg.error().message};
  auto from = core::parse_utc_instant(o.from, "--from");
  if (!from) return tool_failure{exit_bad_input, from.error().message};
  auto to = core::parse_utc_instant(o.to, "--to");
  if (!to) return tool_failure{exit_bad_input, to.error().message};
  if (*to < *from) return tool_failure{exit_bad_input, "--to " + o.to + " is before --from " + o.from};
  if (!std::filesystem::is_directory(o.state_dir))
    return tool_failure{exit_bad_input, "state folder " + o.state_dir + " does not exist or is not a directory"};
  const auto curve_path = market::equity_log_path(o.state_dir);
  if (!std::filesystem::exists(curve_path))
    return tool_failure{exit_bad_input, "no equity curve " + curve_path +
                                            ": not the state_dir of a daemon that traded (daemon.state_dir)"};
  auto curve = market::equity_log::open(curve_path, market::jsonl_access::read_only);
  if (!curve) return tool_failure{exit_bad_input, curve.error().message};
  const auto journal_path = market::order_journal_path(o.state_dir);
  auto journal = market::order_journal::open(journal_path, market::jsonl_access::read_only);
  if (!journal) return tool_failure{exit_bad_input, journal.error().message};
  for (const auto& w : curve->warnings()) std::cerr << "tradebot report: " << w << "\n";
  for (const auto& w : journal->warnings()) std::cerr << "tradebot report: " << w << "\n";

  report_window w;
  w.from_ns = core::to_unix_nanoseconds(*from);
  w.to_ns = core::to_unix_nanoseconds(*to);
  auto symbols = (*cfg)->trading.active_symbols();
  if (symbols.empty())
    for (const auto& id : journal->order_of_intents()) {
      const auto& in = journal->entries().at(id).intent;
      if (in.at_unix_ns >= w.from_ns && in.at_unix_ns <= w.to_ns &&
          std::find(symbols.begin(), symbols.end(), in.order.symbol) == symbols.end())
        symbols.push_back(in.order.symbol);
    }
  auto r = trading_report(curve->marks(), *journal, **cfg, symbols, 0, w);
  if (!r) {
    const auto& marks = curve->marks();
    std::string span =
        marks.empty() ? "it is empty"
                      : "it spans " + core::to_iso8601(core::time_point(core::duration(marks.front().at_unix_ns))) +
                            " to " + core::to_iso8601(core::time_point(core::duration(marks.back().at_unix_ns)));
    return tool_failure{exit_bad_input,
                        curve_path + ": " + r.error().message + " " + o.from + " to " + o.to + " (" + span + ")"};
  }
  r->run.config_path = o.config_path;
  r->run.data_dir = o.state_dir;
  r->run.from_date = o.from;
  r->run.to_date = o.to;
  r->run.model = "daemon state " + o.state_dir;
  auto written = report::write_report(*r, o.report_dir);
  if (!written) return tool_failure{exit_failed, written.error().message};
  paths = *written;
  std::cout << "report: " << r->equity_curve.size() << " marks, " << r->orders.sent << " orders, " << r->trades.size()
            << " fills; total return " << r->metrics.total_return << ", sharpe " << r->metrics.sharpe
            << ", max drawdown " << r->metrics.max_drawdown << "\n";
  return std::nullopt;
}

}  // namespace

void add_report_commands(CLI::App& app) {
  auto o = std::make_shared<report_options>();
  auto* cmd = app.add_subcommand(
      "report",
      "report.json and report.html (as tradebot backtest writes them) of a daemon's period, from its state folder's "
      "equity curve and order journal (exit 0; 2 on bad arguments, a missing state folder, no data in the period or a "
      "corrupt line; 1 when the report cannot be written)");
  cmd->add_option("--state-dir", o->state_dir, "the daemon's daemon.state_dir")->required();
  cmd->add_option("--from", o->from, "first instant, YYYY-MM-DD (00:00 UTC) or YYYY-MM-DDTHH:MM:SSZ, included")
      ->required();
  cmd->add_option("--to", o->to, "last instant, as --from, included")->required();
  cmd->add_option("--report", o->report_dir, "output folder for report.json and report.html")->required();
  cmd->add_option("--config", o->config_path,
                  "the daemon's config: fee rates and the symbols of the per-symbol table (default: built-in defaults, "
                  "the symbols the journal traded)");
  cmd->callback([o] {
    report::report_paths paths;
    if (auto failed = run_report(*o, paths)) {
      std::cerr << "tradebot report: " << failed->message << "\n";
      throw CLI::RuntimeError(failed->code);
    }
    std::cout << "report: " << paths.json << "\n        " << paths.html << std::endl;
  });
}

}  // namespace tb::daemon
