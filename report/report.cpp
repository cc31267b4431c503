#include "report/report.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <utility>

#include "core/clock.hpp"

namespace tb::report {

using namespace strategy;

// ---------------------------------------------------------------------------------------------
// Formatting helpers (locale-independent, deterministic)

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace {

std::string fmt(const char* f, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, x);
  return buf;
}

// 1234567.891 -> "1,234,567.89"
std::string money(double x, int decimals = 2) {
  if (!std::isfinite(x)) return std::isnan(x) ? "&ndash;" : (x > 0 ? "&infin;" : "-&infin;");
  char f[8];
  std::snprintf(f, sizeof f, "%%.%df", std::clamp(decimals, 0, 9));
  std::string s = fmt(f, std::fabs(x));
  const auto dot = std::min(s.find('.'), s.size());
  std::string intpart = s.substr(0, dot), grouped;
  for (std::size_t i = 0; i < intpart.size(); ++i) {
    if (i > 0 && (intpart.size() - i) % 3 == 0) grouped += ',';
    grouped += intpart[i];
  }
  const bool zero = s.find_first_not_of("0.") == std::string::npos;
  return (x < 0 && !zero ? "-" : "") + grouped + s.substr(dot);
}

std::string num(double x, int prec = 2) {
  if (!std::isfinite(x)) return std::isnan(x) ? "&ndash;" : (x > 0 ? "&infin;" : "-&infin;");
  char f[8];
  std::snprintf(f, sizeof f, "%%.%df", prec);
  std::string s = fmt(f, x);
  if (s.find_first_not_of("-0.") == std::string::npos && s[0] == '-') s.erase(0, 1);  // no "-0.00"
  return s;
}

std::string pct(double x, int prec = 2) {
  if (!std::isfinite(x)) return num(x);
  return num(x * 100, prec) + "%";
}

// Quantity: up to 6 decimals, trailing zeros trimmed.
std::string qty_text(double x) {
  std::string s = num(x, 6);
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  return s;
}

// An SVG coordinate with one decimal.
std::string coord(double x) { return num(x, 1); }

std::string time_label(std::int64_t t, std::int64_t span_s) {
  return span_s < 3 * 86400 ? utc_date_time(t).substr(0, 16) : utc_date(t);
}

}  // namespace

std::string utc_date(std::int64_t time_s) { return core::to_iso8601(core::from_unix_seconds(time_s)).substr(0, 10); }

std::string utc_date_time(std::int64_t time_s) {
  const std::string iso = core::to_iso8601(core::from_unix_seconds(time_s));  // YYYY-MM-DDTHH:MM:SSZ
  return iso.substr(0, 10) + " " + iso.substr(11, 8);
}

// ---------------------------------------------------------------------------------------------
// SVG charts

