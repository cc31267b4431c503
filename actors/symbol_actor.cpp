#include "actors/symbol_actor.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <vector>

#include <spdlog/spdlog.h>

#include "market/feed.hpp"
#include "market/symbols.hpp"
#include "strategy/selection.hpp"
#include "strategy/strategies.hpp"
#include "strategy/window.hpp"

namespace tb::actors {

// ---- symbol_board ----------------------------------------------------------------------------

symbol_board::symbol_board(std::shared_ptr<core::snapshot_board> board) : board_(std::move(board)) {
  board_->publish("symbols", nlohmann::json::object());  // until the first symbol writes
  std::lock_guard<std::mutex> lock(mu_);
  publish_check_locked();
}

void symbol_board::update(const std::string& symbol, nlohmann::json doc, const std::string& error) {
  const bool stale = doc.value("state", "") == "stale";
  std::lock_guard<std::mutex> lock(mu_);
  board_->publish_entry("symbols", symbol, std::move(doc));
  bool changed = symbols_.insert(symbol).second;
  changed |= stale ? stale_.insert(symbol).second : stale_.erase(symbol) > 0;
  if (error.empty()) {
    changed |= errors_.erase(symbol) > 0;
  } else if (auto [it, added] = errors_.try_emplace(symbol, error); added || it->second != error) {
    it->second = error;
    changed = true;
  }
  if (changed) publish_check_locked();
}

void symbol_board::remove(const std::string& symbol) {
  std::lock_guard<std::mutex> lock(mu_);
  board_->remove_entry("symbols", symbol);
  symbols_.erase(symbol);
  errors_.erase(symbol);
  stale_.erase(symbol);
  publish_check_locked();
}

void symbol_board::publish_check_locked() {
  core::health_check check;
  nlohmann::json failing = nlohmann::json::object();
  for (const auto& [s, e] : errors_) failing[s] = e;
  // Feed freshness: symbols whose last bar is older than trading.stale_after_bars periods.
  nlohmann::json stale = nlohmann::json::array();
  for (const auto& s : stale_) stale.push_back(s);
  // A failing symbol degrades the daemon; the others still trade.
  if (!errors_.empty()) check.status = core::health_status::degraded;
  check.detail = {{"symbols", symbols_.size()}, {"failing", failing}, {"stale", stale}};
  board_->publish_check("symbols", std::move(check));
}

// ---- the actor -------------------------------------------------------------------------------
namespace {

constexpr int max_backoff_cycles = 16;

struct symbol_state {
  symbol_actor_args args;
  bool crypto = false;
  std::optional<market::bar_timing> timing;
  std::vector<core::bar> bars;  // oldest first, at most keep_bars()
  double bid = 0, ask = 0;      // the latest quote (0: none)
  // the cycle in progress (a feed or forecast request out)
  bool busy = false;
  std::uint64_t cycle = 0;
  portfolio_actor portfolio;
  std::chrono::steady_clock::time_point started{};
  // backoff after failures
  int failures = 0;
  int skip_cycles = 0;
  std::string error;
  // the last analysis, reused while no new bar has arrived
  std::optional<proposal> last_analysis;
  // what /stats shows
  std::string state = "starting";
  std::string note;
  std::int64_t cycles = 0;
  std::int64_t windows_asked = 0;
  std::int64_t windows_computed = 0;      // answered by the model, not the cache
  std::int64_t last_cycle_computed = -1;  // of the last cycle that asked for forecasts; -1 none yet
  std::int64_t last_cycle_at_ns = 0;
  double last_cycle_ms = 0;
  nlohmann::json forecast = nullptr;
  nlohmann::json last_proposal = nullptr;
  std::uint64_t beats = 0;
  static inline const char* name = "symbol";
};

using symbol_actor = caf::stateful_actor<symbol_state>;

std::size_t keep_bars(const config& c) {
  return static_cast<std::size_t>(c.inference.lookback + c.trading.walk_forward_windows + 1) + 16;
}

void publish(symbol_actor* self) {
  auto& st = self->state;
  nlohmann::json doc = {
      {"state", st.state},
      {"note", st.note},
      {"error", st.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(st.error)},
      {"last_bar_time", st.bars.empty()
                            ? nlohmann::json(nullptr)
                            : nlohmann::json(core::to_iso8601(core::from_unix_seconds(st.bars.back().time_s)))},
      {"bars_held", st.bars.size()},
      {"cycles", st.cycles},
      {"last_cycle_at", st.last_cycle_at_ns
                            ? nlohmann::json(core::to_iso8601(core::time_point(core::duration(st.last_cycle_at_ns))))
                            : nlohmann::json(nullptr)},
      {"last_cycle_ms", st.last_cycle_ms},
      {"windows_asked", st.windows_asked},
      {"windows_computed", st.windows_computed},
      {"last_cycle_computed",
       st.last_cycle_computed < 0 ? nlohmann::json(nullptr) : nlohmann::json(st.last_cycle_computed)},
      {"failures", st.failures},
      {"forecast", st.forecast},
      {"proposal", st.last_proposal},
  };
  st.args.stats->update(st.args.symbol, std::move(doc), st.state == "error" ? st.error : std::string());
}

// Sends the cycle's one answer and records it for /stats.
void answer(symbol_actor* self, const portfolio_actor& portfolio, proposal p) {
  auto& st = self->state;
  st.state = to_string(p.state);
  st.note = p.note;
  if (p.has_opinion())
    st.last_proposal = {{"side", p.side},
                        {"strategy", p.strategy},
                        {"score", p.score},
                        {"edge", p.edge},
                        {"limit_price", p.limit_price},
                        {"bar_time", core::to_iso8601(core::from_unix_seconds(p.bar_time_s))}};
  publish(self);
  if (portfolio) self->send(portfolio, proposal_atom::value, std::move(p));
}

proposal base_proposal(const symbol_state& st, std::uint64_t cycle) {
  proposal p;
  p.symbol = st.args.symbol;
  p.cycle = cycle;
  p.crypto = st.crypto;
  if (!st.bars.empty()) {
    p.bar_time_s = st.bars.back().time_s;
    p.last_close = st.bars.back().close;
  }
  p.bid = st.bid;
  p.ask = st.ask;
  return p;
}

// A failure of this cycle: state error, back off 1, 2, 4 .. 16 cycles.
void fail(symbol_actor* self, const portfolio_actor& portfolio, std::uint64_t cycle, const std::string& what) {
  auto& st = self->state;
  ++st.failures;
  st.skip_cycles = std::min(max_backoff_cycles, 1 << std::min(st.failures - 1, 4));
  st.error = what;
  st.last_analysis.reset();
  spdlog::warn("symbol {}: {} (retrying in {} cycles)", st.args.symbol, what, st.skip_cycles);
  auto p = base_proposal(st, cycle);
  p.state = proposal_state::error;
  p.note = what;
  answer(self, portfolio, std::move(p));
}

// What to ask the feed: the bars that closed since the last one held (all of keep_bars() at first).
feed_query query_of(const symbol_state& st, core::time_point now) {
  feed_query q;
  q.symbol = st.args.symbol;
  q.until_unix_ns = core::to_unix_nanoseconds(now);
  if (!st.bars.empty() && st.timing) {
    q.has_closed_after = true;
    q.closed_after_unix_ns = core::to_unix_nanoseconds(st.timing->closes_at(st.bars.back()));
  } else {
    q.max_bars = keep_bars(*st.args.cfg);
  }
  return q;
}

// Takes the feed's answer: timing, quote, the new bars (checked). An error names what was wrong.
std::optional<std::string> apply_update(symbol_state& st, feed_update& u) {
  if (!u.ok()) return std::string("feed (") + to_string(u.error_code) + "): " + u.error;
  st.timing = market::bar_timing{core::duration(u.period_ns),
                                 u.period_end_label ? market::bar_label::period_end : market::bar_label::period_start};
  st.bid = u.bid;
  st.ask = u.ask;
  for (auto& b : u.bars) {
    if (!std::isfinite(b.close) || b.close <= 0 || !std::isfinite(b.high) || !std::isfinite(b.low))
      return st.args.symbol + ": bar at " + core::to_iso8601(core::from_unix_seconds(b.time_s)) +
             " has a non-positive or non-finite price";
    if (!st.bars.empty() && b.time_s <= st.bars.back().time_s) continue;
    st.bars.push_back(b);
  }
  const auto keep = keep_bars(*st.args.cfg);
  if (st.bars.size() > keep) st.bars.erase(st.bars.begin(), st.bars.end() - static_cast<long>(keep));
  return std::nullopt;
}

// The answers of one forecast request (the live window, then `wf` walk-forward windows) -> the
// proposal, or the error that fails the cycle (its message is the symbol's /stats error). The bars
// are the ones held when it was sent (no cycle changes them while it is out).
expected<proposal> analyse(symbol_state& st, std::uint64_t cycle, const forecast_reply& reply, std::size_t wf) {
  auto p = base_proposal(st, cycle);
  const auto& bars = st.bars;
  const std::size_t n = bars.size();
  const auto asset = st.crypto ? strategy::asset_class::crypto : strategy::asset_class::equity;
  if (reply.answers.size() != wf + 1)
    return error{errc::internal, "forecaster answered " + std::to_string(reply.answers.size()) + " windows, " +
                                     std::to_string(wf + 1) + " asked"};
  for (const auto& a : reply.answers)
    if (!a.ok)
      return error{errc::unavailable, std::string("forecast failed (") + to_string(a.error_code) + "): " + a.error};
  double spread = st.args.cfg->broker.sim.default_spread;
  if (st.bid > 0 && st.ask >= st.bid) spread = market::quote{st.bid, st.ask, {}}.relative_spread();
  std::vector<strategy::window> windows;
  windows.reserve(wf);
  for (std::size_t k = wf; k-- > 0;) {  // oldest first: window k drops the last k+1 bars
    const auto& last = bars[n - 2 - k];
    const auto& actual = bars[n - 1 - k];
    auto w = strategy::make_window(reply.answers[1 + k].forecast, last.close, actual, asset, spread);
    if (!w) return error{w.error().code, "walk-forward window " + std::to_string(k) + ": " + w.error().message};
    windows.push_back(*w);
  }
  const auto& live = reply.answers[0].forecast;
  if (live.rows.empty()) return error{errc::bad_data, "the live forecast is empty"};
  const double c0 = bars.back().close;
  strategy::forecast_move move{live.rows[0][core::f_close] / c0 - 1, live.rows[0][core::f_high] / c0 - 1,
                               live.rows[0][core::f_low] / c0 - 1};
  if (!std::isfinite(move.close) || !std::isfinite(move.high) || !std::isfinite(move.low))
    return error{errc::bad_data, "the live forecast is not finite"};
  st.forecast = {
      {"close", live.rows[0][core::f_close]}, {"high", live.rows[0][core::f_high]}, {"low", live.rows[0][core::f_low]}};
  strategy::strategy_params sp;
  sp.equity_fee = st.args.cfg->broker.sim.equity_fee_rate;
  sp.crypto_fee = st.args.cfg->broker.sim.crypto_fee_rate;
  auto results = strategy::evaluate_all(windows, sp);
  if (!results) return error{results.error().code, "strategies: " + results.error().message};
  auto choice = strategy::choose_strategy(*results, st.args.cfg->strategy);
  if (!choice) return error{choice.error().code, "selection: " + choice.error().message};
  p.limit_price = c0;
  if (!choice->choice) {
    p.state = proposal_state::flat;
    p.note = "no strategy passed the gates";
    return p;
  }
  const auto& c = *choice->choice;
  p.strategy = strategy::to_string(c.kind);
  p.score = c.score;
  p.edge = c.edge;
  p.variance = c.variance;
  auto legs = strategy::plan_next_bar(c, move, c0, asset);
  if (!legs) return error{legs.error().code, "plan: " + legs.error().message};
  if (legs->empty()) {
    p.state = proposal_state::flat;
    p.note = p.strategy + " plans no trade for the next bar";
    return p;
  }
  const auto& leg = legs->front();
  p.state = proposal_state::ok;
  p.side = leg.side;
  p.limit_price = leg.entry_price > 0 ? leg.entry_price : c0;
  p.note = p.strategy + (leg.side > 0 ? " long" : " short");
  return p;
}

// The cycle, once the feed has answered: stale / waiting / the same bar as last time, or ONE
// forecast request for the live and walk-forward windows, analysed when it is answered.
void continue_cycle(symbol_actor* self, core::time_point now) {
  auto& st = self->state;
  const auto& cfg = *st.args.cfg;
  const std::size_t lookback = static_cast<std::size_t>(cfg.inference.lookback);
  const std::size_t wf = static_cast<std::size_t>(cfg.trading.walk_forward_windows);
  // Nothing to forecast, and nothing failed: the cycle ends with this state.
  auto no_forecast = [&](proposal_state state, std::string note) {
    st.busy = false;
    st.failures = 0;
    st.error.clear();
    auto p = base_proposal(st, st.cycle);
    p.state = state;
    p.note = std::move(note);
    answer(self, st.portfolio, std::move(p));
  };
  if (st.bars.empty()) return no_forecast(proposal_state::stale, "no bar yet");
  if (const auto closed = st.timing->closes_at(st.bars.back());
      now - closed > st.timing->period * cfg.trading.stale_after_bars)
    return no_forecast(proposal_state::stale, "last bar closed at " + core::to_iso8601(closed) + ", more than " +
                                                  std::to_string(cfg.trading.stale_after_bars) + " bar periods ago");
  if (st.bars.size() < lookback + wf + 1)
    return no_forecast(proposal_state::waiting,
                       "have " + std::to_string(st.bars.size()) + " bars, need " + std::to_string(lookback + wf + 1));
  if (st.last_analysis && st.last_analysis->bar_time_s == st.bars.back().time_s) {
    // No new bar since the last analysis: the same decision (same client_order_ids), with the
    // quote this cycle's feed update brought (the close back-out prices its exits from it).
    st.busy = false;
    auto again = *st.last_analysis;
    again.cycle = st.cycle;
    again.bid = st.bid;
    again.ask = st.ask;
    st.last_cycle_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - st.started).count();
    answer(self, st.portfolio, std::move(again));
    return;
  }
  auto forecaster = st.args.forecaster ? st.args.forecaster() : forecaster_actor();
  if (!forecaster) {
    st.busy = false;
    fail(self, st.portfolio, st.cycle, "no forecaster is running");
    return;
  }
  forecast_request req;
  const auto deadline = std::chrono::system_clock::now() +
                        std::chrono::milliseconds(static_cast<long>(cfg.trading.forecast_timeout_s * 1000));
  const auto deadline_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
  const auto n = st.bars.size();
  for (std::size_t i = 0; i <= wf; ++i) {
    // i = 0: the live window (every bar); i >= 1: walk-forward window i-1 (drops i bars).
    window_request w;
    w.window.symbol = st.args.symbol;
    const std::size_t end = n - i;
    w.window.bars.assign(st.bars.begin() + static_cast<long>(end - lookback), st.bars.begin() + static_cast<long>(end));
    w.window.params = cfg.inference.sampling;
    w.priority = i == 0 ? inference::priority::live : inference::priority::backfill;
    w.deadline_unix_ns = deadline_ns;
    // The cache's TTL follows the closure of the newest bar on this actor's clock.
    w.newest_bar_closes_unix_ns = core::to_unix_nanoseconds(st.timing->closes_at(st.bars[end - 1]));
    w.as_of_unix_ns = core::to_unix_nanoseconds(now);
    req.windows.push_back(std::move(w));
  }
  st.windows_asked += static_cast<std::int64_t>(req.windows.size());
  st.state = "forecasting";
  publish(self);
  const auto timeout = std::chrono::milliseconds(static_cast<long>(cfg.trading.forecast_timeout_s * 1000) + 1000);
  self->request(forecaster, timeout, forecast_atom::value, std::move(req))
      .then(
          [self, wf](forecast_reply& reply) {
            auto& st = self->state;
            st.busy = false;
            std::int64_t computed = 0;
            for (const auto& a : reply.answers) computed += a.ok && !a.cached ? 1 : 0;
            st.windows_computed += computed;
            st.last_cycle_computed = computed;
            auto p = analyse(st, st.cycle, reply, wf);
            st.last_cycle_ms =
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - st.started).count();
            if (!p) {
              fail(self, st.portfolio, st.cycle, p.error().message);
              return;
            }
            st.failures = 0;
            st.error.clear();
            st.last_analysis = *p;
            answer(self, st.portfolio, std::move(*p));
          },
          [self](caf::error& err) {
            auto& st = self->state;
            st.busy = false;
            fail(self, st.portfolio, st.cycle, "forecast request failed: " + self->system().render(err));
          });
}

