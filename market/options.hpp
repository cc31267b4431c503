#pragma once
// The market side of the daemon's config: the [market], [schedule], [broker] and [alpaca]
// sections, each a struct whose member initialisers are the defaults, with its rows (name,
// bounds, description) and its cross-key rules. The daemon builds its feed, clock, broker and
// Alpaca clients from them (daemon/actor_tree.cpp).
#include <cstdint>
#include <string>
#include <vector>

#include "core/calendar.hpp"
#include "core/config.hpp"
#include "market/sim_broker.hpp"

namespace tb::market {

// [market]: where bars come from and how time runs.
struct feed_options {
  std::string feed = "synthetic";  // synthetic | replay | alpaca
  std::int64_t synthetic_seed = 42;
  std::int64_t synthetic_equities = 18;
  std::int64_t synthetic_crypto = 2;
  std::int64_t synthetic_period_min = 1440;  // 1440 = daily; else minutes dividing 30
  std::string synthetic_start = "2024-01-02";
  std::string replay_dir;                  // every *.csv in it; symbol = file name
  std::string clock = "simulated";         // simulated | wall
  std::string sim_start = "2025-06-02";    // simulated clock start (UTC date or date-time)
  std::string sim_end;                     // "" = never stops; else the schedule stops there
  std::int64_t sim_cycle_interval_ms = 0;  // simulated clock: at least this much wall time per cycle
};

// [schedule]: the analysis passes (core::next_scheduled_event) and the close back-out.
struct schedule_options {
  core::schedule_config passes;
  double backout_cross_bps = 5.0;  // close back-out: exits cross the bid / ask by this (bps)
  bool pass_at_start = true;       // wall clock: one pass when the daemon starts
};

// [broker]: who executes orders; the simulated broker's book.
struct broker_options {
  std::string kind = "sim";  // sim | alpaca
  sim_broker_config sim;
};

// [alpaca]: market.feed = "alpaca" and/or broker.kind = "alpaca" (keys: APCA_API_KEY_ID /
// APCA_API_SECRET_KEY or systemd credentials alpaca_key_id / alpaca_secret_key, never here).
struct alpaca_options {
  std::string trading_url;         // "" = paper, or live with PAPER=0 and live = true
  std::string data_url;            // "" = https://data.alpaca.markets
  std::string stock_feed = "iex";  // iex | sip
  std::string adjustment = "raw";  // raw | split | dividend | all
  std::string crypto_loc = "us";
  std::int64_t bar_period_min = 1440;
  std::string ca_file;  // "" = the system's trust store
  double timeout_s = 15.0;
  std::int64_t max_attempts = 4;
  double rate_per_minute = 200.0;
  double crypto_price_increment = 0.0;  // 0 = 6 significant digits of the price
};

// The keys of each section, one row per member above.
const core::rows<feed_options>& feed_rows();
const core::rows<schedule_options>& schedule_rows();
const core::rows<broker_options>& broker_rows();
const core::rows<alpaca_options>& alpaca_rows();

// What the start-up would refuse later, said at load so that `--check` and a reload refuse it
// too (one line per problem): dates real and inside the NYSE calendar's years, sim_end after
// sim_start, the synthetic feed's period and counts, replay_dir a folder.
void check(const feed_options& o, std::vector<std::string>& errors);
// The bar period; the URLs https:// and the live trading endpoint only when `live` (PAPER=0 and
// trading.live); ca_file readable when Alpaca is `used` (market.feed or broker.kind).
void check(const alpaca_options& o, bool used, bool live, std::vector<std::string>& errors);

}  // namespace tb::market
