// market/https_client against the fake Alpaca server on 127.0.0.1: certificate and host-name
// verification, keep-alive, retries on 429 (Retry-After honoured) / 5xx / timeouts, give-up
// errors, the token bucket, plain HTTP only to loopback, secrets scrubbed from errors and logs.
#define BOOST_TEST_MODULE https_client
#include <boost/test/unit_test.hpp>

#include "tests/support/alpaca_fixture.hpp"

using namespace tb;
using namespace tb::market;
using namespace tb::test;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

pki_fixture& pki() {
  static pki_fixture f;
  return f;
}

market::http_request account_request() {
  market::http_request r;
  r.method = "GET";
  r.target = "/v2/account";
  r.headers = {{"APCA-API-KEY-ID", test_key_id}, {"APCA-API-SECRET-KEY", test_secret}};
  return r;
}

std::unique_ptr<https_client> client(const https_options& o) {
  auto c = https_client::create(o);
  BOOST_TEST_REQUIRE(c.has_value(), (c ? "" : c.error().message));
  return std::move(*c);
}

double ms_between(steady::time_point a, steady::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

BOOST_AUTO_TEST_CASE(pure_helpers) {
  BOOST_TEST(redact("key=AK1 secret=S2 AK1", {"AK1", "S2", ""}) == "key=*** secret=*** ***");

  https_options o;
  o.backoff_initial = 100ms;
  o.backoff_max = 1000ms;
  o.backoff_jitter = 0.5;
  BOOST_TEST(backoff_delay(o, 2, 0.0).count() == 100);
  BOOST_TEST(backoff_delay(o, 3, 0.0).count() == 200);
  BOOST_TEST(backoff_delay(o, 4, 0.0).count() == 400);
  BOOST_TEST(backoff_delay(o, 9, 0.0).count() == 1000);   // capped
  BOOST_TEST(backoff_delay(o, 3, 0.999).count() == 100);  // jitter takes off up to half

  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(784111777));  // 1994-11-06 08:49:37Z
  BOOST_TEST(parse_retry_after("3", now)->count() == 3000);
  BOOST_TEST(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now)->count() == 10000);
  BOOST_TEST(parse_retry_after("Sun, 06 Nov 1994 08:49:27 GMT", now)->count() == 0);  // past: now
  BOOST_TEST(!parse_retry_after("soon", now).has_value());

  const steady::time_point t0{};
  token_bucket b(10.0, 2.0, t0);  // 10/s, burst 2
  BOOST_TEST(b.try_take(t0).count() == 0);
  BOOST_TEST(b.try_take(t0).count() == 0);
  const auto wait = b.try_take(t0);
  BOOST_TEST(std::chrono::duration<double>(wait).count() == 0.1, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(b.try_take(t0 + 100ms).count() == 0);
  BOOST_TEST(b.try_take(t0 + 100ms).count() > 0);
  BOOST_TEST(b.try_take(t0 + 10s).count() == 0);  // refilled, but only to the burst
  BOOST_TEST(b.try_take(t0 + 10s).count() == 0);
  BOOST_TEST(b.try_take(t0 + 10s).count() > 0);

  auto u = parse_base_url("https://paper-api.alpaca.markets");
  BOOST_TEST_REQUIRE(u.has_value());
  BOOST_TEST(u->host == "paper-api.alpaca.markets");
  BOOST_TEST(u->port == 443);
  u = parse_base_url("http://127.0.0.1:8080/");
  BOOST_TEST_REQUIRE(u.has_value());
  BOOST_TEST(u->port == 8080);
  BOOST_TEST(!parse_base_url("ftp://x").has_value());
  BOOST_TEST(!parse_base_url("https://x/v2").has_value());
  BOOST_TEST(!parse_base_url("https://x:99999").has_value());
}

BOOST_AUTO_TEST_CASE(verified_tls_request_reuses_the_connection) {
  fake_alpaca server(pki().server_options());
  auto c = client(pki().client_options(server));
  for (int i = 0; i < 3; ++i) {
    auto r = c->request(account_request());
    BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
    BOOST_TEST(r->status == 200);
    BOOST_TEST(r->attempts == 1);
    BOOST_TEST(r->body.find("\"buying_power\"") != std::string::npos);
  }
  BOOST_TEST(server.connection_count() == 1u);  // keep-alive
  BOOST_TEST(c->stats().connects == 1u);
  BOOST_TEST(server.requests().at(0).authorized);
}

BOOST_AUTO_TEST_CASE(ip_literal_is_verified_against_the_ip_san) {
  fake_alpaca server(pki().server_options());
  auto o = pki().client_options(server);
  o.tls_server_name.clear();  // verify 127.0.0.1 itself
  auto r = client(o)->request(account_request());
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
  BOOST_TEST(r->status == 200);
}

