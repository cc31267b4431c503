#include "market/replay_feed.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/bar_csv.hpp"
#include "market/symbols.hpp"

namespace tb::market {

namespace {

std::string stem_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  const auto dot = name.find_last_of('.');
  if (dot != std::string::npos && dot > 0) name.resize(dot);
  return name;
}

bool spread_ok(double s) { return std::isfinite(s) && s >= 0 && s <= 0.1; }

}  // namespace

tb::expected<std::shared_ptr<replay_feed>> replay_feed::create(const replay_config& cfg,
                                                               std::shared_ptr<const core::clock> clock) {
  auto bad = [](const std::string& msg) { return tb::error{errc::bad_config, "replay: " + msg}; };
  if (!clock) return tb::error{errc::invalid_argument, "replay_feed: null clock"};
  if (cfg.sources.empty()) return bad("no source files");
  if (!spread_ok(cfg.equity_spread)) return bad("equity_spread outside [0, 0.1]");
  if (!spread_ok(cfg.crypto_spread)) return bad("crypto_spread outside [0, 0.1]");

  std::shared_ptr<replay_feed> feed(new replay_feed(std::move(clock)));
  std::set<std::string> seen;
  for (const replay_source& src : cfg.sources) {
    series_state st;
    st.symbol = src.symbol.empty() ? stem_of(src.path) : src.symbol;
    if (st.symbol.empty()) return bad("a source without symbol or file name ('" + src.path + "')");
    if (!seen.insert(st.symbol).second) return bad("symbol '" + st.symbol + "' appears twice");
    if (src.period && *src.period <= core::duration::zero()) return bad(st.symbol + ": period must be > 0");
    if (src.spread && !spread_ok(*src.spread)) return bad(st.symbol + ": spread outside [0, 0.1]");
    st.spread = src.spread ? *src.spread : (is_crypto(st.symbol) ? cfg.crypto_spread : cfg.equity_spread);
    st.timing.label = src.label;

    std::vector<std::string> warnings;
    auto loaded = core::load_bars_csv(src.path, st.symbol, &warnings);
    for (std::string& w : warnings) feed->warnings_.push_back(std::move(w));
    if (!loaded) {
      st.load_error = loaded.error();
    } else {
      st.series = std::move(*loaded);
      st.series.symbol = st.symbol;
    }
    if (src.period) {
      st.timing.period = *src.period;
    } else {
      std::int64_t min_gap = 0;
      const auto& b = st.series.bars;
      for (std::size_t i = 1; i < b.size(); ++i) {
        const std::int64_t gap = b[i].time_s - b[i - 1].time_s;
        if (gap > 0 && (min_gap == 0 || gap < min_gap)) min_gap = gap;
      }
      st.timing.period =
          min_gap > 0 ? core::duration(std::chrono::seconds(min_gap)) : core::duration(std::chrono::hours(24));
    }
    feed->series_.push_back(std::move(st));
  }
  return feed;
}

std::vector<std::string> replay_feed::symbols() const {
  std::vector<std::string> out;
  for (const series_state& s : series_) out.push_back(s.symbol);
  return out;
}

const replay_feed::series_state* replay_feed::find(const std::string& symbol) const {
  for (const series_state& s : series_)
    if (s.symbol == symbol) return &s;
  return nullptr;
}

tb::expected<const replay_feed::series_state*> replay_feed::usable(const std::string& symbol) const {
  const series_state* s = find(symbol);
  if (!s) return tb::error{errc::invalid_argument, "replay_feed: unknown symbol '" + symbol + "'"};
  if (s->load_error) return *s->load_error;
  return s;
}

tb::expected<bar_timing> replay_feed::timing(const std::string& symbol) const {
  auto s = usable(symbol);
  if (!s) return s.error();
  return (*s)->timing;
}

tb::expected<core::bar_series> replay_feed::all_bars(const std::string& symbol) const {
  auto s = usable(symbol);
  if (!s) return s.error();
  return (*s)->series;
}

tb::expected<core::bar_series> replay_feed::bars(const bar_query& q) {
  auto found = usable(q.symbol);
  if (!found) return found.error();
  const series_state& s = **found;
  const auto& all = s.series.bars;
  const core::time_point until = std::min(q.until, clock_->now());
  auto closes_by = [&](core::time_point limit) {
    return std::partition_point(all.begin(), all.end(),
                                [&](const core::bar& b) { return s.timing.closes_at(b) <= limit; });
  };
  auto end = closes_by(until);
  auto begin = q.closed_after ? closes_by(*q.closed_after) : all.begin();
  if (begin > end) begin = end;
  if (q.max_bars > 0 && static_cast<std::size_t>(end - begin) > q.max_bars) begin = end - q.max_bars;
  return core::bar_series{s.symbol, std::vector<core::bar>(begin, end)};
}

tb::expected<quote> replay_feed::latest_quote(const std::string& symbol) {
  auto found = usable(symbol);
  if (!found) return found.error();
  const series_state& s = **found;
  const core::time_point now = clock_->now();
  auto end = std::partition_point(s.series.bars.begin(), s.series.bars.end(),
                                  [&](const core::bar& b) { return s.timing.closes_at(b) <= now; });
  if (end == s.series.bars.begin())
    return tb::error{errc::unavailable,
                     "replay_feed: no bar of '" + symbol + "' has closed by " + core::to_iso8601(now)};
  const core::bar& last = *(end - 1);
  const double half = 0.5 * s.spread;
  return quote{last.close * (1.0 - half), last.close * (1.0 + half), s.timing.closes_at(last)};
}

}  // namespace tb::market
