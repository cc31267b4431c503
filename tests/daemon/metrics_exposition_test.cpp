// /metrics of the real daemon, trading the synthetic feed on simulated time with the cache on:
// `promtool check metrics` finds nothing to say, and /metrics agrees with /stats of the same
// daemon (every family has HELP and TYPE, counters end in _total and never decrease between two
// scrapes, histograms are cumulative and end with le="+Inf" = _count, and the cache, order,
// position, cycle and inference numbers are /stats' numbers).
#define BOOST_TEST_MODULE metrics_exposition
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>

#include <nlohmann/json.hpp>

#include "tests/support/daemon_process.hpp"

using namespace tb::test;
using nlohmann::json;

namespace {

const std::string daemon_bin = std::string(TRADEBOT_BIN_DIR) + "/tradebotd";

// One family of a scrape: its HELP, TYPE and samples {"name{labels}": value}.
struct family {
  std::string help, type;
  std::map<std::string, double> samples;
};
using scrape = std::map<std::string, family>;

// A label set "{a=\"x\",b=\"y\"}" as pairs, undoing the format's escapes; throws on bad text.
std::vector<std::pair<std::string, std::string>> parse_labels(const std::string& s) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t i = 1;  // after '{'
  while (i < s.size() && s[i] != '}') {
    const auto eq = s.find("=\"", i);
    if (eq == std::string::npos) throw std::runtime_error("bad labels: " + s);
    std::string name = s.substr(i, eq - i), value;
    for (i = eq + 2; i < s.size() && s[i] != '"'; ++i) {
      if (s[i] == '\\') {
        ++i;
        value += s[i] == 'n' ? '\n' : s[i];
      } else {
        value += s[i];
      }
    }
    out.emplace_back(name, value);
    ++i;  // the closing quote
    if (i < s.size() && s[i] == ',') ++i;
  }
  return out;
}

// Parses the text format; every sample must fall in a family declared by HELP and TYPE before it
// (a histogram's by its _bucket, _sum and _count names).
scrape parse(const std::string& text) {
  scrape out;
  std::istringstream in(text);
  std::string current;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# HELP ", 0) == 0) {
      const auto sp = line.find(' ', 7);
      current = line.substr(7, sp - 7);
      BOOST_REQUIRE_MESSAGE(!out.count(current), "second HELP for " << current);
      out[current].help = line.substr(sp + 1);
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      const auto sp = line.find(' ', 7);
      BOOST_REQUIRE_MESSAGE(line.substr(7, sp - 7) == current, "TYPE without HELP: " << line);
      out[current].type = line.substr(sp + 1);
      continue;
    }
    BOOST_REQUIRE_MESSAGE(!line.empty() && line[0] != '#', "unexpected line: " << line);
    const auto value_at = line.rfind(' ');
    const std::string series = line.substr(0, value_at);
    const std::string name = series.substr(0, series.find('{'));
    std::string fam = name;
    if (out[current].type == "histogram")
      for (const char* sfx : {"_bucket", "_sum", "_count"})
        if (fam == current + sfx) fam = current;
    BOOST_REQUIRE_MESSAGE(fam == current && !out[current].type.empty(), "sample outside a declared family: " << line);
    const std::string v = line.substr(value_at + 1);
    const double d = v == "+Inf" ? INFINITY : v == "-Inf" ? -INFINITY : v == "NaN" ? NAN : std::stod(v);
    BOOST_REQUIRE_MESSAGE(out[current].samples.emplace(series, d).second, "duplicate series: " << line);
  }
  return out;
}

// The value of one series, or NaN when the scrape lacks it.
double value(const scrape& s, const std::string& fam, const std::string& series) {
  const auto f = s.find(fam);
  if (f == s.end()) return NAN;
  const auto v = f->second.samples.find(series);
  return v == f->second.samples.end() ? NAN : v->second;
}

