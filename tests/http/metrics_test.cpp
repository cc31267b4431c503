// /metrics rendering: the mapping rule of metrics.hpp and the validity of the text format.
#include <cmath>
#include <limits>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <boost/test/unit_test.hpp>

#include "http/metrics.hpp"

using nlohmann::json;
using tb::core::health_status;
using tb::http::render_metrics;

namespace {

// Checks the 0.0.4 text format as Prometheus parses it: every sample line is
// `name{labels} value`, each family has one TYPE line before its samples, and a family's
// samples are contiguous. Returns the error, or "" when valid.
std::string validate(const std::string& text) {
  static const std::regex type_re(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (gauge|counter))");
  static const std::regex sample_re(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf))");
  std::set<std::string> typed, finished;
  std::set<std::string> seen_samples;
  std::string current;
  std::istringstream in(text);
  std::string line;
  if (text.empty() || text.back() != '\n') return "text must end with a newline";
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, type_re)) {
      if (!typed.insert(m[1]).second) return "second TYPE line for " + m[1].str();
      if (!current.empty()) finished.insert(current);
      current = m[1];
      continue;
    }
    if (!std::regex_match(line, m, sample_re)) return "bad line: " + line;
    if (m[1] != current) return "sample outside its family: " + line;
    if (finished.count(m[1])) return "family not contiguous: " + line;
    const std::string series = m[1].str() + m[2].str();
    if (!seen_samples.insert(series).second) return "duplicate series: " + line;
  }
  return "";
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_CASE(numeric_and_boolean_leaves_become_gauges) {
  const json stats = {{"cache", {{"hits", 5}, {"hit_ratio", 0.25}, {"enabled", true},
                                 {"redis", {{"connected", false}, {"latency_ms", 1.5}}}}}};
  const std::string text = render_metrics(stats, json::object(), health_status::ok, "v");
  BOOST_TEST(validate(text) == "");
  BOOST_TEST(has_line(text, "# TYPE tradebotd_cache_hits gauge"));
  BOOST_TEST(has_line(text, "tradebotd_cache_hits 5"));
  BOOST_TEST(has_line(text, "tradebotd_cache_hit_ratio 0.25"));
  BOOST_TEST(has_line(text, "tradebotd_cache_enabled 1"));
  BOOST_TEST(has_line(text, "tradebotd_cache_redis_connected 0"));
  BOOST_TEST(has_line(text, "tradebotd_cache_redis_latency_ms 1.5"));
}

BOOST_AUTO_TEST_CASE(names_ending_in_total_are_counters) {
  const json stats = {{"inference", {{"requests_total", 12}, {"queue_depth", 3}}}};
  const std::string text = render_metrics(stats, json::object(), health_status::ok, "v");
  BOOST_TEST(validate(text) == "");
  BOOST_TEST(has_line(text, "# TYPE tradebotd_inference_requests_total counter"));
  BOOST_TEST(has_line(text, "# TYPE tradebotd_inference_queue_depth gauge"));
}

BOOST_AUTO_TEST_CASE(symbols_are_labels_and_families_stay_contiguous) {
  const json stats = {{"symbols",
                       {{"AAPL", {{"cache_hits", 3}, {"position", 10}, {"side", "long"}}},
                        {"BRK.B", {{"cache_hits", 1}, {"position", 0}, {"side", "flat"}}}}},
                      {"portfolio",
                       {{"equity", 1000.5},
                        {"positions", {{"AAPL", {{"qty", 10}}}, {"MSFT", {{"qty", 2}}}}}}}};
  const std::string text = render_metrics(stats, json::object(), health_status::ok, "v");
  BOOST_TEST(validate(text) == "", text);
  BOOST_TEST(has_line(text, "# TYPE tradebotd_symbols_cache_hits gauge"));
  BOOST_TEST(has_line(text, "tradebotd_symbols_cache_hits{symbol=\"AAPL\"} 3"));
  BOOST_TEST(has_line(text, "tradebotd_symbols_cache_hits{symbol=\"BRK.B\"} 1"));
  BOOST_TEST(has_line(text, "tradebotd_symbols_position{symbol=\"AAPL\"} 10"));
  BOOST_TEST(has_line(text, "tradebotd_symbols_info{symbol=\"AAPL\",side=\"long\"} 1"));
  BOOST_TEST(has_line(text, "tradebotd_portfolio_equity 1000.5"));
  BOOST_TEST(has_line(text, "tradebotd_portfolio_positions_qty{symbol=\"MSFT\"} 2"));
}

