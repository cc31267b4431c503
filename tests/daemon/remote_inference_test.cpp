// Remote inference hosts, all real tradebotd processes on loopback: inference hosts (trading
// disabled, the inference actor published on a free middleman port) and trading daemons with
// `inference.remote` (no local model). Shows: a replay on simulated time through two hosts, one
// SIGKILLed mid-run, finishes with no failed forecast and the order journal of a local-model run,
// while a host serving another checkpoint is refused; a daemon is READY without hosts, degraded,
// and uses a host that comes up later; two trading daemons sharing Redis: the second's hits cover
// the first's symbols and its host computes nothing for them.
// The demo checkpoint (tiny, seed 0: the same weights in every state folder) keeps runs short.
#define BOOST_TEST_MODULE remote_inference
#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include "tests/support/daemon_process.hpp"
#include "tests/support/inference_host.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/tiny_model.hpp"

using namespace tb::test;
using nlohmann::json;

namespace {

const std::string daemon_bin = std::string(TRADEBOT_BIN_DIR) + "/tradebotd";
const std::string daily = std::string(TRADEBOT_TEST_DATA) + "/daily";

// A value of /stats by JSON pointer, or `fallback` where the path is missing (stats_until's
// predicates see every /stats, also one taken before a section was first published).
template <class T>
T value_at(const json& s, const std::string& pointer, T fallback) {
  const json::json_pointer p(pointer);
  return s.contains(p) ? s.at(p).get<T>() : fallback;
}

// An inference host (tests/support/inference_host.hpp) with these tests' small forecast shape,
// `model_dir` ("" = the demo checkpoint under its own state folder), published on `port` (0: a
// free one).
struct small_host : inference_host {
  explicit small_host(const std::string& model_dir = "", std::uint16_t port = 0)
      : inference_host(daemon_bin, "info", "dir = \"" + model_dir + "\"\n",
                       "pred_len = 1\nlookback = 24\nmax_context = 24\nsample_count = 1\n", "max_batch_rows = 64\n",
                       port) {
    BOOST_REQUIRE_MESSAGE(error.empty(), error);
  }
  // The address as a TOML string.
  std::string quoted() const { return "\"" + address() + "\""; }
  std::string checkpoint_hash() { return d->get("/stats")["inference"]["model"]["checkpoint_hash"]; }
  // Windows its model computed since start (the batcher's count; the warm-up is not counted),
  // once `pred` holds for it: the host publishes its counts once a second (bounded: 10 s).
  std::uint64_t computed(const std::function<bool(std::uint64_t)>& pred = [](std::uint64_t) { return true; }) {
    auto s = d->stats_until(
        [&](const json& s) { return pred(value_at<std::uint64_t>(s, "/inference/inference_count", 0)); }, 10s);
    return value_at<std::uint64_t>(s, "/inference/inference_count", 0);
  }
};

bool finished(const json& s) { return s.contains("schedule") && s["schedule"].value("finished", false); }

std::filesystem::path replay_folder(const temp_dir& d, const std::vector<std::string>& symbols) {
  auto dir = d.path / "replay";
  std::filesystem::create_directories(dir);
  for (const auto& s : symbols) std::filesystem::copy_file(daily + "/" + s + ".csv", dir / (s + ".csv"));
  return dir;
}

std::string replay_market(const std::filesystem::path& dir, const std::string& end) {
  return "[market]\nfeed = \"replay\"\nreplay_dir = \"" + dir.string() + "\"\nclock = \"simulated\"\n" +
         "sim_start = \"2025-01-02\"\nsim_end = \"" + end + "\"\n";
}

const std::string symbols4 = "\"JD\", \"PDD\", \"NIO\", \"SUIUSD\"";

int total_failures(const json& s) {
  int n = 0;
  for (const auto& [sym, v] : s["symbols"].items()) n += v.value("failures", 0);
  return n;
}

json host_row(const json& stats, const small_host& h) {
  for (const auto& r : stats["inference"]["remote"])
    if (r["address"] == h.address()) return r;
  return json();
}

}  // namespace

