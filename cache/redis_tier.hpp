#pragma once
// Redis tier (hiredis, synchronous): values in the codec's binary entry format under
// <key_prefix><64 hex digits>, written with SET ... PX <ttl ms> (or no expiry), read with GET and
// MGET, written in batches through pipelining.
//
// Thread: SINGLE OWNER. All operations except stats() and state() must run on one thread at a
// time (the hiredis context is not thread-safe). stats() and state() may run on any thread.
// The forecast_cache facade owns two instances: one for reads on the owner's thread, one for
// writes on its write-behind thread.
//
// Faults: a connect or I/O failure, a command timeout included, closes the connection, counts an
// error and opens the circuit: no connection attempt is made until the backoff has passed
// (initial, doubling up to max); calls meanwhile fail fast with errc::unavailable and count as
// `rejected`. A connection counts as up, and the backoff is reset, only once the server answered
// (AUTH, SELECT, then PING), so a hung server (SIGSTOP: the kernel still accepts) stays down
// with a growing backoff instead of flapping. An error reply (e.g. OOM) counts an error and
// keeps the connection. A value that fails to decode is a miss, counted `corrupt` and deleted.
// Logging: one line on going down, one on coming back ("reconnected"), and in between failures
// ("still down", with the count of failed attempts) at most once per log_interval.
//
// Time: entry expiry reads the injected clock (the PX of a SET is the entry's remaining life by
// that clock); the backoff and timeouts read the steady clock.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "cache/tier.hpp"
#include "core/log_throttle.hpp"

struct redisContext;
struct redisReply;

namespace tb::cache {

struct redis_config {
  std::string host = "127.0.0.1";                 // KRONOS_REDIS_HOST
  int port = 6379;                                // KRONOS_REDIS_PORT, 1..65535
  std::string username;                           // ACL user (Redis 6+); empty = default
  std::string password;                           // empty = no AUTH
  int db = 0;                                     // SELECT db, >= 0
  std::string key_prefix = "tradebot:forecast:";  // shared by every daemon of a fleet
  std::chrono::milliseconds connect_timeout{200};
  std::chrono::milliseconds command_timeout{200};
  std::chrono::milliseconds backoff_initial{250};
  std::chrono::milliseconds backoff_max{30000};
  std::chrono::milliseconds log_interval{60000};
};

enum class redis_state : int {
  connecting,  // no connection yet; the next call tries (start, or the backoff has passed)
  connected,
  down,  // circuit open: calls fail fast until the backoff has passed
};
const char* to_string(redis_state s);

class redis_tier final : public tier {
 public:
  // Connects lazily, on the first call (or connect()).
  redis_tier(redis_config config, clock_ptr clock);
  ~redis_tier() override;
  redis_tier(const redis_tier&) = delete;
  redis_tier& operator=(const redis_tier&) = delete;

  const char* name() const override { return "redis"; }
  lookup get(const digest& key) override;
  // One MGET.
  lookups get_many(const std::vector<digest>& keys) override;
  // SET with PX = expires_ms - now (an already expired entry is skipped, 0 bytes); no PX when
  // the entry never expires.
  tb::expected<std::size_t> put(const entry& e) override;
  // All SETs pipelined in one round trip.
  tb::expected<std::size_t> put_many(const std::vector<entry>& es) override;
  tb::expected<bool> erase(const digest& key) override;
  // SCAN MATCH <prefix>* and UNLINK: removes this cache's keys only, never FLUSHDB.
  tb::expected<std::size_t> clear() override;
  tier_stats stats() const override;

  // Connects now if the circuit allows (owner thread). True when connected afterwards.
  bool connect();
  redis_state state() const { return state_.load(std::memory_order_relaxed); }
  // When the circuit lets the next connection attempt through (owner thread; meaningful while
  // state() == down).
  std::chrono::steady_clock::time_point next_attempt() const { return next_attempt_; }
  const redis_config& config() const { return config_; }
  std::string redis_key(const digest& key) const;

 private:
  struct reply_deleter {
    void operator()(redisReply* r) const;
  };
  using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

  bool ensure_connected(tb::error* err);
  void fail_connection(const std::string& why);
  // One command; nullptr and *err set on failure (an I/O failure also fails the connection).
  reply_ptr command(const std::vector<std::string>& argv, tb::error* err);
  // Classifies one value reply (nil, string) into an entry or a miss; counts.
  std::optional<entry> classify(const digest& key, const redisReply* r, std::int64_t now_ms,
                                std::vector<digest>* to_delete);
  void log_failure(const std::string& msg);

  const redis_config config_;
  const clock_ptr clock_;        // never null; shared with the other tiers
  redisContext* ctx_ = nullptr;  // owner thread
  std::chrono::milliseconds backoff_;
  std::chrono::steady_clock::time_point next_attempt_{};
  bool was_connected_ = false;
  std::uint64_t failures_while_down_ = 0;  // failed attempts since the last transition to down
  std::atomic<redis_state> state_{redis_state::connecting};
  tier_counters counters_;
  core::log_throttle log_;
};

}  // namespace tb::cache