BOOST_AUTO_TEST_CASE(by_keys_become_labels) {
  const json stats = {{"cache", {{"lookups_by_tier", {{"memory", 4}, {"disk", 2}}},
                                 {"by_device", {{"cuda:0", {{"batches", 7}}}}}}}};
  const std::string text = render_metrics(stats, json::object(), health_status::ok, "v");
  BOOST_TEST(validate(text) == "", text);
  BOOST_TEST(has_line(text, "tradebotd_cache_lookups{tier=\"memory\"} 4"));
  BOOST_TEST(has_line(text, "tradebotd_cache_lookups{tier=\"disk\"} 2"));
  BOOST_TEST(has_line(text, "tradebotd_cache_batches{device=\"cuda:0\"} 7"));
}

BOOST_AUTO_TEST_CASE(strings_become_labels_of_an_info_gauge) {
  const json stats = {{"inference", {{"device", "cuda:0"}, {"dtype", "bfloat16"}, {"batches", 2}}},
                      {"config", {{"dtype", {{"value", "float16"}, {"source", "env"}}}}}};
  const std::string text = render_metrics(stats, json::object(), health_status::ok, "v");
  BOOST_TEST(validate(text) == "", text);
  BOOST_TEST(has_line(text, "tradebotd_inference_info{device=\"cuda:0\",dtype=\"bfloat16\"} 1"));
  BOOST_TEST(has_line(text, "tradebotd_config_dtype_info{source=\"env\",value=\"float16\"} 1"));
}

BOOST_AUTO_TEST_CASE(names_are_sanitised_and_label_values_escaped) {
  const json stats = {{"inference", {{"p99 latency-ms", 12}, {"9lives", 1}, {"__x", "y"},
                                     {"note", "a \"quoted\" back\\slash\nnewline"}}},
                      {"symbols", {{"we\"ird\n", {{"hits", 1}}}}}};
  const std::string text = render_metrics(stats, json::object(), health_status::ok, "v");
  BOOST_TEST(validate(text) == "", text);
  BOOST_TEST(has_line(text, "tradebotd_inference_p99_latency_ms 12"));
  BOOST_TEST(has_line(text, "tradebotd_inference_9lives 1"));
  BOOST_TEST(text.find("l__x=\"y\"") != std::string::npos);
  BOOST_TEST(text.find("note=\"a \\\"quoted\\\" back\\\\slash\\nnewline\"") != std::string::npos);
  BOOST_TEST(has_line(text, "tradebotd_symbols_hits{symbol=\"we\\\"ird\\n\"} 1"));
  BOOST_TEST(tb::http::sanitize_label_name("1a") == "_1a");
  BOOST_TEST(tb::http::sanitize_metric_segment("a.b/c:d") == "a_b_c:d");
}

BOOST_AUTO_TEST_CASE(colliding_paths_keep_the_first_sample) {
  const json stats = {{"cache", {{"a_b", 1}, {"a", {{"b", 2}}}}}};
  const std::string text = render_metrics(stats, json::object(), health_status::ok, "v");
  BOOST_TEST(validate(text) == "", text);
}

BOOST_AUTO_TEST_CASE(non_finite_values_nulls_and_arrays) {
  const json stats = {{"inference", {{"nan", std::numeric_limits<double>::quiet_NaN()},
                                     {"inf", std::numeric_limits<double>::infinity()},
                                     {"nothing", nullptr},
                                     {"list", {1, 2, 3}}}}};
  const std::string text = render_metrics(stats, json::object(), health_status::ok, "v");
  BOOST_TEST(validate(text) == "", text);
  BOOST_TEST(has_line(text, "tradebotd_inference_nan NaN"));
  BOOST_TEST(has_line(text, "tradebotd_inference_inf +Inf"));
  BOOST_TEST(text.find("nothing") == std::string::npos);
  BOOST_TEST(text.find("list") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(health_checks_are_gauges) {
  const json checks = {{"model", {{"status", "ok"}}},
                       {"redis", {{"status", "degraded"}, {"latency_ms", 40}}},
                       {"feed", {{"status", "failing"}}}};
  const std::string text = render_metrics(json::object(), checks, health_status::failing, "0.1.0");
  BOOST_TEST(validate(text) == "", text);
  BOOST_TEST(has_line(text, "tradebotd_health_status 2"));
  BOOST_TEST(has_line(text, "tradebotd_health_check_status{check=\"model\"} 0"));
  BOOST_TEST(has_line(text, "tradebotd_health_check_status{check=\"redis\"} 1"));
  BOOST_TEST(has_line(text, "tradebotd_health_check_status{check=\"feed\"} 2"));
  BOOST_TEST(has_line(text, "tradebotd_build_info{version=\"0.1.0\"} 1"));
}

BOOST_AUTO_TEST_CASE(deep_documents_do_not_exhaust_the_stack) {
  json deep = 1;
  for (int i = 0; i < 5000; ++i) deep = json{{"n", std::move(deep)}};
  const std::string text =
      render_metrics(json{{"cache", deep}}, json::object(), health_status::ok, "v");
  BOOST_TEST(validate(text) == "");
}
