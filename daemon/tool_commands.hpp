#pragma once
// The `tradebot` tool's subcommands: each tool_<name>.cpp registers its own on the app that
// daemon/tradebot_main.cpp builds. One declaration per subcommand group.
#include <string>

namespace CLI {
class App;
}

namespace tb::daemon {

// The exit codes every subcommand uses (through CLI::RuntimeError): 0 done; 1 the work failed (a
// run, a corrupt cache entry found, a model that cannot be written); 2 bad arguments, config or
// input, said before anything runs.
constexpr int exit_failed = 1;
constexpr int exit_bad_input = 2;

// Why a subcommand's work stopped: the exit code (exit_failed or exit_bad_input) and the message
// the command prints after "tradebot NAME: ".
struct tool_failure {
  int code;
  std::string message;
};

// `tradebot compare BASE/report.json NEW/report.json` (daemon/tool_compare.cpp). Exit codes
// through CLI::RuntimeError: 1 on ROLLBACK, 2 on an unreadable or malformed report; 0 otherwise.
void add_compare_commands(CLI::App& app);

// `tradebot model init --preset tiny|mini|small|base [--seed N] --out DIR` and
// `tradebot model info DIR` (daemon/tool_model.cpp). Exit codes through CLI::RuntimeError:
// 2 on a bad argument or unreadable checkpoint, 1 on a write failure.
void add_model_commands(CLI::App& app);

// `tradebot forecast --model DIR --tokenizer DIR --csv FILE --rows A:B ... --pred-len N [...]`
// (daemon/tool_forecast.cpp): JSON or a table on stdout. Exit code 2 on bad input (arguments,
// CSV, checkpoint), 1 when generation fails.
void add_forecast_commands(CLI::App& app);

// `tradebot cache stats|verify [--remove]|clear --config FILE` (daemon/tool_cache.cpp): the
// forecast cache with the config's [cache] settings. Exit codes through CLI::RuntimeError: 2 on
// an invalid config (or verify without a disk tier); verify exits 1 when it found corrupt entries
// (also with --remove); clear exits 1 when a tier could not be cleared (the message names it).
void add_cache_commands(CLI::App& app);

// `tradebot backtest --config FILE [--data DIR] [--from DATE] [--to DATE] [--set KEY=VALUE ...]
// --report DIR` (daemon/tool_backtest.cpp): the daemon's actors (daemon/actor_tree.hpp) on replay data and
// simulated time; writes DIR/report.json and DIR/report.html. Exit codes through
// CLI::RuntimeError: 2 on bad arguments or config, 1 when the run fails.
void add_backtest_commands(CLI::App& app);

// `tradebot calendar --from DATE --to DATE [--json]` (daemon/tool_calendar.cpp): the NYSE
// sessions between two New York dates, a table or a JSON array on stdout. Exit codes through
// CLI::RuntimeError: 2 on a bad or out-of-range date.
void add_calendar_commands(CLI::App& app);

// `tradebot sweep --config FILE ... --grid KEY=V1,V2 [--grid ...] [--set KEY=VALUE] --report DIR`
// (daemon/tool_sweep.cpp): one backtest per combination of the grids over the shared forecast
// cache, DIR/run-NNN/report.*, DIR/summary.json and summary.html ranked by Sharpe. Exit codes
// through CLI::RuntimeError: 2 on bad arguments, config, --set or --grid; 1 when a run fails.
void add_sweep_commands(CLI::App& app);
// `tradebot report --state-dir DIR --from DATE --to DATE --report OUT [--config FILE]`
// (daemon/tool_report.cpp): a backtest's report.json and report.html over a daemon's period, from
// its equity curve and order journal. Exit codes through CLI::RuntimeError: 2 on bad arguments,
// a missing state folder, no data in the period or a corrupt line; 1 when it cannot be written.
void add_report_commands(CLI::App& app);

}  // namespace tb::daemon
