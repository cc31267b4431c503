#include "market/alpaca.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include <spdlog/spdlog.h>

#include "core/calendar.hpp"
#include "core/credentials.hpp"
#include "core/text.hpp"
#include "market/symbols.hpp"

namespace tb::market {

using json = nlohmann::json;
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------
// credentials

tb::expected<alpaca_credentials> load_alpaca_credentials(const env_lookup& env) {
  const auto bad = [](const std::string& m) { return tb::error{errc::bad_config, "alpaca credentials: " + m}; };
  if (const auto key_path = core::credential_path("alpaca_key_id", env)) {
    const auto key = core::read_secret_file(*key_path);
    const auto secret = core::read_secret_file(*core::credential_path("alpaca_secret_key", env));
    if (key && secret) {
      if (!core::clean_secret(*key) || !core::clean_secret(*secret))
        return bad(
            "$CREDENTIALS_DIRECTORY/alpaca_key_id or alpaca_secret_key is empty or holds "
            "whitespace or control characters");
      return alpaca_credentials(*key, *secret);
    }
    if (key || secret)
      return bad(std::string("$CREDENTIALS_DIRECTORY has ") + (key ? "alpaca_key_id" : "alpaca_secret_key") +
                 " but not " + (key ? "alpaca_secret_key" : "alpaca_key_id"));
  }
  const auto key = env("APCA_API_KEY_ID");
  const auto secret = env("APCA_API_SECRET_KEY");
  if (!key && !secret)
    return bad(
        "none found: set APCA_API_KEY_ID and APCA_API_SECRET_KEY, or provide the systemd "
        "credentials alpaca_key_id and alpaca_secret_key (LoadCredential=)");
  if (!key || !secret) return bad(std::string(key ? "APCA_API_SECRET_KEY" : "APCA_API_KEY_ID") + " is not set");
  const std::string k = core::trim(*key), s = core::trim(*secret);
  if (!core::clean_secret(k) || !core::clean_secret(s))
    return bad("APCA_API_KEY_ID or APCA_API_SECRET_KEY is empty or holds whitespace or control characters");
  return alpaca_credentials(k, s);
}

tb::expected<alpaca_credentials> load_alpaca_credentials() {
  return load_alpaca_credentials([](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  });
}

// ---------------------------------------------------------------------------------------------
// symbols, ticks, formatting

std::string to_alpaca_symbol(const std::string& symbol) {
  std::string up = upper_case(symbol);
  if (!is_crypto(up) || up.find('/') != std::string::npos) return up;
  return up.substr(0, up.size() - 3) + "/USD";
}

std::string from_alpaca_symbol(const std::string& symbol) {
  std::string out;
  out.reserve(symbol.size());
  for (char c : symbol)
    if (c != '/') out.push_back(c);
  return upper_case(out);
}

std::string format_decimal(double v, int max_decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", std::clamp(max_decimals, 0, 12), v);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

tb::expected<core::time_point> parse_rfc3339(const std::string& s) {
  const auto bad = [&] { return tb::error{errc::bad_data, "not an RFC 3339 time: '" + s + "'"}; };
  int y, mo, d, h, mi, sec;
  int n = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19) return bad();
  const core::civil_date date{y, mo, d};
  if (!core::is_valid(date) || h > 23 || mi > 59 || sec > 60) return bad();
  std::size_t i = 19;
  std::int64_t frac_ns = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int digits = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      if (digits < 9) frac_ns = frac_ns * 10 + (s[i] - '0');
      ++digits;
      ++i;
    }
    if (digits == 0) return bad();
    for (int k = std::min(digits, 9); k < 9; ++k) frac_ns *= 10;
  }
  std::int64_t offset_s = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (i + 6 > s.size() || std::sscanf(s.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2 || s[i + 3] != ':') return bad();
    offset_s = (s[i] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    i += 6;
  } else {
    return bad();
  }
  if (i != s.size()) return bad();
  const std::int64_t secs = core::days_from_civil(date) * 86400 + h * 3600 + mi * 60 + sec - offset_s;
  return core::time_point(std::chrono::seconds(secs) + std::chrono::nanoseconds(frac_ns));
}