std::string quoted(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

// The schedule section of a /stats document ({} when there is none).
json schedule_of(const json& stats) {
  if (!stats.is_object() || !stats.contains("schedule") || !stats["schedule"].is_object()) return json::object();
  return stats["schedule"];
}

// A daemon trading 3 equities and a crypto pair from 2025-06-02 to 2025-06-10 (simulated, one
// cycle per 250 ms of wall time at least, so a scrape sees it mid-run), the cache on, and its
// scrapes: `early` after three cycles, then `stats` and `late` once the run finished.
struct observed_run {
  temp_dir state;
  std::unique_ptr<daemon_process> d;
  std::string early_text, late_text;
  json stats;

  observed_run() {
    const std::string market =
        "[market]\nfeed = \"synthetic\"\nsynthetic_equities = 3\nsynthetic_crypto = 1\nclock = \"simulated\"\n"
        "sim_start = \"2025-06-02\"\nsim_end = \"2025-06-10\"\nsim_cycle_interval_ms = 250\n";
    d = std::make_unique<daemon_process>(
        daemon_bin, small_trading_config(state.path.string(), market,
                                         "\"DEMO01\", \"DEMO02\", \"DEMO03\", \"DEMO04USD\"", "", "enabled = true\n"));
    BOOST_REQUIRE_MESSAGE(d->ready(), "no READY=1:\n" << d->proc->output());
    auto cycles = [](const json& s) { return schedule_of(s).value("cycles", 0); };
    const json mid = d->stats_until([&](const json& s) { return cycles(s) >= 3; }, 120s);
    BOOST_REQUIRE_MESSAGE(cycles(mid) >= 3, "no three cycles:\n" << d->proc->output());
    early_text = http_get(d->port, "/metrics").body;
    auto finished = [](const json& s) { return schedule_of(s).value("finished", false); };
    stats = d->stats_until(finished, 150s);
    BOOST_REQUIRE_MESSAGE(finished(stats), "the run did not finish:\n" << d->proc->output());
    late_text = http_get(d->port, "/metrics").body;
  }
};

observed_run& run() {
  static observed_run r;
  return r;
}

}  // namespace

BOOST_AUTO_TEST_CASE(promtool_finds_nothing_to_say) {
  const std::string promtool = find_on_path("promtool");
  if (promtool.empty()) {
    // scripts/setup.sh installs it (Debian package `prometheus`), so CI runs this check.
    BOOST_TEST_MESSAGE("SKIPPED promtool_finds_nothing_to_say: promtool is not on PATH (apt-get install prometheus)");
    return;
  }
  auto& r = run();
  for (const auto* text : {&r.early_text, &r.late_text}) {
    const auto file = r.state.write("metrics.txt", *text);
    child_process p({"/bin/sh", "-c", "exec \"$0\" check metrics < \"$1\"", promtool, file.string()}, {},
                    r.state.path / "promtool.out");
    const int rc = p.wait(60s);
    const std::string said = p.output();
    BOOST_TEST(rc == 0, "promtool exit " << rc << ":\n" << said);
    BOOST_TEST(said == "", "promtool says:\n" << said);
    BOOST_TEST_MESSAGE("promtool check metrics: exit " << rc << ", " << said.size() << " bytes of complaints, on "
                                                       << text->size() << " bytes of /metrics");
  }
}

