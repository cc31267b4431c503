#include "tests/support/fake_alpaca.hpp"

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cmath>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <thread>

#include "core/clock.hpp"
#include "market/alpaca.hpp"
#include "market/symbols.hpp"

namespace tb::test {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using json = nlohmann::json;

namespace {

std::string url_decode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::map<std::string, std::string> parse_query(const std::string& q) {
  std::map<std::string, std::string> out;
  std::size_t pos = 0;
  while (pos < q.size()) {
    std::size_t amp = q.find('&', pos);
    if (amp == std::string::npos) amp = q.size();
    const std::string kv = q.substr(pos, amp - pos);
    const auto eq = kv.find('=');
    if (eq != std::string::npos) out[url_decode(kv.substr(0, eq))] = url_decode(kv.substr(eq + 1));
    pos = amp + 1;
  }
  return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  for (;;) {
    const auto next = s.find(sep, pos);
    out.push_back(s.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
    if (next == std::string::npos) break;
    pos = next + 1;
  }
  return out;
}

std::string iso(std::int64_t s) { return core::to_iso8601(core::from_unix_seconds(s)); }
std::string now_iso() { return core::to_iso8601(core::wall_clock().now()); }
std::string dec(double v) { return market::format_decimal(v, 9); }

struct reply {
  int status = 200;
  std::string body;
  std::string retry_after;
  std::chrono::milliseconds delay{0};
  reply(int s = 200, std::string b = {}, std::string ra = {}, std::chrono::milliseconds d = {})
      : status(s), body(std::move(b)), retry_after(std::move(ra)), delay(d) {}
};

reply error_reply(int status, int code, const std::string& message) {
  return {status, json{{"code", code}, {"message", message}}.dump()};
}

struct fake_order {
  json j;  // as Alpaca renders it
};

}  // namespace

struct fake_alpaca::impl {
  options opt;
  net::io_context ioc;
  ssl::context ctx{ssl::context::tls_server};
  tcp::acceptor acceptor{ioc};
  std::thread thread;
  std::uint16_t port = 0;

  mutable std::mutex mu;  // guards everything below
  std::map<std::string, std::vector<core::bar>> bars;
  std::map<std::string, std::pair<double, double>> quotes;
  std::vector<json> positions;
  std::vector<std::string> order_ids;  // submission order
  std::map<std::string, json> orders;  // by id
  std::map<std::string, std::string> by_client_id;
  std::deque<fault> faults;
  std::vector<seen_request> seen;
  std::size_t connections = 0;
  std::uint64_t next_id = 1;
  bool asynchronous_cancels = false;

  // ---- routing (pure on the state; caller holds mu) ----

  reply handle(const http::request<http::string_body>& req) {
    const std::string target(req.target());
    const auto qpos = target.find('?');
    const std::string path = target.substr(0, qpos);
    const auto q = parse_query(qpos == std::string::npos ? "" : target.substr(qpos + 1));
    const std::string key(req["APCA-API-KEY-ID"]);
    const std::string secret(req["APCA-API-SECRET-KEY"]);
    const bool authorized = key == opt.key_id && secret == opt.secret_key;
    seen.push_back(
        {std::string(req.method_string()), target, req.body(), authorized, std::chrono::steady_clock::now()});

    std::optional<fault> f;
    if (!faults.empty()) {
      f = faults.front();
      faults.pop_front();
    }
    if (f && f->status > 0) return {f->status, f->body, f->retry_after, f->delay};
    if (!authorized)  // a verbose server that echoes the key it got: clients must scrub it
      return error_reply(401, 40110000, "request is not authorized: key '" + key + "' rejected");

    reply r = route(req.method(), path, q, req.body());
    if (f) r.delay = f->delay;
    return r;
  }

