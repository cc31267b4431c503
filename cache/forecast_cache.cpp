#include "cache/forecast_cache.hpp"

#include <spdlog/spdlog.h>

#include "cache/codec.hpp"

namespace tb::cache {
namespace {

int severity(const std::string& redis_state) {
  if (redis_state == "down") return 2;
  if (redis_state == "connecting") return 1;
  return 0;
}

constexpr double mib = 1024.0 * 1024.0;

}  // namespace

const core::rows<cache_config>& config_rows() {
  using c = cache_config;
  using core::key;
  using core::member;
  using core::restart_only;
  static const core::rows<cache_config> rows = {
      restart_only(
          key("cache.enabled", &c::enabled,
              "forecast cache on or off; off: no lookups or stores, forecasts are still seeded from their keys",
              "KRONOS_PREDICTION_CACHE_ENABLED")),
      restart_only(key("cache.ttl_s", &c::ttl_s,
                       "lifetime of a forecast whose window holds a still-forming bar; 0 = never expires",
                       "KRONOS_PREDICTION_CACHE_TTL", 0, 31536000)),
      restart_only(key("cache.history_ttl_s", &c::history_ttl_s,
                       "lifetime of a forecast whose bars have all closed (newest bar period ended); 0 = never expires",
                       "KRONOS_PREDICTION_CACHE_HISTORY_TTL", 0, 31536000)),
      restart_only(key("cache.max_size_mb", &c::max_size_mb, "disk tier size cap (MiB), oldest evicted first",
                       "KRONOS_PREDICTION_CACHE_MAX_SIZE_MB", 1, 1 << 24)),
      restart_only(key("cache.decimals", &c::decimals, "values rounded to this many decimals in cache keys",
                       "KRONOS_CACHE_DECIMALS", 0, max_decimals)),
      restart_only(key("cache.dir", &c::dir, "disk tier folder (systemd CacheDirectory)")),
      restart_only(key("cache.memory_enabled", &c::memory_enabled, "memory tier (LRU) on or off",
                       "KRONOS_CACHE_MEMORY_ENABLED")),
      restart_only(key("cache.memory_max_mb", &c::memory_max_mb,
                       "memory tier budget (MiB), least recently used evicted first", "KRONOS_CACHE_MEMORY_MAX_MB", 1,
                       1 << 20)),
      restart_only(key("cache.disk_enabled", &c::disk_enabled, "disk tier (one file per entry) on or off",
                       "KRONOS_CACHE_DISK_ENABLED")),
      restart_only(key("cache.redis_enabled", &c::redis_enabled,
                       "Redis tier on or off; an unreachable Redis degrades the cache, never stops the daemon",
                       "KRONOS_REDIS_ENABLED")),
      restart_only(key("cache.redis_host", member(&c::redis, &redis_config::host), "Redis host name or address",
                       "KRONOS_REDIS_HOST")),
      restart_only(
          key("cache.redis_port", member(&c::redis, &redis_config::port), "Redis port", "KRONOS_REDIS_PORT", 1, 65535)),
      restart_only(key("cache.redis_username", member(&c::redis, &redis_config::username),
                       "Redis ACL user; empty = the default user", "KRONOS_REDIS_USERNAME")),
      restart_only(key("cache.redis_password", member(&c::redis, &redis_config::password),
                       "Redis password; empty = no AUTH (masked in /stats)", "KRONOS_REDIS_PASSWORD", 0, 0, {}, true)),
      restart_only(key("cache.redis_db", member(&c::redis, &redis_config::db), "Redis database (SELECT)",
                       "KRONOS_REDIS_DB", 0, 65535)),
      restart_only(key("cache.redis_key_prefix", member(&c::redis, &redis_config::key_prefix),
                       "prefix of every Redis key; `tradebot cache clear` removes only keys under it",
                       "KRONOS_REDIS_KEY_PREFIX")),
      restart_only(key("cache.redis_connect_timeout_ms", member(&c::redis, &redis_config::connect_timeout),
                       "Redis connect timeout", "KRONOS_REDIS_CONNECT_TIMEOUT_MS", 1, 60000)),
      restart_only(key("cache.redis_command_timeout_ms", member(&c::redis, &redis_config::command_timeout),
                       "Redis command timeout; also the longest a cache lookup blocks the cache actor",
                       "KRONOS_REDIS_COMMAND_TIMEOUT_MS", 1, 60000)),
      restart_only(key("cache.redis_backoff_initial_ms", member(&c::redis, &redis_config::backoff_initial),
                       "first reconnect delay after a Redis failure (doubles up to the max)",
                       "KRONOS_REDIS_BACKOFF_INITIAL_MS", 1, 3600000)),
      restart_only(key("cache.redis_backoff_max_ms", member(&c::redis, &redis_config::backoff_max),
                       "longest reconnect delay", "KRONOS_REDIS_BACKOFF_MAX_MS", 1, 3600000)),
      restart_only(key(
          "cache.write_queue_max", &c::write_queue_max,
          "disk and Redis writes queued behind the requester; beyond it a write is dropped (memory keeps the entry)",
          "KRONOS_CACHE_WRITE_QUEUE_MAX", 1, 10000000)),
      restart_only(key("cache.write_batch_max", &c::write_batch_max, "entries per pipelined Redis write batch",
                       "KRONOS_CACHE_WRITE_BATCH_MAX", 1, 10000)),
      restart_only(key("cache.disk_retry_ms", &c::disk_retry_after,
                       "a failing disk tier refuses writes this long before it tries again",
                       "KRONOS_CACHE_DISK_RETRY_MS", 0, 86400000)),
      restart_only(key("cache.log_interval_ms", &c::log_interval,
                       "cache failures are logged at most once per this interval", "KRONOS_CACHE_LOG_INTERVAL_MS", 0,
                       86400000)),
  };
  return rows;
}

void check(const cache_config& c, std::vector<std::string>& errors) {
  const auto& r = c.redis;
  if (r.backoff_initial > r.backoff_max)
    errors.push_back("cache.redis_backoff_initial_ms (" + std::to_string(r.backoff_initial.count()) +
                     ") must be <= cache.redis_backoff_max_ms (" + std::to_string(r.backoff_max.count()) + ")");
  if (r.key_prefix.empty())
    errors.push_back("cache.redis_key_prefix must not be empty (`tradebot cache clear` removes <prefix>*)");
  if (c.redis_enabled && r.host.empty())
    errors.push_back("cache.redis_host must not be empty when cache.redis_enabled = true");
  if (c.disk_enabled && c.dir.empty()) errors.push_back("cache.dir must not be empty when cache.disk_enabled = true");
}

tb::expected<cache_config> validate(cache_config c) {
  auto errors = core::check_values(config_rows(), c);
  check(c, errors);
  if (!errors.empty()) return tb::error{errc::bad_config, errors.front()};
  return c;
}

forecast_cache::forecast_cache(cache_config config, clock_ptr clock)
    : config_(std::move(config)), clock_(std::move(clock)) {
  if (!config_.enabled) return;
  if (config_.memory_enabled)
    memory_ = std::make_unique<memory_tier>(static_cast<std::size_t>(config_.memory_max_mb) << 20, clock_);
  if (config_.disk_enabled) {
    disk_config d;
    d.dir = config_.dir;
    d.max_bytes = config_.max_size_mb << 20;
    d.retry_after = config_.disk_retry_after;
    d.log_interval = config_.log_interval;
    disk_ = std::make_unique<disk_tier>(d, clock_);
  }
  if (config_.redis_enabled) {
    redis_config r = config_.redis;
    r.log_interval = config_.log_interval;
    redis_read_ = std::make_unique<redis_tier>(r, clock_);
    redis_write_ = std::make_unique<redis_tier>(r, clock_);
    redis_read_->connect();  // so state is known from the start; a failure opens the circuit
  }
  if (disk_ || redis_write_) writer_ = std::thread([this] { writer_loop(); });
}

forecast_cache::~forecast_cache() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

tb::expected<cache_key> forecast_cache::make_key(const core::forecast_window& window,
                                                 const core::model_identity& model) const {
  return tb::cache::make_key(window, model, config_.decimals);
}

std::optional<entry> forecast_cache::get(const cache_key& key) {
  if (!config_.enabled) return std::nullopt;
  auto r = get_many({key});
  return std::move(r[0]);
}

std::vector<std::optional<entry>> forecast_cache::get_many(const std::vector<cache_key>& keys) {
  std::vector<std::optional<entry>> out(keys.size());
  if (!config_.enabled || keys.empty()) return out;
  std::vector<std::size_t> pending(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) pending[i] = i;

  // One tier pass over the keys still missing; returns the indices it answered.
  auto pass = [&](tier& t) {
    std::vector<digest> ids;
    ids.reserve(pending.size());
    for (std::size_t i : pending) ids.push_back(keys[i].id);
    auto found = t.get_many(ids);  // an error (Redis down) is a miss for every key: counted
    std::vector<std::size_t> answered, still;
    for (std::size_t j = 0; j < pending.size(); ++j) {
      if (found && (*found)[j]) {
        out[pending[j]] = std::move((*found)[j]);
        answered.push_back(pending[j]);
      } else {
        still.push_back(pending[j]);
      }
    }
    pending.swap(still);
    return answered;
  };

  if (memory_) pass(*memory_);
  if (disk_ && !pending.empty()) {
    for (std::size_t i : pass(*disk_))
      if (memory_) memory_->put(*out[i]);
  }
  if (redis_read_ && !pending.empty()) {
    const auto from_redis = pass(*redis_read_);
    if (!from_redis.empty()) {
      for (std::size_t i : from_redis)
        if (memory_) memory_->put(*out[i]);
      if (disk_) {
        std::size_t dropped = 0;
        {
          std::lock_guard<std::mutex> lock(mu_);
          for (std::size_t i : from_redis) {
            job j;
            j.value = *out[i];
            j.to_redis = false;
            if (!enqueue_locked(std::move(j))) ++dropped;
          }
        }
        write_drops_.fetch_add(dropped, std::memory_order_relaxed);
        work_cv_.notify_one();
      }
    }
  }
  hits_.fetch_add(keys.size() - pending.size(), std::memory_order_relaxed);
  misses_.fetch_add(pending.size(), std::memory_order_relaxed);
  return out;
}

std::optional<tb::error> forecast_cache::check_forecast(const core::forecast& f) const {
  if (!valid_forecast(f))
    return tb::error{errc::invalid_argument, "cache put: forecast has a non-finite value or more than " +
                                                 std::to_string(max_forecast_rows) + " rows"};
  return std::nullopt;
}

bool forecast_cache::enqueue_locked(job j) {
  if (j.kind == job_kind::put) {
    if (queued_puts_ >= config_.write_queue_max) return false;
    ++queued_puts_;
  }
  queue_.push_back(std::move(j));
  return true;
}

tb::expected<bool> forecast_cache::put(const cache_key& key, core::forecast value, window_kind kind) {
  std::vector<put_request> one;
  one.push_back(put_request{key, std::move(value), kind});
  auto r = put_many(std::move(one));
  if (!r) return r.error();
  return *r == 1;
}

tb::expected<std::size_t> forecast_cache::put_many(std::vector<put_request> requests) {
  if (!config_.enabled) return std::size_t{0};
  for (const auto& r : requests)
    if (auto err = check_forecast(r.value)) return *err;
  const std::int64_t now = now_ms(*clock_);
  const ttl_policy policy = config_.ttl();
  std::vector<entry> entries;
  entries.reserve(requests.size());
  for (auto& r : requests) {
    entries.push_back(make_entry(r.key, std::move(r.value), r.kind, policy, now));
    if (memory_) memory_->put(entries.back());  // too big for the budget: the others keep it
  }
  saves_.fetch_add(entries.size(), std::memory_order_relaxed);
  if (!disk_ && !redis_write_) return std::size_t{0};
  std::size_t queued = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& e : entries) {
      job j;
      j.value = std::move(e);
      if (enqueue_locked(std::move(j))) ++queued;
    }
  }
  write_drops_.fetch_add(entries.size() - queued, std::memory_order_relaxed);
  work_cv_.notify_one();
  return queued;
}

