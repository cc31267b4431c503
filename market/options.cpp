#include "market/options.hpp"

#include <filesystem>
#include <fstream>
#include <optional>
#include <utility>

#include "core/base_url.hpp"
#include "core/text.hpp"

namespace tb::market {

const core::rows<feed_options>& feed_rows() {
  using o = feed_options;
  using core::key;
  using core::restart_only;
  static const core::rows<feed_options> rows = {
      restart_only(
          key("market.feed", &o::feed, "market-data source", nullptr, 0, 0, {"synthetic", "replay", "alpaca"})),
      restart_only(key("market.synthetic_seed", &o::synthetic_seed, "synthetic feed: random seed", nullptr, 0, 9.0e15)),
      restart_only(key("market.synthetic_equities", &o::synthetic_equities,
                       "synthetic feed: how many equities it generates (DEMO01..)", nullptr, 0, 999)),
      restart_only(key("market.synthetic_crypto", &o::synthetic_crypto,
                       "synthetic feed: how many crypto pairs it generates (DEMOnnUSD)", nullptr, 0, 999)),
      restart_only(key("market.synthetic_period_min", &o::synthetic_period_min,
                       "synthetic feed: bar period in minutes, 1440 (daily) or a divisor of 30", nullptr, 1, 1440)),
      restart_only(
          key("market.synthetic_start", &o::synthetic_start, "synthetic feed: first bar date, YYYY-MM-DD (UTC)")),
      restart_only(key("market.replay_dir", &o::replay_dir,
                       "replay feed: folder of CSV files, one symbol per file (the file name)")),
      restart_only(key("market.clock", &o::clock,
                       "simulated: time jumps from one scheduled event to the next as soon as a cycle is done "
                       "(demo, replay); wall: real time",
                       nullptr, 0, 0, {"simulated", "wall"})),
      restart_only(
          key("market.sim_start", &o::sim_start, "simulated clock start, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)")),
      restart_only(key("market.sim_end", &o::sim_end,
                       "simulated clock: the schedule stops at this instant (same formats); empty = never")),
      key("market.sim_cycle_interval_ms", &o::sim_cycle_interval_ms,
          "simulated clock: at least this many wall milliseconds from one cycle's start to the next (a demo "
          "pace); 0 = as fast as cycles complete",
          nullptr, 0, 3600000),
  };
  return rows;
}

const core::rows<schedule_options>& schedule_rows() {
  using o = schedule_options;
  using core::key;
  using core::restart_only;
  static const core::rows<schedule_options> rows = [] {
    auto out = core::bind(&o::passes, core::schedule_config_rows());
    out.push_back(key("schedule.backout_cross_bps", &o::backout_cross_bps,
                      "close back-out: an exit sells at the bid less this many basis points, buys at the ask plus "
                      "them (without a quote: the last close -/+ broker.default_spread, then the same)",
                      nullptr, 0, 1000));
    out.push_back(restart_only(key("schedule.pass_at_start", &o::pass_at_start,
                                   "wall clock: analyse once when the daemon starts (crypto, and equities while NYSE "
                                   "is in session); orders already journaled are not sent again")));
    return out;
  }();
  return rows;
}

const core::rows<broker_options>& broker_rows() {
  static const core::rows<broker_options> rows = [] {
    core::rows<broker_options> out = {core::restart_only(
        core::key("broker.kind", &broker_options::kind, "who executes orders", nullptr, 0, 0, {"sim", "alpaca"}))};
    for (auto& r : core::bind(&broker_options::sim, sim_broker_rows())) out.push_back(core::restart_only(r));
    return out;
  }();
  return rows;
}

const core::rows<alpaca_options>& alpaca_rows() {
  using o = alpaca_options;
  using core::key;
  using core::restart_only;
  static const core::rows<alpaca_options> rows = {
      restart_only(key("alpaca.trading_url", &o::trading_url,
                       "Alpaca Trading API origin; empty = the paper endpoint, or the live one with PAPER=0 and "
                       "trading.live = true (the live endpoint is refused otherwise)")),
      restart_only(
          key("alpaca.data_url", &o::data_url, "Alpaca Market Data API origin; empty = https://data.alpaca.markets")),
      restart_only(key("alpaca.stock_feed", &o::stock_feed, "stock bars and quotes: iex (free plan) or sip", nullptr, 0,
                       0, {"iex", "sip"})),
      restart_only(key("alpaca.adjustment", &o::adjustment, "stock bars: corporate-action adjustment", nullptr, 0, 0,
                       {"raw", "split", "dividend", "all"})),
      restart_only(key("alpaca.crypto_loc", &o::crypto_loc, "crypto data location (v1beta3/crypto/{loc})")),
      restart_only(key("alpaca.bar_period_min", &o::bar_period_min,
                       "bar period in minutes: 1..59, whole hours up to 23 h, or 1440 (daily)", nullptr, 1, 1440)),
      restart_only(key("alpaca.ca_file", &o::ca_file,
                       "PEM file of the CAs to trust; empty = the system's store (certificates and host names are "
                       "always verified)")),
      restart_only(
          key("alpaca.timeout_s", &o::timeout_s, "connect and read timeout of one HTTPS attempt", nullptr, 0.1, 300)),
      restart_only(key("alpaca.max_attempts", &o::max_attempts,
                       "attempts per request (429, 5xx and timeouts are retried with backoff)", nullptr, 1, 20)),
      restart_only(key("alpaca.rate_per_minute", &o::rate_per_minute,
                       "requests per minute to each Alpaca API, market data and trading (Alpaca's limit: 200)", nullptr,
                       1, 10000)),
      restart_only(key("alpaca.crypto_price_increment", &o::crypto_price_increment,
                       "crypto limit-price tick the portfolio rounds to (any broker); 0 = 6 significant digits of the "
                       "price",
                       nullptr, 0, 1000)),
  };
  return rows;
}

void check(const feed_options& o, std::vector<std::string>& errors) {
  if (o.feed == "replay" && o.replay_dir.empty())
    errors.push_back("market.feed = \"replay\" needs market.replay_dir (a folder of CSV files)");
  else if (o.feed == "replay" && !std::filesystem::is_directory(o.replay_dir))
    errors.push_back("market.replay_dir " + o.replay_dir + " is not a directory");
  // Dates must be real and inside the NYSE calendar's years, so a run is refused here rather than
  // stopped on a year the calendar cannot answer.
  const auto instant = [&](const std::string& text, const char* key) -> std::optional<core::time_point> {
    auto t = core::parse_utc_instant(text, key);
    if (!t) errors.push_back(t.error().message);
    return t ? std::optional<core::time_point>(*t) : std::nullopt;
  };
  const auto start = instant(o.sim_start, "market.sim_start");
  const auto end = o.sim_end.empty() ? std::nullopt : instant(o.sim_end, "market.sim_end");
  if (o.clock == "simulated" && start && end && *end <= *start)
    errors.push_back("market.sim_end (" + o.sim_end + ") must be after market.sim_start (" + o.sim_start + ")");
  instant(o.synthetic_start, "market.synthetic_start");
  if (o.synthetic_period_min != 1440 && 30 % o.synthetic_period_min != 0)
    errors.push_back("market.synthetic_period_min (" + std::to_string(o.synthetic_period_min) +
                     ") must be 1440 (daily) or divide 30 (1, 2, 3, 5, 6, 10, 15, 30)");
  const auto generated = o.synthetic_equities + o.synthetic_crypto;
  if (generated > 999)
    errors.push_back("market.synthetic_equities + market.synthetic_crypto (" + std::to_string(generated) +
                     ") must be <= 999");
}

void check(const alpaca_options& o, bool used, bool live, std::vector<std::string>& errors) {
  if (o.bar_period_min != 1440 && o.bar_period_min >= 60 && o.bar_period_min % 60 != 0)
    errors.push_back("alpaca.bar_period_min (" + std::to_string(o.bar_period_min) +
                     ") must be 1..59, a whole number of hours up to 23 h, or 1440");
  for (const auto& [key, url] : {std::pair<const char*, const std::string&>{"alpaca.trading_url", o.trading_url},
                                 std::pair<const char*, const std::string&>{"alpaca.data_url", o.data_url}}) {
    if (url.empty()) continue;
    auto u = core::parse_base_url(url);
    const std::string host = u ? core::to_lower(u->host) : std::string();
    if (!u)
      errors.push_back(std::string(key) + ": " + u.error().message);
    else if (u->scheme != "https")
      errors.push_back(std::string(key) + " (" + excerpt(url) + ") must be https://");
    else if (key == std::string("alpaca.trading_url") && host == "api.alpaca.markets" && !live)
      errors.push_back("alpaca.trading_url " + url +
                       " is the live endpoint but live trading is not enabled "
                       "(PAPER=0 and trading.live = true)");
  }
  if (used && !o.ca_file.empty() && !std::ifstream(o.ca_file))
    errors.push_back("alpaca.ca_file " + o.ca_file + " cannot be read");
}

}  // namespace tb::market