order_status map_alpaca_order_status(const std::string& st) {
  if (st == "filled") return order_status::filled;
  if (st == "canceled" || st == "replaced" || st == "rejected" || st == "stopped" || st == "suspended")
    return order_status::canceled;
  if (st == "expired") return order_status::expired;
  return order_status::open;
}

// ---------------------------------------------------------------------------------------------
// shared plumbing

namespace {

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::string query(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string q;
  for (const auto& [k, v] : params) {
    q += q.empty() ? "?" : "&";
    q += k + "=" + url_encode(v);
  }
  return q;
}

// A number Alpaca sends as a JSON string ("123.45") or a number; `fallback` for null/missing.
tb::expected<double> num(const json& obj, const char* key, std::optional<double> fallback = std::nullopt) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (fallback) return *fallback;
    return tb::error{errc::bad_data, std::string("missing field '") + key + "'"};
  }
  if (it->is_number()) return it->get<double>();
  if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (!s.empty() && end == s.c_str() + s.size() && std::isfinite(v)) return v;
  }
  return tb::error{errc::bad_data, std::string("field '") + key + "' is not a number"};
}

std::string str(const json& obj, const char* key) {
  const auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

// The endpoint half of a client: its https_client and credential headers.
struct rest {
  std::unique_ptr<https_client> http;
  std::vector<http_header> auth;
  std::vector<std::string> secrets;
  std::string name;  // "alpaca data", "alpaca trading"

  static tb::expected<rest> make(const std::string& name, const std::string& url, https_options http,
                                 const alpaca_credentials& creds) {
    http.url = url;
    for (auto& s : creds.secrets()) http.secrets.push_back(s);
    http.log_name = name;
    auto c = https_client::create(std::move(http));
    if (!c) return c.error();
    rest r;
    r.http = std::move(*c);
    r.auth = {{"APCA-API-KEY-ID", creds.key_id()}, {"APCA-API-SECRET-KEY", creds.secret_key()}};
    r.secrets = creds.secrets();
    r.name = name;
    return r;
  }

  tb::expected<http_response> call(const std::string& method, const std::string& target, const std::string& body = {}) {
    http_request req;
    req.method = method;
    req.target = target;
    req.headers = auth;
    req.body = body;
    return http->request(req);
  }

  // Alpaca's error body {"code": ..., "message": "..."}, or the raw text, shortened and scrubbed.
  std::string server_message(const http_response& res) const {
    std::string m;
    try {
      const json j = json::parse(res.body);
      if (j.is_object() && j.contains("message") && j["message"].is_string()) m = j["message"].get<std::string>();
    } catch (const std::exception&) {}
    if (m.empty()) m = res.body.substr(0, 200);
    return redact(m, secrets);
  }

  // An error for a non-2xx answer the caller did not handle itself.
  tb::error status_error(const std::string& what, const http_response& res) const {
    const std::string text = name + ": " + what + ": HTTP " + std::to_string(res.status) + " " + server_message(res);
    if (res.status == 401 || res.status == 403)
      return {errc::bad_config, text + " (check the Alpaca API keys and their permissions)"};
    if (res.status == 400 || res.status == 404 || res.status == 409 || res.status == 422)
      return {errc::invalid_argument, text};
    if (res.status == 429) return {errc::overloaded, text};
    return {errc::unavailable, text};
  }

  tb::expected<json> parse(const std::string& what, const http_response& res) const {
    try {
      return json::parse(res.body);
    } catch (const std::exception& e) {
      return tb::error{errc::bad_data, name + ": " + what + ": malformed JSON (" + redact(e.what(), secrets) + ")"};
    }
  }

  // GET `target` and its JSON body; a failed request, an answer other than 200 or malformed JSON
  // is an error naming `what`.
  tb::expected<json> get_json(const std::string& what, const std::string& target) {
    auto res = call("GET", target);
    if (!res) return res.error();
    if (res->status != 200) return status_error(what, *res);
    return parse(what, *res);
  }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// feed

tb::expected<std::string> alpaca_feed::timeframe_of(core::duration p) {
  using namespace std::chrono;
  if (p == hours(24)) return std::string("1Day");
  if (p > 0ns && p % hours(1) == 0ns && p < hours(24)) return std::to_string(duration_cast<hours>(p).count()) + "Hour";
  if (p > 0ns && p % minutes(1) == 0ns && p < hours(1))
    return std::to_string(duration_cast<minutes>(p).count()) + "Min";
  return tb::error{errc::invalid_argument, "alpaca: no timeframe for a bar period of " +
                                               std::to_string(duration_cast<seconds>(p).count()) +
                                               " s (1..59 min, 1..23 h or 24 h)"};
}

struct alpaca_feed::state {
  const core::clock& clock;
  alpaca_feed_options opt;
  std::string timeframe;
  rest api;
};

alpaca_feed::alpaca_feed(std::unique_ptr<state> s) : s_(std::move(s)) {}
alpaca_feed::~alpaca_feed() = default;

tb::expected<std::unique_ptr<alpaca_feed>> alpaca_feed::create(const core::clock& clock,
                                                               const alpaca_credentials& creds, alpaca_feed_options o) {
  const auto bad = [](const std::string& m) { return tb::error{errc::bad_config, "alpaca feed: " + m}; };
  auto tf = timeframe_of(o.bar_period);
  if (!tf) return bad(tf.error().message);
  if (o.page_limit < 1 || o.page_limit > 10000) return bad("page_limit must be in 1..10000");
  if (o.max_pages < 1) return bad("max_pages must be >= 1");
  if (o.history <= core::duration::zero()) return bad("history must be > 0");
  if (o.stock_feed != "iex" && o.stock_feed != "sip") return bad("stock_feed must be iex or sip");
  if (o.adjustment != "raw" && o.adjustment != "split" && o.adjustment != "dividend" && o.adjustment != "all")
    return bad("adjustment must be raw, split, dividend or all");
  for (auto& sym : o.symbols) sym = from_alpaca_symbol(sym);
  const std::string url = o.url.empty() ? alpaca_data_url : o.url;
  auto api = rest::make("alpaca data", url, o.http, creds);
  if (!api) return api.error();
  auto st = std::unique_ptr<state>(new state{clock, std::move(o), *tf, std::move(*api)});
  return std::unique_ptr<alpaca_feed>(new alpaca_feed(std::move(st)));
}

std::vector<std::string> alpaca_feed::symbols() const { return s_->opt.symbols; }

tb::expected<bar_timing> alpaca_feed::timing(const std::string& symbol) const {
  const std::string sym = from_alpaca_symbol(symbol);
  if (!s_->opt.symbols.empty() &&
      std::find(s_->opt.symbols.begin(), s_->opt.symbols.end(), sym) == s_->opt.symbols.end())
    return tb::error{errc::invalid_argument, "alpaca feed: unknown symbol " + symbol};
  return bar_timing{s_->opt.bar_period, bar_label::period_start};
}

tb::expected<core::bar_series> alpaca_feed::bars(const bar_query& q) {
  auto tm = timing(q.symbol);
  if (!tm) return tm.error();
  const std::string sym = from_alpaca_symbol(q.symbol);
  const bool crypto = is_crypto(sym);
  const std::string asym = to_alpaca_symbol(sym);
  const core::duration period = tm->period;
  const core::time_point until = std::min(q.until, s_->clock.now());

  core::bar_series out;
  out.symbol = sym;
  const core::time_point last_open = until - period;  // newest bar that has closed by `until`
  core::time_point start;
  bool newest_first = false;
  if (q.closed_after) {
    start = *q.closed_after - period + 1s;  // opens after closed_after - period <=> closes after it
  } else {
    start = until - s_->opt.history;
    newest_first = q.max_bars > 0;
  }
  if (start > last_open) return out;

  const std::string path = crypto ? "/v1beta3/crypto/" + s_->opt.crypto_loc + "/bars" : "/v2/stocks/bars";
  int limit = s_->opt.page_limit;
  if (newest_first) limit = static_cast<int>(std::min<std::size_t>(q.max_bars, static_cast<std::size_t>(limit)));

  std::vector<core::bar> got;
  std::string token;
  for (int page = 0;; ++page) {
    if (page >= s_->opt.max_pages)
      return tb::error{errc::bad_data,
                       "alpaca data: bars of " + sym + ": more than " + std::to_string(s_->opt.max_pages) + " pages"};
    std::vector<std::pair<std::string, std::string>> params = {{"symbols", asym},
                                                               {"timeframe", s_->timeframe},
                                                               {"start", core::to_iso8601(start)},
                                                               {"end", core::to_iso8601(last_open)},
                                                               {"limit", std::to_string(limit)},
                                                               {"sort", newest_first ? "desc" : "asc"}};
    if (!crypto) {
      params.push_back({"feed", s_->opt.stock_feed});
      params.push_back({"adjustment", s_->opt.adjustment});
    }
    if (!token.empty()) params.push_back({"page_token", token});
    const std::string what = "bars of " + sym;
    auto j = s_->api.get_json(what, path + query(params));
    if (!j) return j.error();
    if (!j->is_object() || !j->contains("bars"))
      return tb::error{errc::bad_data, "alpaca data: " + what + ": no 'bars' in the answer"};
    const json& all = (*j)["bars"];
    if (all.is_object()) {
      auto it = all.find(asym);
      if (it == all.end()) it = all.find(sym);
      if (it != all.end() && it->is_array()) {
        for (const auto& b : *it) {
          auto t = parse_rfc3339(str(b, "t"));
          if (!t) return tb::error{errc::bad_data, "alpaca data: " + what + ": " + t.error().message};
          core::bar bar;
          bar.time_s = core::to_unix_seconds(*t);
          auto o = num(b, "o"), h = num(b, "h"), l = num(b, "l"), c = num(b, "c"), v = num(b, "v", 0.0);
          for (auto* x : {&o, &h, &l, &c, &v})
            if (!*x) return tb::error{errc::bad_data, "alpaca data: " + what + ": " + x->error().message};
          bar.open = *o;
          bar.high = *h;
          bar.low = *l;
          bar.close = *c;
          bar.volume = *v;
          auto vw = num(b, "vw", 0.0);
          bar.amount = (vw && *vw > 0 ? *vw : bar.close) * bar.volume;
          got.push_back(bar);
        }
      }
    } else if (!all.is_null()) {
      return tb::error{errc::bad_data, "alpaca data: " + what + ": 'bars' is not an object"};
    }
    std::string next;
    if (j->contains("next_page_token") && (*j)["next_page_token"].is_string())
      next = (*j)["next_page_token"].get<std::string>();
    if (next.empty()) break;
    if (next == token) return tb::error{errc::bad_data, "alpaca data: " + what + ": the server repeated page_token"};
    if (newest_first && got.size() >= q.max_bars) break;
    token = next;
  }

  // Keep what the query asks for, oldest first, strictly increasing.
  std::sort(got.begin(), got.end(), [](const core::bar& a, const core::bar& b) { return a.time_s < b.time_s; });
  for (const auto& b : got) {
    const core::time_point closes = tm->closes_at(b);
    if (closes > until) continue;
    if (q.closed_after && closes <= *q.closed_after) continue;
    if (!out.bars.empty() && out.bars.back().time_s >= b.time_s) continue;
    out.bars.push_back(b);
  }
  if (q.max_bars > 0 && out.bars.size() > q.max_bars)
    out.bars.erase(out.bars.begin(), out.bars.end() - static_cast<std::ptrdiff_t>(q.max_bars));
  return out;
}

tb::expected<quote> alpaca_feed::latest_quote(const std::string& symbol) {
  auto tm = timing(symbol);
  if (!tm) return tm.error();
  const std::string sym = from_alpaca_symbol(symbol);
  const bool crypto = is_crypto(sym);
  const std::string asym = to_alpaca_symbol(sym);
  std::string target = crypto ? "/v1beta3/crypto/" + s_->opt.crypto_loc + "/latest/quotes" + query({{"symbols", asym}})
                              : "/v2/stocks/quotes/latest" + query({{"symbols", asym}, {"feed", s_->opt.stock_feed}});
  const std::string what = "latest quote of " + sym;
  auto j = s_->api.get_json(what, target);
  if (!j) return j.error();
  if (!j->is_object() || !j->contains("quotes") || !(*j)["quotes"].is_object())
    return tb::error{errc::bad_data, "alpaca data: " + what + ": no 'quotes' in the answer"};
  const json& qs = (*j)["quotes"];
  auto it = qs.find(asym);
  if (it == qs.end()) it = qs.find(sym);
  if (it == qs.end() || !it->is_object()) return tb::error{errc::unavailable, "alpaca data: no quote for " + sym};
  auto bp = num(*it, "bp", 0.0), ap = num(*it, "ap", 0.0);
  if (!bp || !ap) return tb::error{errc::bad_data, "alpaca data: " + what + ": bad bid or ask"};
  if (!(*bp > 0) || !(*ap > 0) || *ap < *bp)
    return tb::error{errc::unavailable, "alpaca data: no two-sided quote for " + sym + " (bid " +
                                            format_decimal(*bp, 9) + ", ask " + format_decimal(*ap, 9) + ")"};
  quote out;
  out.bid = *bp;
  out.ask = *ap;
  out.at = s_->clock.now();
  if (auto t = parse_rfc3339(str(*it, "t"))) out.at = *t;
  return out;
}

https_stats alpaca_feed::stats() const { return s_->api.http->stats(); }

// ---------------------------------------------------------------------------------------------
// broker

tb::expected<std::string> alpaca_trading_url(bool live, const std::string& url_override) {
  if (url_override.empty()) return std::string(live ? alpaca_live_url : alpaca_paper_url);
  auto u = parse_base_url(url_override);
  if (!u) return u.error();
  if (!live && upper_case(u->host) == "API.ALPACA.MARKETS")
    return tb::error{errc::bad_config, "alpaca: the trading URL " + url_override +
                                           " is the live endpoint but live trading is not enabled"};
  return url_override;
}

bool is_already_submitted(const tb::error& e) {
  return e.code == errc::invalid_argument && e.message.find(already_submitted_prefix) != std::string::npos;
}

struct alpaca_broker::state {
  alpaca_broker_options opt;
  rest api;
};

alpaca_broker::alpaca_broker(std::unique_ptr<state> s) : s_(std::move(s)) {}
alpaca_broker::~alpaca_broker() = default;

tb::expected<std::unique_ptr<alpaca_broker>> alpaca_broker::create(const alpaca_credentials& creds,
                                                                   alpaca_broker_options o) {
  auto url = alpaca_trading_url(o.live, o.url);
  if (!url) return url.error();
  if (o.crypto_price_increment < 0)
    return tb::error{errc::bad_config, "alpaca broker: crypto_price_increment must be >= 0"};
  auto api = rest::make(o.live ? "alpaca trading (LIVE)" : "alpaca trading (paper)", *url, o.http, creds);
  if (!api) return api.error();
  spdlog::info("alpaca broker: {} endpoint {}", o.live ? "LIVE" : "paper", *url);
  auto st = std::unique_ptr<state>(new state{std::move(o), std::move(*api)});
  return std::unique_ptr<alpaca_broker>(new alpaca_broker(std::move(st)));
}

bool alpaca_broker::live() const { return s_->opt.live; }
https_stats alpaca_broker::stats() const { return s_->api.http->stats(); }

namespace {

tb::expected<order> parse_order(const json& j) {
  if (!j.is_object()) return tb::error{errc::bad_data, "order is not an object"};
  order o;
  o.id = str(j, "id");
  if (o.id.empty()) return tb::error{errc::bad_data, "order without an id"};
  o.client_order_id = str(j, "client_order_id");
  o.symbol = from_alpaca_symbol(str(j, "symbol"));
  o.side = str(j, "side") == "sell" ? side::sell : side::buy;
  auto qty = num(j, "qty", 0.0), lp = num(j, "limit_price", 0.0), fq = num(j, "filled_qty", 0.0),
       fp = num(j, "filled_avg_price", 0.0);
  for (auto* x : {&qty, &lp, &fq, &fp})
    if (!*x) return x->error();
  o.qty = *qty;
  o.limit_price = *lp;
  o.filled_qty = *fq;
  o.filled_avg_price = *fp;
  o.tif = str(j, "time_in_force") == "day" ? time_in_force::day : time_in_force::gtc;
  o.status = map_alpaca_order_status(str(j, "status"));
  std::string sub = str(j, "submitted_at");
  if (sub.empty()) sub = str(j, "created_at");
  if (auto t = parse_rfc3339(sub)) o.submitted_at = *t;
  if (auto t = parse_rfc3339(str(j, "updated_at"))) o.updated_at = *t;
  return o;
}

bool duplicate_answer(int status, const std::string& message) {
  if (status == 409) return true;
  if (status != 422 && status != 400) return false;
  const std::string m = core::to_lower(message);
  return m.find("client_order_id") != std::string::npos &&
         (m.find("unique") != std::string::npos || m.find("duplicate") != std::string::npos ||
          m.find("exists") != std::string::npos);
}

bool safe_path_segment(const std::string& id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

}  // namespace

tb::expected<market::account> alpaca_broker::account() {
  auto j = s_->api.get_json("account", "/v2/account");
  if (!j) return j.error();
  auto cash = num(*j, "cash"), eq = num(*j, "equity"), bp = num(*j, "buying_power");
  for (auto* x : {&cash, &eq, &bp})
    if (!*x) return tb::error{errc::bad_data, "alpaca trading: account: " + x->error().message};
  return market::account{*cash, *eq, *bp};
}

tb::expected<std::vector<position>> alpaca_broker::positions() {
  auto j = s_->api.get_json("positions", "/v2/positions");
  if (!j) return j.error();
  if (!j->is_array()) return tb::error{errc::bad_data, "alpaca trading: positions: not an array"};
  std::vector<position> out;
  for (const auto& p : *j) {
    position pos;
    pos.symbol = from_alpaca_symbol(str(p, "symbol"));
    auto qty = num(p, "qty"), avg = num(p, "avg_entry_price"), px = num(p, "current_price", 0.0);
    for (auto* x : {&qty, &avg, &px})
      if (!*x) return tb::error{errc::bad_data, "alpaca trading: position " + pos.symbol + ": " + x->error().message};
    pos.qty = *qty;
    if (str(p, "side") == "short" && pos.qty > 0) pos.qty = -pos.qty;
    pos.avg_entry_price = *avg;
    pos.market_price = *px;
    out.push_back(pos);
  }
  return out;
}

tb::expected<std::vector<order>> alpaca_broker::open_orders() {
  auto j = s_->api.get_json("open orders", "/v2/orders?status=open&limit=500&direction=asc&nested=false");
  if (!j) return j.error();
  if (!j->is_array()) return tb::error{errc::bad_data, "alpaca trading: open orders: not an array"};
  std::vector<order> out;
  for (const auto& o : *j) {
    auto parsed = parse_order(o);
    if (!parsed) return tb::error{errc::bad_data, "alpaca trading: open orders: " + parsed.error().message};
    out.push_back(*parsed);
  }
  return out;
}

tb::expected<std::optional<order>> alpaca_broker::order_by_client_id(const std::string& client_order_id) {
  if (client_order_id.empty() || client_order_id.size() > 128)
    return tb::error{errc::invalid_argument, "alpaca trading: client_order_id must have 1..128 characters"};
  auto res = s_->api.call("GET", "/v2/orders:by_client_order_id" + query({{"client_order_id", client_order_id}}));
  if (!res) return res.error();
  if (res->status == 404) return std::optional<order>{};
  const std::string what = "order by client_order_id " + client_order_id;
  if (res->status != 200) return s_->api.status_error(what, *res);
  auto j = s_->api.parse(what, *res);
  if (!j) return j.error();
  auto o = parse_order(*j);
  if (!o) return tb::error{errc::bad_data, "alpaca trading: " + what + ": " + o.error().message};
  return std::optional<order>(*o);
}

tb::expected<submit_outcome> alpaca_broker::submit_or_reconcile(const order_request& req) {
  int post_attempts = 0;
  return submit(req, post_attempts);
}

tb::expected<submit_outcome> alpaca_broker::submit(const order_request& req, int& post_attempts) {
  const auto refuse = [&](const std::string& m) {
    return tb::error{errc::invalid_argument, "alpaca trading: order " + req.client_order_id + ": " + m};
  };
  if (req.client_order_id.empty() || req.client_order_id.size() > 128)
    return refuse("client_order_id must have 1..128 characters");
  if (!(req.qty > 0) || !std::isfinite(req.qty)) return refuse("qty must be > 0");
  if (!(req.limit_price > 0) || !std::isfinite(req.limit_price)) return refuse("limit_price must be > 0");
  const std::string sym = from_alpaca_symbol(req.symbol);
  if (sym.empty()) return refuse("empty symbol");
  const bool crypto = is_crypto(sym);
  const bool fractional = req.qty != std::floor(req.qty);
  if (crypto && req.tif != time_in_force::gtc) return refuse("crypto orders are gtc (Alpaca refuses day)");
  if (!crypto && fractional && req.tif != time_in_force::day)
    return refuse("a fractional equity order must be a day order (Alpaca refuses gtc)");
  const double limit = round_limit_price(sym, req.limit_price, req.side, s_->opt.crypto_price_increment);
  if (!(limit > 0)) return refuse("limit_price rounds to 0 at the price increment");
  const std::string qty_text = format_decimal(req.qty, 9);
  if (qty_text == "0") return refuse("qty rounds to 0 at 9 decimals");

  const json body = {{"symbol", to_alpaca_symbol(sym)},       {"qty", qty_text},
                     {"side", to_string(req.side)},           {"type", "limit"},
                     {"time_in_force", to_string(req.tif)},   {"limit_price", format_decimal(limit, 9)},
                     {"client_order_id", req.client_order_id}};
  auto res = s_->api.call("POST", "/v2/orders", body.dump());
  if (!res) return res.error();
  post_attempts = res->attempts;
  const std::string what = "order " + req.client_order_id;
  if (res->status == 200 || res->status == 201) {
    auto j = s_->api.parse(what, *res);
    if (!j) return j.error();
    auto o = parse_order(*j);
    if (!o) return tb::error{errc::bad_data, "alpaca trading: " + what + ": " + o.error().message};
    return submit_outcome{*o, false};
  }
  if (duplicate_answer(res->status, s_->api.server_message(*res))) {
    auto found = order_by_client_id(req.client_order_id);
    if (!found) return found.error();
    if (!*found)
      return tb::error{errc::unavailable, "alpaca trading: " + what +
                                              " answered duplicate client_order_id but the order cannot be found yet"};
    spdlog::warn("alpaca trading: {} was already submitted (broker id {}, status {}); not resubmitting",
                 req.client_order_id, (*found)->id, to_string((*found)->status));
    return submit_outcome{**found, true};
  }
  return s_->api.status_error(what, *res);
}

tb::expected<order> alpaca_broker::submit_limit_order(const order_request& req) {
  // Count the attempts of the POST: when it took more than one, an earlier attempt may have
  // landed, and a duplicate answer then means the order is this one.
  int post_attempts = 0;
  auto r = submit(req, post_attempts);
  if (!r) return r.error();
  if (!r->already_submitted || post_attempts > 1) return r->order;
  return tb::error{errc::invalid_argument, std::string("alpaca trading: order ") + req.client_order_id + ": " +
                                               already_submitted_prefix + "Alpaca already has client_order_id " +
                                               req.client_order_id + " (broker id " + r->order.id + ", status " +
                                               to_string(r->order.status) + "); reconcile with order_by_client_id"};
}

tb::expected<order> alpaca_broker::cancel_order(const std::string& order_id) {
  if (!safe_path_segment(order_id))
    return tb::error{errc::invalid_argument, "alpaca trading: cancel: bad order id '" + order_id + "'"};
  const std::string what = "cancel order " + order_id;
  auto res = s_->api.call("DELETE", "/v2/orders/" + order_id);
  if (!res) return res.error();
  if (res->status != 204 && res->status != 200) return s_->api.status_error(what, *res);
  auto j = s_->api.get_json(what, "/v2/orders/" + order_id);
  if (!j) return j.error();
  auto o = parse_order(*j);
  if (!o) return tb::error{errc::bad_data, "alpaca trading: " + what + ": " + o.error().message};
  // The order as Alpaca has it now: canceled, or still open (pending_cancel) until Alpaca confirms
  // the cancel, and a fill may still race it. Never reported canceled before Alpaca says so: a
  // caller that took it for final would miss that fill.
  return *o;
}

}  // namespace tb::market