namespace {

struct series_point {
  std::int64_t t;
  double v;
};

// At most max_points points: the curve's own when it fits, else per bucket its lowest and highest
// point in time order (so every peak and trough of the curve survives), first and last kept.
std::vector<series_point> thin(const std::vector<series_point>& pts, std::size_t max_points) {
  if (pts.size() <= max_points || max_points < 4) return pts;
  const std::size_t buckets = max_points / 2;
  std::vector<series_point> out;
  out.reserve(buckets * 2);
  const std::size_t n = pts.size();
  for (std::size_t b = 0; b < buckets; ++b) {
    const std::size_t lo = b * n / buckets, hi = (b + 1) * n / buckets;
    if (lo >= hi) continue;
    std::size_t imin = lo, imax = lo;
    for (std::size_t i = lo; i < hi; ++i) {
      if (pts[i].v < pts[imin].v) imin = i;
      if (pts[i].v > pts[imax].v) imax = i;
    }
    const std::size_t a = std::min(imin, imax), c = std::max(imin, imax);
    out.push_back(pts[a]);
    if (c != a) out.push_back(pts[c]);
  }
  if (out.front().t != pts.front().t || out.front().v != pts.front().v) out.insert(out.begin(), pts.front());
  if (out.back().t != pts.back().t || out.back().v != pts.back().v) out.push_back(pts.back());
  return out;
}

// A "nice" tick step (1, 2 or 5 x 10^k) giving about `target` intervals over `range`.
double nice_step(double range, int target) {
  const double raw = range / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

struct chart_spec {
  const char* id;  // element id and CSS class of the line
  const char* title;
  const char* y_title;
  bool percent;   // values are fractions, labelled as percents
  bool inverted;  // drawdown: 0 at the top, growing downwards
  const char* colour;
  const char* fill;  // area fill under/over the line, "" for none
};

constexpr double chart_w = 1000, chart_h = 280;
constexpr double m_left = 90, m_right = 50, m_top = 34, m_bottom = 46;

std::string value_label(double v, bool percent) { return percent ? pct(v) : money(v); }

// An axis tick: as many decimals as the tick step needs (at most 2 for money, 4 for percents).
std::string tick_label(double v, double step, bool percent) {
  const double unit = percent ? step * 100 : step;
  const int decimals = std::clamp(int(-std::floor(std::log10(unit) + 1e-9)), 0, percent ? 4 : 2);
  return percent ? num(v * 100, decimals) + "%" : money(v, decimals);
}

std::string render_chart(const std::vector<series_point>& all, const chart_spec& s, std::size_t max_points) {
  std::string o;
  o += "<figure class=\"chart\" id=\"" + std::string(s.id) + "-chart\">\n";
  o += "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + num(chart_w, 0) + " " + num(chart_h, 0) +
       "\" width=\"100%\" role=\"img\" aria-label=\"" + s.title + "\">\n";
  o += "<title>" + std::string(s.title) + "</title>\n";
  o +=
      "<rect x=\"0\" y=\"0\" width=\"" + num(chart_w, 0) + "\" height=\"" + num(chart_h, 0) + "\" fill=\"#ffffff\"/>\n";
  o += "<text x=\"" + coord(m_left) + "\" y=\"20\" class=\"ctitle\">" + std::string(s.title) + "</text>\n";
  const double x0 = m_left, x1 = chart_w - m_right, y0 = m_top, y1 = chart_h - m_bottom;
  if (all.empty()) {
    o += "<rect x=\"" + coord(x0) + "\" y=\"" + coord(y0) + "\" width=\"" + coord(x1 - x0) + "\" height=\"" +
         coord(y1 - y0) + "\" fill=\"none\" stroke=\"#999\"/>\n";
    o += "<text x=\"" + coord((x0 + x1) / 2) + "\" y=\"" + coord((y0 + y1) / 2) +
         "\" text-anchor=\"middle\" class=\"lbl\">no data</text>\n";
    o += "</svg>\n</figure>\n";
    return o;
  }
  const auto pts = thin(all, max_points);

  // Value range over ALL points (min/max are exact even when the drawing is thinned).
  std::size_t imin = 0, imax = 0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i].v < all[imin].v) imin = i;
    if (all[i].v > all[imax].v) imax = i;
  }
  double vmin = all[imin].v, vmax = all[imax].v;
  if (s.inverted) vmin = 0;  // drawdown axis starts at 0
  double lo = vmin, hi = vmax;
  if (hi - lo <= std::fabs(hi) * 1e-12) {  // flat: open a band around it
    const double pad = s.percent ? 0.01 : std::max(std::fabs(hi) * 0.01, 1.0);
    lo = s.inverted ? 0 : lo - pad;
    hi = hi + pad;
  } else {
    const double pad = (hi - lo) * 0.05;
    lo = s.inverted ? 0 : lo - pad;
    hi += pad;
  }
  const double step = nice_step(hi - lo, 5);
  const std::int64_t t_min = all.front().t, t_max = all.back().t;
  const std::int64_t span = t_max - t_min;

  auto xs = [&](std::int64_t t) {
    return span > 0 ? x0 + (x1 - x0) * double(t - t_min) / double(span) : (x0 + x1) / 2;
  };
  auto ys = [&](double v) {
    const double f = (v - lo) / (hi - lo);
    return s.inverted ? y0 + (y1 - y0) * f : y1 - (y1 - y0) * f;
  };

  // Grid and y ticks.
  o += "<g class=\"grid\">\n";
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) {
    const double y = ys(v);
    o += "<line x1=\"" + coord(x0) + "\" y1=\"" + coord(y) + "\" x2=\"" + coord(x1) + "\" y2=\"" + coord(y) +
         "\" stroke=\"#e5e5e5\"/>";
    o += "<text x=\"" + coord(x0 - 6) + "\" y=\"" + coord(y + 4) + "\" text-anchor=\"end\" class=\"lbl\">" +
         tick_label(std::fabs(v) < step * 1e-9 ? 0.0 : v, step, s.percent) + "</text>\n";
  }
  // x ticks: 5 evenly spaced times (or the one time).
  const int n_xt = span > 0 ? 5 : 1;
  for (int i = 0; i < n_xt; ++i) {
    const std::int64_t t = span > 0 ? t_min + span * i / (n_xt - 1) : t_min;
    const double x = xs(t);
    o += "<line x1=\"" + coord(x) + "\" y1=\"" + coord(y0) + "\" x2=\"" + coord(x) + "\" y2=\"" + coord(y1 + 5) +
         "\" stroke=\"#e5e5e5\"/>";
    o += "<text x=\"" + coord(x) + "\" y=\"" + coord(y1 + 20) + "\" text-anchor=\"middle\" class=\"lbl\">" +
         time_label(t, span) + "</text>\n";
  }
  o += "</g>\n";

  // Axes and their titles.
  o += "<g class=\"axes\" stroke=\"#333\">";
  o += "<line x1=\"" + coord(x0) + "\" y1=\"" + coord(y0) + "\" x2=\"" + coord(x0) + "\" y2=\"" + coord(y1) + "\"/>";
  o += "<line x1=\"" + coord(x0) + "\" y1=\"" + coord(y1) + "\" x2=\"" + coord(x1) + "\" y2=\"" + coord(y1) + "\"/>";
  o += "</g>\n";
  o += "<text x=\"14\" y=\"" + coord((y0 + y1) / 2) + "\" transform=\"rotate(-90 14 " + coord((y0 + y1) / 2) +
       ")\" text-anchor=\"middle\" class=\"lbl\">" + s.y_title + "</text>\n";
  o += "<text x=\"" + coord((x0 + x1) / 2) + "\" y=\"" + coord(chart_h - 6) +
       "\" text-anchor=\"middle\" class=\"lbl\">time (UTC)</text>\n";

  // The curve.
  std::string points;
  for (std::size_t i = 0; i < pts.size(); ++i) {
    if (i) points += ' ';
    points += coord(xs(pts[i].t)) + "," + coord(ys(pts[i].v));
  }
  if (*s.fill) {
    const double base = s.inverted ? y0 : y1;
    o += "<polygon class=\"" + std::string(s.id) + "-area\" fill=\"" + s.fill +
         "\" fill-opacity=\"0.15\" stroke=\"none\" points=\"" + coord(xs(pts.front().t)) + "," + coord(base) + " " +
         points + " " + coord(xs(pts.back().t)) + "," + coord(base) + "\"/>\n";
  }
  o += "<polyline id=\"" + std::string(s.id) + "-line\" class=\"" + s.id + "\" fill=\"none\" stroke=\"" + s.colour +
       "\" stroke-width=\"2\" stroke-linejoin=\"round\" points=\"" + points + "\"/>\n";
  if (pts.size() == 1)
    o += "<circle cx=\"" + coord(xs(pts[0].t)) + "\" cy=\"" + coord(ys(pts[0].v)) + "\" r=\"3\" fill=\"" + s.colour +
         "\"/>\n";

  // Min and max, marked and labelled with their value and date.
  auto mark = [&](std::size_t i, const char* what, bool above) {
    const double x = xs(all[i].t), y = ys(all[i].v);
    const char* anchor = x > (x0 + x1) / 2 ? "end" : "start";
    const double tx = x > (x0 + x1) / 2 ? x - 9 : x + 9;
    const double ty = std::clamp(above ? y - 8 : y + 16, y0 + 10, y1 - 4);
    o += "<circle class=\"mark\" cx=\"" + coord(x) + "\" cy=\"" + coord(y) +
         "\" r=\"4\" fill=\"none\" stroke=\"#111\"/>";
    o += "<text x=\"" + coord(tx) + "\" y=\"" + coord(ty) + "\" text-anchor=\"" + anchor + "\" class=\"mk\">" + what +
         " " + value_label(all[i].v, s.percent) + " (" + time_label(all[i].t, span) + ")</text>\n";
  };
  if (s.inverted) {
    if (all[imax].v > 0) mark(imax, "max", false);
  } else {
    mark(imax, "max", true);
    if (imin != imax) mark(imin, "min", false);
  }
  o += "</svg>\n";
  o += "<figcaption>" + std::to_string(all.size()) + " points, " + time_label(t_min, span) + " to " +
       time_label(t_max, span);
  if (pts.size() != all.size())
    o += "; drawn from " + std::to_string(pts.size()) + " of them (each stretch's low and high kept)";
  o += "</figcaption>\n</figure>\n";
  return o;
}