BOOST_AUTO_TEST_CASE(two_hosts_one_killed_mid_run_give_the_local_journal_and_a_foreign_checkpoint_is_refused) {
  temp_dir data;
  const auto replay = replay_folder(data, {"JD", "PDD", "NIO", "SUIUSD"});
  const auto market = replay_market(replay, "2025-03-01");

  // The reference: the same config with the local model.
  std::string local_journal;
  int local_cycles = 0;
  {
    temp_dir state;
    daemon_process d(daemon_bin, small_trading_config(state.path.string(), market, symbols4));
    BOOST_REQUIRE_MESSAGE(d.ready(), d.proc->output());
    auto s = d.stats_until(finished, 150s);
    BOOST_REQUIRE_MESSAGE(finished(s), s.dump().substr(0, 3000));
    local_cycles = s["schedule"]["cycles"].get<int>();
    BOOST_TEST(d.stop() == 0, d.proc->output());
    local_journal = read_file(state.path / "broker" / "orders.jsonl");
  }
  BOOST_REQUIRE(local_journal.find("\"kind\":\"fill\"") != std::string::npos);

  small_host a, b;
  small_host foreign(tiny_checkpoint().path.string());  // another checkpoint: refused
  const auto wanted = a.checkpoint_hash();
  BOOST_REQUIRE(b.checkpoint_hash() == wanted);
  BOOST_REQUIRE(foreign.checkpoint_hash() != wanted);

  temp_dir state;
  // The foreign host first: the pool's identity comes from inference.model_identity, not the order.
  daemon_process d(daemon_bin,
                   small_trading_config(state.path.string(), market, symbols4, "", "enabled = false\n",
                                        "remote = [" + foreign.quoted() + ", " + a.quoted() + ", " + b.quoted() +
                                            "]\nmodel_identity = \"" + wanted.substr(0, 16) + "\"\n"));
  BOOST_REQUIRE_MESSAGE(d.ready(), d.proc->output());
  BOOST_TEST(d.proc->output().find("no local model") != std::string::npos);

  // SIGKILL one host once a third of the run is done.
  auto s = d.stats_until([&](const json& s) { return value_at(s, "/schedule/cycles", 0) >= local_cycles / 3; }, 150s);
  BOOST_REQUIRE_MESSAGE(value_at(s, "/schedule/cycles", 0) >= local_cycles / 3, s.dump().substr(0, 3000));
  BOOST_TEST(host_row(s, a)["requests"].get<int>() > 0, s["inference"].dump());
  a.d->proc->signal(SIGKILL);
  BOOST_REQUIRE(a.d->proc->wait(10s) == 128 + SIGKILL);

  s = d.stats_until(finished, 150s);
  BOOST_REQUIRE_MESSAGE(finished(s), s.dump().substr(0, 3000));
  BOOST_TEST_MESSAGE("remote run: " << s["schedule"]["cycles"] << " cycles; " << s["inference"].dump());
  // No failed forecast: every window was answered by a host, once.
  BOOST_TEST(total_failures(s) == 0, s["symbols"].dump());
  BOOST_TEST(s["cache"]["actor"]["inference_errors"] == 0, s["cache"].dump());
  const auto ra = host_row(s, a), rb = host_row(s, b), rf = host_row(s, foreign);
  BOOST_TEST(ra["state"] != "connected", ra.dump());
  BOOST_TEST(rb["state"] == "connected", rb.dump());
  BOOST_TEST(rb["requests"].get<int>() > 0, rb.dump());
  BOOST_TEST(rf["state"] == "refused", rf.dump());
  BOOST_TEST(rf["requests"] == 0, rf.dump());
  BOOST_TEST(rf["last_error"].get<std::string>().find("serves model") != std::string::npos, rf.dump());
  BOOST_TEST(s["inference"]["model"]["checkpoint_hash"] == wanted);
  BOOST_TEST(foreign.computed() == 0u);
  // /health: degraded, naming the refused and the lost host; the log names the refused one.
  const auto health = d.get("/health");
  BOOST_TEST(health["status"] == "degraded", health.dump());
  const auto& not_up = health["checks"]["model"]["not_connected"];
  BOOST_TEST(not_up.contains(rf["address"].get<std::string>()), health.dump());
  BOOST_TEST(not_up.contains(ra["address"].get<std::string>()), health.dump());
  BOOST_TEST(d.proc->output().find("refused") != std::string::npos);
  // /metrics: one family per value, a sample per host labelled by its address.
  const std::string metrics = http_get(d.port, "/metrics").body;
  const auto sample = [&](const std::string& family, const json& row) {
    const std::string prefix = "\n" + family + "{host=\"" + row["address"].get<std::string>() + "\"} ";
    const auto at = metrics.find(prefix);
    return at == std::string::npos
               ? std::string("absent")
               : metrics.substr(at + prefix.size(), metrics.find('\n', at + 1) - at - prefix.size());
  };
  BOOST_TEST(metrics.find("# TYPE tradebotd_inference_remote_requests_total counter\n") != std::string::npos);
  BOOST_TEST(sample("tradebotd_inference_remote_up", rb) == "1", metrics);
  BOOST_TEST(sample("tradebotd_inference_remote_up", rf) == "0", metrics);
  BOOST_TEST(sample("tradebotd_inference_remote_up", ra) == "0", metrics);
  BOOST_TEST(sample("tradebotd_inference_remote_requests_total", rf) == "0", metrics);
  BOOST_TEST(sample("tradebotd_inference_remote_requests_total", rb) == rb["requests"].dump(), metrics);
  BOOST_TEST(sample("tradebotd_inference_remote_rtt_seconds_count", rb) != "absent", metrics);
  BOOST_TEST(sample("tradebotd_inference_remote_rtt_seconds_count", rb) != "0", metrics);
  BOOST_TEST(d.stop() == 0, d.proc->output());
  // Forecasts are seeded by their keys: where they were computed does not matter.
  BOOST_TEST(read_file(state.path / "broker" / "orders.jsonl") == local_journal);
}

