// The real server on 127.0.0.1, port 0: keep-alive, error statuses, limits, timeouts, load,
// overload (connection floods, slowloris, per-client limits, the probe reserve), start/stop.
// Every wait is a bounded blocking read on the client socket (test_client.hpp) or a bounded
// poll of the server's counters; the only sleeps pace a slow client's bytes.
#define BOOST_TEST_MODULE http_server
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "http/server.hpp"
#include "test_client.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using tb::http::server;
using tb::http::server_info;
using tb::http::server_options;
using tb::http::test::get_request;
using tb::http::test::raw_client;

namespace {

struct running_server {
  explicit running_server(server_options opts = {}) {
    opts.port = 0;
    board->publish("cache", {{"hits", 5}});
    srv = std::make_unique<server>(opts, board, server_info{"9.9.9", std::chrono::steady_clock::now(), ""});
    auto port_or = srv->start();
    BOOST_REQUIRE_MESSAGE(port_or.has_value(), "start failed");
    port = *port_or;
    BOOST_REQUIRE(port != 0);
  }
  std::shared_ptr<tb::core::snapshot_board> board = std::make_shared<tb::core::snapshot_board>();
  std::unique_ptr<server> srv;
  std::uint16_t port = 0;
};

server_options short_timeout(std::chrono::milliseconds t) {
  server_options o;
  o.io_timeout = t;
  return o;
}

long long ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
}

// Polls the server's counters until `ready` holds (at most `limit`).
template <class F>
bool counters_reach(const server& srv, F ready, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!ready(srv.counters())) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// Raises the soft RLIMIT_NOFILE towards `wanted` as far as the hard limit allows; returns the
// soft limit in force.
rlim_t raise_fd_limit(rlim_t wanted) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  if (lim.rlim_cur < wanted) {
    lim.rlim_cur = std::min(wanted, lim.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &lim);
    ::getrlimit(RLIMIT_NOFILE, &lim);
  }
  return lim.rlim_cur;
}

// A general pool of 256 that one client may fill (so the floods below exhaust it by capacity),
// a reserve of 4 for probes, and an io_timeout longer than the test so the flood keeps the pool.
server_options overload_options() {
  server_options o;
  o.max_connections = 256;
  o.max_connections_per_client = 256;
  o.probe_reserve = 4;
  o.probe_timeout = 1000ms;
  o.io_timeout = 30s;
  o.stop_timeout = 5s;
  return o;
}

// GET /health on a fresh connection from `from`: true when it answers 200 with status "ok".
// `closes`: whether the server said it closes the connection after it (a reserve slot does).
bool health_ok(std::uint16_t port, bool* closes = nullptr, const std::string& from = "") {
  raw_client c(port, 5s, from);
  if (!c.connected() || !c.send_all(get_request("/health"))) return false;
  auto res = c.read_response();
  if (!res) {
    BOOST_TEST_MESSAGE("/health: no response: " << c.last_end());
    return false;
  }
  if (closes) *closes = !res->keep_alive();
  const bool ok = res->result_int() == 200 && json::parse(res->body())["status"] == "ok";
  if (!ok) BOOST_TEST_MESSAGE("/health: " << res->result_int() << " " << res->body());
  return ok;
}

// The overload 503: a JSON error naming the cause, Retry-After, the connection closed.
void expect_overload_503(const std::optional<tb::http::test::client_response>& res, const std::string& cause) {
  BOOST_REQUIRE(res);
  BOOST_TEST(res->result_int() == 503);
  BOOST_TEST(!res->keep_alive());
  BOOST_TEST(std::string((*res)[boost::beast::http::field::retry_after]) == "30");
  const std::string error = json::parse(res->body())["error"];
  BOOST_TEST(error.find("server overloaded: ") == 0u, error);
  BOOST_TEST(error.find(cause) != std::string::npos, error);
}

// GET `path` on the open connection `c`: a 200 that keeps the connection alive. Returns it.
tb::http::test::client_response get_kept_alive(raw_client& c, const std::string& path) {
  BOOST_REQUIRE(c.send_all(get_request(path)));
  auto res = c.read_response();
  BOOST_REQUIRE_MESSAGE(res, c.last_end());
  BOOST_TEST(res->result_int() == 200);
  BOOST_TEST(res->keep_alive());
  return std::move(*res);
}

