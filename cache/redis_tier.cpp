#include "cache/redis_tier.hpp"

#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include "cache/codec.hpp"

namespace tb::cache {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

// Escapes glob characters so a prefix matches itself literally in SCAN MATCH.
std::string glob_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// What went wrong on an established connection, for the log and the error: a read that timed
// out (hiredis reports it as an I/O error with EAGAIN's text) says so with the limit.
std::string io_failure(const redisContext* c, std::chrono::milliseconds command_timeout) {
  if (c->err == REDIS_ERR_IO && std::strcmp(c->errstr, std::strerror(EAGAIN)) == 0)
    return "no reply within " + std::to_string(command_timeout.count()) + " ms";
  return c->errstr;
}

}  // namespace

const char* to_string(redis_state s) {
  switch (s) {
    case redis_state::connecting:
      return "connecting";
    case redis_state::connected:
      return "connected";
    case redis_state::down:
      return "down";
  }
  return "unknown";
}

void redis_tier::reply_deleter::operator()(redisReply* r) const { freeReplyObject(r); }

redis_tier::redis_tier(redis_config config, clock_ptr clock)
    : config_(std::move(config)),
      clock_(std::move(clock)),
      backoff_(config_.backoff_initial),
      log_(config_.log_interval) {}

redis_tier::~redis_tier() {
  if (ctx_) redisFree(ctx_);
}

std::string redis_tier::redis_key(const digest& key) const { return config_.key_prefix + to_hex(key); }

void redis_tier::log_failure(const std::string& msg) {
  std::uint64_t held = 0;
  if (log_.allow(&held))
    spdlog::warn("cache redis tier {}:{}: {}{}", config_.host, config_.port, msg, core::suppressed_note(held));
}

void redis_tier::fail_connection(const std::string& why) {
  if (ctx_) {
    redisFree(ctx_);
    ctx_ = nullptr;
  }
  counters_.errors.fetch_add(1, std::memory_order_relaxed);
  const bool transition = state_.load(std::memory_order_relaxed) != redis_state::down;
  state_.store(redis_state::down, std::memory_order_relaxed);
  next_attempt_ = std::chrono::steady_clock::now() + backoff_;
  if (transition) {
    failures_while_down_ = 0;
    log_.reset();
    log_failure(fmt::format("down ({}); memory and disk go on; next attempt in {} ms", why, backoff_.count()));
  } else {
    ++failures_while_down_;
    log_failure(
        fmt::format("still down ({}); {} failed attempts since it went down; next "
                    "attempt in {} ms",
                    why, failures_while_down_, backoff_.count()));
  }
  backoff_ = std::min(backoff_ * 2, config_.backoff_max);
}

bool redis_tier::connect() {
  tb::error err;
  return ensure_connected(&err);
}

bool redis_tier::ensure_connected(tb::error* err) {
  if (ctx_) return true;
  const auto now = std::chrono::steady_clock::now();
  if (state_.load(std::memory_order_relaxed) == redis_state::down && now < next_attempt_) {
    counters_.rejected.fetch_add(1, std::memory_order_relaxed);
    *err = tb::error{errc::unavailable,
                     fmt::format("redis {}:{} is down (circuit open for {} ms more)", config_.host, config_.port,
                                 std::chrono::duration_cast<std::chrono::milliseconds>(next_attempt_ - now).count())};
    return false;
  }
  redisContext* c = redisConnectWithTimeout(config_.host.c_str(), config_.port, to_timeval(config_.connect_timeout));
  if (!c || c->err) {
    const std::string why = c ? std::string("connect: ") + c->errstr : "connect: out of memory";
    if (c) redisFree(c);
    fail_connection(why);
    *err = tb::error{errc::unavailable, "redis " + why};
    return false;
  }
  ctx_ = c;
  if (redisSetTimeout(ctx_, to_timeval(config_.command_timeout)) != REDIS_OK) {
    fail_connection("cannot set the command timeout");
    *err = tb::error{errc::unavailable, "redis: cannot set the command timeout"};
    return false;
  }
  auto setup = [&](const std::vector<std::string>& argv) {
    tb::error e;
    reply_ptr r = command(argv, &e);
    if (!r) {
      if (ctx_) {  // an error reply (counted by command()): the connection is unusable
        counters_.errors.fetch_sub(1, std::memory_order_relaxed);
        fail_connection(e.message);
      }
      *err = tb::error{errc::unavailable, e.message};
      return false;
    }
    return true;
  };
  if (!config_.password.empty()) {
    std::vector<std::string> argv{"AUTH"};
    if (!config_.username.empty()) argv.push_back(config_.username);
    argv.push_back(config_.password);
    if (!setup(argv)) return false;
  }
  if (config_.db != 0 && !setup({"SELECT", std::to_string(config_.db)})) return false;
  // A stopped (SIGSTOP) or wedged server still completes the TCP handshake: only an answer
  // proves it is back, so a timeout here keeps the circuit open and the backoff growing.
  if (!setup({"PING"})) return false;
  backoff_ = config_.backoff_initial;
  state_.store(redis_state::connected, std::memory_order_relaxed);
  if (was_connected_) {
    log_.reset();
    spdlog::info("cache redis tier {}:{}: reconnected", config_.host, config_.port);
  }
  was_connected_ = true;
  return true;
}

