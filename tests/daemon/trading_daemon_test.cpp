// The trading loop end to end, in the real tradebotd process: replay of tests/data/daily on
// simulated time (the same orders and fills on two runs; a corrupt file fails only its symbol),
// SIGKILL between the journal write and the broker's acknowledgement (no duplicate order, the
// account reconciled after a restart), a SIGHUP that adds and removes symbol actors, and a new
// trading day that computes one window per symbol (/stats).
// The demo checkpoint (tiny, seed 0: the same weights in every state folder) with small windows keeps each daemon run
// to seconds.
#define BOOST_TEST_MODULE trading_daemon
#include <boost/test/unit_test.hpp>

#include <map>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "tests/support/daemon_process.hpp"
#include "tests/support/redis_server.hpp"

using namespace tb::test;
using nlohmann::json;

namespace {

const std::string daemon_bin = std::string(TRADEBOT_BIN_DIR) + "/tradebotd";
// tradebotd with the broker actor's fault seam (tests/support/broker_faults.hpp), test builds only.
const std::string faults_bin = std::string(TRADEBOT_BIN_DIR) + "/tradebotd_faults";
const std::string daily = std::string(TRADEBOT_TEST_DATA) + "/daily";

struct daemon_run : daemon_process {
  explicit daemon_run(const std::string& config_body, std::map<std::string, std::string> env = {},
                      const std::string& binary = daemon_bin)
      : daemon_process(binary, config_body, std::move(env)) {}
};

bool finished(const json& s) { return s.contains("schedule") && s["schedule"].value("finished", false); }

std::vector<json> read_lines(const std::filesystem::path& p) {
  std::vector<json> out;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

// A replay folder: copies of some daily files, and optionally a corrupt one.
std::filesystem::path replay_folder(const temp_dir& d, bool with_corrupt) {
  auto dir = d.path / "replay";
  std::filesystem::create_directories(dir);
  for (const char* s : {"JD", "PDD", "NIO", "SUIUSD"})
    std::filesystem::copy_file(daily + "/" + s + ".csv", dir / (std::string(s) + ".csv"));
  if (with_corrupt)
    std::ofstream(dir / "BAD.csv") << "Date,close,high,low,open,volume\n2024-01-02,10,11,9,10,100\n"
                                   << "2024-01-03,not-a-number,11,9,10,100\n";
  return dir;
}

const std::string replay_market(const std::filesystem::path& dir, const std::string& end) {
  return "[market]\nfeed = \"replay\"\nreplay_dir = \"" + dir.string() + "\"\nclock = \"simulated\"\n" +
         "sim_start = \"2025-01-02\"\nsim_end = \"" + end + "\"\n";
}

struct replay_result {
  std::string journal;  // the order journal's bytes
  std::string ledger;   // the sim broker's ledger bytes
  json stats, health;
};

replay_result run_replay(bool with_corrupt) {
  temp_dir data;
  auto dir = replay_folder(data, with_corrupt);
  temp_dir state;
  daemon_run d(
      small_trading_config(state.path.string(), replay_market(dir, "2025-04-01"),
                           std::string("\"JD\", \"PDD\", \"NIO\", \"SUIUSD\"") + (with_corrupt ? ", \"BAD\"" : "")));
  BOOST_REQUIRE_MESSAGE(d.ready(), "no READY=1:\n" << d.proc->output());
  replay_result r;
  r.stats = d.stats_until(finished, 150s);
  BOOST_REQUIRE_MESSAGE(finished(r.stats), "the replay did not finish:\n" << r.stats.dump().substr(0, 3000));
  r.health = d.get("/health");
  BOOST_TEST(d.stop() == 0, d.proc->output());
  r.journal = read_file(state.path / "broker" / "orders.jsonl");
  r.ledger = read_file(state.path / "broker" / "sim-ledger.jsonl");
  return r;
}

}  // namespace

BOOST_AUTO_TEST_CASE(replay_gives_the_same_orders_and_fills_and_a_corrupt_file_fails_only_its_symbol) {
  auto a = run_replay(true);
  auto b = run_replay(true);
  BOOST_TEST_MESSAGE("replay: " << a.stats["schedule"]["cycles"] << " cycles, portfolio " << a.stats["portfolio"].dump()
                                << "\nBAD: " << a.stats["symbols"]["BAD"].dump()
                                << "\nJD: " << a.stats["symbols"]["JD"].dump());
  // Something happened: orders were sent, accepted and filled over three months of bars.
  BOOST_TEST(a.stats["schedule"]["cycles"].get<int>() > 100);
  BOOST_TEST(a.stats["portfolio"]["orders_accepted"].get<int>() > 0, a.stats["portfolio"].dump());
  BOOST_TEST(a.stats["portfolio"]["fills"].get<int>() > 0, a.stats["portfolio"].dump());
  // Paper-trading metrics come from the fills: real trades, and per traded symbol, adding up.
  const auto& pm = a.stats["portfolio"]["metrics"];
  BOOST_REQUIRE_MESSAGE(pm.is_object(), a.stats["portfolio"].dump());
  BOOST_TEST(pm["trades"].get<int>() > 0, pm.dump());
  BOOST_TEST(pm["turnover"].get<double>() > 0, pm.dump());
  int symbol_trades = 0;
  for (const auto& [sym, m] : a.stats["portfolio"]["symbol_metrics"].items()) symbol_trades += m["trades"].get<int>();
  BOOST_TEST(symbol_trades == pm["trades"].get<int>(), a.stats["portfolio"]["symbol_metrics"].dump());
  BOOST_TEST(a.stats["portfolio"]["metrics"] == b.stats["portfolio"]["metrics"]);
  BOOST_TEST(a.journal.find("\"kind\":\"fill\"") != std::string::npos);
  // The same decisions, orders and fills, byte for byte (times are simulated).
  BOOST_TEST(a.journal == b.journal);
  BOOST_TEST(a.ledger == b.ledger);
  BOOST_TEST(a.stats["portfolio"]["positions"] == b.stats["portfolio"]["positions"]);
  BOOST_TEST(a.stats["portfolio"]["cash"] == b.stats["portfolio"]["cash"]);

  // The corrupt file: its symbol is in error with the loader's message; the others traded.
  const auto& bad = a.stats["symbols"]["BAD"];
  BOOST_TEST(bad["state"] == "error", bad.dump());
  BOOST_TEST(bad["error"].get<std::string>().find("BAD.csv") != std::string::npos, bad.dump());
  BOOST_TEST(a.health["status"] == "degraded", a.health.dump());
  BOOST_TEST(a.health["checks"]["symbols"]["failing"].contains("BAD"), a.health.dump());
  BOOST_TEST(a.journal.find("\"symbol\":\"BAD\"") == std::string::npos);
  int traded = 0;
  for (const char* s : {"JD", "PDD", "NIO", "SUIUSD"}) {
    BOOST_TEST(a.stats["symbols"][s]["state"] != "error", a.stats["symbols"][s].dump());
    if (a.journal.find(std::string("\"symbol\":\"") + s + "\"") != std::string::npos) ++traded;
  }
  BOOST_TEST(traded >= 2, a.journal.substr(0, 2000));
}

namespace {

// Net filled quantity per symbol, from the journal's intents (side) and fills (qty).
std::map<std::string, double> net_fills(const std::vector<json>& journal) {
  std::map<std::string, json> intents;
  std::map<std::string, double> net;
  for (const auto& r : journal) {
    if (r["kind"] == "intent") intents[r["client_order_id"]] = r;
    if (r["kind"] == "fill") {
      const auto& in = intents.at(r["client_order_id"]);
      net[in["symbol"]] += (in["side"] == "buy" ? 1.0 : -1.0) * r["qty"].get<double>();
    }
  }
  return net;
}

// The client_order_id of the last intent in the journal.
std::string last_intent(const std::vector<json>& journal) {
  std::string id;
  for (const auto& r : journal)
    if (r["kind"] == "intent") id = r["client_order_id"];
  return id;
}

std::vector<json> records_of(const std::vector<json>& journal, const std::string& id) {
  std::vector<json> out;
  for (const auto& r : journal)
    if (r["client_order_id"] == id) out.push_back(r);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(sigkill_between_journal_and_broker_ack_never_sends_an_order_twice) {
  temp_dir data;
  auto dir = replay_folder(data, false);
  temp_dir state;
  const auto journal_path = state.path / "broker" / "orders.jsonl";
  const auto ledger_path = state.path / "broker" / "sim-ledger.jsonl";
  const std::string cfg = small_trading_config(state.path.string(), replay_market(dir, "2025-03-01"),
                                               "\"JD\", \"PDD\", \"NIO\", \"SUIUSD\"");

  // 1. Killed right after the 3rd intent is fsynced, before it is submitted.
  std::string never_sent;
  {
    daemon_run d(cfg, {{"TRADEBOTD_FAULT", "kill_after_intent:3"}}, faults_bin);
    BOOST_REQUIRE_MESSAGE(d.ready(), d.proc->output());
    BOOST_REQUIRE_EQUAL(d.proc->wait(120s), 128 + SIGKILL);
    auto j = read_lines(journal_path);
    never_sent = last_intent(j);
    BOOST_REQUIRE(!never_sent.empty());
    BOOST_TEST(records_of(j, never_sent).size() == 1u);  // the intent and nothing after it
    BOOST_TEST(read_file(ledger_path).find(never_sent) == std::string::npos);
  }
  // 2. Restarted, then killed right after its 2nd submit returned, before the ack is journaled.
  std::string sent_unacked;
  {
    daemon_run d(cfg, {{"TRADEBOTD_FAULT", "kill_after_submit:2"}}, faults_bin);
    BOOST_REQUIRE_MESSAGE(d.ready(), d.proc->output());
    BOOST_REQUIRE_EQUAL(d.proc->wait(120s), 128 + SIGKILL);
    auto j = read_lines(journal_path);
    // The first crash's intent was reconciled: the broker never saw it, so it is abandoned.
    auto rs = records_of(j, never_sent);
    BOOST_REQUIRE(rs.size() == 2u);
    BOOST_TEST(rs[1]["kind"] == "abandoned");
    sent_unacked = last_intent(j);
    BOOST_TEST(records_of(j, sent_unacked).size() == 1u);
    BOOST_TEST(read_file(ledger_path).find(sent_unacked) != std::string::npos);  // the broker has it
  }
  // 3. Restarted without a fault: reconciles, runs to the end.
  daemon_run d(cfg);
  BOOST_REQUIRE_MESSAGE(d.ready(), d.proc->output());
  auto stats = d.stats_until(finished, 150s);
  BOOST_REQUIRE_MESSAGE(finished(stats), stats.dump().substr(0, 3000));
  BOOST_TEST(stats["broker"]["reconciled_at_start"]["found_at_broker"] == 1, stats["broker"].dump());
  BOOST_TEST(d.stop() == 0, d.proc->output());

  const auto journal = read_lines(journal_path);
  const auto ledger = read_lines(ledger_path);
  // The order submitted before the second crash was acknowledged by reconciliation, once.
  auto rs = records_of(journal, sent_unacked);
  BOOST_REQUIRE(rs.size() >= 2u);
  BOOST_TEST(rs[1]["kind"] == "ack");
  // No client_order_id reached the broker twice, and none was journaled twice.
  std::map<std::string, int> submits, intents;
  for (const auto& l : ledger)
    if (l["op"] == "submit") ++submits[l["client_order_id"]];
  for (const auto& r : journal)
    if (r["kind"] == "intent") ++intents[r["client_order_id"]];
  BOOST_TEST(submits.size() > 3u);
  for (const auto& [id, n] : submits) BOOST_TEST(n == 1, id);
  for (const auto& [id, n] : intents) BOOST_TEST(n == 1, id);
  BOOST_TEST(submits.count(never_sent) == 0u);
  // Every order the broker has was journaled first.
  for (const auto& [id, n] : submits) BOOST_TEST(intents.count(id) == 1u, id);
  // Positions: what the broker holds is what the journal's fills add up to.
  auto net = net_fills(journal);
  const auto& positions = stats["portfolio"]["positions"];
  BOOST_TEST(!positions.empty(), stats["portfolio"].dump());
  for (const auto& [sym, p] : positions.items()) BOOST_TEST(std::abs(p["qty"].get<double>() - net[sym]) < 1e-6, sym);
  for (const auto& [sym, q] : net)
    if (std::abs(q) > 1e-9) BOOST_TEST(positions.contains(sym), sym);
}

BOOST_AUTO_TEST_CASE(the_fault_seam_is_only_in_the_test_build) {
  // The production binary holds no trace of the variable; the test build does (so the check
  // would see it), and refuses a value it does not know instead of running without its crash.
  BOOST_TEST(read_file(daemon_bin).find("TRADEBOTD_FAULT") == std::string::npos);
  BOOST_TEST(read_file(faults_bin).find("TRADEBOTD_FAULT") != std::string::npos);
  temp_dir state;
  child_process typo({faults_bin, "--check"}, {{"TRADEBOTD_FAULT", "kill_after_intnet:1"}}, state.path / "typo.log");
  BOOST_TEST(typo.wait(30s) == 2);
  BOOST_TEST(typo.output().find("kill_after_intnet") != std::string::npos, typo.output());
}

BOOST_AUTO_TEST_CASE(sighup_adds_and_removes_symbol_actors) {
  temp_dir state;
  // Crypto only: the schedule needs no NYSE calendar, so simulated time never runs out.
  const std::string market =
      "[market]\nfeed = \"synthetic\"\nsynthetic_equities = 0\nsynthetic_crypto = 4\nclock = \"simulated\"\n";
  daemon_run d(small_trading_config(state.path.string(), market, "\"DEMO01USD\", \"DEMO02USD\""));
  BOOST_REQUIRE_MESSAGE(d.ready(), d.proc->output());
  auto cycled = [](const json& s, const char* sym) {
    return s["symbols"].contains(sym) && s["symbols"][sym].value("cycles", 0) > 0;
  };
  auto s = d.stats_until([&](const json& s) { return cycled(s, "DEMO01USD") && cycled(s, "DEMO02USD"); }, 60s);
  BOOST_REQUIRE_MESSAGE(cycled(s, "DEMO01USD") && cycled(s, "DEMO02USD"), s.dump().substr(0, 2000));
  BOOST_TEST(!s["symbols"].contains("DEMO03USD"));

  std::ofstream(d.config) << small_trading_config(state.path.string(), market, "\"DEMO02USD\", \"DEMO03USD\"");
  d.proc->signal(SIGHUP);
  auto keys = [](const json& obj) {
    std::set<std::string> out;
    for (const auto& [k, v] : obj.items()) out.insert(k);
    return out;
  };
  const std::set<std::string> want{"DEMO02USD", "DEMO03USD"};
  s = d.stats_until([&](const json& s) { return keys(s["symbols"]) == want && cycled(s, "DEMO03USD"); }, 60s);
  BOOST_TEST(keys(s["symbols"]) == want, s["symbols"].dump());
  BOOST_TEST(keys(s["schedule"]["symbols"]) == want, s["schedule"].dump());
  BOOST_TEST(cycled(s, "DEMO03USD"), s["symbols"].dump());
  BOOST_TEST(d.stop() == 0, d.proc->output());
}

BOOST_AUTO_TEST_CASE(two_daemons_share_forecasts_through_one_redis) {
  // Two processes, each with its own memory and no disk tier, one redis-server: the second
  // daemon's first cycles are answered from what the first one computed.
  redis_server redis;
  redis.start();
  const std::string market =
      "[market]\nfeed = \"synthetic\"\nsynthetic_equities = 0\nsynthetic_crypto = 2\nclock = \"simulated\"\n";
  const std::string cache =
      "enabled = true\ndisk_enabled = false\nredis_enabled = true\nredis_port = " + std::to_string(redis.port()) +
      "\nredis_key_prefix = \"tbtest:shared:\"\n";
  const std::string symbols = "\"DEMO01USD\", \"DEMO02USD\"";
  auto redis_tier = [](const json& s, const char* field) {
    return s["cache"]["tiers"].contains("redis") ? s["cache"]["tiers"]["redis"].value(field, 0) : 0;
  };

  temp_dir state_a, state_b;
  {
    daemon_run a(small_trading_config(state_a.path.string(), market, symbols, "", cache));
    BOOST_REQUIRE_MESSAGE(a.ready(), a.proc->output());
    auto s = a.stats_until([&](const json& s) { return redis_tier(s, "saves") > 0; }, 60s);
    BOOST_REQUIRE_MESSAGE(redis_tier(s, "saves") > 0, s["cache"].dump());
    BOOST_TEST(a.stop() == 0);  // flushes the write-behind queue
  }
  daemon_run b(small_trading_config(state_b.path.string(), market, symbols, "", cache));
  BOOST_REQUIRE_MESSAGE(b.ready(), b.proc->output());
  auto s = b.stats_until([&](const json& s) { return redis_tier(s, "hits") > 0; }, 60s);
  BOOST_TEST(redis_tier(s, "hits") > 0, s["cache"].dump());
  BOOST_TEST(b.stop() == 0);
}

// The daemon on a simulated clock, cache on, a 1 s TTL for still-forming windows and cycles paced
// 400 ms apart (a day's three passes take over a second): after each symbol's first forecast
// (every window computed), a new trading day computes exactly ONE window per symbol, because
// yesterday's live window, all of whose bars closed, was stored with the history TTL. /stats
// shows it per symbol: last_cycle_computed and windows_computed.
BOOST_AUTO_TEST_CASE(a_new_trading_day_computes_one_window_per_symbol) {
  temp_dir data;
  auto dir = replay_folder(data, false);
  temp_dir state;
  const std::string market = replay_market(dir, "2025-01-15") + "sim_cycle_interval_ms = 400\n";
  daemon_run d(
      small_trading_config(state.path.string(), market, "\"JD\", \"PDD\", \"NIO\"", "", "enabled = true\nttl_s = 1\n"));
  BOOST_REQUIRE_MESSAGE(d.ready(), "no READY=1:\n" << d.proc->output());
  const auto s = d.stats_until(finished, 120s);
  BOOST_REQUIRE_MESSAGE(finished(s), "the replay did not finish:\n" << s.dump().substr(0, 3000));
  constexpr int windows_per_request = 1 + 8;  // the live window + trading.walk_forward_windows
  for (const char* sym : {"JD", "PDD", "NIO"}) {
    const auto& st = s["symbols"][sym];
    const int requests = st["windows_asked"].get<int>() / windows_per_request;
    BOOST_TEST_MESSAGE(sym << ": " << requests << " forecast requests, " << st["windows_computed"]
                           << " windows computed, "
                           << "last cycle computed " << st["last_cycle_computed"]);
    BOOST_TEST(requests >= 5, st.dump());
    BOOST_TEST(st["last_cycle_computed"] == 1, st.dump());
    BOOST_TEST(st["windows_computed"].get<int>() == windows_per_request + (requests - 1), st.dump());
  }
  BOOST_TEST(s["cache"]["actor"]["computed_windows"].get<int>() == s["cache"]["misses"].get<int>(), s["cache"].dump());
  BOOST_TEST(d.stop() == 0, d.proc->output());
}