BOOST_AUTO_TEST_CASE(untrusted_certificate_fails_without_retry) {
  fake_alpaca server(pki().server_options());
  auto o = pki().client_options(server);
  o.ca_file = pki().other.ca_cert;  // a CA that did not sign the server's certificate
  auto c = client(o);
  auto r = c->request(account_request());
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error().code == errc::unavailable);
  BOOST_TEST(r.error().message.find("certificate verification failed") != std::string::npos, r.error().message);
  BOOST_TEST(server.request_count() == 0u);
  BOOST_TEST(server.connection_count() == 1u);  // not retried: a certificate does not get better

  o.ca_file.clear();  // the system store does not know the test CA either
  r = client(o)->request(account_request());
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error().message.find("certificate verification failed") != std::string::npos, r.error().message);
}

BOOST_AUTO_TEST_CASE(host_name_mismatch_fails) {
  fake_alpaca server(pki().server_options());
  auto o = pki().client_options(server);
  o.tls_server_name = "paper-api.alpaca.markets";  // trusted CA, wrong name
  auto r = client(o)->request(account_request());
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error().message.find("hostname mismatch") != std::string::npos, r.error().message);
  BOOST_TEST(server.request_count() == 0u);

  o.tls_server_name = "127.0.0.2";  // an IP the certificate does not carry
  r = client(o)->request(account_request());
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error().message.find("IP address mismatch") != std::string::npos, r.error().message);
}

BOOST_AUTO_TEST_CASE(rate_limited_429_honours_retry_after) {
  fake_alpaca server(pki().server_options());
  auto c = client(pki().client_options(server));  // backoff 10..50 ms: only Retry-After can wait 1 s
  fault f;
  f.status = 429;
  f.retry_after = "1";
  f.body = R"({"message":"too many requests"})";
  server.fail_next(1, f);
  const auto t0 = steady::now();
  auto r = c->request(account_request());
  const double took = ms_between(t0, steady::now());
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
  BOOST_TEST(r->status == 200);
  BOOST_TEST(r->attempts == 2);
  const auto seen = server.requests();
  BOOST_TEST_REQUIRE(seen.size() == 2u);
  BOOST_TEST(ms_between(seen[0].at, seen[1].at) >= 950.0);
  BOOST_TEST(took < 3000.0);
  BOOST_TEST(c->stats().rate_limited == 1u);
}

BOOST_AUTO_TEST_CASE(retry_after_beyond_the_cap_gives_up_at_once) {
  fake_alpaca server(pki().server_options());
  auto o = pki().client_options(server);
  o.max_retry_after = 1000ms;
  fault f;
  f.status = 429;
  f.retry_after = "120";
  server.fail_next(1, f);
  const auto t0 = steady::now();
  auto r = client(o)->request(account_request());
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error().code == errc::overloaded);
  BOOST_TEST(server.request_count() == 1u);
  BOOST_TEST(ms_between(t0, steady::now()) < 1000.0);
}

BOOST_AUTO_TEST_CASE(server_errors_are_retried_then_given_up) {
  fake_alpaca server(pki().server_options());
  auto o = pki().client_options(server);
  o.max_attempts = 3;
  auto c = client(o);
  fault f;
  f.status = 503;
  server.fail_next(2, f);
  auto r = c->request(account_request());
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
  BOOST_TEST(r->status == 200);
  BOOST_TEST(r->attempts == 3);
  BOOST_TEST(server.request_count() == 3u);

  f.status = 500;
  server.fail_next(10, f);
  r = c->request(account_request());
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error().code == errc::unavailable);
  BOOST_TEST(r.error().message.find("HTTP 500") != std::string::npos, r.error().message);
  BOOST_TEST(r.error().message.find("giving up after 3 attempts") != std::string::npos, r.error().message);
  BOOST_TEST(server.request_count() == 6u);  // exactly max_attempts more
}

BOOST_AUTO_TEST_CASE(client_errors_are_not_retried) {
  fake_alpaca server(pki().server_options());
  auto c = client(pki().client_options(server));
  market::http_request r = account_request();
  r.target = "/v2/orders/does-not-exist";
  auto res = c->request(r);
  BOOST_TEST_REQUIRE(res.has_value());
  BOOST_TEST(res->status == 404);
  BOOST_TEST(server.request_count() == 1u);
}

BOOST_AUTO_TEST_CASE(slow_reply_times_out_and_is_retried) {
  fake_alpaca server(pki().server_options());
  auto o = pki().client_options(server);
  o.io_timeout = 200ms;
  o.max_attempts = 2;
  auto c = client(o);
  fault slow;
  slow.delay = 1500ms;
  server.fail_next(1, slow);  // one slow answer: the retry gets through
  auto r = c->request(account_request());
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
  BOOST_TEST(r->attempts == 2);

  server.fail_next(2, slow);  // every attempt slow: a timeout error
  const auto t0 = steady::now();
  r = c->request(account_request());
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error().code == errc::timeout);
  BOOST_TEST(r.error().message.find("timed out") != std::string::npos, r.error().message);
  BOOST_TEST(ms_between(t0, steady::now()) < 1400.0);  // gave up on our deadline, not the server's
  BOOST_TEST(c->stats().timeouts >= 3u);
}

