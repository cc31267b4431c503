// The pure handler: routes, status codes, headers and documents, without sockets.
#define BOOST_TEST_MODULE http_request_handler
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include "http/request_handler.hpp"
#include "tests/http/handler_test_util.hpp"

namespace bhttp = boost::beast::http;
using nlohmann::json;
using tb::core::health_check;
using tb::core::health_status;
using tb::core::snapshot_board;
using tb::http::handle_request;
using tb::http::request;
using tb::http::response;
using tb::http::server_info;
using tb::http::test::header;
using tb::http::test::make_request;

namespace {

response get(const snapshot_board& board, const std::string& target, const json& extra = json::object()) {
  return handle_request(make_request(bhttp::verb::get, target), board,
                        server_info{"1.2.3", std::chrono::steady_clock::now(), ""}, [&extra] { return extra; });
}

json body_json(const response& res) { return json::parse(res.body()); }

}  // namespace

BOOST_AUTO_TEST_CASE(health_on_an_empty_board_is_ok) {
  snapshot_board board;
  const response res = get(board, "/health");
  BOOST_TEST(res.result_int() == 200);
  BOOST_TEST(header(res, bhttp::field::content_type) == "application/json");
  BOOST_TEST(header(res, bhttp::field::cache_control) == "no-store");
  BOOST_TEST(header(res, bhttp::field::content_length) == std::to_string(res.body().size()));
  const json doc = body_json(res);
  BOOST_TEST(doc["status"] == "ok");
  BOOST_TEST(doc["checks"] == json::object());
  BOOST_TEST(doc["version"] == "1.2.3");
  BOOST_TEST(doc["uptime_s"].get<double>() >= 0.0);
  BOOST_TEST(doc["config"] == json({{"generation", nullptr}, {"loaded_at", nullptr}, {"last_reload", nullptr}}));
}

BOOST_AUTO_TEST_CASE(health_status_is_the_worst_check_and_failing_is_503) {
  snapshot_board board;
  board.publish_check("model", health_check{health_status::ok, {{"device", "cpu"}}});
  board.publish_check("redis", health_check{health_status::degraded, {{"error", "slow"}}});
  response res = get(board, "/health");
  BOOST_TEST(res.result_int() == 200);
  json doc = body_json(res);
  BOOST_TEST(doc["status"] == "degraded");
  BOOST_TEST(doc["checks"]["model"]["status"] == "ok");
  BOOST_TEST(doc["checks"]["model"]["device"] == "cpu");
  BOOST_TEST(doc["checks"]["redis"]["status"] == "degraded");

  board.publish_check("feed", health_check{health_status::failing, {{"error", "down"}}});
  res = get(board, "/health");
  BOOST_TEST(res.result_int() == 503);
  doc = body_json(res);
  BOOST_TEST(doc["status"] == "failing");
  BOOST_TEST(doc["checks"]["feed"]["error"] == "down");

  board.remove_check("feed");
  BOOST_TEST(get(board, "/health").result_int() == 200);
}

BOOST_AUTO_TEST_CASE(health_config_comes_from_the_config_section) {
  snapshot_board board;
  board.publish("config", {{"generation", 3},
                           {"loaded_at", "2024-05-01T10:00:00Z"},
                           {"last_reload", {{"ok", false}, {"error", "bad key"}}},
                           {"paper", true}});
  const json doc = body_json(get(board, "/health"));
  BOOST_TEST(doc["config"]["generation"] == 3);
  BOOST_TEST(doc["config"]["loaded_at"] == "2024-05-01T10:00:00Z");
  BOOST_TEST(doc["config"]["last_reload"]["error"] == "bad key");
  BOOST_TEST(!doc["config"].contains("paper"));
}

