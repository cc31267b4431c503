#pragma once
// The feed actor: the one caller of the market-data feed (market::feed). Detached: a feed may
// block (Alpaca's is HTTPS with retries, backoff and a rate limit shared by every symbol), so its
// calls run on this actor's own thread and never on a CAF scheduler worker; symbol actors ask it
// with a request and carry on with their cycle when it answers. The scheduler spawns it (linked)
// next to the symbol actors it owns.
//
// (feed_atom, feed_query) -> feed_update: feed::timing, feed::bars for the query, then
// feed::latest_quote (a missing quote is not an error: bid = ask = 0). Requests are served one at
// a time in arrival order; a failing symbol's error is its own answer and the next request is
// served as usual (an exception from the feed is that request's `internal` error). A slow request
// delays the ones queued behind it (Alpaca: at most alpaca.timeout_s per attempt x max_attempts,
// plus backoff); their cycles fail only past trading.cycle_deadline_s. One connection and one
// rate limit per API is Alpaca's model, so the calls are serial by design.
// heartbeat_atom, reload_atom (nothing to reload: the feed is restart-only).
//
// /stats → feed: source, requests, failures, bars, last_ms, max_ms, last_error. A symbol whose feed
// fails is in state error in /stats → symbols and in the /health check "symbols" (with the error).
#include <memory>
#include <string>

#include <caf/all.hpp>

#include "actors/protocol.hpp"
#include "core/snapshot_board.hpp"
#include "market/feed.hpp"

namespace tb::actors {

struct feed_actor_args {
  std::shared_ptr<market::feed> feed;
  std::string source;  // market.feed, for /stats
  std::shared_ptr<core::snapshot_board> board;
};

caf::actor spawn_feed_actor(caf::local_actor* parent, feed_actor_args args);

// One query answered from `feed` (what the feed actor does for each request; the symbol actor's
// tests call it directly).
feed_update query_feed(market::feed& feed, const feed_query& q);

}  // namespace tb::actors