BOOST_AUTO_TEST_CASE(ready_without_hosts_degraded_then_a_late_host_serves) {
  const auto port = free_port();
  temp_dir state;
  // Crypto only on simulated time: the schedule never runs out.
  const std::string market =
      "[market]\nfeed = \"synthetic\"\nsynthetic_equities = 0\nsynthetic_crypto = 2\nclock = \"simulated\"\n";
  daemon_process d(daemon_bin,
                   small_trading_config(state.path.string(), market, "\"DEMO01USD\"", "", "enabled = false\n",
                                        "remote = [\"127.0.0.1:" + std::to_string(port) + "\"]\n"));
  BOOST_REQUIRE_MESSAGE(d.ready(10s), d.proc->output());  // READY without any host
  auto s = d.stats_until(
      [](const json& s) { return value_at<std::string>(s, "/inference/remote/0/state", "") == "down"; }, 10s);
  BOOST_TEST(s["inference"]["remote"][0]["state"] == "down", s["inference"].dump());
  BOOST_TEST(!s["inference"]["remote"][0]["last_error"].get<std::string>().empty());
  auto health = d.get("/health");
  BOOST_TEST(health["checks"]["model"]["status"] == "degraded", health.dump());

  small_host late("", port);  // comes up on the port the daemon keeps trying
  s = d.stats_until(
      [](const json& s) {
        return value_at<std::string>(s, "/inference/remote/0/state", "") == "connected" &&
               value_at(s, "/symbols/DEMO01USD/windows_computed", 0) > 0;
      },
      60s);
  BOOST_TEST(s["inference"]["remote"][0]["state"] == "connected", s["inference"].dump());
  BOOST_TEST(s["symbols"]["DEMO01USD"].value("windows_computed", 0) > 0, s["symbols"].dump());
  health = d.get("/health");
  BOOST_TEST(health["checks"]["model"]["status"] == "ok", health.dump());
  BOOST_TEST(late.computed([](std::uint64_t n) { return n > 0; }) > 0u);

  // Losing the only host: failing.
  late.d->proc->signal(SIGKILL);
  BOOST_REQUIRE(late.d->proc->wait(10s) == 128 + SIGKILL);
  s = d.stats_until(
      [](const json& s) { return value_at<std::string>(s, "/inference/remote/0/state", "") != "connected"; }, 10s);
  health = d.get("/health");
  BOOST_TEST(health["checks"]["model"]["status"] == "failing", health.dump());
  BOOST_TEST(d.stop() == 0, d.proc->output());
}

