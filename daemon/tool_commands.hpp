#pragma once
// The `tradebot` tool's subcommands: each tool_<name>.cpp registers its own on the app that
// daemon/tradebot_main.cpp builds. One declaration per subcommand group.
namespace CLI {
class App;
}

namespace tb::daemon {

// `tradebot compare BASE/report.json NEW/report.json` (daemon/tool_compare.cpp). Exit codes
// through CLI::RuntimeError: 1 on ROLLBACK, 2 on an unreadable or malformed report; 0 otherwise.
void add_compare_commands(CLI::App& app);

}  // namespace tb::daemon