  reply route(http::verb m, const std::string& path, const std::map<std::string, std::string>& q,
              const std::string& body) {
    if (m == http::verb::get && path == "/v2/stocks/bars") return get_bars(q, false);
    if (m == http::verb::get && path == "/v1beta3/crypto/us/bars") return get_bars(q, true);
    if (m == http::verb::get && path == "/v2/stocks/quotes/latest") return get_quotes(q, false);
    if (m == http::verb::get && path == "/v1beta3/crypto/us/latest/quotes") return get_quotes(q, true);
    if (m == http::verb::get && path == "/v2/account") return get_account();
    if (m == http::verb::get && path == "/v2/positions") return {200, json(positions).dump()};
    if (m == http::verb::post && path == "/v2/orders") return post_order(body);
    if (m == http::verb::get && path == "/v2/orders") return list_orders(q);
    if (m == http::verb::get && path == "/v2/orders:by_client_order_id") {
      const auto it = q.find("client_order_id");
      if (it == q.end()) return error_reply(422, 40010000, "client_order_id is missing");
      const auto o = by_client_id.find(it->second);
      if (o == by_client_id.end()) return error_reply(404, 40410000, "order not found");
      return {200, orders.at(o->second).dump()};
    }
    const std::string prefix = "/v2/orders/";
    if (path.rfind(prefix, 0) == 0) {
      const std::string id = path.substr(prefix.size());
      const auto o = orders.find(id);
      if (o == orders.end()) return error_reply(404, 40410000, "order not found");
      if (m == http::verb::get) return {200, o->second.dump()};
      if (m == http::verb::delete_) {
        const std::string st = o->second["status"].get<std::string>();
        if (!is_open(st) || st == "pending_cancel") return error_reply(422, 42210000, "order is not cancelable");
        if (asynchronous_cancels) {
          o->second["status"] = "pending_cancel";
        } else {
          o->second["status"] = "canceled";
          o->second["canceled_at"] = now_iso();
        }
        o->second["updated_at"] = now_iso();
        return {204, ""};
      }
    }
    return error_reply(404, 40410000, "endpoint not found");
  }

  static bool is_open(const std::string& st) {
    return st == "new" || st == "accepted" || st == "pending_new" || st == "partially_filled" || st == "pending_cancel";
  }

  reply get_bars(const std::map<std::string, std::string>& q, bool crypto) {
    const auto get = [&](const char* k) -> std::string {
      const auto it = q.find(k);
      return it == q.end() ? std::string() : it->second;
    };
    if (get("symbols").empty()) return error_reply(400, 40010001, "symbols is required");
    if (get("timeframe").empty()) return error_reply(400, 40010001, "timeframe is required");
    if (!crypto && get("feed") != "iex" && get("feed") != "sip") return error_reply(400, 40010001, "invalid feed");
    const auto syms = split(get("symbols"), ',');
    for (const auto& s : syms)
      if (crypto != (s.find('/') != std::string::npos)) return error_reply(400, 40010001, "invalid symbol: " + s);
    std::int64_t start = std::numeric_limits<std::int64_t>::min(), end = std::numeric_limits<std::int64_t>::max();
    if (!get("start").empty()) {
      auto t = market::parse_rfc3339(get("start"));
      if (!t) return error_reply(400, 40010001, "invalid start");
      start = core::to_unix_seconds(*t);
    }
    if (!get("end").empty()) {
      auto t = market::parse_rfc3339(get("end"));
      if (!t) return error_reply(400, 40010001, "invalid end");
      end = core::to_unix_seconds(*t);
    }
    const long limit = get("limit").empty() ? 1000 : std::stol(get("limit"));
    if (limit < 1 || limit > 10000) return error_reply(422, 42210000, "invalid limit");
    const bool desc = get("sort") == "desc";
    // Every matching (symbol, bar), symbol-major as Alpaca pages them.
    std::vector<std::pair<std::string, core::bar>> all;
    for (const auto& s : syms) {
      const auto it = bars.find(s);
      if (it == bars.end()) continue;
      std::vector<core::bar> bs;
      for (const auto& b : it->second)
        if (b.time_s >= start && b.time_s <= end) bs.push_back(b);
      if (desc) std::reverse(bs.begin(), bs.end());
      for (const auto& b : bs) all.push_back({s, b});
    }
    std::size_t offset = 0;
    if (!get("page_token").empty()) {
      const std::string t = get("page_token");
      if (t.rfind("pg-", 0) != 0) return error_reply(400, 40010001, "invalid page_token");
      offset = std::stoul(t.substr(3));
    }
    json out = {{"bars", json::object()}, {"next_page_token", nullptr}};
    const std::size_t stop = std::min(all.size(), offset + static_cast<std::size_t>(limit));
    for (std::size_t i = offset; i < stop; ++i) {
      const auto& b = all[i].second;
      out["bars"][all[i].first].push_back({{"t", iso(b.time_s)},
                                           {"o", b.open},
                                           {"h", b.high},
                                           {"l", b.low},
                                           {"c", b.close},
                                           {"v", b.volume},
                                           {"n", 10},
                                           {"vw", b.volume > 0 ? b.amount / b.volume : b.close}});
    }
    if (stop < all.size()) out["next_page_token"] = "pg-" + std::to_string(stop);
    if (crypto) out["currency"] = nullptr;
    return {200, out.dump()};
  }