tb::expected<bool> forecast_cache::erase(const cache_key& key) {
  if (!config_.enabled) return false;
  bool held = false;
  if (memory_) held = memory_->erase(key.id).value();
  if (disk_ || redis_write_) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      job j;
      j.kind = job_kind::erase;
      j.key = key.id;
      enqueue_locked(std::move(j));
    }
    work_cv_.notify_one();
  }
  return held;
}

tb::expected<std::size_t> forecast_cache::clear(std::chrono::milliseconds timeout) {
  if (!config_.enabled) return std::size_t{0};
  std::size_t removed = 0;
  if (disk_ || redis_write_) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      // Queued puts would resurrect entries after the clear: drop them (erases are moot too).
      queue_.clear();
      queued_puts_ = 0;
      clear_removed_ = 0;
      clear_error_.reset();
      job j;
      j.kind = job_kind::clear;
      enqueue_locked(std::move(j));
    }
    work_cv_.notify_one();
    if (!flush(timeout))
      return tb::error{errc::timeout, "cache clear: the write-behind thread did not finish in " +
                                          std::to_string(timeout.count()) + " ms"};
    std::lock_guard<std::mutex> lock(mu_);
    if (clear_error_) return *clear_error_;
    removed = clear_removed_;
  }
  if (memory_) removed += memory_->clear().value();
  return removed;
}

