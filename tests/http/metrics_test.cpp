// /metrics rendering: the declared families of metrics.cpp, the text format 0.0.4 as Prometheus
// parses it, histograms, units, labels and their escaping, and bad values.
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <boost/test/unit_test.hpp>

#include "core/latency_histogram.hpp"
#include "http/metrics.hpp"

using nlohmann::json;
using tb::core::health_status;
using tb::http::render_metrics;

namespace {

// Checks the 0.0.4 text format as Prometheus parses it, and the conventions: every family has
// one HELP and one TYPE line before its samples, its samples are contiguous, counters end in
// _total, histogram samples are _bucket (with le), _sum and _count. Returns the error, or "".
std::string validate(const std::string& text) {
  static const std::regex help_re(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*)");
  static const std::regex type_re(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (gauge|counter|histogram))");
  static const std::regex sample_re(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf))");
  std::set<std::string> typed, finished, seen_samples;
  std::string current, current_type, helped;
  std::istringstream in(text);
  std::string line;
  if (text.empty() || text.back() != '\n') return "text must end with a newline";
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, help_re)) {
      if (!current.empty()) finished.insert(current);
      helped = m[1];
      current.clear();
      continue;
    }
    if (std::regex_match(line, m, type_re)) {
      if (m[1] != helped) return "TYPE without its HELP line: " + line;
      if (!typed.insert(m[1]).second) return "second TYPE line for " + m[1].str();
      current = m[1];
      current_type = m[2];
      if (current_type == "counter" && current.size() < 6) return "counter not named _total: " + line;
      if (current_type == "counter" && current.compare(current.size() - 6, 6, "_total") != 0)
        return "counter not named _total: " + line;
      continue;
    }
    if (!std::regex_match(line, m, sample_re)) return "bad line: " + line;
    std::string family = m[1];
    if (current_type == "histogram") {
      bool ok = false;
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string sfx = suffix;
        if (family.size() > sfx.size() && family.compare(family.size() - sfx.size(), sfx.size(), sfx) == 0) {
          family.resize(family.size() - sfx.size());
          ok = sfx != "_bucket" || m[2].str().find("le=\"") != std::string::npos;
          break;
        }
      }
      if (!ok) return "not a histogram sample: " + line;
    }
    if (family != current) return "sample outside its family: " + line;
    if (finished.count(family)) return "family not contiguous: " + line;
    const std::string series = m[1].str() + m[2].str();
    if (!seen_samples.insert(series).second) return "duplicate series: " + line;
  }
  return "";
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
  return n;
}

std::string render(const json& stats) { return render_metrics(stats, json::object(), health_status::ok, "v"); }

}  // namespace