BOOST_AUTO_TEST_CASE(stats_has_every_section_and_a_live_process_section) {
  snapshot_board board;
  board.publish("cache", {{"hits", 5}});
  board.publish("custom", {{"x", 1}});
  const response res = get(board, "/stats", {{"http", {{"requests_total", 7}}}});
  BOOST_TEST(res.result_int() == 200);
  BOOST_TEST(header(res, bhttp::field::content_type) == "application/json");
  const json doc = body_json(res);
  for (const char* s : {"config", "cache", "inference", "symbols", "portfolio", "process"}) BOOST_TEST_CONTEXT(s) {
      BOOST_TEST(doc.contains(s));
    }
  BOOST_TEST(doc["inference"] == json::object());
  BOOST_TEST(doc["cache"]["hits"] == 5);
  BOOST_TEST(doc["custom"]["x"] == 1);
  BOOST_TEST(doc["http"]["requests_total"] == 7);
  const json& p = doc["process"];
  BOOST_TEST(p["pid"].get<long long>() == static_cast<long long>(::getpid()));
  BOOST_TEST(p["rss_bytes"].get<unsigned long long>() > 0u);
  BOOST_TEST(p["threads"].get<unsigned long long>() >= 1u);
  BOOST_TEST(p["uptime_s"].get<double>() >= 0.0);
}