std::string row(std::initializer_list<std::string> cells, const char* tag = "td") {
  std::string o = "<tr>";
  for (const auto& c : cells) o += std::string("<") + tag + ">" + c + "</" + tag + ">";
  return o + "</tr>\n";
}

std::string or_dash(const std::string& s) { return s.empty() ? "&ndash;" : html_escape(s); }

}  // namespace

std::string html_page_start(std::string_view title) {
  std::string o = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  o += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  o += "<title>" + std::string(title) + "</title>\n";
  o +=
      "<style>\n"
      "body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:24px "
      "auto;max-width:1100px;color:#1b1b1b;padding:0 12px}\n"
      "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid "
      "#ddd;padding-bottom:4px}\n"
      "table{border-collapse:collapse;font-size:13px}td,th{padding:3px 10px;border-bottom:1px solid "
      "#eee;text-align:right;white-space:nowrap}\n"
      "th{background:#f4f4f4;font-weight:600}td.l,th.l{text-align:left}\n"
      "table.kv td:first-child{text-align:left;color:#555}table.kv td{text-align:left}\n"
      ".chart{margin:8px 0}.chart figcaption{font-size:12px;color:#666}\n"
      "svg .lbl{font-size:12px;fill:#444}svg .ctitle{font-size:14px;font-weight:600;fill:#1b1b1b}svg "
      ".mk{font-size:12px;fill:#111}\n"
      ".headline{font-size:15px;margin:6px 0 0}.note{font-size:12px;color:#666}.pos{color:#116329}.neg{color:#b42318}\n"
      "</style>\n</head>\n<body>\n";
  return o;
}