BOOST_AUTO_TEST_CASE(token_bucket_paces_requests) {
  fake_alpaca server(pki().server_options());
  auto o = pki().client_options(server);
  o.rate_per_minute = 600;  // 10 per second
  o.rate_burst = 1;
  auto c = client(o);
  const auto t0 = steady::now();
  for (int i = 0; i < 4; ++i) BOOST_TEST_REQUIRE(c->request(account_request()).has_value());
  BOOST_TEST(ms_between(t0, steady::now()) >= 290.0);  // 3 waits of 100 ms after the first
  BOOST_TEST(c->stats().throttle_waits >= 3u);
  BOOST_TEST(server.request_count() == 4u);
}

BOOST_AUTO_TEST_CASE(plain_http_only_to_loopback_on_request) {
  fake_alpaca server(pki().server_options(/*tls=*/false));
  auto o = pki().client_options(server);
  o.allow_plain_http_loopback = false;
  auto c = https_client::create(o);
  BOOST_TEST_REQUIRE(!c.has_value());
  BOOST_TEST(c.error().code == errc::bad_config);

  o.allow_plain_http_loopback = true;
  auto r = client(o)->request(account_request());
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
  BOOST_TEST(r->status == 200);

  o.url = "http://data.alpaca.markets";
  BOOST_TEST(!https_client::create(o).has_value());
  o.url = "http://localhost:1";  // loopback by name is still not 127.0.0.1
  BOOST_TEST(!https_client::create(o).has_value());
}

BOOST_AUTO_TEST_CASE(secrets_never_reach_errors_or_logs) {
  log_capture logs;
  fake_alpaca server(pki().server_options());
  auto o = pki().client_options(server);
  o.max_attempts = 2;
  o.secrets = {test_key_id, test_secret};
  auto c = client(o);
  fault f;
  f.status = 502;
  f.body = "bad gateway for key " + test_key_id + " / " + test_secret;  // a server echoing the keys
  server.fail_next(2, f);
  auto r = c->request(account_request());
  BOOST_TEST_REQUIRE(!r.has_value());
  const std::string msg = r.error().message;
  BOOST_TEST(msg.find(test_key_id) == std::string::npos, msg);
  BOOST_TEST(msg.find(test_secret) == std::string::npos, msg);
  BOOST_TEST(msg.find("***") != std::string::npos, msg);
  const std::string log = logs.text();
  BOOST_TEST(log.find("retrying") != std::string::npos, log);   // the retry was logged...
  BOOST_TEST(log.find(test_key_id) == std::string::npos, log);  // ...without the keys
  BOOST_TEST(log.find(test_secret) == std::string::npos, log);
}

namespace {

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
  return n;
}

}  // namespace

BOOST_AUTO_TEST_CASE(an_unreachable_origin_is_logged_when_it_goes_and_when_it_comes_back_not_per_request) {
  {
    // Nothing listens on the port any more: every request fails to connect.
    std::uint16_t dead_port = 0;
    {
      fake_alpaca gone(pki().server_options());
      dead_port = gone.port();
    }
    fake_alpaca model(pki().server_options());
    auto o = pki().client_options(model);
    o.url = "https://127.0.0.1:" + std::to_string(dead_port);
    o.max_attempts = 1;
    auto c = client(o);
    log_capture logs;
    for (int i = 0; i < 5; ++i) BOOST_TEST(!c->request(account_request()).has_value());
    const std::string log = logs.text();
    BOOST_TEST(count_of(log, "is unreachable") == 1u, log);
    BOOST_TEST(log.find("cannot connect") != std::string::npos, log);
    BOOST_TEST(c->stats().outages == 1u);
  }
  // Answers 503 on every attempt for a while (unavailable after the retries), then recovers.
  fake_alpaca server(pki().server_options());
  auto o = pki().client_options(server);
  o.max_attempts = 2;
  o.log_name = "alpaca trading (paper)";
  auto c = client(o);
  log_capture logs;
  fault f;
  f.status = 503;
  server.fail_next(6, f);
  for (int i = 0; i < 3; ++i) {
    auto r = c->request(account_request());
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error().code == errc::unavailable);
  }
  for (int i = 0; i < 2; ++i) BOOST_TEST(c->request(account_request()).has_value());
  const std::string log = logs.text();
  BOOST_TEST(
      count_of(log, "alpaca trading (paper): 127.0.0.1:" + std::to_string(server.port()) + " is unreachable") == 1u,
      log);
  BOOST_TEST(count_of(log, "answers again after") == 1u, log);
  BOOST_TEST(log.find("(2 more requests failed meanwhile)") != std::string::npos, log);
  BOOST_TEST(count_of(log, "[warning]") == 1u, log);  // the first request's retry; later ones are debug
  BOOST_TEST(c->stats().outages == 1u);
}