BOOST_AUTO_TEST_CASE(extra_sections_are_built_only_for_stats_and_metrics) {
  snapshot_board board;
  std::vector<std::string> asked;
  for (const char* path : {"/", "/health", "/health/live", "/health/ready", "/stats", "/metrics", "/x"}) {
    handle_request(make_request(bhttp::verb::get, path), board, server_info{}, [&asked, path] {
      asked.emplace_back(path);
      return json::object();
    });
  }
  BOOST_TEST(asked == (std::vector<std::string>{"/stats", "/metrics"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(stats_process_section_cannot_be_overridden_by_the_board) {
  snapshot_board board;
  board.publish("process", {{"pid", -1}});
  const json doc = body_json(get(board, "/stats"));
  BOOST_TEST(doc["process"]["pid"].get<long long>() == static_cast<long long>(::getpid()));
}

BOOST_AUTO_TEST_CASE(metrics_is_prometheus_text) {
  snapshot_board board;
  board.publish("cache", {{"hits", 5}});
  const response res = get(board, "/metrics");
  BOOST_TEST(res.result_int() == 200);
  BOOST_TEST(header(res, bhttp::field::content_type) == "text/plain; version=0.0.4; charset=utf-8");
  BOOST_TEST(res.body().find("# TYPE tradebotd_cache_hits_total counter\ntradebotd_cache_hits_total 5\n") !=
             std::string::npos);
  // The process section is read at request time: the standard process metrics are there.
  for (const char* family :
       {"process_resident_memory_bytes", "process_virtual_memory_bytes", "process_cpu_seconds_total",
        "process_open_fds", "process_max_fds", "process_start_time_seconds"})
    BOOST_TEST(res.body().find(std::string("\n") + family + " ") != std::string::npos, family);
  BOOST_TEST(res.body().find("tradebotd_build_info{version=\"1.2.3\",compiler=\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(stats_liveness_says_what_health_live_says) {
  snapshot_board board;
  tb::http::publish_heartbeat(board, std::chrono::steady_clock::now(), std::chrono::milliseconds(60000));
  json live = body_json(get(board, "/stats"))["liveness"];
  BOOST_TEST(live["live"] == true);
  BOOST_TEST(live["heartbeat_age_ms"].get<long long>() >= 0);
  BOOST_TEST(live.contains("heartbeat_steady_ms"));
  tb::http::publish_heartbeat(board, std::chrono::steady_clock::now() - std::chrono::seconds(120),
                              std::chrono::milliseconds(1000));
  live = body_json(get(board, "/stats"))["liveness"];
  BOOST_TEST(live["live"] == false);
  BOOST_TEST(live["heartbeat_age_ms"].get<long long>() >= 120000);
  const std::string text = get(board, "/metrics").body();
  BOOST_TEST(text.find("\ntradebotd_live 0\n") != std::string::npos, text);
  BOOST_TEST(text.find("\ntradebotd_liveness_stale_after_seconds 1.0\n") != std::string::npos, text);
}

BOOST_AUTO_TEST_CASE(process_section_reads_the_process) {
  snapshot_board board;
  const json p = body_json(get(board, "/stats"))["process"];
  BOOST_TEST(p["rss_bytes"].get<double>() > 0);
  BOOST_TEST(p["virtual_memory_bytes"].get<double>() >= p["rss_bytes"].get<double>());
  BOOST_TEST(p["cpu_seconds"].get<double>() >= 0);
  BOOST_TEST(p["open_fds"].get<int>() >= 3);
  BOOST_TEST(p["max_fds"].get<double>() >= p["open_fds"].get<double>());
  // The kernel's start time: before now, within a day of it, and the same on the next request.
  const double now_s = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  BOOST_TEST(p["start_time_unix_s"].get<double>() <= now_s + 1);
  BOOST_TEST(p["start_time_unix_s"].get<double>() > now_s - 86400);
  BOOST_TEST(body_json(get(board, "/stats"))["process"]["start_time_unix_s"] == p["start_time_unix_s"]);
}

BOOST_AUTO_TEST_CASE(live_follows_the_age_of_the_last_heartbeat) {
  snapshot_board board;
  response res = get(board, "/health/live");  // no heartbeat yet: starting
  BOOST_TEST(res.result_int() == 503);
  BOOST_TEST(body_json(res)["live"] == false);
  BOOST_TEST(body_json(res)["reason"].get<std::string>().find("no heartbeat") != std::string::npos);

  const auto now = std::chrono::steady_clock::now();
  tb::http::publish_heartbeat(board, now, std::chrono::milliseconds(3000));
  res = get(board, "/health/live");
  BOOST_TEST(res.result_int() == 200, res.body());
  json doc = body_json(res);
  BOOST_TEST(doc["live"] == true);
  BOOST_TEST(doc["stale_after_ms"] == 3000);
  BOOST_TEST(doc["heartbeat_age_ms"].get<long>() >= 0);
  BOOST_TEST(header(res, bhttp::field::content_type) == "application/json");

  tb::http::publish_heartbeat(board, now - std::chrono::seconds(10), std::chrono::milliseconds(3000));
  res = get(board, "/health/live");
  BOOST_TEST(res.result_int() == 503);
  doc = body_json(res);
  BOOST_TEST(doc["live"] == false);
  BOOST_TEST(doc["heartbeat_age_ms"].get<long>() >= 10000);
  // Failing checks do not make the process dead: liveness is the heartbeat only.
  tb::http::publish_heartbeat(board, now, std::chrono::milliseconds(3000));
  board.publish_check("model", health_check{health_status::failing, {}});
  BOOST_TEST(get(board, "/health/live").result_int() == 200);
}

BOOST_AUTO_TEST_CASE(ready_needs_a_live_heartbeat_and_no_failing_check) {
  snapshot_board board;
  board.publish_check("startup", health_check{health_status::failing, {{"phase", "loading the model"}}});
  board.publish_check("config", health_check{health_status::ok, {}});
  response res = get(board, "/health/ready");
  BOOST_TEST(res.result_int() == 503);
  BOOST_TEST(body_json(res)["live"] == false);

  tb::http::publish_heartbeat(board, std::chrono::steady_clock::now(), std::chrono::milliseconds(60000));
  res = get(board, "/health/ready");
  BOOST_TEST(res.result_int() == 503);
  BOOST_TEST(body_json(res)["failing_checks"] == json::array({"startup"}));

  board.remove_check("startup");  // the model is warm
  board.publish_check("cycles", health_check{health_status::degraded, {}});
  res = get(board, "/health/ready");
  BOOST_TEST(res.result_int() == 200, res.body());
  BOOST_TEST(body_json(res)["ready"] == true);
  BOOST_TEST(body_json(res)["failing_checks"] == json::array());

  board.publish_check("cycles", health_check{health_status::failing, {{"error", "stalled"}}});
  res = get(board, "/health/ready");
  BOOST_TEST(res.result_int() == 503);
  BOOST_TEST(body_json(res)["ready"] == false);
  BOOST_TEST(body_json(res)["failing_checks"] == json::array({"cycles"}));
  const response head = handle_request(make_request(bhttp::verb::head, "/health/ready"), board, server_info{});
  BOOST_TEST(head.result_int() == 503);
  BOOST_TEST(head.body().empty());
}

BOOST_AUTO_TEST_CASE(unknown_path_is_404_with_a_json_error) {
  snapshot_board board;
  for (const char* target : {"/nope", "/health/", "/HEALTH", "*", "http://x/health", "/index.html"}) {
    BOOST_TEST_CONTEXT(target) {
      const response res = get(board, target);
      BOOST_TEST(res.result_int() == 404);
      BOOST_TEST(header(res, bhttp::field::content_type) == "application/json");
      BOOST_TEST(body_json(res).contains("error"));
    }
  }
}

BOOST_AUTO_TEST_CASE(query_string_is_ignored) {
  snapshot_board board;
  BOOST_TEST(get(board, "/health?verbose=1").result_int() == 200);
}

BOOST_AUTO_TEST_CASE(invalid_utf8_in_the_target_still_gives_valid_json) {
  snapshot_board board;
  const response res = get(board, std::string("/\xff\xfe\x80") + std::string(5000, 'a'));
  BOOST_TEST(res.result_int() == 404);
  const json doc = body_json(res);  // throws (fails the test) if the body is not JSON
  BOOST_TEST(doc["error"].get<std::string>().size() < 400u);
}

BOOST_AUTO_TEST_CASE(other_methods_are_405_with_allow) {
  snapshot_board board;
  for (auto verb :
       {bhttp::verb::post, bhttp::verb::put, bhttp::verb::delete_, bhttp::verb::options, bhttp::verb::patch}) {
    const response res = handle_request(make_request(verb, "/stats"), board, server_info{});
    BOOST_TEST(res.result_int() == 405);
    BOOST_TEST(header(res, bhttp::field::allow) == "GET, HEAD");
    BOOST_TEST(body_json(res).contains("error"));
  }
}

BOOST_AUTO_TEST_CASE(head_has_the_get_headers_and_no_body) {
  snapshot_board board;
  const response get_res = get(board, "/health");
  const response head_res = handle_request(make_request(bhttp::verb::head, "/health"), board,
                                           server_info{"1.2.3", std::chrono::steady_clock::now(), ""});
  BOOST_TEST(head_res.result_int() == 200);
  BOOST_TEST(head_res.body().empty());
  // uptime_s may render with another number of digits, so compare within a margin
  const auto len = std::stoul(header(head_res, bhttp::field::content_length));
  BOOST_TEST(len + 8 >= get_res.body().size());
  BOOST_TEST(len <= get_res.body().size() + 8);
  BOOST_TEST(header(head_res, bhttp::field::content_type) == "application/json");
}

BOOST_AUTO_TEST_CASE(keep_alive_and_version_follow_the_request) {
  snapshot_board board;
  request req = make_request(bhttp::verb::get, "/health", 11);
  BOOST_TEST(handle_request(req, board, server_info{}).keep_alive());
  req.set(bhttp::field::connection, "close");
  BOOST_TEST(!handle_request(req, board, server_info{}).keep_alive());
  const response old = handle_request(make_request(bhttp::verb::get, "/health", 10), board, server_info{});
  BOOST_TEST(old.version() == 10u);
  BOOST_TEST(!old.keep_alive());
}
