#include "strategy/report.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>

namespace tb::strategy {

const char* to_string(trade_side s) { return s == trade_side::sell ? "sell" : "buy"; }

std::vector<drawdown_point> drawdown_curve(const std::vector<equity_point>& curve) {
  std::vector<drawdown_point> out;
  out.reserve(curve.size());
  double peak = -std::numeric_limits<double>::infinity();
  for (const auto& p : curve) {
    peak = std::max(peak, p.equity);
    out.push_back({p.time_s, peak > 0 ? (peak - p.equity) / peak : 0.0});
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Validation

namespace {

tb::error bad(const std::string& field, const std::string& what) {
  return {errc::bad_data, "report." + field + ": " + what};
}

std::string idx(const char* name, std::size_t i) { return std::string(name) + "[" + std::to_string(i) + "]"; }

// The metrics to_json(metrics) can write: finite, except a +inf profit factor (written null).
bool metrics_ok(const metrics& m, const std::string& field, tb::error& err) {
  const std::pair<const char*, double> nums[] = {{"total_return", m.total_return},
                                                 {"avg_return", m.avg_return},
                                                 {"annualized_return", m.annualized_return},
                                                 {"sharpe", m.sharpe},
                                                 {"sortino", m.sortino},
                                                 {"win_rate", m.win_rate},
                                                 {"max_drawdown", m.max_drawdown},
                                                 {"turnover", m.turnover},
                                                 {"volatility", m.volatility}};
  for (const auto& [k, v] : nums)
    if (!std::isfinite(v)) {
      err = bad(field + "." + k, "not a finite number");
      return false;
    }
  if (std::isnan(m.profit_factor) || m.profit_factor == -std::numeric_limits<double>::infinity()) {
    err = bad(field + ".profit_factor", "not a number");
    return false;
  }
  return true;
}

}  // namespace

expected<backtest_report> validate(const backtest_report& r) {
  if (r.run.finished_s < r.run.started_s) return bad("run.finished_s", "before run.started_s");
  tb::error err;
  if (!metrics_ok(r.metrics, "metrics", err)) return err;
  for (std::size_t i = 0; i < r.symbols.size(); ++i) {
    const auto& s = r.symbols[i];
    if (s.symbol.empty()) return bad(idx("symbols", i) + ".symbol", "empty");
    if (!metrics_ok(s.metrics, idx("symbols", i) + ".metrics", err)) return err;
  }
  for (std::size_t i = 0; i < r.equity_curve.size(); ++i) {
    const auto& p = r.equity_curve[i];
    if (!std::isfinite(p.equity) || p.equity <= 0)
      return bad(idx("equity_curve", i) + ".equity", "must be a finite number > 0");
    if (i > 0 && p.time_s < r.equity_curve[i - 1].time_s)
      return bad(idx("equity_curve", i) + ".time_s", "earlier than the point before it");
  }
  for (std::size_t i = 0; i < r.trades.size(); ++i) {
    const auto& t = r.trades[i];
    const std::string f = idx("trades", i);
    if (t.symbol.empty()) return bad(f + ".symbol", "empty");
    if (t.side != trade_side::buy && t.side != trade_side::sell) return bad(f + ".side", "neither buy nor sell");
    if (!std::isfinite(t.qty) || t.qty <= 0) return bad(f + ".qty", "must be a finite number > 0");
    if (!std::isfinite(t.price) || t.price <= 0) return bad(f + ".price", "must be a finite number > 0");
    if (!std::isfinite(t.fee) || t.fee < 0) return bad(f + ".fee", "must be a finite number >= 0");
    if (i > 0 && t.time_s < r.trades[i - 1].time_s) return bad(f + ".time_s", "earlier than the trade before it");
  }
  if (r.orders.sent < 0) return bad("orders.sent", "negative");
  if (r.orders.filled < 0) return bad("orders.filled", "negative");
  if (r.orders.rejected < 0) return bad("orders.rejected", "negative");
  for (const auto& [name, v] : {std::pair<const char*, std::int64_t>{"cache.hits", r.cache.hits},
                                {"cache.misses", r.cache.misses},
                                {"cache.computed", r.cache.computed},
                                {"cache.stored", r.cache.stored},
                                {"inference.errors", r.inference.errors},
                                {"inference.oom_splits", r.inference.oom_splits},
                                {"timing.cycles", r.timing.cycles}})
    if (v < 0) return bad(name, "negative");
  for (const auto& [name, v] : {std::pair<const char*, double>{"cache.hit_rate_percent", r.cache.hit_rate_percent},
                                {"timing.elapsed_s", r.timing.elapsed_s},
                                {"timing.inference_s", r.timing.inference_s}})
    if (!std::isfinite(v) || v < 0) return bad(name, "must be a finite number >= 0");
  return r;
}

// ---------------------------------------------------------------------------------------------
// JSON

nlohmann::json to_json(const order_counts& o) {
  return {{"sent", o.sent}, {"filled", o.filled}, {"rejected", o.rejected}};
}

nlohmann::json to_json(const cache_figures& c) {
  return {{"hits", c.hits},
          {"misses", c.misses},
          {"hit_rate_percent", c.hit_rate_percent},
          {"computed", c.computed},
          {"stored", c.stored}};
}

nlohmann::json to_json(const inference_figures& f) { return {{"errors", f.errors}, {"oom_splits", f.oom_splits}}; }

nlohmann::json to_json(const run_timing& t) {
  return {{"elapsed_s", t.elapsed_s}, {"inference_s", t.inference_s}, {"cycles", t.cycles}};
}

nlohmann::json to_json(const backtest_report& r) {
  using nlohmann::json;
  json j;
  j["format"] = report_format;
  j["version"] = report_version;
  j["run"] = json{{"config", r.run.config_path},  {"data_dir", r.run.data_dir},    {"from", r.run.from_date},
                  {"to", r.run.to_date},          {"symbols", r.run.symbols},      {"model", r.run.model},
                  {"started_s", r.run.started_s}, {"finished_s", r.run.finished_s}};
  j["metrics"] = to_json(r.metrics);
  json syms = json::array();
  for (const auto& s : r.symbols)
    syms.push_back(json{{"symbol", s.symbol},
                        {"asset", to_string(s.asset)},
                        {"strategy", s.strategy},
                        {"metrics", to_json(s.metrics)}});
  j["symbols"] = std::move(syms);
  json curve = json::array();
  for (const auto& p : r.equity_curve) curve.push_back(json{{"time_s", p.time_s}, {"equity", p.equity}});
  j["equity_curve"] = std::move(curve);
  json trades = json::array();
  for (const auto& t : r.trades)
    trades.push_back(json{{"time_s", t.time_s},
                          {"symbol", t.symbol},
                          {"side", to_string(t.side)},
                          {"qty", t.qty},
                          {"price", t.price},
                          {"fee", t.fee},
                          {"client_order_id", t.client_order_id}});
  j["trades"] = std::move(trades);
  j["orders"] = to_json(r.orders);
  j["cache"] = to_json(r.cache);
  j["inference"] = to_json(r.inference);
  j["timing"] = to_json(r.timing);
  return j;
}

namespace {

// Reads fields of one JSON object, naming "report.<path>.<key>" in its errors. The first error
// sticks; later reads are no-ops.
class object_reader {
 public:
  object_reader(const nlohmann::json& j, std::string path, std::optional<tb::error>& err)
      : j_(j), path_(std::move(path)), err_(err) {
    if (!err_ && !j_.is_object()) fail(path_, "not a JSON object");
  }

  const nlohmann::json* field(const char* key) {
    if (err_) return nullptr;
    auto it = j_.find(key);
    if (it == j_.end()) {
      fail(name(key), "missing");
      return nullptr;
    }
    return &*it;
  }

  void read(const char* key, std::string& out) {
    if (auto* f = field(key)) {
      if (!f->is_string()) return fail(name(key), "not a string");
      out = f->get<std::string>();
    }
  }
  void read(const char* key, std::int64_t& out) {
    if (auto* f = field(key)) {
      if (!f->is_number_integer()) return fail(name(key), "not an integer");
      out = f->get<std::int64_t>();
    }
  }
  void read(const char* key, double& out) {
    if (auto* f = field(key)) {
      if (!f->is_number()) return fail(name(key), "not a number");
      out = f->get<double>();
    }
  }
  const nlohmann::json* array(const char* key) {
    auto* f = field(key);
    if (f && !f->is_array()) {
      fail(name(key), "not an array");
      return nullptr;
    }
    return f;
  }

  std::string name(const char* key) const { return path_.empty() ? key : path_ + "." + key; }
  void fail(const std::string& field, const std::string& what) {
    if (!err_) err_ = bad(field, what);
  }

 private:
  const nlohmann::json& j_;
  std::string path_;
  std::optional<tb::error>& err_;
};

void read_metrics(object_reader& o, const char* key, metrics& out, std::optional<tb::error>& err) {
  auto* f = o.field(key);
  if (!f) return;
  const std::string name = o.name(key);
  if (!f->is_object()) return o.fail(name, "not a JSON object");
  for (const char* k : {"sharpe", "win_rate"}) {
    auto it = f->find(k);
    if (it == f->end()) return o.fail(name + "." + k, "missing");
  }
  auto m = metrics_from_json(*f);
  if (!m) {
    // metrics_from_json says "metrics.<key> is not a number"; name the full path instead.
    std::string msg = m.error().message;
    if (msg.rfind("metrics.", 0) == 0) msg = msg.substr(std::strlen("metrics."));
    if (!err) err = tb::error{errc::bad_data, "report." + name + "." + msg};
    return;
  }
  out = *m;
}

}  // namespace

expected<backtest_report> report_from_json(const nlohmann::json& j) {
  std::optional<tb::error> err;
  backtest_report r;
  object_reader top(j, "", err);
  if (err) return tb::error{errc::bad_data, "report: not a JSON object"};

  std::string format;
  top.read("format", format);
  if (!err && format != report_format)
    top.fail("format", "expected \"" + std::string(report_format) + "\", got \"" + format + "\"");
  std::int64_t version = 0;
  top.read("version", version);
  if (!err && version != report_version)
    top.fail("version", "unsupported version " + std::to_string(version) + " (this build reads " +
                            std::to_string(report_version) + ")");

  if (auto* run = top.field("run")) {
    object_reader o(*run, "run", err);
    o.read("config", r.run.config_path);
    o.read("data_dir", r.run.data_dir);
    o.read("from", r.run.from_date);
    o.read("to", r.run.to_date);
    if (auto* syms = o.array("symbols"))
      for (std::size_t i = 0; i < syms->size() && !err; ++i) {
        if (!(*syms)[i].is_string())
          o.fail("run." + idx("symbols", i), "not a string");
        else
          r.run.symbols.push_back((*syms)[i].get<std::string>());
      }
    o.read("model", r.run.model);
    o.read("started_s", r.run.started_s);
    o.read("finished_s", r.run.finished_s);
  }
  read_metrics(top, "metrics", r.metrics, err);

  if (auto* syms = top.array("symbols"))
    for (std::size_t i = 0; i < syms->size() && !err; ++i) {
      object_reader o((*syms)[i], idx("symbols", i), err);
      symbol_report s;
      o.read("symbol", s.symbol);
      std::string asset;
      o.read("asset", asset);
      if (!err) {
        if (asset == "equity")
          s.asset = asset_class::equity;
        else if (asset == "crypto")
          s.asset = asset_class::crypto;
        else
          o.fail(o.name("asset"), "\"" + asset + "\" is neither equity nor crypto");
      }
      o.read("strategy", s.strategy);
      read_metrics(o, "metrics", s.metrics, err);
      r.symbols.push_back(std::move(s));
    }

  if (auto* curve = top.array("equity_curve"))
    for (std::size_t i = 0; i < curve->size() && !err; ++i) {
      object_reader o((*curve)[i], idx("equity_curve", i), err);
      equity_point p;
      o.read("time_s", p.time_s);
      o.read("equity", p.equity);
      r.equity_curve.push_back(p);
    }

  if (auto* trades = top.array("trades"))
    for (std::size_t i = 0; i < trades->size() && !err; ++i) {
      object_reader o((*trades)[i], idx("trades", i), err);
      trade_record t;
      o.read("time_s", t.time_s);
      o.read("symbol", t.symbol);
      std::string side;
      o.read("side", side);
      if (!err) {
        if (side == "buy")
          t.side = trade_side::buy;
        else if (side == "sell")
          t.side = trade_side::sell;
        else
          o.fail(o.name("side"), "\"" + side + "\" is neither buy nor sell");
      }
      o.read("qty", t.qty);
      o.read("price", t.price);
      o.read("fee", t.fee);
      o.read("client_order_id", t.client_order_id);
      r.trades.push_back(std::move(t));
    }

  if (auto* orders = top.field("orders")) {
    object_reader o(*orders, "orders", err);
    o.read("sent", r.orders.sent);
    o.read("filled", r.orders.filled);
    o.read("rejected", r.orders.rejected);
  }
  if (!err && j.contains("cache")) {  // optional: reports older than it read as zeros
    object_reader o(j["cache"], "cache", err);
    o.read("hits", r.cache.hits);
    o.read("misses", r.cache.misses);
    o.read("hit_rate_percent", r.cache.hit_rate_percent);
    o.read("computed", r.cache.computed);
    o.read("stored", r.cache.stored);
  }
  if (!err && j.contains("inference")) {
    object_reader o(j["inference"], "inference", err);
    o.read("errors", r.inference.errors);
    o.read("oom_splits", r.inference.oom_splits);
  }
  if (!err && j.contains("timing")) {
    object_reader o(j["timing"], "timing", err);
    o.read("elapsed_s", r.timing.elapsed_s);
    o.read("inference_s", r.timing.inference_s);
    o.read("cycles", r.timing.cycles);
  }

  if (err) return *err;
  return validate(r);
}

}  // namespace tb::strategy