caf::behavior symbol_behavior(symbol_actor* self, symbol_actor_args args) {
  auto& st0 = self->state;
  st0.args = std::move(args);
  st0.crypto = market::is_crypto(st0.args.symbol);
  publish(self);
  return {
      [self](cycle_atom, const cycle_order& c, const portfolio_actor& portfolio) {
        auto& st = self->state;
        auto p = base_proposal(st, c.id);
        if (!(st.crypto ? c.crypto : c.equity)) {
          p.state = proposal_state::skipped;
          p.note = "not a cycle of its asset class";
          if (portfolio) self->send(portfolio, proposal_atom::value, std::move(p));
          return;
        }
        if (st.busy) {
          p.state = proposal_state::skipped;
          p.note = "cycle " + std::to_string(st.cycle) + " is still running (feed or forecast request out)";
          if (portfolio) self->send(portfolio, proposal_atom::value, std::move(p));
          return;
        }
        ++st.cycles;
        st.last_cycle_at_ns = c.at_unix_ns;
        if (st.skip_cycles > 0) {
          --st.skip_cycles;
          p.state = proposal_state::error;
          p.note = st.error + " (retrying in " + std::to_string(st.skip_cycles + 1) + " cycles)";
          answer(self, portfolio, std::move(p));
          return;
        }
        if (!st.args.feed) {
          fail(self, portfolio, c.id, "no feed actor is running");
          return;
        }
        st.busy = true;
        st.cycle = c.id;
        st.portfolio = portfolio;
        st.started = std::chrono::steady_clock::now();
        const auto now = st.args.clock->now();
        const auto timeout = std::chrono::milliseconds(static_cast<long>(st.args.cfg->trading.cycle_deadline_s * 1000));
        self->request(st.args.feed, timeout, feed_atom::value, query_of(st, now))
            .then(
                [self, now](feed_update& u) {
                  auto& st = self->state;
                  if (auto err = apply_update(st, u)) {
                    st.busy = false;
                    st.bars.clear();  // re-read everything after bad data
                    fail(self, st.portfolio, st.cycle, *err);
                    return;
                  }
                  continue_cycle(self, now);
                },
                [self](caf::error& err) {
                  auto& st = self->state;
                  st.busy = false;
                  fail(self, st.portfolio, st.cycle, "feed request failed: " + self->system().render(err));
                });
      },
      [self](heartbeat_atom) { return caf::make_message(heartbeat_atom::value, ++self->state.beats); },
      [self](reload_atom, config_ptr next) {
        self->state.args.cfg = std::move(next);
        self->state.last_analysis.reset();  // parameters may have changed
      },
      [self](stop_atom) {
        self->quit();
        return caf::ok_atom::value;
      },
  };
}

}  // namespace

caf::actor spawn_symbol_actor(caf::local_actor* parent, symbol_actor_args args) {
  return parent->spawn(symbol_behavior, std::move(args));
}

}  // namespace tb::actors