std::string format_fixed(double x, int decimals) { return num(x, decimals); }
std::string format_percent(double fraction, int decimals) { return pct(fraction, decimals); }

std::string render_html(const backtest_report& r, const html_options& opt) {
  std::string o;
  o.reserve(64 * 1024);
  const auto& run = r.run;
  std::string period = run.from_date.empty() && run.to_date.empty()
                           ? std::string("all data")
                           : or_dash(run.from_date) + " to " + or_dash(run.to_date);
  o += html_page_start("tradebot backtest: " + period);
  o += "<h1>tradebot backtest</h1>\n";
  o += "<p class=\"note\">" + period + " &middot; " + std::to_string(run.symbols.size()) + " symbols &middot; model " +
       or_dash(run.model) + "</p>\n";
  o += "<p class=\"headline\">total return <b>" + pct(r.metrics.total_return) + "</b> &middot; Sharpe <b>" +
       num(r.metrics.sharpe, 2) + "</b> &middot; win rate <b>" + pct(r.metrics.win_rate, 1) +
       "</b> &middot; max drawdown <b>" + pct(r.metrics.max_drawdown) + "</b> &middot; " +
       std::to_string(r.metrics.trades) + " trades</p>\n";

  // Charts.
  std::vector<series_point> eq, dd;
  eq.reserve(r.equity_curve.size());
  for (const auto& p : r.equity_curve) eq.push_back({p.time_s, p.equity});
  for (const auto& p : drawdown_curve(r.equity_curve)) dd.push_back({p.time_s, p.drawdown});
  o += "<h2>Equity</h2>\n";
  o += render_chart(eq, {"equity", "Equity curve", "equity", false, false, "#1f5fbf", "#1f5fbf"}, opt.max_chart_points);
  o += render_chart(dd, {"drawdown", "Drawdown from the running peak", "drawdown", true, true, "#b42318", "#b42318"},
                    opt.max_chart_points);

  // Metrics.
  const auto& m = r.metrics;
  auto signed_cls = [](double x) { return x > 0 ? "pos" : (x < 0 ? "neg" : ""); };
  o += "<h2>Metrics</h2>\n<table class=\"kv\" id=\"metrics\">\n";
  o += row({"total return",
            std::string("<span class=\"") + signed_cls(m.total_return) + "\">" + pct(m.total_return) + "</span>"});
  o += row({"average return per bar", pct(m.avg_return, 4)});
  o += row({"annualized return", pct(m.annualized_return)});
  o += row({"Sharpe", num(m.sharpe, 3)});
  o += row({"Sortino", num(m.sortino, 3)});
  o += row({"win rate", pct(m.win_rate)});
  o += row({"max drawdown", pct(m.max_drawdown)});
  o += row({"profit factor", num(m.profit_factor, 3)});
  o += row({"trades", std::to_string(m.trades)});
  o += row({"turnover per bar", num(m.turnover, 3)});
  o += row({"volatility per bar", pct(m.volatility, 3)});
  o += row({"bars", std::to_string(m.bars) + " (" + std::to_string(m.periods_per_year) + " per year)"});
  o += "</table>\n";

  // Per symbol.
  o += "<h2>Per symbol</h2>\n";
  if (r.symbols.empty()) {
    o += "<p class=\"note\">No per-symbol rows.</p>\n";
  } else {
    o += "<table id=\"symbols\">\n";
    o += "<tr><th class=\"l\">symbol</th><th class=\"l\">asset</th><th "
         "class=\"l\">strategy</th><th>bars</th><th>trades</th>"
         "<th>total return</th><th>annualized</th><th>Sharpe</th><th>Sortino</th><th>win rate</th><th>max drawdown</th>"
         "<th>profit factor</th></tr>\n";
    for (const auto& s : r.symbols) {
      const auto& sm = s.metrics;
      o += "<tr><td class=\"l\">" + html_escape(s.symbol) + "</td><td class=\"l\">" + to_string(s.asset) +
           "</td><td class=\"l\">" + or_dash(s.strategy) + "</td><td>" + std::to_string(sm.bars) + "</td><td>" +
           std::to_string(sm.trades) + "</td><td class=\"" + signed_cls(sm.total_return) + "\">" +
           pct(sm.total_return) + "</td><td>" + pct(sm.annualized_return) + "</td><td>" + num(sm.sharpe, 3) +
           "</td><td>" + num(sm.sortino, 3) + "</td><td>" + pct(sm.win_rate) + "</td><td>" + pct(sm.max_drawdown) +
           "</td><td>" + num(sm.profit_factor, 3) + "</td></tr>\n";
    }
    o += "</table>\n";
  }

  // Trades.
  o += "<h2>Trades</h2>\n";
  if (r.trades.empty()) {
    o += "<p class=\"note\">No fills.</p>\n";
  } else {
    const std::size_t shown = std::min(r.trades.size(), opt.max_trade_rows);
    if (shown < r.trades.size())
      o += "<p class=\"note\" id=\"trades-note\">Showing the first " + std::to_string(shown) + " of " +
           std::to_string(r.trades.size()) + " fills; report.json holds them all.</p>\n";
    o += "<table id=\"trades\">\n";
    o += "<tr><th class=\"l\">time (UTC)</th><th class=\"l\">symbol</th><th "
         "class=\"l\">side</th><th>qty</th><th>price</th>"
         "<th>notional</th><th>fee</th><th class=\"l\">client order id</th></tr>\n";
    for (std::size_t i = 0; i < shown; ++i) {
      const auto& t = r.trades[i];
      o += "<tr><td class=\"l\">" + utc_date_time(t.time_s) + "</td><td class=\"l\">" + html_escape(t.symbol) +
           "</td><td class=\"l\">" + to_string(t.side) + "</td><td>" + qty_text(t.qty) + "</td><td>" + money(t.price) +
           "</td><td>" + money(t.qty * t.price) + "</td><td>" + money(t.fee) + "</td><td class=\"l\">" +
           html_escape(t.client_order_id) + "</td></tr>\n";
    }
    o += "</table>\n";
  }
  // Run.
  o += "<h2>Run</h2>\n<table class=\"kv\">\n";
  std::string syms;
  for (std::size_t i = 0; i < run.symbols.size(); ++i) syms += (i ? ", " : "") + html_escape(run.symbols[i]);
  o += row({"config", or_dash(run.config_path)});
  o += row({"data", or_dash(run.data_dir)});
  o += row({"period", period});
  o += row({"symbols", syms.empty() ? "&ndash;" : syms});
  o += row({"model", or_dash(run.model)});
  o += row({"started", run.started_s ? utc_date_time(run.started_s) + " UTC" : "&ndash;"});
  o += row({"finished", run.finished_s ? utc_date_time(run.finished_s) + " UTC" : "&ndash;"});
  if (run.started_s && run.finished_s) o += row({"duration", std::to_string(run.finished_s - run.started_s) + " s"});
  o += row({"orders", std::to_string(r.orders.sent) + " sent, " + std::to_string(r.orders.filled) + " filled, " +
                          std::to_string(r.orders.rejected) + " rejected"});
  o += row({"fills", std::to_string(r.trades.size())});
  if (!r.equity_curve.empty())
    o += row({"equity", money(r.equity_curve.front().equity) + " &rarr; " + money(r.equity_curve.back().equity)});
  o += "</table>\n";

  // Forecast cache and time.
  const auto& c = r.cache;
  o += "<h2>Forecast cache and time</h2>\n<table class=\"kv\" id=\"cache\">\n";
  o += row({"cache hits", std::to_string(c.hits)});
  o += row({"cache misses", std::to_string(c.misses)});
  o += row({"hit rate", num(c.hit_rate_percent, 1) + " %"});
  o += row({"windows computed", std::to_string(c.computed)});
  o += row({"forecasts stored", std::to_string(c.stored)});
  o += row({"inference errors", std::to_string(r.inference.errors)});
  o += row({"out-of-memory splits", std::to_string(r.inference.oom_splits)});
  o += row({"elapsed", num(r.timing.elapsed_s, 2) + " s"});
  o += row({"inference", num(r.timing.inference_s, 2) + " s"});
  o += row({"cycles", std::to_string(r.timing.cycles)});
  o += "</table>\n";

  o += "<p class=\"note\">Written by tradebot from report.json (format " + std::string(report_format) + " v" +
       std::to_string(report_version) + ").</p>\n";
  o += "</body>\n</html>\n";
  return o;
}

