#include "market/https_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include <spdlog/spdlog.h>

#include "core/calendar.hpp"

namespace tb::market {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------
// pure helpers

std::string redact(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& s : secrets) {
    if (s.empty()) continue;
    std::size_t pos = 0;
    while ((pos = text.find(s, pos)) != std::string::npos) {
      text.replace(pos, s.size(), "***");
      pos += 3;
    }
  }
  return text;
}

token_bucket::token_bucket(double rate_per_s, double burst, time_point start)
    : rate_per_s_(rate_per_s), burst_(burst), tokens_(burst), last_(start) {}

std::chrono::nanoseconds token_bucket::try_take(time_point now) {
  if (now > last_) {
    const double dt = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + dt * rate_per_s_);
    last_ = now;
  }
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return 0ns;
  }
  const double wait_s = (1.0 - tokens_) / rate_per_s_;
  return std::max<std::chrono::nanoseconds>(
      1ns, std::chrono::nanoseconds(static_cast<std::int64_t>(std::ceil(wait_s * 1e9))));
}

std::chrono::milliseconds backoff_delay(const https_options& o, int attempt, double u) {
  const int k = std::max(0, std::min(attempt - 2, 30));
  double d = static_cast<double>(o.backoff_initial.count()) * std::pow(2.0, k);
  d = std::min(d, static_cast<double>(o.backoff_max.count()));
  d *= 1.0 - std::clamp(o.backoff_jitter, 0.0, 1.0) * std::clamp(u, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(std::max(0.0, d))));
}

std::optional<std::chrono::milliseconds> parse_retry_after(const std::string& value,
                                                           std::chrono::system_clock::time_point now) {
  std::string v = value;
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.erase(v.begin());
  if (v.empty()) return std::nullopt;
  if (std::all_of(v.begin(), v.end(), ::isdigit)) {
    if (v.size() > 9) return std::chrono::milliseconds(std::chrono::hours(24 * 365));
    return std::chrono::milliseconds(std::stoll(v) * 1000);
  }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  const auto comma = v.find(", ");
  if (comma == std::string::npos) return std::nullopt;
  char mon[4] = {}, tz[4] = {};
  int day = 0, year = 0, hh = 0, mm = 0, ss = 0;
  if (std::sscanf(v.c_str() + comma + 2, "%2d %3s %4d %2d:%2d:%2d %3s", &day, mon, &year, &hh, &mm, &ss, tz) != 7 ||
      std::string(tz) != "GMT")
    return std::nullopt;
  static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  int month = 0;
  for (int i = 0; i < 12; ++i)
    if (std::string(mon) == months[i]) month = i + 1;
  const core::civil_date d{year, month, day};
  if (month == 0 || !core::is_valid(d) || hh > 23 || mm > 59 || ss > 60) return std::nullopt;
  const std::int64_t at_s = core::days_from_civil(d) * 86400 + hh * 3600 + mm * 60 + ss;
  const std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  return std::chrono::milliseconds(std::max<std::int64_t>(0, at_s * 1000 - now_ms));
}