  reply get_quotes(const std::map<std::string, std::string>& q, bool crypto) {
    const auto it = q.find("symbols");
    if (it == q.end()) return error_reply(400, 40010001, "symbols is required");
    json out = {{"quotes", json::object()}};
    for (const auto& s : split(it->second, ',')) {
      if (crypto != (s.find('/') != std::string::npos)) return error_reply(400, 40010001, "invalid symbol: " + s);
      const auto qt = quotes.find(s);
      if (qt == quotes.end()) continue;
      json j = {{"t", now_iso()}, {"bp", qt->second.first}, {"bs", 1.5}, {"ap", qt->second.second}, {"as", 2.0}};
      if (!crypto) {
        j["bx"] = "V";
        j["ax"] = "V";
        j["c"] = {"R"};
        j["z"] = "C";
      }
      out["quotes"][s] = j;
    }
    return {200, out.dump()};
  }

  reply get_account() {
    double reserved = 0, value = 0;
    for (const auto& id : order_ids) {
      const json& o = orders.at(id);
      if (is_open(o["status"]) && o["side"] == "buy")
        reserved += std::stod(o["qty"].get<std::string>()) * std::stod(o["limit_price"].get<std::string>());
    }
    for (const auto& p : positions) value += std::stod(p["market_value"].get<std::string>());
    json a = {{"id", "a1b2c3d4-0000-4000-8000-000000000001"},
              {"account_number", "PA3TESTFAKE"},
              {"status", "ACTIVE"},
              {"currency", "USD"},
              {"cash", dec(opt.cash)},
              {"equity", dec(opt.cash + value)},
              {"portfolio_value", dec(opt.cash + value)},
              {"buying_power", dec(opt.cash - reserved)},
              {"pattern_day_trader", false},
              {"trading_blocked", false}};
    return {200, a.dump()};
  }

