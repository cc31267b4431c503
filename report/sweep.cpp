#include "report/sweep.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

namespace tb::report {

using namespace strategy;
namespace {

nlohmann::json settings_json(const std::vector<sweep_setting>& settings) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& s : settings) out[s.key] = s.value;
  return out;
}

// A setting's value as the page shows it: strings without JSON quotes.
std::string value_text(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::string cell(const std::string& html, const char* cls = nullptr) {
  return std::string("<td") + (cls ? std::string(" class=\"") + cls + "\"" : "") + ">" + html + "</td>";
}

}  // namespace

std::vector<std::size_t> rank_by_sharpe(const std::vector<sweep_run>& runs) {
  std::vector<std::size_t> order(runs.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto key = [](double x) { return std::isnan(x) ? -INFINITY : x; };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const auto &ra = runs[a], &rb = runs[b];
    if (key(ra.metrics.sharpe) != key(rb.metrics.sharpe)) return key(ra.metrics.sharpe) > key(rb.metrics.sharpe);
    if (key(ra.metrics.total_return) != key(rb.metrics.total_return))
      return key(ra.metrics.total_return) > key(rb.metrics.total_return);
    return ra.number < rb.number;
  });
  return order;
}

nlohmann::json to_json(const sweep_summary& s) {
  nlohmann::json grid = nlohmann::json::array();
  for (const auto& [key, values] : s.grid) grid.push_back({{"key", key}, {"values", values}});
  nlohmann::json runs = nlohmann::json::array();
  const auto order = rank_by_sharpe(s.runs);
  for (std::size_t rank = 0; rank < order.size(); ++rank) {
    const auto& r = s.runs[order[rank]];
    runs.push_back({{"rank", rank + 1},
                    {"run", r.number},
                    {"report", r.report_dir + "/report.json"},
                    {"settings", settings_json(r.settings)},
                    {"metrics", to_json(r.metrics)},
                    {"orders", to_json(r.orders)},
                    {"fills", r.fills},
                    {"cache", to_json(r.cache)},
                    {"timing", to_json(r.timing)}});
  }
  nlohmann::json winner = nullptr;
  if (!order.empty()) {
    const auto& w = s.runs[order.front()];
    winner = {{"run", w.number},
              {"report", w.report_dir + "/report.json"},
              {"settings", settings_json(w.settings)},
              {"sharpe", w.metrics.sharpe}};
  }
  return {{"format", sweep_format}, {"version", sweep_version}, {"ranked_by", "sharpe"}, {"config", s.config_path},
          {"data_dir", s.data_dir}, {"from", s.from_date},      {"to", s.to_date},       {"sets", s.sets},
          {"grid", grid},           {"winner", winner},         {"runs", runs}};
}

std::string render_html(const sweep_summary& s) {
  const auto order = rank_by_sharpe(s.runs);
  std::string o = html_page_start("tradebot sweep: " + html_escape(s.from_date) + " to " + html_escape(s.to_date));
  o += "<h1>tradebot sweep</h1>\n";
  o += "<p class=\"note\">" + html_escape(s.from_date) + " to " + html_escape(s.to_date) + " &middot; " +
       std::to_string(s.runs.size()) + " runs, ranked by Sharpe</p>\n";
  if (order.empty()) {
    o += "<p class=\"headline\">No runs.</p>\n";
  } else {
    const auto& w = s.runs[order.front()];
    std::string settings;
    for (const auto& st : w.settings)
      settings += (settings.empty() ? "" : " &middot; ") + html_escape(st.key) + " = <b>" +
                  html_escape(value_text(st.value)) + "</b>";
    o += "<p class=\"headline\" id=\"winner\">winner: run " + std::to_string(w.number) + " &middot; Sharpe <b>" +
         format_fixed(w.metrics.sharpe, 3) + "</b> &middot; total return <b>" + format_percent(w.metrics.total_return) +
         "</b><br>" + (settings.empty() ? std::string("(no grid)") : settings) + "</p>\n";
  }
  o += "<h2>Runs</h2>\n<table id=\"runs\">\n<tr><th>rank</th><th class=\"l\">run</th>";
  for (const auto& [key, values] : s.grid) o += "<th class=\"l\">" + html_escape(key) + "</th>";
  o += "<th>Sharpe</th><th>total return</th><th>max drawdown</th><th>win rate</th><th>trades</th><th>Sortino</th>"
       "<th>profit factor</th><th>orders</th><th>fills</th><th>computed</th><th>cache hits</th><th>seconds</th></tr>\n";
  for (std::size_t rank = 0; rank < order.size(); ++rank) {
    const auto& r = s.runs[order[rank]];
    const auto& m = r.metrics;
    o += "<tr>" + cell(std::to_string(rank + 1)) +
         cell("<a href=\"" + html_escape(r.report_dir) + "/report.html\">" + html_escape(r.report_dir) + "</a>", "l");
    for (const auto& st : r.settings) o += cell(html_escape(value_text(st.value)), "l");
    const char* sign = m.total_return > 0 ? "pos" : (m.total_return < 0 ? "neg" : nullptr);
    o += cell(format_fixed(m.sharpe, 3)) + cell(format_percent(m.total_return), sign) +
         cell(format_percent(m.max_drawdown)) + cell(format_percent(m.win_rate, 1)) + cell(std::to_string(m.trades)) +
         cell(format_fixed(m.sortino, 3)) + cell(format_fixed(m.profit_factor, 3)) +
         cell(std::to_string(r.orders.sent)) + cell(std::to_string(r.fills)) + cell(std::to_string(r.cache.computed)) +
         cell(std::to_string(r.cache.hits) + " / " + std::to_string(r.cache.hits + r.cache.misses)) +
         cell(format_fixed(r.timing.elapsed_s, 1)) + "</tr>\n";
  }
  o += "</table>\n";
  o += "<h2>Sweep</h2>\n<table class=\"kv\">\n";
  auto kv = [&](const std::string& k, const std::string& v) {
    o += "<tr><td>" + k + "</td><td>" + (v.empty() ? std::string("&ndash;") : v) + "</td></tr>\n";
  };
  kv("config", html_escape(s.config_path));
  kv("data", html_escape(s.data_dir));
  kv("period", html_escape(s.from_date) + " to " + html_escape(s.to_date));
  std::string sets;
  for (const auto& x : s.sets) sets += (sets.empty() ? "" : "<br>") + html_escape(x);
  kv("--set", sets);
  for (const auto& [key, values] : s.grid) {
    std::string vs;
    for (const auto& v : values) vs += (vs.empty() ? "" : ", ") + html_escape(v);
    kv("--grid " + html_escape(key), vs);
  }
  o += "</table>\n<p class=\"note\">Written by tradebot sweep (format " + std::string(sweep_format) + " v" +
       std::to_string(sweep_version) + "); each run's own page is its report.html.</p>\n</body>\n</html>\n";
  return o;
}

expected<summary_paths> write_summary(const sweep_summary& s, const std::string& dir) {
  if (auto made = create_report_dir(dir); !made) return made.error();
  summary_paths paths{(std::filesystem::path(dir) / "summary.json").string(),
                      (std::filesystem::path(dir) / "summary.html").string()};
  if (auto w = write_file_atomically(paths.json,
                                     to_json(s).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
      !w)
    return w.error();
  if (auto w = write_file_atomically(paths.html, render_html(s)); !w) return w.error();
  return paths;
}

}  // namespace tb::report