std::optional<std::string> http_response::header(const std::string& name) const {
  for (const auto& h : headers)
    if (beast::iequals(h.name, name)) return h.value;
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// the client

namespace {

bool is_ip_literal(const std::string& host) {
  beast::error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

// Statuses worth another attempt: 429 and server errors, but not "not implemented" or
// "HTTP version not supported", which will not change.
bool retryable_status(int s) { return s == 429 || (s >= 500 && s != 501 && s != 505); }

// A transport failure: what went wrong and whether another attempt may help.
struct transport_error {
  errc code = errc::unavailable;
  std::string message;
  bool retryable = true;
};

}  // namespace

struct https_client::impl {
  https_options opt;
  base_url url;
  bool tls = true;
  std::string verify_name;  // name or IP the certificate must carry
  std::string host_header;

  net::io_context ioc;
  ssl::context ctx{ssl::context::tls_client};
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls_stream;
  std::unique_ptr<beast::tcp_stream> plain_stream;
  bool connected = false;
  beast::flat_buffer buffer;

  mutable std::mutex mu;
  token_bucket bucket;
  std::mt19937_64 rng;
  https_stats stats;
  // The origin's reachability as the last request found it (mu held): logged on its transitions
  // only, so an outage is one line when it starts and one when it ends, whatever the request rate.
  bool unreachable = false;
  std::chrono::steady_clock::time_point down_since;
  std::uint64_t failed_while_down = 0;

  explicit impl(https_options o, base_url u)
      : opt(std::move(o)),
        url(std::move(u)),
        bucket(opt.rate_per_minute / 60.0, opt.rate_burst, std::chrono::steady_clock::now()),
        rng(opt.jitter_seed ? opt.jitter_seed : std::random_device{}()) {}

  std::string where() const { return url.host + ":" + std::to_string(url.port); }

  // Called with every request's final outcome (mu held). A connection failure, a timeout or a 5xx
  // after every attempt makes the origin unreachable; any HTTP answer makes it reachable again.
  void note_reachability(const tb::expected<http_response>& r) {
    const bool down = !r && (r.error().code == errc::unavailable || r.error().code == errc::timeout);
    if (down && !unreachable) {
      unreachable = true;
      down_since = std::chrono::steady_clock::now();
      failed_while_down = 0;
      ++stats.outages;
      spdlog::error("{}", scrub(opt.log_name + ": " + where() + " is unreachable (" + r.error().message +
                                "); its further failures are not logged until it answers again"));
    } else if (down) {
      ++failed_while_down;
    } else if (r && unreachable) {
      unreachable = false;
      const auto s = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - down_since);
      spdlog::info("{}: {} answers again after {} s unreachable ({} more requests failed meanwhile)", opt.log_name,
                   where(), s.count(), failed_while_down);
    }
  }
  std::string scrub(const std::string& s) const { return redact(s, opt.secrets); }

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls_stream) : *plain_stream; }

  // Runs the io_context until the started operation (and anything it spawned) completes.
  template <class Start>
  beast::error_code run(Start&& start) {
    beast::error_code result = net::error::would_block;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
  }

  void close() {
    if (tls_stream) {
      beast::error_code ec;
      beast::get_lowest_layer(*tls_stream).socket().close(ec);
    }
    if (plain_stream) {
      beast::error_code ec;
      plain_stream->socket().close(ec);
    }
    tls_stream.reset();
    plain_stream.reset();
    connected = false;
    buffer.clear();
  }

  std::optional<transport_error> connect() {
    close();
    // Resolve under the connect deadline (a hung resolver is cancelled by the timer).
    tcp::resolver resolver(ioc);
    net::steady_timer timer(ioc);
    tcp::resolver::results_type results;
    beast::error_code rec = net::error::would_block;
    bool timed_out = false;
    resolver.async_resolve(url.host, std::to_string(url.port),
                           [&](beast::error_code ec, tcp::resolver::results_type r) {
                             rec = ec;
                             results = std::move(r);
                             timer.cancel();
                           });
    timer.expires_after(opt.connect_timeout);
    timer.async_wait([&](beast::error_code ec) {
      if (!ec) {
        timed_out = true;
        resolver.cancel();
      }
    });
    ioc.restart();
    ioc.run();
    if (timed_out) {
      ++stats.timeouts;
      return transport_error{errc::timeout, "resolving " + where() + " timed out", true};
    }
    if (rec) return transport_error{errc::unavailable, "cannot resolve " + where() + ": " + rec.message(), true};

    if (tls) {
      tls_stream = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc, ctx);
    } else {
      plain_stream = std::make_unique<beast::tcp_stream>(ioc);
    }
    lowest().expires_after(opt.connect_timeout);
    const auto started = std::chrono::steady_clock::now();
    beast::error_code ec = run([&](auto&& h) { lowest().async_connect(results, h); });
    if (ec) {
      close();
      if (ec == beast::error::timeout) {
        ++stats.timeouts;
        return transport_error{errc::timeout, "connecting to " + where() + " timed out", true};
      }
      return transport_error{errc::unavailable, "cannot connect to " + where() + ": " + ec.message(), true};
    }
    if (tls) {
      SSL* ssl_handle = tls_stream->native_handle();
      if (is_ip_literal(verify_name)) {
        // No SNI for an IP; verify the IP SAN.
        X509_VERIFY_PARAM* param = SSL_get0_param(ssl_handle);
        X509_VERIFY_PARAM_set1_ip_asc(param, verify_name.c_str());
      } else {
        SSL_set_tlsext_host_name(ssl_handle, verify_name.c_str());
        SSL_set_hostflags(ssl_handle, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        SSL_set1_host(ssl_handle, verify_name.c_str());
      }
      // The handshake gets what is left of the connect deadline.
      const auto left = opt.connect_timeout - std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  std::chrono::steady_clock::now() - started);
      lowest().expires_after(std::max<std::chrono::milliseconds>(left, 1ms));
      ec = run([&](auto&& h) { tls_stream->async_handshake(ssl::stream_base::client, h); });
      if (ec) {
        const long vr = SSL_get_verify_result(ssl_handle);
        std::string detail = ec.message();
        bool verify_failed = false;
        if (vr != X509_V_OK) {
          detail = std::string("certificate verification failed: ") + X509_verify_cert_error_string(vr);
          verify_failed = true;
        }
        close();
        if (ec == beast::error::timeout) {
          ++stats.timeouts;
          return transport_error{errc::timeout, "TLS handshake with " + where() + " timed out", true};
        }
        return transport_error{errc::unavailable,
                               "TLS handshake with " + where() + " (expecting '" + verify_name + "') failed: " + detail,
                               !verify_failed};
      }
    }
    ++stats.connects;
    connected = true;
    return std::nullopt;
  }

  // One request/response on the current connection (connecting first when needed). On a reused
  // connection that the server closed meanwhile, reconnects once and resends.
  tb::expected<http_response> exchange(const http_request& req, transport_error& terr) {
    http::request<http::string_body> r;
    r.method(http::string_to_verb(req.method));
    r.target(req.target);
    r.version(11);
    r.set(http::field::host, host_header);
    r.set(http::field::user_agent, opt.user_agent);
    r.set(http::field::accept, "application/json");
    for (const auto& h : req.headers) r.set(h.name, h.value);
    if (!req.body.empty()) r.set(http::field::content_type, "application/json");
    r.body() = req.body;
    r.keep_alive(true);
    r.prepare_payload();

    for (int pass = 0; pass < 2; ++pass) {
      const bool reused = connected;
      if (!connected) {
        if (auto e = connect()) {
          terr = *e;
          return tb::error{terr.code, terr.message};
        }
      }
      ++stats.attempts;
      lowest().expires_after(opt.io_timeout);
      beast::error_code ec = run([&](auto&& h) {
        if (tls)
          http::async_write(*tls_stream, r, h);
        else
          http::async_write(*plain_stream, r, h);
      });
      http::response_parser<http::string_body> parser;
      parser.body_limit(opt.max_body_bytes);
      parser.header_limit(64 * 1024);
      if (!ec) {
        lowest().expires_after(opt.io_timeout);
        ec = run([&](auto&& h) {
          if (tls)
            http::async_read(*tls_stream, buffer, parser, h);
          else
            http::async_read(*plain_stream, buffer, parser, h);
        });
      }
      if (ec) {
        const bool stale =
            reused && pass == 0 &&
            (ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
             ec == net::error::broken_pipe || ec == ssl::error::stream_truncated);
        close();
        if (stale) continue;  // the server dropped an idle kept-alive connection: resend once
        if (ec == beast::error::timeout) {
          ++stats.timeouts;
          terr = {errc::timeout,
                  req.method + " " + req.target + " to " + where() + " timed out after " +
                      std::to_string(opt.io_timeout.count()) + " ms",
                  true};
        } else if (ec == http::error::body_limit) {
          terr = {
              errc::bad_data,
              req.method + " " + req.target + ": response body over " + std::to_string(opt.max_body_bytes) + " bytes",
              false};
        } else {
          terr = {errc::unavailable, req.method + " " + req.target + " to " + where() + " failed: " + ec.message(),
                  true};
        }
        return tb::error{terr.code, terr.message};
      }
      auto res = parser.release();
      http_response out;
      out.status = static_cast<int>(res.result_int());
      out.body = std::move(res.body());
      for (const auto& f : res) out.headers.push_back({std::string(f.name_string()), std::string(f.value())});
      if (!res.keep_alive()) close();
      return out;
    }
    terr = {errc::unavailable, "connection to " + where() + " closed twice", true};
    return tb::error{terr.code, terr.message};
  }

  void throttle() {
    for (;;) {
      const auto wait = bucket.try_take(std::chrono::steady_clock::now());
      if (wait == 0ns) return;
      ++stats.throttle_waits;
      std::this_thread::sleep_for(wait);  // pacing is the behaviour, not synchronisation
    }
  }

  // How long the server asked us to wait, from Retry-After or Alpaca's X-RateLimit-Reset (epoch
  // seconds).
  std::optional<std::chrono::milliseconds> server_delay(const http_response& res) const {
    const auto now = std::chrono::system_clock::now();
    if (auto ra = res.header("Retry-After")) {
      if (auto d = parse_retry_after(*ra, now)) return d;
    }
    if (res.status == 429) {
      if (auto reset = res.header("X-RateLimit-Reset")) {
        if (!reset->empty() && reset->size() < 15 && std::all_of(reset->begin(), reset->end(), ::isdigit)) {
          const std::int64_t at_ms = std::stoll(*reset) * 1000;
          const std::int64_t now_ms =
              std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
          return std::chrono::milliseconds(std::max<std::int64_t>(0, at_ms - now_ms));
        }
      }
    }
    return std::nullopt;
  }

  tb::expected<http_response> request(const http_request& req) {
    std::uniform_real_distribution<double> uni(0.0, 1.0);
    const std::string what = req.method + " " + url.host + req.target;
    for (int attempt = 1;; ++attempt) {
      if (attempt > 1) ++stats.retries;
      throttle();
      transport_error terr;
      auto res = exchange(req, terr);
      std::chrono::milliseconds delay = backoff_delay(opt, attempt + 1, uni(rng));
      std::string reason;
      if (!res) {
        if (!terr.retryable || attempt >= opt.max_attempts) {
          return tb::error{terr.code, scrub(opt.log_name + ": " + terr.message +
                                            (attempt > 1 ? " (after " + std::to_string(attempt) + " attempts)" : ""))};
        }
        reason = terr.message;
      } else {
        res->attempts = attempt;
        if (!retryable_status(res->status)) return res;
        const bool limited = res->status == 429;
        if (limited)
          ++stats.rate_limited;
        else
          ++stats.server_errors;
        std::string excerpt = res->body.substr(0, 200);
        for (auto& c : excerpt)
          if (c == '\n' || c == '\r') c = ' ';
        const std::string status_text =
            "HTTP " + std::to_string(res->status) + (excerpt.empty() ? "" : " '" + excerpt + "'");
        const auto asked = server_delay(*res);
        if (asked && *asked > opt.max_retry_after) {
          return tb::error{errc::overloaded,
                           scrub(opt.log_name + ": " + what + " answered " + status_text + " and asks to wait " +
                                 std::to_string(asked->count()) + " ms, over max_retry_after (" +
                                 std::to_string(opt.max_retry_after.count()) + " ms)")};
        }
        if (attempt >= opt.max_attempts) {
          return tb::error{limited ? errc::overloaded : errc::unavailable,
                           scrub(opt.log_name + ": " + what + " answered " + status_text + "; giving up after " +
                                 std::to_string(attempt) + " attempts")};
        }
        if (asked) delay = std::max(delay, *asked);
        reason = status_text;
      }
      // While the origin is known to be unreachable, retries are debug lines (its outage was logged).
      spdlog::log(unreachable ? spdlog::level::debug : spdlog::level::warn, "{}",
                  scrub(opt.log_name + ": " + what + ": " + reason + "; attempt " + std::to_string(attempt) + "/" +
                        std::to_string(opt.max_attempts) + ", retrying in " + std::to_string(delay.count()) + " ms"));
      std::this_thread::sleep_for(delay);  // backoff is the behaviour under test, not synchronisation
    }
  }
};

