#include "strategy/compare.hpp"

#include <cmath>
#include <cstdio>
#include <limits>
#include <map>

namespace tb::strategy {

const char* to_string(verdict v) {
  switch (v) {
    case verdict::ok: return "OK";
    case verdict::warn: return "WARN";
    case verdict::rollback: return "ROLLBACK";
  }
  return "UNKNOWN";
}

int exit_code(verdict v) { return v == verdict::rollback ? 1 : 0; }

expected<compare_params> validate(const compare_params& p) {
  for (double x : {p.rollback_sharpe_drop_pct, p.rollback_win_rate_drop_points, p.warn_sharpe_drop_pct,
                   p.warn_win_rate_drop_points})
    if (!std::isfinite(x) || x < 0) return tb::error{errc::bad_config, "compare thresholds must be finite and >= 0"};
  if (p.warn_sharpe_drop_pct > p.rollback_sharpe_drop_pct || p.warn_win_rate_drop_points > p.rollback_win_rate_drop_points)
    return tb::error{errc::bad_config, "compare warn thresholds must not exceed the rollback thresholds"};
  return p;
}

namespace {

constexpr double tolerance = 1e-9;

expected<metrics> report_metrics(const nlohmann::json& report, const char* which) {
  const std::string w = which;
  if (!report.is_object()) return tb::error{errc::bad_data, w + " report is not a JSON object"};
  auto it = report.find("metrics");
  if (it == report.end() || !it->is_object())
    return tb::error{errc::bad_data, w + " report has no \"metrics\" object"};
  for (const char* key : {"sharpe", "win_rate"}) {
    auto k = it->find(key);
    if (k == it->end() || !k->is_number())
      return tb::error{errc::bad_data, w + " report: metrics." + key + " is missing or not a number"};
  }
  auto m = metrics_from_json(*it);
  if (!m) return tb::error{errc::bad_data, w + " report: " + m.error().message};
  return m;
}

// symbol -> metrics, from the optional "symbols" array.
expected<std::map<std::string, metrics>> symbol_metrics(const nlohmann::json& report, const char* which) {
  std::map<std::string, metrics> out;
  auto it = report.find("symbols");
  if (it == report.end()) return out;
  if (!it->is_array()) return tb::error{errc::bad_data, std::string(which) + " report: \"symbols\" is not an array"};
  for (const auto& s : *it) {
    if (!s.is_object() || !s.contains("symbol") || !s["symbol"].is_string() || !s.contains("metrics"))
      return tb::error{errc::bad_data, std::string(which) + " report: a \"symbols\" entry lacks symbol or metrics"};
    auto m = metrics_from_json(s["metrics"]);
    if (!m) return tb::error{errc::bad_data, std::string(which) + " report, symbol " + s["symbol"].get<std::string>() + ": " + m.error().message};
    out[s["symbol"].get<std::string>()] = *m;
  }
  return out;
}

std::string fmt(const char* f, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, x);
  return buf;
}

std::string num(double x) { return std::isfinite(x) ? fmt("%.4f", x) : (std::isnan(x) ? "-" : (x > 0 ? "inf" : "-inf")); }
std::string pct(double x) { return std::isfinite(x) ? fmt("%.2f%%", x * 100) : num(x); }

std::string row(const std::string& name, const std::string& a, const std::string& b, const std::string& c) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%-22s %14s %14s %14s\n", name.c_str(), a.c_str(), b.c_str(), c.c_str());
  return buf;
}

std::string rel_change(double a, double b) {
  if (a == 0) return b == 0 ? "0.00%" : "n/a";
  return fmt("%+.2f%%", (b - a) / std::fabs(a) * 100);
}

}  // namespace