BOOST_AUTO_TEST_CASE(families_are_declared_counters_grow_histograms_are_cumulative) {
  auto& r = run();
  const scrape early = parse(r.early_text), late = parse(r.late_text);
  BOOST_TEST_MESSAGE("families: " << early.size() << " early, " << late.size() << " late; " << r.late_text.size()
                                  << " bytes");
  for (const auto& [name, f] : late) {
    BOOST_TEST(!f.help.empty(), name);
    BOOST_TEST((f.type == "counter" || f.type == "gauge" || f.type == "histogram"), name << ": " << f.type);
    const bool total = name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0;
    BOOST_TEST(total == (f.type == "counter"), name << " is a " << f.type);
    BOOST_TEST(name.find("_ms") == std::string::npos, name);
    BOOST_TEST(name.find("_us") == std::string::npos, name);
  }
  // Counters never decrease; something counted between the scrapes (cycles ran).
  bool grew = false;
  for (const auto& [name, f] : early) {
    if (f.type != "counter") continue;
    for (const auto& [series, v] : f.samples) {
      const double later = value(late, name, series);
      BOOST_TEST(later >= v, series << ": " << v << " then " << later);
      grew = grew || later > v;
    }
  }
  BOOST_TEST(grew);
  BOOST_TEST(value(late, "tradebotd_cycles_total", "tradebotd_cycles_total") >
             value(early, "tradebotd_cycles_total", "tradebotd_cycles_total"));

  // Histograms: per label set, buckets non-decreasing in le order, the last le="+Inf", equal to _count.
  std::size_t histograms = 0;
  for (const auto& [name, f] : late) {
    if (f.type != "histogram") continue;
    std::map<std::string, std::vector<std::pair<double, double>>> buckets;  // labels without le -> (le, count)
    for (const auto& [series, v] : f.samples) {
      if (series.rfind(name + "_bucket{", 0) != 0) continue;
      std::string rest, le;
      for (const auto& [k, lv] : parse_labels(series.substr(series.find('{'))))
        if (k == "le")
          le = lv;
        else
          rest += (rest.empty() ? "" : ",") + k + "=\"" + quoted(lv) + "\"";
      BOOST_REQUIRE_MESSAGE(!le.empty(), "bucket without le: " << series);
      buckets[rest].emplace_back(le == "+Inf" ? INFINITY : std::stod(le), v);
    }
    BOOST_TEST(!buckets.empty(), name);
    for (auto& [labels, bs] : buckets) {
      ++histograms;
      std::sort(bs.begin(), bs.end());
      for (std::size_t i = 1; i < bs.size(); ++i)
        BOOST_TEST(bs[i].second >= bs[i - 1].second, name << "{" << labels << "}");
      BOOST_TEST(std::isinf(bs.back().first), name << "{" << labels << "}: no le=\"+Inf\"");
      const std::string suffix = labels.empty() ? "" : "{" + labels + "}";
      BOOST_TEST(bs.back().second == value(late, name, name + "_count" + suffix), name << suffix);
      BOOST_TEST(value(late, name, name + "_sum" + suffix) >= 0, name << suffix);
    }
  }
  for (const char* h : {"tradebotd_cycle_duration_seconds", "tradebotd_inference_queue_wait_seconds",
                        "tradebotd_inference_compute_seconds", "tradebotd_cache_get_duration_seconds",
                        "tradebotd_http_request_duration_seconds"})
    BOOST_TEST(late.count(h) == 1u, h);
  BOOST_TEST(histograms >= 3u + 2u + 6u);  // cycle, queue, compute; cache memory and disk; every HTTP route
  for (const char* g : {"process_resident_memory_bytes", "process_virtual_memory_bytes", "process_cpu_seconds_total",
                        "process_open_fds", "process_max_fds", "process_start_time_seconds", "tradebotd_build_info",
                        "tradebotd_live", "tradebotd_health_check_status"})
    BOOST_TEST(late.count(g) == 1u, g);
  BOOST_TEST(value(late, "tradebotd_live", "tradebotd_live") == 1);
}

