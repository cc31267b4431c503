// `tradebot calendar --from DATE --to DATE [--json]`: the NYSE sessions of core/calendar.hpp
// between two New York dates (both included), so users can check the calendar against their own.
// One row per trading day: the date, the open and close as UTC instants, whether it closes early
// (and why). Weekends and holidays print nothing. Plain text table by default; --json prints one
// JSON array of {"date", "open", "close", "early_close", "reason"}.
// Exit codes: 0; 2 on a bad or out-of-range date, or --from after --to.
#include <iomanip>
#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/calendar.hpp"
#include "daemon/tool_commands.hpp"

namespace tb::daemon {
namespace {

struct calendar_options {
  std::string from, to;
  bool json = false;
};

[[noreturn]] void fail(const std::string& message) {
  std::cerr << "tradebot calendar: " << message << "\n";
  throw CLI::RuntimeError(exit_bad_input);
}

void print_sessions(const calendar_options& o) {
  auto from = core::parse_calendar_date(o.from, "--from");
  if (!from) fail(from.error().message);
  auto to = core::parse_calendar_date(o.to, "--to");
  if (!to) fail(to.error().message);
  if (*to < *from) fail("--to " + o.to + " is before --from " + o.from);

  nlohmann::json rows = nlohmann::json::array();
  if (!o.json)
    std::cout << std::left << std::setw(12) << "date" << std::setw(22) << "open (UTC)" << std::setw(22) << "close (UTC)"
              << "early close\n";
  for (core::civil_date d = *from; !(*to < d); d = core::add_days(d, 1)) {
    auto s = core::nyse_session(d);  // inside the covered years: parse_calendar_date checked them
    if (!s) fail(s.error().message);
    if (!s->is_trading_day()) continue;
    const bool early = s->kind == core::day_kind::early_close;
    if (o.json) {
      rows.push_back({{"date", core::to_string(d)},
                      {"open", core::to_iso8601(s->open)},
                      {"close", core::to_iso8601(s->close)},
                      {"early_close", early},
                      {"reason", s->reason}});
    } else {
      std::cout << std::setw(12) << core::to_string(d) << std::setw(22) << core::to_iso8601(s->open) << std::setw(22)
                << core::to_iso8601(s->close) << (early ? std::string("yes (") + s->reason + ")" : std::string("no"))
                << "\n";
    }
  }
  if (o.json) std::cout << rows.dump(2) << "\n";
}

}  // namespace

void add_calendar_commands(CLI::App& app) {
  auto opts = std::make_shared<calendar_options>();
  auto* cmd = app.add_subcommand(
      "calendar",
      "Print the NYSE sessions between two New York dates (1980-2099): date, open and close in UTC, early close "
      "(exit 0; 2 on a bad date)");
  cmd->add_option("--from", opts->from, "first New York date, YYYY-MM-DD")->required();
  cmd->add_option("--to", opts->to, "last New York date, YYYY-MM-DD (included)")->required();
  cmd->add_flag("--json", opts->json, "print a JSON array instead of a table");
  cmd->callback([opts] { print_sessions(*opts); });
}

}  // namespace tb::daemon