bool forecast_cache::flush(std::chrono::milliseconds timeout) {
  if (!writer_.joinable()) return true;
  std::unique_lock<std::mutex> lock(mu_);
  return idle_cv_.wait_for(lock, timeout, [&] { return queue_.empty() && !busy_; });
}

verify_report forecast_cache::verify(bool remove) {
  if (!disk_) return {};
  flush(std::chrono::seconds(30));
  return disk_->verify(remove);
}

void forecast_cache::maintain() {
  if (disk_) disk_->maintain();  // learns what other processes sharing the folder wrote
  if (redis_read_ && redis_read_->state() == redis_state::down &&
      std::chrono::steady_clock::now() >= redis_read_->next_attempt())
    redis_read_->connect();
}

void forecast_cache::writer_loop() {
  if (redis_write_) redis_write_->connect();
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (queue_.empty()) {
      busy_ = false;
      idle_cv_.notify_all();
      if (stop_) return;
      const bool redis_down = redis_write_ && redis_write_->state() == redis_state::down;
      if (redis_down) {
        // Reconnect by itself, even without traffic, once the backoff has passed.
        const auto due = redis_write_->next_attempt();
        if (work_cv_.wait_until(lock, due, [&] { return stop_ || !queue_.empty(); })) continue;
        lock.unlock();
        redis_write_->connect();
        lock.lock();
        continue;
      }
      work_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      continue;
    }
    std::vector<job> jobs;
    while (!queue_.empty() && jobs.size() < config_.write_batch_max) {
      if (queue_.front().kind == job_kind::put) --queued_puts_;
      jobs.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    busy_ = true;
    lock.unlock();
    run_jobs(jobs);
    lock.lock();
  }
}

