#include "strategy/compare.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>

namespace tb::strategy {

const char* to_string(verdict v) {
  switch (v) {
    case verdict::ok:
      return "OK";
    case verdict::warn:
      return "WARN";
    case verdict::rollback:
      return "ROLLBACK";
  }
  return "UNKNOWN";
}

int exit_code(verdict v) { return v == verdict::rollback ? 1 : 0; }

expected<compare_params> validate(const compare_params& p) {
  for (double x : {p.rollback_sharpe_drop_pct, p.warn_sharpe_drop_pct, p.rollback_win_rate_drop_points,
                   p.warn_win_rate_drop_points, p.rollback_avg_return_drop_pct, p.warn_avg_return_drop_pct,
                   p.avg_return_floor_points, p.rollback_drawdown_increase_pct, p.warn_drawdown_increase_pct,
                   p.drawdown_floor_points, p.rollback_inference_errors_increase, p.warn_oom_splits_increase,
                   p.warn_cache_hit_rate_drop_points})
    if (!std::isfinite(x) || x < 0) return tb::error{errc::bad_config, "compare thresholds must be finite and >= 0"};
  if (p.warn_sharpe_drop_pct > p.rollback_sharpe_drop_pct ||
      p.warn_win_rate_drop_points > p.rollback_win_rate_drop_points ||
      p.warn_avg_return_drop_pct > p.rollback_avg_return_drop_pct ||
      p.warn_drawdown_increase_pct > p.rollback_drawdown_increase_pct)
    return tb::error{errc::bad_config, "compare warn thresholds must not exceed the rollback thresholds"};
  return p;
}

namespace {

constexpr double tolerance = 1e-9;

expected<metrics> report_metrics(const nlohmann::json& report, const char* which) {
  const std::string w = which;
  if (!report.is_object()) return tb::error{errc::bad_data, w + " report is not a JSON object"};
  auto it = report.find("metrics");
  if (it == report.end() || !it->is_object()) return tb::error{errc::bad_data, w + " report has no \"metrics\" object"};
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
    if (!m)
      return tb::error{errc::bad_data, std::string(which) + " report, symbol " + s["symbol"].get<std::string>() + ": " +
                                           m.error().message};
    out[s["symbol"].get<std::string>()] = *m;
  }
  return out;
}

// The optional object `key` of a report, each of `fields` a finite number >= 0, in that order;
// nullopt when the report has no such object.
expected<std::optional<std::vector<double>>> optional_figures(const nlohmann::json& report, const char* which,
                                                              const char* key,
                                                              std::initializer_list<const char*> fields) {
  auto it = report.find(key);
  if (it == report.end()) return std::optional<std::vector<double>>{};
  const std::string w = std::string(which) + " report: ";
  if (!it->is_object()) return tb::error{errc::bad_data, w + "\"" + key + "\" is not an object"};
  std::vector<double> out;
  for (const char* f : fields) {
    auto v = it->find(f);
    if (v == it->end() || !v->is_number() || !std::isfinite(v->get<double>()) || v->get<double>() < 0)
      return tb::error{errc::bad_data, w + key + "." + f + " is missing or not a finite number >= 0"};
    out.push_back(v->get<double>());
  }
  return std::optional<std::vector<double>>{std::move(out)};
}

std::string fmt(const char* f, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, x);
  return buf;
}

std::string num(double x) {
  return std::isfinite(x) ? fmt("%.4f", x) : (std::isnan(x) ? "-" : (x > 0 ? "inf" : "-inf"));
}
std::string pct(double x) { return std::isfinite(x) ? fmt("%.2f%%", x * 100) : num(x); }

std::string row(const std::string& name, const std::string& a, const std::string& b, const std::string& c) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%-22s %14s %14s %14s\n", name.c_str(), a.c_str(), b.c_str(), c.c_str());
  return buf;
}

std::string limit(double x) { return std::isfinite(x) ? fmt("%g", x) : num(x); }

// "WARN over 2.5%, ROLLBACK over 5%"; a criterion without a ROLLBACK band says so.
std::string limits(double warn, double rollback, const std::string& unit) {
  std::string s = "WARN over " + limit(warn) + unit;
  return s + (std::isfinite(rollback) ? ", ROLLBACK over " + limit(rollback) + unit : ", never ROLLBACK");
}

