// tradebot: the operator's tool (model, forecast, compare, ...). Each subcommand group lives in
// its own daemon/tool_<name>.cpp and registers itself here.
#include <CLI/CLI.hpp>

#include "daemon/tool_commands.hpp"
#include "daemon/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{"tradebot: tools for tradebotd (models, forecasts, reports)"};
  app.set_version_flag("-V,--version", std::string("tradebot ") + tb::daemon::version);
  app.require_subcommand(1);
  tb::daemon::add_model_commands(app);
  tb::daemon::add_forecast_commands(app);
  tb::daemon::add_compare_commands(app);
  tb::daemon::add_cache_commands(app);
  tb::daemon::add_backtest_commands(app);
  tb::daemon::add_calendar_commands(app);
  tb::daemon::add_sweep_commands(app);
  tb::daemon::add_report_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}