BOOST_AUTO_TEST_CASE(a_second_daemon_sharing_redis_computes_nothing_the_first_did) {
  redis_server redis;
  temp_dir data;
  const auto replay = replay_folder(data, {"JD", "PDD", "NIO"});
  const auto market = replay_market(replay, "2025-02-01");
  const std::string cache =
      "enabled = true\nredis_enabled = true\nredis_host = \"127.0.0.1\"\nredis_port = " + std::to_string(redis.port()) +
      "\n";
  small_host host;
  const std::string remote = "remote = [" + host.quoted() + "]\n";
  auto run = [&](const std::string& symbols) {
    temp_dir state;
    daemon_process d(daemon_bin, small_trading_config(state.path.string(), market, symbols, "", cache, remote));
    BOOST_REQUIRE_MESSAGE(d.ready(), d.proc->output());
    auto s = d.stats_until(finished, 150s);
    BOOST_REQUIRE_MESSAGE(finished(s), s.dump().substr(0, 3000));
    // The cache publishes once a second: wait until its section counts every window asked.
    s = d.stats_until(
        [](const json& s) {
          int asked = 0;
          if (s.contains("symbols"))
            for (const auto& [sym, v] : s["symbols"].items()) asked += v.value("windows_asked", 0);
          return value_at(s, "/cache/actor/windows", -1) == asked;
        },
        10s);
    BOOST_TEST(total_failures(s) == 0, s["symbols"].dump());
    BOOST_TEST(d.stop() == 0, d.proc->output());  // flushes the write-behind queue to Redis
    return s;
  };
  const auto first = run("\"JD\", \"PDD\"");
  std::uint64_t first_computed = 0;
  for (const auto& [sym, v] : first["symbols"].items()) first_computed += v.value("windows_computed", 0);
  const auto after_first = host.computed([&](std::uint64_t n) { return n == first_computed; });
  BOOST_TEST(after_first == first_computed);
  BOOST_TEST(first["symbols"]["JD"].value("windows_computed", 0) > 0, first["symbols"].dump());

  const auto second = run("\"JD\", \"PDD\", \"NIO\"");  // overlapping symbols, its own state folder
  const auto nio_computed = static_cast<std::uint64_t>(second["symbols"]["NIO"].value("windows_computed", 0));
  const auto by_second = host.computed([&](std::uint64_t n) { return n == after_first + nio_computed; }) - after_first;
  BOOST_TEST_MESSAGE("host computed " << after_first << " windows for the first daemon, " << by_second
                                      << " for the second");
  for (const char* sym : {"JD", "PDD"}) {
    BOOST_TEST(second["symbols"][sym].value("windows_asked", 0) > 0, second["symbols"][sym].dump());
    BOOST_TEST(second["symbols"][sym].value("windows_computed", -1) == 0, second["symbols"][sym].dump());
  }
  const auto nio = second["symbols"]["NIO"].value("windows_computed", 0);
  BOOST_TEST(nio > 0, second["symbols"]["NIO"].dump());
  // The host computed the new symbol's windows and nothing else.
  BOOST_TEST(by_second == static_cast<std::uint64_t>(nio));
  // Its own memory and disk tiers started empty: the hits came from the shared Redis.
  BOOST_TEST(second["cache"]["tiers"]["redis"]["hits"].get<int>() > 0, second["cache"].dump());
}