void forecast_cache::run_jobs(std::vector<job>& jobs) {
  // Runs on the write-behind thread. Consecutive puts go to Redis as one pipeline; erase and
  // clear keep their place in the order.
  std::vector<entry> redis_batch;
  auto flush_redis = [&] {
    if (redis_write_ && !redis_batch.empty()) redis_write_->put_many(redis_batch);  // counted
    redis_batch.clear();
  };
  for (auto& j : jobs) {
    switch (j.kind) {
      case job_kind::put:
        if (disk_ && j.to_disk) disk_->put(j.value);  // failures: counted, logged, degraded
        if (redis_write_ && j.to_redis) redis_batch.push_back(std::move(j.value));
        break;
      case job_kind::erase:
        flush_redis();
        if (disk_) disk_->erase(j.key);
        if (redis_write_) redis_write_->erase(j.key);
        break;
      case job_kind::clear: {
        flush_redis();
        std::size_t removed = 0;
        std::optional<tb::error> err;
        if (disk_) {
          auto r = disk_->clear();
          if (r)
            removed += *r;
          else
            err = r.error();
        }
        if (redis_write_) {
          auto r = redis_write_->clear();
          if (r)
            removed += *r;
          else if (!err)
            err = r.error();
        }
        std::lock_guard<std::mutex> lock(mu_);
        clear_removed_ = removed;
        clear_error_ = err;
        break;
      }
    }
  }
  flush_redis();
}