// WARN / ROLLBACK when `change` is more than the limits and the criterion is past its floor.
judgement judge(std::string criterion, double base, double cand, const std::string& values, double change,
                const std::string& change_text, double warn, double rollback, const std::string& limit_text,
                bool past_floor = true) {
  judgement j;
  j.base = base;
  j.candidate = cand;
  j.change = change;
  if (past_floor && change > rollback + tolerance)
    j.result = verdict::rollback;
  else if (past_floor && change > warn + tolerance)
    j.result = verdict::warn;
  char head[32];
  std::snprintf(head, sizeof head, "%-8s ", to_string(j.result));
  j.line = head + criterion + ": " + values + ", " + change_text + " (" + limit_text + ")";
  j.criterion = std::move(criterion);
  return j;
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
  auto bc = optional_figures(base_report, "base", "cache", {"hits", "misses", "hit_rate_percent"});
  if (!bc) return bc.error();
  auto nc = optional_figures(new_report, "new", "cache", {"hits", "misses", "hit_rate_percent"});
  if (!nc) return nc.error();
  auto bi = optional_figures(base_report, "base", "inference", {"errors", "oom_splits"});
  if (!bi) return bi.error();
  auto ni = optional_figures(new_report, "new", "inference", {"errors", "oom_splits"});
  if (!ni) return ni.error();

  comparison c;
  c.base = *b;
  c.candidate = *n;
  const double inf = std::numeric_limits<double>::infinity();
  // (base - new) / |base| x 100, or for a zero base: +inf when new is worse, else 0.
  auto drop_pct = [inf](double base, double cand) {
    return base != 0 ? (base - cand) / std::fabs(base) * 100 : (cand < base ? inf : 0.0);
  };
  const double sb = b->sharpe, sn = n->sharpe;
  c.sharpe_drop_pct = drop_pct(sb, sn);
  c.win_rate_drop_points = (b->win_rate - n->win_rate) * 100;
  auto& js = c.judgements;
  js.push_back(judge("sharpe", sb, sn, num(sb) + " -> " + num(sn), c.sharpe_drop_pct,
                     "drop " + num(c.sharpe_drop_pct) + "%", p.warn_sharpe_drop_pct, p.rollback_sharpe_drop_pct,
                     limits(p.warn_sharpe_drop_pct, p.rollback_sharpe_drop_pct, "%")));
  js.push_back(judge("win_rate", b->win_rate, n->win_rate, pct(b->win_rate) + " -> " + pct(n->win_rate),
                     c.win_rate_drop_points, "drop " + num(c.win_rate_drop_points) + " points",
                     p.warn_win_rate_drop_points, p.rollback_win_rate_drop_points,
                     limits(p.warn_win_rate_drop_points, p.rollback_win_rate_drop_points, " points")));
  {
    const double rel = drop_pct(b->avg_return, n->avg_return), pts = (b->avg_return - n->avg_return) * 100;
    js.push_back(judge("avg_return", b->avg_return, n->avg_return,
                       fmt("%.4f%%", b->avg_return * 100) + " -> " + fmt("%.4f%%", n->avg_return * 100) + " per bar",
                       rel, "drop " + num(rel) + "% (" + num(pts) + " points)", p.warn_avg_return_drop_pct,
                       p.rollback_avg_return_drop_pct,
                       limits(p.warn_avg_return_drop_pct, p.rollback_avg_return_drop_pct, "%") + ", when over " +
                           limit(p.avg_return_floor_points) + " points",
                       pts > p.avg_return_floor_points + tolerance));
  }
  {
    const double bd = b->max_drawdown, nd = n->max_drawdown;
    const double rel = bd != 0 ? (nd - bd) / bd * 100 : (nd > bd ? inf : 0.0), pts = (nd - bd) * 100;
    js.push_back(judge("max_drawdown", bd, nd, pct(bd) + " -> " + pct(nd), rel,
                       "increase " + num(rel) + "% (" + num(pts) + " points)", p.warn_drawdown_increase_pct,
                       p.rollback_drawdown_increase_pct,
                       limits(p.warn_drawdown_increase_pct, p.rollback_drawdown_increase_pct, "%") + ", when over " +
                           limit(p.drawdown_floor_points) + " points",
                       pts > p.drawdown_floor_points + tolerance));
  }
  std::vector<std::string> not_judged;
  auto count = [](double x) { return fmt("%.0f", x); };
  if (bi->has_value() && ni->has_value()) {
    const auto &x = **bi, &y = **ni;
    js.push_back(judge("inference_errors", x[0], y[0], count(x[0]) + " -> " + count(y[0]), y[0] - x[0],
                       "increase " + count(y[0] - x[0]), p.rollback_inference_errors_increase,
                       p.rollback_inference_errors_increase,
                       "ROLLBACK over " + limit(p.rollback_inference_errors_increase)));
    js.push_back(judge("oom_splits", x[1], y[1], count(x[1]) + " -> " + count(y[1]), y[1] - x[1],
                       "increase " + count(y[1] - x[1]), p.warn_oom_splits_increase, inf,
                       limits(p.warn_oom_splits_increase, inf, "")));
  } else {
    not_judged.push_back(std::string("inference_errors, oom_splits: the ") + (bi->has_value() ? "new" : "base") +
                         " report has no \"inference\" figures");
  }
  // A report without lookups (the cache off) has no hit rate to judge.
  auto lookups = [](const std::optional<std::vector<double>>& f) { return f && (*f)[0] + (*f)[1] > 0; };
  if (lookups(*bc) && lookups(*nc)) {
    const double x = (**bc)[2], y = (**nc)[2];
    js.push_back(judge("cache_hit_rate", x, y, fmt("%.2f%%", x) + " -> " + fmt("%.2f%%", y), x - y,
                       "drop " + num(x - y) + " points", p.warn_cache_hit_rate_drop_points, inf,
                       limits(p.warn_cache_hit_rate_drop_points, inf, " points")));
  } else {
    not_judged.push_back(std::string("cache_hit_rate: the ") + (lookups(*bc) ? "new" : "base") +
                         " report made no cache lookups");
  }
  for (const auto& j : js) c.result = std::max(c.result, j.result);
  for (const auto& j : js)
    if (j.result == c.result && c.result != verdict::ok) c.reasons.push_back(j.line);

  // The table.
  std::string t = row("metric", "base", "new", "change");
  t += row("sharpe", num(sb), num(sn), rel_change(sb, sn));
  t += row("win_rate", pct(b->win_rate), pct(n->win_rate), fmt("%+.2f pts", (n->win_rate - b->win_rate) * 100));
  t += row("total_return", pct(b->total_return), pct(n->total_return),
           fmt("%+.2f pts", (n->total_return - b->total_return) * 100));
  t += row("avg_return", pct(b->avg_return), pct(n->avg_return),
           fmt("%+.4f pts", (n->avg_return - b->avg_return) * 100));
  t += row("annualized_return", pct(b->annualized_return), pct(n->annualized_return),
           fmt("%+.2f pts", (n->annualized_return - b->annualized_return) * 100));
  t += row("sortino", num(b->sortino), num(n->sortino), rel_change(b->sortino, n->sortino));
  t += row("max_drawdown", pct(b->max_drawdown), pct(n->max_drawdown),
           fmt("%+.2f pts", (n->max_drawdown - b->max_drawdown) * 100));
  t += row("profit_factor", num(b->profit_factor), num(n->profit_factor),
           std::isfinite(b->profit_factor) && std::isfinite(n->profit_factor)
               ? rel_change(b->profit_factor, n->profit_factor)
               : "n/a");
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
  for (const auto& j : js) t += "\n  " + j.line;
  for (const auto& l : not_judged) t += "\n  not judged: " + l;
  t += "\n";
  c.table = std::move(t);
  return c;
}

expected<comparison> compare_text(std::string_view base_report, std::string_view new_report, const compare_params& p) {
  auto base = nlohmann::json::parse(base_report, nullptr, false);
  if (base.is_discarded()) return tb::error{errc::bad_data, "base report is not valid JSON"};
  auto cand = nlohmann::json::parse(new_report, nullptr, false);
  if (cand.is_discarded()) return tb::error{errc::bad_data, "new report is not valid JSON"};
  return compare(base, cand, p);
}

}  // namespace tb::strategy