BOOST_AUTO_TEST_CASE(counters_are_totals_and_gauges_are_levels) {
  const json stats = {{"cache",
                       {{"hits", 5},
                        {"misses", 2},
                        {"enabled", true},
                        {"num_entries", 7},
                        {"hit_rate_percent", 71.4},
                        {"write_queue_depth", 3}}}};
  const std::string text = render(stats);
  BOOST_TEST(validate(text) == "", text);
  BOOST_TEST(has_line(text, "# TYPE tradebotd_cache_hits_total counter"));
  BOOST_TEST(has_line(text, "tradebotd_cache_hits_total 5"));
  BOOST_TEST(has_line(text, "tradebotd_cache_misses_total 2"));
  BOOST_TEST(has_line(text, "# HELP tradebotd_cache_hits_total Cache lookups some tier answered."));
  BOOST_TEST(has_line(text, "# TYPE tradebotd_cache_entries gauge"));
  BOOST_TEST(has_line(text, "tradebotd_cache_entries 7"));
  BOOST_TEST(has_line(text, "tradebotd_cache_enabled 1"));
  BOOST_TEST(has_line(text, "tradebotd_cache_write_queue_depth 3"));
  // A ratio of two counters is for the query to compute, not a family.
  BOOST_TEST(text.find("hit_rate") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(tiers_symbols_and_outcomes_are_labels_on_one_family) {
  const json stats = {
      {"cache", {{"tiers", {{"memory", {{"hits", 4}, {"state", "ok"}}}, {"redis", {{"hits", 1}, {"state", "down"}}}}}}},
      {"portfolio",
       {{"positions", {{"AAPL", {{"qty", 10}}}, {"BRK.B", {{"qty", -2.5}}}}},
        {"orders_accepted", 3},
        {"orders_rejected", 1}}},
      {"broker", {{"journal_orders", {{"filled", 2}, {"acked", 1}}}}}};
  const std::string text = render(stats);
  BOOST_TEST(validate(text) == "", text);
  BOOST_TEST(count_of(text, "# TYPE tradebotd_cache_tier_hits_total ") == 1u);
  BOOST_TEST(has_line(text, "tradebotd_cache_tier_hits_total{tier=\"memory\"} 4"));
  BOOST_TEST(has_line(text, "tradebotd_cache_tier_hits_total{tier=\"redis\"} 1"));
  BOOST_TEST(has_line(text, "tradebotd_cache_tier_state{tier=\"redis\",state=\"down\"} 1"));
  BOOST_TEST(has_line(text, "tradebotd_portfolio_position_quantity{symbol=\"AAPL\"} 10"));
  BOOST_TEST(has_line(text, "tradebotd_portfolio_position_quantity{symbol=\"BRK.B\"} -2.5"));
  BOOST_TEST(has_line(text, "tradebotd_portfolio_orders_total{result=\"accepted\"} 3"));
  BOOST_TEST(has_line(text, "tradebotd_portfolio_orders_total{result=\"rejected\"} 1"));
  BOOST_TEST(has_line(text, "tradebotd_broker_journal_orders{state=\"filled\"} 2"));
}

BOOST_AUTO_TEST_CASE(latency_histograms_have_cumulative_buckets_sum_and_count) {
  tb::core::latency_histogram h;
  h.record(std::chrono::microseconds(5));  // <= 1e-05
  h.record(std::chrono::milliseconds(1));  // exactly 0.001: counted at le="0.001"
  h.record(std::chrono::milliseconds(3));  // <= 0.005
  h.record(std::chrono::seconds(100));     // above the last bound: +Inf only
  const json stats = {{"inference", {{"queue_wait_seconds", tb::core::to_json(h.prometheus())}}}};
  const std::string text = render(stats);
  BOOST_TEST(validate(text) == "", text);
  BOOST_TEST(has_line(text, "# TYPE tradebotd_inference_queue_wait_seconds histogram"));
  BOOST_TEST(has_line(text, "tradebotd_inference_queue_wait_seconds_bucket{le=\"1e-05\"} 1"));
  BOOST_TEST(has_line(text, "tradebotd_inference_queue_wait_seconds_bucket{le=\"0.0005\"} 1"));
  BOOST_TEST(has_line(text, "tradebotd_inference_queue_wait_seconds_bucket{le=\"0.001\"} 2"));
  BOOST_TEST(has_line(text, "tradebotd_inference_queue_wait_seconds_bucket{le=\"0.0025\"} 2"));
  BOOST_TEST(has_line(text, "tradebotd_inference_queue_wait_seconds_bucket{le=\"0.005\"} 3"));
  BOOST_TEST(has_line(text, "tradebotd_inference_queue_wait_seconds_bucket{le=\"1\"} 3"));
  BOOST_TEST(has_line(text, "tradebotd_inference_queue_wait_seconds_bucket{le=\"60\"} 3"));
  BOOST_TEST(has_line(text, "tradebotd_inference_queue_wait_seconds_bucket{le=\"+Inf\"} 4"));
  BOOST_TEST(has_line(text, "tradebotd_inference_queue_wait_seconds_count 4"));
  BOOST_TEST(has_line(text, "tradebotd_inference_queue_wait_seconds_sum 100.004005"));
  BOOST_TEST(count_of(text, "tradebotd_inference_queue_wait_seconds_bucket{") ==
             tb::core::prometheus_le_seconds.size() + 1);
}

BOOST_AUTO_TEST_CASE(labelled_histograms_and_broken_ones) {
  tb::core::latency_histogram mem, disk;
  mem.record(std::chrono::microseconds(20));
  disk.record(std::chrono::milliseconds(2));
  json broken = tb::core::to_json(disk.prometheus());
  broken["cumulative_counts"][3] = 7;  // not cumulative, and above the count
  json short_one = tb::core::to_json(disk.prometheus());
  short_one["le_seconds"].erase(0);
  json decreasing = tb::core::to_json(disk.prometheus());
  decreasing["cumulative_counts"][19] = 0;  // after 1 at le=0.0025
  json signed_counts = tb::core::to_json(disk.prometheus());
  signed_counts["count"] = 1;  // a signed integer is a count too
  signed_counts["cumulative_counts"][19] = 1;
  const json stats = {{"cache",
                       {{"tiers",
                         {{"memory", {{"latency_seconds", tb::core::to_json(mem.prometheus())}}},
                          {"disk", {{"latency_seconds", tb::core::to_json(disk.prometheus())}}},
                          {"redis", {{"latency_seconds", broken}}},
                          {"weird", {{"latency_seconds", short_one}}},
                          {"down", {{"latency_seconds", decreasing}}},
                          {"signed", {{"latency_seconds", signed_counts}}}}}}}};
  const std::string text = render(stats);
  BOOST_TEST(validate(text) == "", text);
  BOOST_TEST(has_line(text, "tradebotd_cache_get_duration_seconds_bucket{tier=\"memory\",le=\"2.5e-05\"} 1"));
  BOOST_TEST(has_line(text, "tradebotd_cache_get_duration_seconds_bucket{tier=\"memory\",le=\"1e-05\"} 0"));
  BOOST_TEST(has_line(text, "tradebotd_cache_get_duration_seconds_count{tier=\"disk\"} 1"));
  BOOST_TEST(has_line(text, "tradebotd_cache_get_duration_seconds_sum{tier=\"disk\"} 0.002"));
  BOOST_TEST(text.find("tier=\"redis\"") == std::string::npos);  // skipped, not written wrong
  BOOST_TEST(text.find("tier=\"weird\"") == std::string::npos);
  BOOST_TEST(text.find("tier=\"down\"") == std::string::npos);
  BOOST_TEST(has_line(text, "tradebotd_cache_get_duration_seconds_count{tier=\"signed\"} 1"));
}

BOOST_AUTO_TEST_CASE(remote_hosts_of_an_array_are_a_host_label_on_one_family) {
  tb::core::latency_histogram rtt;
  rtt.record(std::chrono::milliseconds(3));
  const auto host = [](const std::string& address, const std::string& state, int requests) {
    return json{{"address", address},
                {"state", state},
                {"up", state == "connected"},
                {"requests", requests},
                {"failures", 1},
                {"in_flight", 2},
                {"in_flight_rows", 60},
                {"queued_rows", 90},
                {"computed_windows", 7},
                {"last_error", ""},
                {"rtt_ms", {{"p50", 3.0}, {"p99", 3.0}}}};
  };
  json a = host("10.0.0.1:7000", "connected", 5);
  a["rtt_seconds"] = tb::core::to_json(rtt.prometheus());
  const json stats = {{"inference",
                       {{"mode", "remote"},
                        {"remote",
                         {a, host("10.0.0.2:7000", "down", 3),
                          host("ev\"il\n} 1\n# TYPE x counter\xFF", "refused", 4),  // a hostile address, escaped
                          host("10.0.0.1:7000", "down", 99),                        // the same host again: dropped
                          json{{"requests", 8}},                                    // no address: skipped
                          json{{"address", 42}, {"requests", 9}},                   // not a string: skipped
                          json("not an object")}}}}};
  const std::string text = render(stats);
  BOOST_TEST(validate(text) == "", text);
  BOOST_TEST(count_of(text, "# TYPE tradebotd_inference_remote_requests_total counter") == 1u);
  BOOST_TEST(has_line(text, "tradebotd_inference_remote_requests_total{host=\"10.0.0.1:7000\"} 5"));
  BOOST_TEST(has_line(text, "tradebotd_inference_remote_requests_total{host=\"10.0.0.2:7000\"} 3"));
  BOOST_TEST(has_line(text,
                      "tradebotd_inference_remote_requests_total{host=\"ev\\\"il\\n} 1\\n# TYPE x "
                      "counter\xEF\xBF\xBD\"} 4"));
  BOOST_TEST(count_of(text, "tradebotd_inference_remote_requests_total{") == 3u);
  BOOST_TEST(has_line(text, "# TYPE tradebotd_inference_remote_failures_total counter"));
  BOOST_TEST(has_line(text, "tradebotd_inference_remote_failures_total{host=\"10.0.0.2:7000\"} 1"));
  BOOST_TEST(has_line(text, "# TYPE tradebotd_inference_remote_computed_windows_total counter"));
  BOOST_TEST(has_line(text, "# TYPE tradebotd_inference_remote_in_flight_requests gauge"));
  BOOST_TEST(has_line(text, "tradebotd_inference_remote_in_flight_requests{host=\"10.0.0.1:7000\"} 2"));
  BOOST_TEST(has_line(text, "tradebotd_inference_remote_in_flight_rows{host=\"10.0.0.1:7000\"} 60"));
  BOOST_TEST(has_line(text, "# TYPE tradebotd_inference_remote_queued_rows gauge"));
  BOOST_TEST(has_line(text, "tradebotd_inference_remote_queued_rows{host=\"10.0.0.2:7000\"} 90"));
  BOOST_TEST(has_line(text, "# TYPE tradebotd_inference_remote_up gauge"));
  BOOST_TEST(has_line(text, "tradebotd_inference_remote_up{host=\"10.0.0.1:7000\"} 1"));
  BOOST_TEST(has_line(text, "tradebotd_inference_remote_up{host=\"10.0.0.2:7000\"} 0"));
  BOOST_TEST(has_line(text, "tradebotd_inference_remote_state{host=\"10.0.0.2:7000\",state=\"down\"} 1"));
  BOOST_TEST(text.find("{host=\"10.0.0.1:7000\",state=\"down\"}") == std::string::npos);  // the first one wins
  BOOST_TEST(has_line(text, "# TYPE tradebotd_inference_remote_rtt_seconds histogram"));
  BOOST_TEST(has_line(text, "tradebotd_inference_remote_rtt_seconds_bucket{host=\"10.0.0.1:7000\",le=\"0.005\"} 1"));
  BOOST_TEST(has_line(text, "tradebotd_inference_remote_rtt_seconds_count{host=\"10.0.0.1:7000\"} 1"));
  BOOST_TEST(text.find("rtt_ms") == std::string::npos);  // quantile gauges are not aggregable: not declared
  // An array where an object is expected (and the reverse) gives nothing, not a crash.
  const std::string odd = render({{"inference", {{"remote", {{"address", "x"}, {"requests", 1}}}}},
                                  {"cache", {{"tiers", json::array({json{{"hits", 1}}})}}}});
  BOOST_TEST(validate(odd) == "", odd);
  BOOST_TEST(odd.find("tradebotd_inference_remote") == std::string::npos);
  BOOST_TEST(odd.find("tradebotd_cache_tier") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(units_are_seconds_and_bytes) {
  const json stats = {{"liveness", {{"live", true}, {"heartbeat_age_ms", 250}, {"stale_after_ms", 3000}}},
                      {"cache", {{"cache_size_mb", 2.0}}},
                      {"process", {{"rss_bytes", 1048576}, {"cpu_seconds", 1.25}, {"start_time_unix_s", 1.7e9}}}};
  const std::string text = render(stats);
  BOOST_TEST(validate(text) == "", text);
  BOOST_TEST(has_line(text, "tradebotd_live 1"));
  BOOST_TEST(has_line(text, "tradebotd_liveness_heartbeat_age_seconds 0.25"));
  BOOST_TEST(has_line(text, "tradebotd_liveness_stale_after_seconds 3.0"));
  BOOST_TEST(has_line(text, "tradebotd_cache_size_bytes 2097152.0"));
  BOOST_TEST(has_line(text, "process_resident_memory_bytes 1048576"));
  BOOST_TEST(has_line(text, "process_cpu_seconds_total 1.25"));
  BOOST_TEST(has_line(text, "process_start_time_seconds 1700000000.0"));
  BOOST_TEST(text.find("_ms") == std::string::npos);
  BOOST_TEST(text.find("_mb") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(hostile_symbol_names_are_escaped_label_values) {
  const std::string long_name = std::string(254, 'A') + "\xC3\xA9\xC3\xA9";  // cut before the second é
  const json stats = {{"portfolio",
                       {{"positions",
                         {{"we\"ird\n\\", {{"qty", 1}}},
                          {"BAD\xFF\xC3(", {{"qty", 2}}},  // invalid UTF-8
                          {"} 1\n# TYPE x counter", {{"qty", 3}}},
                          {long_name, {{"qty", 4}}}}}}}};
  const std::string text = render(stats);
  BOOST_TEST(validate(text) == "", text);
  BOOST_TEST(has_line(text, "tradebotd_portfolio_position_quantity{symbol=\"we\\\"ird\\n\\\\\"} 1"));
  BOOST_TEST(has_line(text, "tradebotd_portfolio_position_quantity{symbol=\"BAD\xEF\xBF\xBD\xEF\xBF\xBD(\"} 2"));
  BOOST_TEST(has_line(text, "tradebotd_portfolio_position_quantity{symbol=\"} 1\\n# TYPE x counter\"} 3"));
  BOOST_TEST(
      has_line(text, "tradebotd_portfolio_position_quantity{symbol=\"" + std::string(254, 'A') + "\xC3\xA9\"} 4"));
  BOOST_TEST(tb::http::escape_label_value("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
}

BOOST_AUTO_TEST_CASE(bad_values_are_skipped_or_written_per_the_format) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const json stats = {{"portfolio",
                       {{"equity", nan},
                        {"cash", -inf},
                        {"buying_power", inf},
                        {"orders_sent", nan},      // a counter cannot be NaN
                        {"cycles", -3},            // nor negative
                        {"deadline_closes", "7"},  // nor a string
                        {"open_orders", nullptr},
                        {"late_proposals", json::array({1, 2})}}}};
  const std::string text = render(stats);
  BOOST_TEST(validate(text) == "", text);
  BOOST_TEST(has_line(text, "tradebotd_portfolio_equity NaN"));
  BOOST_TEST(has_line(text, "tradebotd_portfolio_cash -Inf"));
  BOOST_TEST(has_line(text, "tradebotd_portfolio_buying_power +Inf"));
  for (const char* absent : {"orders_sent", "portfolio_cycles", "deadline_closes", "open_orders", "late_proposals"})
    BOOST_TEST(text.find(absent) == std::string::npos, absent);
}

BOOST_AUTO_TEST_CASE(only_declared_families_from_published_sections) {
  // Undeclared keys show nowhere; a section not published yet leaves its families out.
  const json stats = {{"cache", {{"hits", 1}, {"some_new_key", 5}, {"nested", {{"x", 1}}}}},
                      {"inference", json::object()}};
  const std::string text = render(stats);
  BOOST_TEST(validate(text) == "", text);
  BOOST_TEST(text.find("some_new_key") == std::string::npos);
  BOOST_TEST(text.find("nested") == std::string::npos);
  BOOST_TEST(text.find("tradebotd_inference") == std::string::npos);
  BOOST_TEST(text.find("tradebotd_portfolio") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(model_info_and_build_info) {
  const json stats = {{"inference",
                       {{"model",
                         {{"device", "cuda:0"},
                          {"dtype", "bfloat16"},
                          {"compile", false},
                          {"parameters", 87510},
                          {"predictor", {{"d_model", 32}}}}}}}};
  const std::string text = render_metrics(stats, json::object(), health_status::ok, "0.1.0");
  BOOST_TEST(validate(text) == "", text);
  BOOST_TEST(
      has_line(text, "tradebotd_inference_model_info{device=\"cuda:0\",dtype=\"bfloat16\",compile=\"false\"} 1"));
  BOOST_TEST(has_line(text, "tradebotd_inference_model_parameters 87510"));
  BOOST_TEST(text.find("tradebotd_build_info{version=\"0.1.0\",compiler=\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(health_checks_are_one_labelled_gauge) {
  const json checks = {{"model", {{"status", "ok"}}},
                       {"redis", {{"status", "degraded"}, {"latency_ms", 40}}},
                       {"feed", {{"status", "failing"}}},
                       {"odd", "not an object"}};
  const std::string text = render_metrics(json::object(), checks, health_status::failing, "0.1.0");
  BOOST_TEST(validate(text) == "", text);
  BOOST_TEST(has_line(text, "tradebotd_health_status 2"));
  BOOST_TEST(has_line(text, "tradebotd_health_check_status{check=\"model\"} 0"));
  BOOST_TEST(has_line(text, "tradebotd_health_check_status{check=\"redis\"} 1"));
  BOOST_TEST(has_line(text, "tradebotd_health_check_status{check=\"feed\"} 2"));
  BOOST_TEST(has_line(text, "tradebotd_health_check_status{check=\"odd\"} 2"));
}

BOOST_AUTO_TEST_CASE(deep_or_odd_documents_are_harmless) {
  json deep = 1;
  for (int i = 0; i < 5000; ++i) deep = json{{"n", std::move(deep)}};
  BOOST_TEST(validate(render(json{{"cache", deep}, {"symbols", deep}})) == "");
  BOOST_TEST(validate(render(json{{"cache", 3}, {"symbols", json::array({1})}, {"portfolio", "x"}})) == "");
  BOOST_TEST(validate(render(json::array({1, 2}))) == "");
}
