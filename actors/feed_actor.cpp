#include "actors/feed_actor.hpp"

#include <algorithm>
#include <chrono>
#include <exception>

namespace tb::actors {

feed_update query_feed(market::feed& feed, const feed_query& q) {
  feed_update out;
  auto fail = [&](const tb::error& e) {
    out.failed = true;
    out.error_code = e.code;
    out.error = e.message;
    out.bars.clear();
    return out;
  };
  auto timing = feed.timing(q.symbol);
  if (!timing) return fail(timing.error());
  out.period_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(timing->period).count();
  out.period_end_label = timing->label == market::bar_label::period_end;
  market::bar_query bq;
  bq.symbol = q.symbol;
  bq.until = core::time_point(core::duration(q.until_unix_ns));
  if (q.has_closed_after) bq.closed_after = core::time_point(core::duration(q.closed_after_unix_ns));
  bq.max_bars = static_cast<std::size_t>(q.max_bars);
  auto bars = feed.bars(bq);
  if (!bars) return fail(bars.error());
  out.bars = std::move(bars->bars);
  if (auto quote = feed.latest_quote(q.symbol)) {
    out.bid = quote->bid;
    out.ask = quote->ask;
  }
  return out;
}

namespace {

struct feed_state {
  feed_actor_args args;
  std::uint64_t requests = 0, failures = 0, bars = 0, beats = 0;
  double last_ms = 0, max_ms = 0;
  std::string last_error;  // "SYM: error" of the latest failed request
  static inline const char* name = "feed";
};

using feed_actor = caf::stateful_actor<feed_state>;

void publish(feed_actor* self) {
  auto& st = self->state;
  st.args.board->publish("feed", {{"source", st.args.source},
                                  {"requests", st.requests},
                                  {"failures", st.failures},
                                  {"bars", st.bars},
                                  {"last_ms", st.last_ms},
                                  {"max_ms", st.max_ms},
                                  {"last_error", st.last_error}});
}

caf::behavior feed_behavior(feed_actor* self, feed_actor_args args) {
  self->state.args = std::move(args);
  publish(self);
  return {
      [self](feed_atom, const feed_query& q) {
        auto& st = self->state;
        const auto t0 = std::chrono::steady_clock::now();
        feed_update out;
        try {
          out = query_feed(*st.args.feed, q);
        } catch (const std::exception& e) {  // a feed bug fails this request, not the actor
          out.failed = true;
          out.error_code = errc::internal;
          out.error = std::string("the feed threw: ") + e.what();
        }
        st.last_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        st.max_ms = std::max(st.max_ms, st.last_ms);
        ++st.requests;
        st.bars += out.bars.size();
        if (!out.ok()) {
          ++st.failures;
          st.last_error = q.symbol + ": " + out.error;
        }
        publish(self);
        return out;
      },
      [self](heartbeat_atom) { return caf::make_message(heartbeat_atom::value, ++self->state.beats); },
      [](reload_atom, const config_ptr&) {},
  };
}

}  // namespace

caf::actor spawn_feed_actor(caf::local_actor* parent, feed_actor_args args) {
  return parent->spawn<caf::detached + caf::linked>(feed_behavior, std::move(args));
}

}  // namespace tb::actors