expected<comparison> compare(const nlohmann::json& base_report, const nlohmann::json& new_report,
                             const compare_params& p) {
  auto pv = validate(p);
  if (!pv) return pv.error();
  auto b = report_metrics(base_report, "base");
  if (!b) return b.error();
  auto n = report_metrics(new_report, "new");
  if (!n) return n.error();
  auto bs = symbol_metrics(base_report, "base");
  if (!bs) return bs.error();
  auto ns = symbol_metrics(new_report, "new");
  if (!ns) return ns.error();

  comparison c;
  c.base = *b;
  c.candidate = *n;
  const double sb = b->sharpe, sn = n->sharpe;
  if (sb != 0)
    c.sharpe_drop_pct = (sb - sn) / std::fabs(sb) * 100;
  else
    c.sharpe_drop_pct = sn < 0 ? std::numeric_limits<double>::infinity() : 0;
  c.win_rate_drop_points = (b->win_rate - n->win_rate) * 100;

  auto trips = [&](double sharpe_limit, double wr_limit) {
    std::vector<std::string> r;
    if (c.sharpe_drop_pct > sharpe_limit + tolerance)
      r.push_back("Sharpe down " + num(c.sharpe_drop_pct) + "% (more than " + num(sharpe_limit) + "%)");
    if (c.win_rate_drop_points > wr_limit + tolerance)
      r.push_back("win rate down " + num(c.win_rate_drop_points) + " points (more than " + num(wr_limit) + ")");
    return r;
  };
  c.reasons = trips(p.rollback_sharpe_drop_pct, p.rollback_win_rate_drop_points);
  if (!c.reasons.empty()) {
    c.result = verdict::rollback;
  } else {
    c.reasons = trips(p.warn_sharpe_drop_pct, p.warn_win_rate_drop_points);
    c.result = c.reasons.empty() ? verdict::ok : verdict::warn;
  }

  // The table.
  std::string t = row("metric", "base", "new", "change");
  t += row("sharpe", num(sb), num(sn), rel_change(sb, sn));
  t += row("win_rate", pct(b->win_rate), pct(n->win_rate), fmt("%+.2f pts", (n->win_rate - b->win_rate) * 100));
  t += row("total_return", pct(b->total_return), pct(n->total_return), fmt("%+.2f pts", (n->total_return - b->total_return) * 100));
  t += row("avg_return", pct(b->avg_return), pct(n->avg_return), fmt("%+.4f pts", (n->avg_return - b->avg_return) * 100));
  t += row("annualized_return", pct(b->annualized_return), pct(n->annualized_return), fmt("%+.2f pts", (n->annualized_return - b->annualized_return) * 100));
  t += row("sortino", num(b->sortino), num(n->sortino), rel_change(b->sortino, n->sortino));
  t += row("max_drawdown", pct(b->max_drawdown), pct(n->max_drawdown), fmt("%+.2f pts", (n->max_drawdown - b->max_drawdown) * 100));
  t += row("profit_factor", num(b->profit_factor), num(n->profit_factor),
           std::isfinite(b->profit_factor) && std::isfinite(n->profit_factor) ? rel_change(b->profit_factor, n->profit_factor) : "n/a");
  t += row("trades", std::to_string(b->trades), std::to_string(n->trades), fmt("%+.0f", double(n->trades - b->trades)));
  t += row("turnover", num(b->turnover), num(n->turnover), rel_change(b->turnover, n->turnover));
  t += row("bars", std::to_string(b->bars), std::to_string(n->bars), "");
  std::map<std::string, std::pair<const metrics*, const metrics*>> syms;
  for (const auto& [s, m] : *bs) syms[s].first = &m;
  for (const auto& [s, m] : *ns) syms[s].second = &m;
  if (!syms.empty()) {
    t += "\n" + row("symbol sharpe / win", "base", "new", "change");
    for (const auto& [s, pr] : syms) {
      auto sh = [](const metrics* m) { return m ? num(m->sharpe) : std::string("-"); };
      auto wr = [](const metrics* m) { return m ? pct(m->win_rate) : std::string("-"); };
      t += row(s + " sharpe", sh(pr.first), sh(pr.second),
               pr.first && pr.second ? rel_change(pr.first->sharpe, pr.second->sharpe) : "");
      t += row(s + " win_rate", wr(pr.first), wr(pr.second),
               pr.first && pr.second ? fmt("%+.2f pts", (pr.second->win_rate - pr.first->win_rate) * 100) : "");
    }
  }
  t += std::string("\nverdict: ") + to_string(c.result);
  for (const auto& r : c.reasons) t += "\n  " + r;
  t += "\n";
  c.table = std::move(t);
  return c;
}

expected<comparison> compare_text(std::string_view base_report, std::string_view new_report,
                                  const compare_params& p) {
  auto base = nlohmann::json::parse(base_report, nullptr, false);
  if (base.is_discarded()) return tb::error{errc::bad_data, "base report is not valid JSON"};
  auto cand = nlohmann::json::parse(new_report, nullptr, false);
  if (cand.is_discarded()) return tb::error{errc::bad_data, "new report is not valid JSON"};
  return compare(base, cand, p);
}

}  // namespace tb::strategy