// ---------------------------------------------------------------------------------------------
// Files

expected<bool> write_file_atomically(const std::string& path, const std::string& data) {
  std::string tmpl = path + ".tmp.XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  const int fd = ::mkstemp(name.data());
  if (fd < 0) return tb::error{errc::io, "cannot create a temporary file for " + path + ": " + std::strerror(errno)};
  const std::string tmp(name.data());
  auto fail = [&](const char* what) {
    const int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return tb::error{errc::io, std::string("cannot ") + what + " " + path + ": " + std::strerror(e)};
  };
  if (::fchmod(fd, 0644) != 0) return fail("set the mode of");
  const char* p = data.data();
  std::size_t left = data.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write");
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("flush");
  if (::close(fd) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return tb::error{errc::io, "cannot close " + path + ": " + std::strerror(e)};
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return tb::error{errc::io, "cannot rename " + tmp + " to " + path + ": " + std::strerror(e)};
  }
  return true;
}

expected<bool> create_report_dir(const std::string& dir) {
  if (dir.empty()) return tb::error{errc::invalid_argument, "report directory is empty"};
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return tb::error{errc::io, "cannot create report directory " + dir + ": " + ec.message()};
  if (!std::filesystem::is_directory(dir, ec))
    return tb::error{errc::io, "report directory " + dir + " is not a directory"};
  return true;
}

expected<report_paths> write_report(const backtest_report& r, const std::string& dir, const html_options& o) {
  auto v = validate(r);
  if (!v) return v.error();
  if (auto made = create_report_dir(dir); !made) return made.error();
  report_paths paths{(std::filesystem::path(dir) / "report.json").string(),
                     (std::filesystem::path(dir) / "report.html").string()};
  if (auto w = write_file_atomically(paths.json,
                                     to_json(r).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
      !w)
    return w.error();
  if (auto w = write_file_atomically(paths.html, render_html(r, o)); !w) return w.error();
  return paths;
}

}  // namespace tb::report
