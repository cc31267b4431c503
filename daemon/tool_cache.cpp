// `tradebot cache stats|verify|clear --config FILE`: the forecast cache for operators, with the
// daemon's own [cache] settings. Runs on the caller's thread as the facade's single owner; safe
// next to a running tradebotd (disk entries are written by rename, Redis keys are only those
// under cache.redis_key_prefix).
#include <iostream>
#include <string>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "actors/config.hpp"
#include "cache/forecast_cache.hpp"
#include "daemon/tool_commands.hpp"

namespace tb::daemon {
namespace {

[[noreturn]] void fail(const std::string& message, int code) {
  std::cerr << "tradebot cache: " << message << "\n";
  throw CLI::RuntimeError(code);
}

// The facade of the config's [cache] settings (forced on: an operator asked for it).
std::unique_ptr<cache::forecast_cache> open_cache(const std::string& config_path) {
  auto cfg = actors::load_config(config_path);
  if (!cfg) fail("invalid configuration " + config_path + ":\n" + cfg.error().message, exit_bad_input);
  auto cc = (*cfg)->cache;
  cc.enabled = true;
  cc.memory_enabled = false;  // nothing to see in a fresh process's memory
  auto valid = cache::validate(cc);
  if (!valid) fail(config_path + ": " + valid.error().message, exit_bad_input);
  auto c = std::make_unique<cache::forecast_cache>(*valid);
  c->maintain();  // connects to Redis when it is enabled
  return c;
}

void print_stats(const cache::forecast_cache& c) {
  const auto s = c.stats();
  const auto& cfg = c.config();
  std::cout << "disk    " << (cfg.disk_enabled ? cfg.dir : std::string("off")) << "\n";
  for (const auto& t : s.tiers)
    if (t.name == "disk")
      std::cout << "        " << t.entries << " entries, " << t.bytes << " bytes (" << s.cache_size_mb << " MiB of "
                << cfg.max_size_mb << "), state " << t.state << "\n";
  std::cout << "redis   "
            << (cfg.redis_enabled
                    ? cfg.redis.host + ":" + std::to_string(cfg.redis.port) + " db " + std::to_string(cfg.redis.db) +
                          " prefix " + cfg.redis.key_prefix + ", " + s.redis_state
                    : std::string("off"))
            << "\n";
  std::cout << "ttl     " << s.ttl_seconds << " s live, " << s.history_ttl_seconds << " s closed (0 = never)\n";
}

}  // namespace

void add_cache_commands(CLI::App& app) {
  CLI::App* cache_cmd = app.add_subcommand("cache", "The forecast cache: stats, verify, clear");
  cache_cmd->require_subcommand(1);
  auto config = std::make_shared<std::string>();

  CLI::App* stats = cache_cmd->add_subcommand("stats", "Entries and size of the disk tier, Redis state");
  stats->add_option("--config", *config, "tradebotd config file ([cache] keys)")->required();
  stats->callback([config] {
    auto c = open_cache(*config);
    print_stats(*c);
  });

  auto remove = std::make_shared<bool>(false);
  CLI::App* verify = cache_cmd->add_subcommand(
      "verify", "Decode every disk entry; report corrupt and expired ones (exit 1 if any was corrupt)");
  verify->add_option("--config", *config, "tradebotd config file ([cache] keys)")->required();
  verify->add_flag("--remove", *remove, "remove the corrupt and expired entries found");
  verify->callback([config, remove] {
    auto c = open_cache(*config);
    if (!c->config().disk_enabled)
      fail("the disk tier is off (cache.disk_enabled = false) in " + *config, exit_bad_input);
    const auto r = c->verify(*remove);
    for (const auto& p : r.problems) std::cout << p << "\n";
    std::cout << c->config().dir << ": " << r.files << " entries, " << r.ok << " ok, " << r.corrupt << " corrupt, "
              << r.expired << " expired, " << r.unsupported << " of another version, " << r.removed << " removed\n";
    if (r.corrupt > 0) throw CLI::RuntimeError(exit_failed);
  });

  CLI::App* clear = cache_cmd->add_subcommand(
      "clear", "Remove this cache's entries: *.tbfc files of the disk tier, Redis keys under the prefix");
  clear->add_option("--config", *config, "tradebotd config file ([cache] keys)")->required();
  clear->callback([config] {
    auto c = open_cache(*config);
    auto removed = c->clear();
    if (!removed) fail(c->config().dir + ": " + removed.error().message, exit_failed);
    std::cout << "removed " << *removed << " entries (" << (c->config().disk_enabled ? c->config().dir : "no disk tier")
              << (c->config().redis_enabled ? ", Redis keys " + c->config().redis.key_prefix + "*" : std::string())
              << ")\n";
  });
}

}  // namespace tb::daemon
