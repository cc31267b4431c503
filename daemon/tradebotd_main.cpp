// tradebotd: the trading daemon. See README.md and systemd/tradebotd.service.
#include <iostream>

#include <CLI/CLI.hpp>

#include "actors/config.hpp"
#include "actors/middleman_transport.hpp"
#include "daemon/daemon.hpp"
#include "daemon/version.hpp"
#include "http/auth.hpp"
#include "market/alpaca.hpp"
#ifdef TRADEBOT_TEST_SEAMS  // tradebotd_faults, built with the tests only (tests/daemon/CMakeLists.txt)
#include "tests/support/broker_faults.hpp"
#endif

int main(int argc, char** argv) {
  CLI::App app{"tradebotd: trades a universe of stocks and crypto from Kronos forecasts"};
  std::string config_path;
  bool check = false, print_config = false;
  // Not CLI::ExistingFile: a missing file, a directory or an empty file is a config error like
  // any other (load_config names it; exit 2), not a command-line one.
  app.add_option("-c,--config", config_path, "TOML config file (default: built-in defaults plus environment)");
  app.add_flag("--check", check,
               "validate the config (file and environment, the HTTP token, the Alpaca keys when Alpaca is configured, "
               "the inference.tls_* files) and exit: 0 valid, 2 invalid");
  app.add_flag("--print-config", print_config, "print the documented example config with every default and exit");
  app.set_version_flag("-V,--version", std::string("tradebotd ") + tb::daemon::version);
  CLI11_PARSE(app, argc, argv);
  tb::daemon::daemon_options options;
  options.config_path = config_path;
#ifdef TRADEBOT_TEST_SEAMS
  options.broker_fault = tb::test::broker_fault_from_env();  // a bad TRADEBOTD_FAULT exits 2 here
#endif

  if (print_config) {
    std::cout << tb::actors::example_toml();
    return 0;
  }
  if (check) {
    auto cfg = tb::actors::load_config(config_path);
    if (!cfg) {
      std::cerr << "tradebotd: invalid configuration:\n" << cfg.error().message << "\n";
      return 2;
    }
    if (auto token = tb::http::resolve_auth_token((*cfg)->http, tb::core::process_env()); !token) {
      std::cerr << "tradebotd: " << token.error().message << "\n";
      return 2;
    }
    if ((*cfg)->market.feed == "alpaca" || (*cfg)->broker.kind == "alpaca")
      if (auto keys = tb::market::load_alpaca_credentials(); !keys) {
        std::cerr << "tradebotd: Alpaca is configured but its keys are not usable: " << keys.error().message << "\n";
        return 2;
      }
    if (auto err = tb::actors::check_tls_files(tb::actors::tls_options_of(**cfg))) {
      std::cerr << "tradebotd: " << err->message << "\n";
      return 2;
    }
    std::cout << (config_path.empty() ? "defaults" : config_path) << ": ok (" << (*cfg)->trading.active_symbols().size()
              << " symbols)\n";
    return 0;
  }
  return tb::daemon::run_daemon(options);
}