  reply post_order(const std::string& body) {
    json in;
    try {
      in = json::parse(body);
    } catch (const std::exception&) {
      return error_reply(400, 40010001, "request body format is invalid");
    }
    const auto s = [&](const char* k) { return in.contains(k) && in[k].is_string() ? in[k].get<std::string>() : ""; };
    const std::string symbol = s("symbol"), side = s("side"), type = s("type"), tif = s("time_in_force");
    if (symbol.empty()) return error_reply(422, 40010001, "symbol is required");
    if (side != "buy" && side != "sell") return error_reply(422, 40010001, "invalid side");
    if (type != "limit") return error_reply(422, 40010001, "only limit orders in this fake");
    if (tif != "day" && tif != "gtc" && tif != "ioc" && tif != "fok")
      return error_reply(422, 40010001, "invalid time_in_force");
    if (s("qty").empty() || s("limit_price").empty())
      return error_reply(422, 40010001, "qty and limit_price are required strings");
    const double qty = std::stod(s("qty"));
    const std::string lp = s("limit_price");
    const double limit = std::stod(lp);
    const bool crypto = symbol.find('/') != std::string::npos;
    if (!crypto && market::is_crypto(symbol)) return error_reply(422, 40010001, "crypto symbols are written BASE/USD");
    if (crypto && tif != "gtc" && tif != "ioc") return error_reply(422, 42210000, "invalid crypto time_in_force");
    if (!crypto && qty != std::floor(qty) && tif != "day")
      return error_reply(422, 42210000, "fractional orders must be DAY orders");
    const auto dot = lp.find('.');
    const std::size_t decimals = dot == std::string::npos ? 0 : lp.size() - dot - 1;
    if (!crypto && ((limit >= 1 && decimals > 2) || decimals > 4))
      return error_reply(
          422, 42210000,
          "invalid limit_price " + lp + ". sub-penny increment does not fulfill minimum pricing criteria");
    std::string cid = s("client_order_id");
    if (cid.size() > 128) return error_reply(422, 40010001, "client_order_id is too long");
    if (cid.empty()) cid = "auto-" + std::to_string(next_id);
    if (by_client_id.count(cid)) return error_reply(422, 40010001, "client_order_id must be unique");
    char id[64];
    std::snprintf(id, sizeof id, "61e69015-8549-4bfd-b9c3-%012llu", static_cast<unsigned long long>(next_id++));
    const std::string now = now_iso();
    json o = {{"id", id},
              {"client_order_id", cid},
              {"created_at", now},
              {"updated_at", now},
              {"submitted_at", now},
              {"filled_at", nullptr},
              {"canceled_at", nullptr},
              {"asset_class", crypto ? "crypto" : "us_equity"},
              {"symbol", symbol},
              {"notional", nullptr},
              {"qty", s("qty")},
              {"filled_qty", "0"},
              {"filled_avg_price", nullptr},
              {"order_class", ""},
              {"order_type", "limit"},
              {"type", "limit"},
              {"side", side},
              {"time_in_force", tif},
              {"limit_price", lp},
              {"stop_price", nullptr},
              {"status", "accepted"},
              {"extended_hours", false}};
    orders[id] = o;
    order_ids.push_back(id);
    by_client_id[cid] = id;
    return {200, o.dump()};
  }

  reply list_orders(const std::map<std::string, std::string>& q) {
    const auto it = q.find("status");
    const std::string want = it == q.end() ? "open" : it->second;
    json out = json::array();
    for (const auto& id : order_ids) {
      const json& o = orders.at(id);
      const bool open = is_open(o["status"]);
      if (want == "all" || (want == "open" && open) || (want == "closed" && !open)) out.push_back(o);
    }
    return {200, out.dump()};
  }

  // ---- networking ----

  template <class Stream>
  struct session : std::enable_shared_from_this<session<Stream>> {
    impl* owner;  // outlives every session: ~fake_alpaca stops the io thread before the state goes
    Stream stream;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::response<http::string_body> res;
    net::steady_timer timer;

    template <class... Args>
    session(impl* o, Args&&... args) : owner(o), stream(std::forward<Args>(args)...), timer(owner->ioc) {}

    beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream); }

    void start_tls() {
      lowest().expires_after(std::chrono::seconds(10));
      stream.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        if (!ec) self->read();  // a client that refuses our certificate just goes away
      });
    }

    void read() {
      req = {};
      lowest().expires_after(std::chrono::seconds(30));
      http::async_read(stream, buffer, req, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec) return;  // closed, timed out or garbage: drop the connection
        self->respond();
      });
    }

    void respond() {
      reply r;
      {
        std::lock_guard<std::mutex> lock(owner->mu);
        r = owner->handle(req);
      }
      res = {};
      res.version(11);
      res.result(static_cast<unsigned>(r.status));
      res.set(http::field::server, "fake-alpaca");
      if (r.status != 204) res.set(http::field::content_type, "application/json");
      if (!r.retry_after.empty()) res.set(http::field::retry_after, r.retry_after);
      res.set("X-RateLimit-Limit", "200");
      res.keep_alive(req.keep_alive());
      res.body() = r.body;
      res.prepare_payload();
      if (r.delay.count() > 0) {
        timer.expires_after(r.delay);
        timer.async_wait([self = this->shared_from_this()](beast::error_code) { self->write(); });
      } else {
        write();
      }
    }

    void write() {
      lowest().expires_after(std::chrono::seconds(30));
      http::async_write(stream, res, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec) return;
        if (self->res.keep_alive())
          self->read();
        else {
          beast::error_code ignored;
          self->lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
        }
      });
    }
  };

  void accept() {
    acceptor.async_accept([self = this](beast::error_code ec, tcp::socket sock) {
      if (ec) return;  // acceptor closed: the server is stopping
      {
        std::lock_guard<std::mutex> lock(self->mu);
        ++self->connections;
      }
      if (self->opt.tls) {
        auto s = std::make_shared<session<beast::ssl_stream<beast::tcp_stream>>>(self, std::move(sock), self->ctx);
        s->start_tls();
      } else {
        auto s = std::make_shared<session<beast::tcp_stream>>(self, std::move(sock));
        s->read();
      }
      self->accept();
    });
  }
};