tb::expected<std::unique_ptr<https_client>> https_client::create(https_options o) {
  auto u = parse_base_url(o.url);
  if (!u) return u.error();
  const auto bad = [](const std::string& m) { return tb::error{errc::bad_config, "https_client: " + m}; };
  if (o.max_attempts < 1 || o.max_attempts > 20) return bad("max_attempts must be in 1..20");
  if (!(o.rate_per_minute > 0)) return bad("rate_per_minute must be > 0");
  if (!(o.rate_burst >= 1)) return bad("rate_burst must be >= 1");
  if (o.connect_timeout <= 0ms || o.io_timeout <= 0ms) return bad("timeouts must be > 0");
  if (o.backoff_initial < 0ms || o.backoff_max < o.backoff_initial)
    return bad("backoff_max must be >= backoff_initial >= 0");
  if (!(o.backoff_jitter >= 0 && o.backoff_jitter <= 1)) return bad("backoff_jitter must be in 0..1");
  if (o.max_retry_after < 0ms) return bad("max_retry_after must be >= 0");
  if (o.max_body_bytes < 1024) return bad("max_body_bytes must be >= 1024");
  const bool tls = u->scheme == "https";
  if (!tls && !(o.allow_plain_http_loopback && u->host == "127.0.0.1"))
    return bad("plain http is only allowed to 127.0.0.1 with allow_plain_http_loopback (got " + o.url + ")");

  auto p = std::make_unique<impl>(std::move(o), *u);
  p->tls = tls;
  p->verify_name = p->opt.tls_server_name.empty() ? p->url.host : p->opt.tls_server_name;
  const bool default_port = (tls && p->url.port == 443) || (!tls && p->url.port == 80);
  p->host_header = p->verify_name + (default_port ? "" : ":" + std::to_string(p->url.port));
  if (tls) {
    beast::error_code ec;
    p->ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    p->ctx.set_verify_mode(ssl::verify_peer, ec);
    if (p->opt.ca_file.empty()) {
      p->ctx.set_default_verify_paths(ec);
      if (ec) return bad("cannot load the system CA store: " + ec.message());
    } else {
      if (!std::ifstream(p->opt.ca_file)) return bad("cannot read ca_file " + p->opt.ca_file);
      p->ctx.load_verify_file(p->opt.ca_file, ec);
      if (ec) return bad("cannot load ca_file " + p->opt.ca_file + ": " + ec.message());
    }
  }
  return std::unique_ptr<https_client>(new https_client(std::move(p)));
}

https_client::https_client(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
https_client::~https_client() {
  if (impl_) impl_->close();
}

tb::expected<http_response> https_client::request(const http_request& req) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  tb::expected<http_response> r = tb::error{errc::internal, ""};
  try {
    r = impl_->request(req);
  } catch (const std::exception& e) {
    impl_->close();
    r = tb::error{errc::internal,
                  impl_->scrub(impl_->opt.log_name + ": " + req.method + " " + req.target + ": " + e.what())};
  }
  impl_->note_reachability(r);
  return r;
}

https_stats https_client::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->stats;
}

const https_options& https_client::options() const { return impl_->opt; }

}  // namespace tb::market