redis_tier::reply_ptr redis_tier::command(const std::vector<std::string>& argv, tb::error* err) {
  std::vector<const char*> args;
  std::vector<std::size_t> lens;
  args.reserve(argv.size());
  lens.reserve(argv.size());
  for (const auto& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* raw = static_cast<redisReply*>(redisCommandArgv(ctx_, static_cast<int>(args.size()), args.data(), lens.data()));
  if (!raw) {
    const std::string why = argv[0] + ": " + io_failure(ctx_, config_.command_timeout);
    fail_connection(why);
    *err = tb::error{errc::unavailable, "redis " + why};
    return nullptr;
  }
  reply_ptr r(raw);
  if (r->type == REDIS_REPLY_ERROR) {
    counters_.errors.fetch_add(1, std::memory_order_relaxed);
    const std::string why = argv[0] + ": " + std::string(r->str, r->len);
    log_failure(why);
    *err = tb::error{errc::io, "redis " + why};
    return nullptr;
  }
  return r;
}

std::optional<entry> redis_tier::classify(const digest& key, const redisReply* r, std::int64_t now_ms,
                                          std::vector<digest>* to_delete) {
  if (!r || r->type == REDIS_REPLY_NIL) {
    counters_.misses.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  if (r->type != REDIS_REPLY_STRING) {  // someone else's value under our prefix
    counters_.misses.fetch_add(1, std::memory_order_relaxed);
    counters_.corrupt.fetch_add(1, std::memory_order_relaxed);
    to_delete->push_back(key);
    return std::nullopt;
  }
  decode_result d = decode_entry(std::string_view(r->str, r->len), &key);
  if (d.status == decode_status::ok) {
    if (d.value.expired(now_ms)) {
      counters_.expired.fetch_add(1, std::memory_order_relaxed);
      counters_.misses.fetch_add(1, std::memory_order_relaxed);
      return std::nullopt;
    }
    counters_.hits.fetch_add(1, std::memory_order_relaxed);
    return std::move(d.value);
  }
  counters_.misses.fetch_add(1, std::memory_order_relaxed);
  if (d.status == decode_status::unsupported) return std::nullopt;  // a newer writer's value
  counters_.corrupt.fetch_add(1, std::memory_order_relaxed);
  log_failure("removed corrupt value " + redis_key(key) + ": " + d.detail);
  to_delete->push_back(key);
  return std::nullopt;
}

lookup redis_tier::get(const digest& key) {
  auto many = get_many({key});
  if (!many) return many.error();
  return std::move((*many)[0]);
}

lookups redis_tier::get_many(const std::vector<digest>& keys) {
  if (keys.empty()) return std::vector<std::optional<entry>>{};
  core::scoped_latency t(counters_.latency);
  tb::error err;
  if (!ensure_connected(&err)) {
    counters_.misses.fetch_add(keys.size(), std::memory_order_relaxed);
    return err;
  }
  std::vector<std::string> argv;
  argv.reserve(keys.size() + 1);
  argv.push_back(keys.size() == 1 ? "GET" : "MGET");
  for (const auto& k : keys) argv.push_back(redis_key(k));
  reply_ptr r = command(argv, &err);
  if (!r) {
    counters_.misses.fetch_add(keys.size(), std::memory_order_relaxed);
    return err;
  }
  const std::int64_t now = now_ms(*clock_);
  std::vector<std::optional<entry>> out;
  out.reserve(keys.size());
  std::vector<digest> to_delete;
  if (keys.size() == 1) {
    out.push_back(classify(keys[0], r.get(), now, &to_delete));
  } else {
    if (r->type != REDIS_REPLY_ARRAY || r->elements != keys.size()) {
      counters_.errors.fetch_add(1, std::memory_order_relaxed);
      counters_.misses.fetch_add(keys.size(), std::memory_order_relaxed);
      return tb::error{errc::io, "redis MGET: unexpected reply shape"};
    }
    for (std::size_t i = 0; i < keys.size(); ++i) out.push_back(classify(keys[i], r->element[i], now, &to_delete));
  }
  if (!to_delete.empty()) {
    std::vector<std::string> del{"DEL"};
    for (const auto& k : to_delete) del.push_back(redis_key(k));
    tb::error ignored;  // best effort: counted and logged by command()
    command(del, &ignored);
  }
  return out;
}

tb::expected<std::size_t> redis_tier::put(const entry& e) { return put_many({e}); }

tb::expected<std::size_t> redis_tier::put_many(const std::vector<entry>& es) {
  tb::error err;
  if (!ensure_connected(&err)) return err;
  const std::int64_t now = now_ms(*clock_);
  std::size_t sent = 0;
  for (const auto& e : es) {
    std::string px;
    if (e.expires_ms != 0) {
      if (e.expires_ms <= now) continue;  // already expired: nothing worth storing
      px = std::to_string(e.expires_ms - now);
    }
    const std::string key = redis_key(e.key_id);
    const std::string value = encode_entry(e);
    const char* argv[5] = {"SET", key.data(), value.data(), "PX", px.data()};
    const std::size_t lens[5] = {3, key.size(), value.size(), 2, px.size()};
    if (redisAppendCommandArgv(ctx_, px.empty() ? 3 : 5, argv, lens) != REDIS_OK) {
      fail_connection(std::string("pipeline: ") + ctx_->errstr);
      return tb::error{errc::unavailable, "redis pipeline: out of memory"};
    }
    ++sent;
  }
  std::size_t stored = 0;
  std::optional<tb::error> first;
  for (std::size_t i = 0; i < sent; ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || !raw) {
      const std::string why = "SET: " + io_failure(ctx_, config_.command_timeout);
      fail_connection(why);
      return tb::error{errc::unavailable, "redis " + why};
    }
    reply_ptr r(static_cast<redisReply*>(raw));
    if (r->type == REDIS_REPLY_ERROR) {
      counters_.errors.fetch_add(1, std::memory_order_relaxed);
      const std::string why = "SET: " + std::string(r->str, r->len);
      log_failure(why);
      if (!first) first = tb::error{errc::io, "redis " + why};
    } else {
      ++stored;
    }
  }
  counters_.saves.fetch_add(stored, std::memory_order_relaxed);
  if (stored == 0 && first) return *first;
  return stored;
}

tb::expected<bool> redis_tier::erase(const digest& key) {
  tb::error err;
  if (!ensure_connected(&err)) return err;
  reply_ptr r = command({"DEL", redis_key(key)}, &err);
  if (!r) return err;
  return r->type == REDIS_REPLY_INTEGER && r->integer > 0;
}

tb::expected<std::size_t> redis_tier::clear() {
  tb::error err;
  if (!ensure_connected(&err)) return err;
  const std::string match = glob_escape(config_.key_prefix) + "*";
  std::string cursor = "0";
  std::size_t removed = 0;
  do {
    reply_ptr r = command({"SCAN", cursor, "MATCH", match, "COUNT", "1000"}, &err);
    if (!r) return err;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_ARRAY)
      return tb::error{errc::io, "redis SCAN: unexpected reply shape"};
    cursor.assign(r->element[0]->str, r->element[0]->len);
    const redisReply* keys = r->element[1];
    if (keys->elements > 0) {
      std::vector<std::string> del{"UNLINK"};
      for (std::size_t i = 0; i < keys->elements; ++i) del.emplace_back(keys->element[i]->str, keys->element[i]->len);
      reply_ptr d = command(del, &err);
      if (!d) return err;
      if (d->type == REDIS_REPLY_INTEGER) removed += static_cast<std::size_t>(d->integer);
    }
  } while (cursor != "0");
  return removed;
}

tier_stats redis_tier::stats() const {
  tier_stats s;
  s.name = name();
  counters_.fill(s);
  s.state = to_string(state());
  return s;
}

}  // namespace tb::cache