cache_stats forecast_cache::stats() const {
  cache_stats s;
  s.enabled = config_.enabled;
  s.ttl_seconds = config_.ttl_s;
  s.history_ttl_seconds = config_.history_ttl_s;
  if (!config_.enabled) return s;
  s.hits = hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  s.saves = saves_.load(std::memory_order_relaxed);
  s.write_drops = write_drops_.load(std::memory_order_relaxed);
  if (s.hits + s.misses > 0)
    s.hit_rate_percent = 100.0 * static_cast<double>(s.hits) / static_cast<double>(s.hits + s.misses);
  {
    std::lock_guard<std::mutex> lock(mu_);
    s.write_queue_depth = queue_.size();
  }
  if (memory_) s.tiers.push_back(memory_->stats());
  if (disk_) s.tiers.push_back(disk_->stats());
  if (redis_read_) {
    // One logical tier, two connections: reads (hits, misses, latency) on the owner's, writes
    // (saves) on the write-behind thread's. Errors add up; the state is the worse of the two.
    tier_stats r = redis_read_->stats();
    const tier_stats w = redis_write_->stats();
    r.saves = w.saves;
    r.errors += w.errors;
    r.rejected += w.rejected;
    r.corrupt += w.corrupt;
    if (severity(w.state) > severity(r.state)) r.state = w.state;
    s.redis_state = r.state;
    s.tiers.push_back(r);
  }
  for (const auto& t : s.tiers) {
    s.evictions += t.evictions;
    s.corrupt_entries += t.corrupt;
  }
  const tier_stats* local = nullptr;
  for (const auto& t : s.tiers)
    if (t.name == "disk" || (t.name == "memory" && !local)) local = &t;
  if (local) {
    s.num_entries = local->entries;
    s.cache_size_mb = static_cast<double>(local->bytes) / mib;
  }
  return s;
}

core::health_check forecast_cache::health() const { return health_of(stats()); }

core::health_check health_of(const cache_stats& s) {
  core::health_check h;
  h.detail = {{"enabled", s.enabled}, {"redis_state", s.redis_state}};
  for (const auto& t : s.tiers) {
    h.detail[t.name + "_state"] = t.state;
    if (t.state == "degraded" || t.state == "down" || t.state == "connecting") h.status = core::health_status::degraded;
  }
  return h;
}

nlohmann::json to_json(const cache_stats& s) {
  nlohmann::json tiers = nlohmann::json::object();
  for (const auto& t : s.tiers) {
    tiers[t.name] = {
        {"state", t.state},
        {"hits", t.hits},
        {"misses", t.misses},
        {"errors", t.errors},
        {"saves", t.saves},
        {"evictions", t.evictions},
        {"expired", t.expired},
        {"corrupt", t.corrupt},
        {"rejected", t.rejected},
        {"entries", t.entries},
        {"bytes", t.bytes},
        {"latency_p50_us", t.p50_us},
        {"latency_p99_us", t.p99_us},
        {"latency_samples", t.latency_samples},
        {"latency_seconds", core::to_json(t.latency)},
    };
  }
  return {
      {"enabled", s.enabled},
      {"hits", s.hits},
      {"misses", s.misses},
      {"saves", s.saves},
      {"hit_rate_percent", s.hit_rate_percent},
      {"num_entries", s.num_entries},
      {"cache_size_mb", s.cache_size_mb},
      {"ttl_seconds", s.ttl_seconds},
      {"history_ttl_seconds", s.history_ttl_seconds},
      {"evictions", s.evictions},
      {"corrupt_entries", s.corrupt_entries},
      {"redis_state", s.redis_state},
      {"write_queue_depth", s.write_queue_depth},
      {"write_drops", s.write_drops},
      {"tiers", tiers},
  };
}

std::string summary_line(const cache_stats& s) {
  return fmt::format("Kronos Prediction Cache Stats: hits={} misses={} hit_rate={:.1f}%", s.hits, s.misses,
                     s.hit_rate_percent);
}

}  // namespace tb::cache