BOOST_AUTO_TEST_CASE(metrics_agree_with_stats) {
  auto& r = run();
  const scrape m = parse(r.late_text);  // after /stats; the run had finished: the trading numbers stand still
  const json& s = r.stats;

  // Cache hits and misses per tier, and the get latency samples.
  BOOST_REQUIRE(s.at("cache").at("tiers").contains("memory"));
  BOOST_TEST(s.at("cache").at("tiers").at("memory").at("hits").get<double>() > 0);
  for (const auto& [tier, t] : s.at("cache").at("tiers").items()) {
    const std::string l = "{tier=\"" + tier + "\"}";
    BOOST_TEST(value(m, "tradebotd_cache_tier_hits_total", "tradebotd_cache_tier_hits_total" + l) ==
                   t.at("hits").get<double>(),
               tier);
    BOOST_TEST(value(m, "tradebotd_cache_tier_misses_total", "tradebotd_cache_tier_misses_total" + l) ==
                   t.at("misses").get<double>(),
               tier);
    BOOST_TEST(value(m, "tradebotd_cache_get_duration_seconds", "tradebotd_cache_get_duration_seconds_count" + l) ==
                   t.at("latency_samples").get<double>(),
               tier);
  }
  BOOST_TEST(value(m, "tradebotd_cache_hits_total", "tradebotd_cache_hits_total") ==
             s.at("cache").at("hits").get<double>());

  // Orders at the broker and of the portfolio.
  BOOST_TEST(s.at("broker").at("accepted").get<double>() > 0);
  for (const auto& [result, key] : std::map<std::string, std::string>{{"accepted", "accepted"},
                                                                      {"rejected", "rejected"},
                                                                      {"canceled", "canceled"},
                                                                      {"duplicate_refused", "duplicates_refused"}})
    BOOST_TEST(value(m, "tradebotd_broker_orders_total", "tradebotd_broker_orders_total{result=\"" + result + "\"}") ==
                   s.at("broker").at(key).get<double>(),
               result);
  BOOST_TEST(value(m, "tradebotd_portfolio_orders_total", "tradebotd_portfolio_orders_total{result=\"accepted\"}") ==
             s.at("portfolio").at("orders_accepted").get<double>());
  BOOST_TEST(value(m, "tradebotd_portfolio_orders_sent_total", "tradebotd_portfolio_orders_sent_total") ==
             s.at("portfolio").at("orders_sent").get<double>());

  // Positions and equity (gauges).
  BOOST_TEST(!s.at("portfolio").at("positions").empty());
  for (const auto& [sym, p] : s.at("portfolio").at("positions").items())
    BOOST_TEST(
        value(m, "tradebotd_portfolio_position_quantity",
              "tradebotd_portfolio_position_quantity{symbol=\"" + quoted(sym) + "\"}") == p.at("qty").get<double>(),
        sym);
  BOOST_TEST(value(m, "tradebotd_portfolio_equity", "tradebotd_portfolio_equity") ==
             s.at("portfolio").at("equity").get<double>());

  // Cycles, and the cycle histogram counts every one.
  const double cycles = s.at("schedule").at("cycles").get<double>();
  BOOST_TEST(value(m, "tradebotd_cycles_total", "tradebotd_cycles_total") == cycles);
  BOOST_TEST(value(m, "tradebotd_cycle_duration_seconds", "tradebotd_cycle_duration_seconds_count") == cycles);
  BOOST_TEST(value(m, "tradebotd_cycle_duration_seconds", "tradebotd_cycle_duration_seconds_bucket{le=\"+Inf\"}") ==
             cycles);

  // Inference: batches, windows, and the compute histogram counts every batch.
  const double batches = s.at("inference").at("exec_count").get<double>();
  BOOST_TEST(batches > 0);
  BOOST_TEST(value(m, "tradebotd_inference_batches_total", "tradebotd_inference_batches_total") == batches);
  BOOST_TEST(value(m, "tradebotd_inference_compute_seconds", "tradebotd_inference_compute_seconds_count") == batches);
  BOOST_TEST(value(m, "tradebotd_inference_windows_total", "tradebotd_inference_windows_total") ==
             s.at("inference").at("inference_count").get<double>());
  BOOST_TEST(value(m, "tradebotd_inference_queue_wait_seconds", "tradebotd_inference_queue_wait_seconds_count") >=
             s.at("inference").at("inference_count").get<double>());

  // Per-symbol values are labels of one family.
  for (const auto& [sym, doc] : s.at("symbols").items())
    BOOST_TEST(value(m, "tradebotd_symbol_cycles_total",
                     "tradebotd_symbol_cycles_total{symbol=\"" + quoted(sym) + "\"}") == doc.at("cycles").get<double>(),
               sym);
  BOOST_TEST(r.d->stop() == 0, r.d->proc->output());
}