fake_alpaca::fake_alpaca(options o) : impl_(std::make_unique<impl>()) {
  impl_->opt = std::move(o);
  if (impl_->opt.tls) {
    impl_->ctx.use_certificate_chain_file(impl_->opt.cert_file);
    impl_->ctx.use_private_key_file(impl_->opt.key_file, ssl::context::pem);
  }
  const tcp::endpoint ep(net::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(net::socket_base::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->accept();
  impl_->thread = std::thread([p = impl_.get()] { p->ioc.run(); });
}

fake_alpaca::~fake_alpaca() {
  impl_->ioc.stop();
  impl_->thread.join();
  beast::error_code ec;
  impl_->acceptor.close(ec);
  // The io_context dies with impl_, destroying the pending handlers and the sessions they own.
}

std::uint16_t fake_alpaca::port() const { return impl_->port; }
std::string fake_alpaca::url() const {
  return std::string(impl_->opt.tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(impl_->port);
}

void fake_alpaca::add_bars(const std::string& symbol, const std::vector<core::bar>& bars) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto& v = impl_->bars[symbol];
  v.insert(v.end(), bars.begin(), bars.end());
  std::sort(v.begin(), v.end(), [](const core::bar& a, const core::bar& b) { return a.time_s < b.time_s; });
}

void fake_alpaca::set_quote(const std::string& symbol, double bid, double ask) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->quotes[symbol] = {bid, ask};
}

void fake_alpaca::set_position(const std::string& symbol, double qty, double avg, double price) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const bool crypto = symbol.find('/') != std::string::npos || market::is_crypto(symbol);
  std::string sym = symbol;
  sym.erase(std::remove(sym.begin(), sym.end(), '/'), sym.end());  // Alpaca lists BTCUSD
  json p = {{"asset_id", "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415"},
            {"symbol", sym},
            {"exchange", crypto ? "CRYPTO" : "NASDAQ"},
            {"asset_class", crypto ? "crypto" : "us_equity"},
            {"qty", dec(qty)},
            {"side", qty < 0 ? "short" : "long"},
            {"avg_entry_price", dec(avg)},
            {"market_value", dec(qty * price)},
            {"cost_basis", dec(qty * avg)},
            {"current_price", dec(price)},
            {"unrealized_pl", dec(qty * (price - avg))}};
  impl_->positions.push_back(p);
}

bool fake_alpaca::fill(const std::string& order_id, double price, double qty) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const auto it = impl_->orders.find(order_id);
  if (it == impl_->orders.end() || !impl::is_open(it->second["status"])) return false;
  const bool partial = qty > 0 && qty < std::stod(it->second["qty"].get<std::string>());
  it->second["status"] = partial ? "partially_filled" : "filled";
  it->second["filled_qty"] = partial ? json(dec(qty)) : it->second["qty"];
  it->second["filled_avg_price"] = dec(price);
  if (!partial) it->second["filled_at"] = now_iso();
  it->second["updated_at"] = now_iso();
  return true;
}

void fake_alpaca::set_asynchronous_cancels(bool on) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->asynchronous_cancels = on;
}

void fake_alpaca::settle_cancels() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (auto& [id, o] : impl_->orders)
    if (o["status"] == "pending_cancel") {
      o["status"] = "canceled";
      o["canceled_at"] = now_iso();
      o["updated_at"] = now_iso();
    }
}

void fake_alpaca::fail_next(int n, const fault& f) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (int i = 0; i < n; ++i) impl_->faults.push_back(f);
}

std::vector<seen_request> fake_alpaca::requests() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->seen;
}

std::size_t fake_alpaca::request_count() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->seen.size();
}

std::size_t fake_alpaca::connection_count() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->connections;
}

}  // namespace tb::test