// The server answers a fresh connection.
void expect_serving(std::uint16_t port) {
  raw_client c(port);
  BOOST_REQUIRE(c.connected());
  BOOST_REQUIRE(c.send_all(get_request("/health")));
  auto res = c.read_response();
  BOOST_REQUIRE_MESSAGE(res, "no response: " << c.last_end());
  BOOST_TEST(res->result_int() == 200);
}

}  // namespace

BOOST_AUTO_TEST_CASE(keep_alive_serves_two_requests_on_one_connection) {
  running_server s;
  raw_client c(s.port);
  BOOST_REQUIRE(c.connected());
  BOOST_REQUIRE(c.send_all(get_request("/health")));
  auto first = c.read_response();
  BOOST_REQUIRE_MESSAGE(first, c.last_end());
  BOOST_TEST(first->result_int() == 200);
  BOOST_TEST(first->keep_alive());
  BOOST_TEST(json::parse(first->body())["version"] == "9.9.9");

  BOOST_REQUIRE(c.send_all(get_request("/stats")));
  auto second = c.read_response();
  BOOST_REQUIRE_MESSAGE(second, c.last_end());
  BOOST_TEST(second->result_int() == 200);
  const json stats = json::parse(second->body());
  BOOST_TEST(stats["cache"]["hits"] == 5);
  BOOST_TEST(stats["http"]["connections_accepted_total"] == 1);
  BOOST_TEST(stats["http"]["requests_total"] == 2);  // this one included
  BOOST_TEST(stats.contains("process"));

  BOOST_REQUIRE(c.send_all(get_request("/metrics")));
  auto third = c.read_response();
  BOOST_REQUIRE_MESSAGE(third, c.last_end());
  BOOST_TEST(third->result_int() == 200);
  BOOST_TEST(third->body().find("\ntradebotd_cache_hits_total 5\n") != std::string::npos);
  // Each answered request is timed under its route: /health and /stats so far (this one is
  // rendered before its own response is written).
  for (const char* route : {"/health", "/stats"})
    BOOST_TEST(third->body().find(std::string("\ntradebotd_http_request_duration_seconds_count{route=\"") + route +
                                  "\"} 1\n") != std::string::npos,
               route);
  BOOST_TEST(third->body().find("tradebotd_http_request_duration_seconds_count{route=\"/metrics\"} 0\n") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(pipelined_requests_are_answered_in_order) {
  running_server s;
  raw_client c(s.port);
  BOOST_REQUIRE(
      c.send_all(get_request("/nope") + get_request("/health") + get_request("/stats", "Connection: close\r\n")));
  auto a = c.read_response();
  auto b = c.read_response();
  auto d = c.read_response();
  BOOST_REQUIRE(a);
  BOOST_REQUIRE(b);
  BOOST_REQUIRE(d);
  BOOST_TEST(a->result_int() == 404);
  BOOST_TEST(b->result_int() == 200);
  BOOST_TEST(d->result_int() == 200);
  BOOST_TEST(!d->keep_alive());
  BOOST_TEST(c.wait_closed() == "eof");
}

BOOST_AUTO_TEST_CASE(unknown_path_is_404_and_keeps_the_connection) {
  running_server s;
  raw_client c(s.port);
  BOOST_REQUIRE(c.send_all(get_request("/nope")));
  auto res = c.read_response();
  BOOST_REQUIRE(res);
  BOOST_TEST(res->result_int() == 404);
  BOOST_TEST(json::parse(res->body()).contains("error"));
  BOOST_TEST(res->keep_alive());
  BOOST_REQUIRE(c.send_all(get_request("/health")));
  res = c.read_response();
  BOOST_REQUIRE(res);
  BOOST_TEST(res->result_int() == 200);
}

BOOST_AUTO_TEST_CASE(wrong_method_is_405_with_allow) {
  running_server s;
  raw_client c(s.port);
  BOOST_REQUIRE(c.send_all(get_request("/health", "Content-Length: 4\r\n", "POST") + "abcd"));
  auto res = c.read_response();
  BOOST_REQUIRE(res);
  BOOST_TEST(res->result_int() == 405);
  BOOST_TEST(std::string((*res)[boost::beast::http::field::allow]) == "GET, HEAD");
  // The body was consumed, so the connection stays usable.
  BOOST_REQUIRE(c.send_all(get_request("/health")));
  res = c.read_response();
  BOOST_REQUIRE(res);
  BOOST_TEST(res->result_int() == 200);
}

BOOST_AUTO_TEST_CASE(head_returns_headers_only) {
  running_server s;
  raw_client c(s.port);
  BOOST_REQUIRE(c.send_all(get_request("/stats", "", "HEAD")));
  auto res = c.read_response(/*head=*/true);
  BOOST_REQUIRE(res);
  BOOST_TEST(res->result_int() == 200);
  BOOST_TEST(res->body().empty());
  BOOST_TEST(std::stoul(std::string((*res)[boost::beast::http::field::content_length])) > 0u);
  // Nothing but headers came: the next response parses cleanly.
  BOOST_REQUIRE(c.send_all(get_request("/health")));
  res = c.read_response();
  BOOST_REQUIRE(res);
  BOOST_TEST(res->result_int() == 200);
}

BOOST_AUTO_TEST_CASE(oversized_header_is_431_and_closed) {
  server_options o;
  o.max_header_bytes = 1024;
  running_server s(o);
  raw_client c(s.port);
  BOOST_REQUIRE(c.send_all(get_request("/health", "X-Pad: " + std::string(4000, 'a') + "\r\n")));
  auto res = c.read_response();
  BOOST_REQUIRE_MESSAGE(res, c.last_end());
  BOOST_TEST(res->result_int() == 431);
  BOOST_TEST(json::parse(res->body()).contains("error"));
  BOOST_TEST(!res->keep_alive());
  BOOST_TEST(c.wait_closed() == "eof");
  expect_serving(s.port);
}

BOOST_AUTO_TEST_CASE(oversized_body_is_413_and_closed) {
  running_server s;  // max_body_bytes 4096
  raw_client c(s.port);
  BOOST_REQUIRE(c.send_all(get_request("/health", "Content-Length: 100000\r\n")));
  auto res = c.read_response();
  BOOST_REQUIRE_MESSAGE(res, c.last_end());
  BOOST_TEST(res->result_int() == 413);
  BOOST_TEST(!res->keep_alive());
  BOOST_TEST(c.wait_closed() == "eof");

  // Chunked bodies are counted too.
  raw_client d(s.port);
  std::string chunked = get_request("/health", "Transfer-Encoding: chunked\r\n");
  for (int i = 0; i < 3; ++i) chunked += "800\r\n" + std::string(0x800, 'x') + "\r\n";
  chunked += "0\r\n\r\n";
  BOOST_REQUIRE(d.send_all(chunked));
  res = d.read_response();
  BOOST_REQUIRE_MESSAGE(res, d.last_end());
  BOOST_TEST(res->result_int() == 413);
  expect_serving(s.port);
}

BOOST_AUTO_TEST_CASE(garbage_bytes_are_400_and_closed) {
  running_server s;
  for (const std::string& garbage :
       {std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + "\r\n\r\n",
        std::string("GET /health HTTP/9.9\r\n\r\n"), std::string("GET /health HTTP/1.1\r\nContent-Length: -5\r\n\r\n"),
        std::string("GET /health HTTP/1.1\r\nBad Header\r\n\r\n"), std::string("G\0T / HTTP/1.1\r\n\r\n", 18)}) {
    raw_client c(s.port);
    BOOST_REQUIRE(c.send_all(garbage));
    auto res = c.read_response();
    BOOST_REQUIRE_MESSAGE(res, c.last_end());
    BOOST_TEST(res->result_int() == 400);
    BOOST_TEST(json::parse(res->body()).contains("error"));
    BOOST_TEST(c.wait_closed() == "eof");
  }
  expect_serving(s.port);
  BOOST_TEST(s.srv->counters()["bad_requests_total"] == 5);
}

BOOST_AUTO_TEST_CASE(random_bytes_never_wedge_the_server) {
  running_server s;
  std::mt19937 rng(12345);  // fixed seed: a failure reproduces
  const std::string prefixes[] = {"", "GET ", "GET /health HTTP/1.1\r\n",
                                  "GET /health HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"};
  for (int i = 0; i < 200; ++i) {
    std::string payload = prefixes[i % 4];
    const std::size_t n = rng() % 3000;
    for (std::size_t k = 0; k < n; ++k) payload += static_cast<char>(rng() & 0xff);
    raw_client c(s.port);
    BOOST_REQUIRE(c.connected());
    c.send_all(payload);  // may fail once the server has answered and closed
    c.shutdown_send();    // end of stream: the server must answer or close now, not time out
    const std::string end = c.wait_closed();
    BOOST_TEST_CONTEXT("payload " << i) { BOOST_TEST((end == "eof" || end == "reset"), end); }
  }
  expect_serving(s.port);
}

BOOST_AUTO_TEST_CASE(silent_client_is_closed_after_the_timeout) {
  running_server s(short_timeout(200ms));
  raw_client c(s.port, 5s);
  BOOST_REQUIRE(c.connected());
  const auto t0 = std::chrono::steady_clock::now();
  BOOST_TEST(c.wait_closed() == "eof");  // blocks until the server closes, at most 5 s
  const long long elapsed = ms_since(t0);
  BOOST_TEST(elapsed < 3000);
  BOOST_TEST(elapsed >= 150);
  expect_serving(s.port);
  s.srv->stop();  // joins the io thread: every handler has run
  BOOST_TEST(s.srv->counters()["timeouts_total"] == 1);
}

BOOST_AUTO_TEST_CASE(slow_partial_request_is_closed_after_the_timeout) {
  running_server s(short_timeout(200ms));
  raw_client c(s.port, 5s);
  BOOST_REQUIRE(c.send_all("GET /health HTTP/1.1\r\nHost: x\r\n"));  // never finished
  const auto t0 = std::chrono::steady_clock::now();
  BOOST_TEST(c.wait_closed() == "eof");
  BOOST_TEST(ms_since(t0) < 3000);
}

BOOST_AUTO_TEST_CASE(idle_keep_alive_connection_is_closed_after_the_timeout) {
  running_server s(short_timeout(200ms));
  raw_client c(s.port, 5s);
  BOOST_REQUIRE(c.send_all(get_request("/health")));
  BOOST_REQUIRE(c.read_response());
  BOOST_TEST(c.wait_closed() == "eof");
}

BOOST_AUTO_TEST_CASE(http_1_0_closes_after_the_response) {
  running_server s;
  raw_client c(s.port);
  BOOST_REQUIRE(c.send_all("GET /health HTTP/1.0\r\n\r\n"));
  auto res = c.read_response();
  BOOST_REQUIRE(res);
  BOOST_TEST(res->version() == 10u);
  BOOST_TEST(c.wait_closed() == "eof");
}

BOOST_AUTO_TEST_CASE(many_concurrent_connections) {
  server_options o;
  o.threads = 2;
  running_server s(o);
  constexpr int clients = 64, requests = 10;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&] {
      raw_client c(s.port);
      if (!c.connected()) return;
      for (int r = 0; r < requests; ++r) {
        const char* path = r % 3 == 0 ? "/health" : r % 3 == 1 ? "/stats" : "/metrics";
        if (!c.send_all(get_request(path))) return;
        auto res = c.read_response();
        if (!res || res->result_int() != 200) return;
        ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(ok.load() == clients * requests);
  s.srv->stop();
  BOOST_TEST(s.srv->counters()["connections_accepted_total"] == clients);
  BOOST_TEST(s.srv->counters()["requests_total"] == clients * requests);
}

BOOST_AUTO_TEST_CASE(connections_over_the_limit_get_503) {
  server_options o;
  o.max_connections = 2;
  o.probe_reserve = 0;
  running_server s(o);
  raw_client a(s.port), b(s.port);
  for (raw_client* c : {&a, &b}) {  // both are being served once they answered
    BOOST_REQUIRE(c->send_all(get_request("/health")));
    auto res = c->read_response();
    BOOST_REQUIRE(res);
    BOOST_TEST(res->result_int() == 200);
  }
  raw_client third(s.port);
  auto res = third.read_response();
  BOOST_REQUIRE_MESSAGE(res, third.last_end());
  BOOST_TEST(res->result_int() == 503);
  BOOST_TEST(std::string((*res)[boost::beast::http::field::retry_after]) == "5");  // io_timeout
  BOOST_TEST(json::parse(res->body())["error"] == "server overloaded: all 2 connections are in use; retry after 5 s");
  BOOST_TEST(third.wait_closed() == "eof");
  BOOST_TEST(s.srv->counters()["connections_rejected_total"] == 1);
}

BOOST_AUTO_TEST_CASE(health_answers_while_2000_idle_connections_hold_the_pool) {
  // Client and server side of each connection, plus slack.
  constexpr int wanted = 2000;
  const rlim_t fds = raise_fd_limit(2 * wanted + 256);
  const int flood = std::min<int>(wanted, static_cast<int>(fds) / 2 - 128);
  if (flood < wanted)
    BOOST_TEST_MESSAGE("RLIMIT_NOFILE is " << fds << ": " << flood << " idle connections, not " << wanted);
  BOOST_TEST_REQUIRE(flood > 400);

  running_server s(overload_options());
  std::vector<std::unique_ptr<raw_client>> idle;
  idle.reserve(flood);
  for (int i = 0; i < flood; ++i) {
    idle.push_back(std::make_unique<raw_client>(s.port, 5s));
    BOOST_REQUIRE_MESSAGE(idle.back()->connected(), "connection " << i);
  }
  // Probes still get an answer, each from a reserve slot, with the process reported healthy.
  // (The listener accepts in order: a probe is placed after every connection of the flood.)
  for (int i = 0; i < 5; ++i) {
    bool closes = false;
    BOOST_TEST(health_ok(s.port, &closes), "probe " << i);
    BOOST_TEST(closes);
  }
  // Anything else is refused while overloaded, with the reason and when to come back.
  raw_client stats(s.port);
  BOOST_REQUIRE(stats.send_all(get_request("/stats")));
  expect_overload_503(stats.read_response(), "all 256 connections are in use");
  // An idle connection past the pool and the reserve was shed with the same 503.
  expect_overload_503(idle[flood / 2]->read_response(), "all 256 connections are in use");

  // Past the pool, every connection of the flood but the last few in the reserve was shed.
  BOOST_TEST(counters_reach(
      *s.srv, [&](const json& j) { return j["connections_rejected_total"].get<int>() >= flood - 256 - 4; }));
  const json c = s.srv->counters();
  BOOST_TEST_MESSAGE("counters: " << c.dump());
  BOOST_TEST(c["connections_open"] == 256);
  BOOST_TEST(c["connections_accepted_total"] == 256);
  BOOST_TEST(c["probe_evictions_total"].get<int>() > 0);
  BOOST_TEST(c["connections_over_client_limit_total"] == 0);

  // Once the flood leaves, the general pool serves everything again and /metrics shows the
  // shed connections.
  idle.clear();
  BOOST_REQUIRE(counters_reach(*s.srv, [](const json& j) { return j["connections_open"] == 0; }));
  raw_client m(s.port);
  BOOST_REQUIRE(m.send_all(get_request("/metrics")));
  auto metrics = m.read_response();
  BOOST_REQUIRE(metrics);
  BOOST_TEST(metrics->result_int() == 200);
  BOOST_TEST(metrics->body().find("\ntradebotd_http_connections_rejected_total ") != std::string::npos);
  BOOST_TEST(metrics->body().find("\ntradebotd_http_connections_rejected_total 0\n") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(health_answers_while_300_slowloris_connections_trickle_headers) {
  running_server s(overload_options());
  constexpr int attackers = 300;
  std::vector<std::unique_ptr<raw_client>> slow;
  for (int i = 0; i < attackers; ++i) {
    slow.push_back(std::make_unique<raw_client>(s.port, 2s));
    BOOST_REQUIRE(slow.back()->connected());
    BOOST_REQUIRE(slow.back()->send_all("GET /stats HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  }
  // 20 rounds of one header line per connection every 50 ms (the attack's pace, not a
  // synchronisation); a probe every 4th round.
  int probes = 0, healthy = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int round = 0; round < 20 && ms_since(t0) < 10000; ++round) {
    for (auto& c : slow) c->send_all("X-Slow-" + std::to_string(round) + ": x\r\n");  // may fail once shed
    if (round % 4 == 0) {
      ++probes;
      if (health_ok(s.port)) ++healthy;
    }
    std::this_thread::sleep_for(50ms);
  }
  BOOST_TEST(healthy == probes);
  const json c = s.srv->counters();
  BOOST_TEST_MESSAGE("counters: " << c.dump());
  BOOST_TEST(c["connections_open"] == 256);  // still held: io_timeout is 30 s here
  BOOST_TEST(counters_reach(
      *s.srv, [&](const json& j) { return j["connections_rejected_total"].get<int>() >= attackers - 256 - 4; }));
  BOOST_TEST(c["responses_2xx_total"] == probes);
}

BOOST_AUTO_TEST_CASE(a_slow_client_cannot_hold_a_reserve_slot) {
  server_options o = overload_options();
  o.max_connections = 1;
  o.probe_reserve = 1;
  running_server s(o);
  raw_client holder(s.port);  // takes the whole general pool
  BOOST_REQUIRE(holder.send_all(get_request("/health")));
  BOOST_REQUIRE(holder.read_response());
  raw_client slow(s.port, 5s);                                 // the reserve slot
  BOOST_REQUIRE(slow.send_all("GET /health HTTP/1.1\r\nHo"));  // never finished
  const auto t0 = std::chrono::steady_clock::now();
  BOOST_TEST(slow.wait_closed() == "eof");
  const long long elapsed = ms_since(t0);
  BOOST_TEST(elapsed >= 900);  // probe_timeout 1 s, not io_timeout 30 s
  BOOST_TEST(elapsed < 3000);
  BOOST_REQUIRE(counters_reach(*s.srv, [](const json& j) { return j["probe_connections_open"] == 0; }));
  BOOST_TEST(health_ok(s.port));  // the freed slot, nobody evicted
  const json c = s.srv->counters();
  BOOST_TEST(c["timeouts_total"] == 1);
  BOOST_TEST(c["probe_evictions_total"] == 0);
  BOOST_TEST(c["probe_connections_total"] == 2);
}

BOOST_AUTO_TEST_CASE(connections_over_the_per_client_limit_only_get_health) {
  server_options o = overload_options();
  o.max_connections = 16;
  o.max_connections_per_client = 2;
  o.probe_reserve = 2;
  running_server s(o);
  const std::string greedy = "127.0.0.2";  // another loopback address: another client
  raw_client a(s.port, 5s, greedy), b(s.port, 5s, greedy);
  for (raw_client* c : {&a, &b}) get_kept_alive(*c, "/stats");
  // A third from the same address: a reserve slot, /stats refused with the reason.
  raw_client third(s.port, 5s, greedy);
  BOOST_REQUIRE(third.send_all(get_request("/stats")));
  expect_overload_503(third.read_response(), "127.0.0.2 holds 2 connections, the per-client limit");
  BOOST_TEST(third.wait_closed() == "eof");
  // ... but /health is answered, once per connection.
  bool closes = false;
  BOOST_TEST(health_ok(s.port, &closes, greedy));
  BOOST_TEST(closes);
  // Another client is not affected: the general pool serves it, keep-alive.
  raw_client other(s.port);
  for (int i = 0; i < 2; ++i) {
    const auto res = get_kept_alive(other, "/stats");
    if (i == 1) {
      const json http = json::parse(res.body())["http"];
      BOOST_TEST(http["connections_accepted_total"] == 3);
      BOOST_TEST(http["connections_open"] == 3);
      BOOST_TEST(http["connections_over_client_limit_total"] == 2);
      BOOST_TEST(http["probe_connections_total"] == 2);
      BOOST_TEST(http["connections_rejected_total"] == 1);
    }
  }
}

BOOST_AUTO_TEST_CASE(the_probe_reserve_serves_live_and_ready) {
  server_options o = overload_options();
  o.max_connections = 16;
  o.max_connections_per_client = 1;
  o.probe_reserve = 2;
  running_server s(o);
  tb::http::publish_heartbeat(*s.board, std::chrono::steady_clock::now(), 60s);
  const std::string greedy = "127.0.0.2";
  raw_client holder(s.port, 5s, greedy);  // takes the client's one general slot
  BOOST_REQUIRE(holder.send_all(get_request("/stats")));
  BOOST_REQUIRE(holder.read_response());
  // Each further connection from that address gets a reserve slot: one probe, then closed.
  for (const char* path : {"/health/live", "/health/ready"}) {
    raw_client c(s.port, 5s, greedy);
    BOOST_REQUIRE(c.send_all(get_request(path)));
    auto res = c.read_response();
    BOOST_REQUIRE_MESSAGE(res, path << ": " << c.last_end());
    BOOST_TEST(res->result_int() == 200, path << ": " << res->body());
    BOOST_TEST(!res->keep_alive(), path);
    BOOST_TEST(c.wait_closed() == "eof", path);
  }
  BOOST_TEST(s.srv->counters()["probe_connections_total"] == 2);
  BOOST_TEST(s.srv->counters()["connections_rejected_total"] == 0);
}

BOOST_AUTO_TEST_CASE(start_on_a_port_in_use_returns_the_error) {
  running_server first;
  server_options o;
  o.port = first.port;
  server second(o, first.board, server_info{});
  auto result = second.start();
  BOOST_REQUIRE(!result.has_value());
  BOOST_TEST(static_cast<int>(result.error().code) == static_cast<int>(tb::errc::io));
  BOOST_TEST(result.error().message ==
             "http: cannot listen on 127.0.0.1:" + std::to_string(first.port) + ": Address already in use");
  expect_serving(first.port);  // the first server is unaffected
}

BOOST_AUTO_TEST_CASE(start_validates_its_options) {
  auto board = std::make_shared<tb::core::snapshot_board>();
  server_options o;
  o.port = 0;
  o.address = "localhost";  // not a literal
  auto r = server(o, board, server_info{}).start();
  BOOST_REQUIRE(!r.has_value());
  BOOST_TEST(static_cast<int>(r.error().code) == static_cast<int>(tb::errc::bad_config));

  o.address = "127.0.0.1";
  server twice(o, board, server_info{});
  BOOST_REQUIRE(twice.start().has_value());
  auto again = twice.start();
  BOOST_REQUIRE(!again.has_value());
  BOOST_TEST(static_cast<int>(again.error().code) == static_cast<int>(tb::errc::invalid_argument));
}

BOOST_AUTO_TEST_CASE(stop_with_clients_connected_returns_promptly) {
  server_options o;
  o.io_timeout = 30s;    // stop() must not wait for timeouts
  o.stop_timeout = 20s;  // nor rely on the hard stop
  running_server s(o);
  std::vector<std::unique_ptr<raw_client>> idle, partial, silent;
  for (int i = 0; i < 5; ++i) {
    idle.push_back(std::make_unique<raw_client>(s.port));
    BOOST_REQUIRE(idle.back()->send_all(get_request("/health")));
    BOOST_REQUIRE(idle.back()->read_response());  // now a served keep-alive connection
  }
  for (int i = 0; i < 3; ++i) {
    partial.push_back(std::make_unique<raw_client>(s.port));
    BOOST_REQUIRE(partial.back()->send_all("GET /stats HTTP/1.1\r\nHo"));
  }
  for (int i = 0; i < 3; ++i) silent.push_back(std::make_unique<raw_client>(s.port));

  const auto t0 = std::chrono::steady_clock::now();
  s.srv->stop();
  BOOST_TEST(ms_since(t0) < 2000);
  for (auto* group : {&idle, &partial, &silent})
    for (auto& c : *group) {
      const std::string end = c->wait_closed();
      BOOST_TEST((end == "eof" || end == "reset"), end);
    }
  // No longer listening.
  raw_client late(s.port, 1s);
  BOOST_TEST(!late.connected());
}

BOOST_AUTO_TEST_CASE(stop_is_idempotent_and_works_without_start) {
  auto board = std::make_shared<tb::core::snapshot_board>();
  server never(server_options{}, board, server_info{});
  never.stop();
  running_server s;
  s.srv->stop();
  s.srv->stop();
}
