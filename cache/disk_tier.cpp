#include "cache/disk_tier.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "cache/codec.hpp"

namespace tb::cache {
namespace fs = std::filesystem;
namespace {

constexpr const char* entry_ext = ".tbfc";
constexpr std::uint64_t max_entry_file = 64ull << 20;  // larger is not ours: corrupt

std::string errno_text(int e) { return std::strerror(e); }

// Reads a whole file; returns errno (0 on success, ENOENT when absent).
int read_file(const fs::path& p, std::string* out) {
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return e;
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > max_entry_file) {
    ::close(fd);
    out->clear();
    out->append("oversized");  // decodes as corrupt (no magic)
    return 0;
  }
  out->resize(size);
  std::size_t got = 0;
  while (got < size) {
    const ssize_t n = ::read(fd, out->data() + got, size - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      return e;
    }
    if (n == 0) break;  // shrank under us: what we have decodes as truncated
    got += static_cast<std::size_t>(n);
  }
  out->resize(got);
  ::close(fd);
  return 0;
}

// Writes bytes to a new file `p` (must not exist). Returns errno, 0 on success.
int write_new_file(const fs::path& p, const std::string& bytes) {
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      return e;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) return errno;
  return 0;
}

// The key of an entry file name "<64 hex>.tbfc", if it is one.
std::optional<digest> key_of_name(const std::string& name) {
  if (name.size() != 64 + 5 || name.compare(64, 5, entry_ext) != 0) return std::nullopt;
  return digest_from_hex(std::string_view(name).substr(0, 64));
}

// Temp file names are unique per process and write: every disk_tier of the process draws from
// this one sequence, so two tiers on one folder (or two threads) never pick the same name.
std::atomic<std::uint64_t> tmp_seq{0};

bool is_two_hex(const std::string& s) {
  return s.size() == 2 && std::isxdigit(static_cast<unsigned char>(s[0])) &&
         std::isxdigit(static_cast<unsigned char>(s[1])) && !std::isupper(s[0]) && !std::isupper(s[1]);
}

bool is_tmp_name(const std::string& name) {
  return name.size() > 5 && name[0] == '.' && name.compare(name.size() - 4, 4, ".tmp") == 0;
}

// Calls fn(folder, file) for each entry of the two-hex-digit folders under `dir`, the only
// folders this tier touches. A folder that cannot be listed (or is not one) is skipped.
template <class F>
void for_each_in_entry_folders(const fs::path& dir, F&& fn) {
  std::error_code ec;
  for (fs::directory_iterator sub(dir, ec), end; !ec && sub != end; sub.increment(ec)) {
    if (!is_two_hex(sub->path().filename().string())) continue;
    std::error_code ec2;
    for (fs::directory_iterator f(sub->path(), ec2), fend; !ec2 && f != fend; f.increment(ec2)) fn(sub->path(), *f);
  }
}

}  // namespace

disk_tier::disk_tier(disk_config config, clock_ptr clock)
    : config_(std::move(config)), clock_(std::move(clock)), log_(config_.log_interval) {
  std::error_code ec;
  fs::create_directories(config_.dir, ec);
  if (ec || !fs::is_directory(config_.dir, ec)) {
    mark_degraded("cannot create cache directory " + config_.dir.string() + ": " +
                  (ec ? ec.message() : std::string("not a directory")));
    return;
  }
  resync();
}

fs::path disk_tier::path_of(const digest& key) const {
  const std::string hex = to_hex(key);
  return config_.dir / hex.substr(0, 2) / (hex + entry_ext);
}

void disk_tier::index_put_locked(const digest& key, std::uint64_t bytes) {
  index_erase_locked(key);
  const std::uint64_t rank = next_rank_++;
  index_.emplace(key, file_info{bytes, rank});
  by_rank_.emplace(rank, key);
  bytes_ += bytes;
}

void disk_tier::index_erase_locked(const digest& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return;
  bytes_ -= it->second.bytes;
  by_rank_.erase(it->second.rank);
  index_.erase(it);
}

void disk_tier::maintain() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (std::chrono::steady_clock::now() < next_resync_) return;
  }
  resync();
}

void disk_tier::resync() {
  std::uint64_t listing_from;  // entries written from this rank on may be missing from the listing
  {
    std::lock_guard<std::mutex> lock(mu_);
    listing_from = next_rank_;
  }
  struct found {
    fs::file_time_type mtime;
    std::string name;
    digest key;
    std::uint64_t bytes;
  };
  std::vector<found> files;
  const auto stale_tmp = fs::file_time_type::clock::now() - std::chrono::minutes(10);
  for_each_in_entry_folders(config_.dir, [&](const fs::path&, const fs::directory_entry& f) {
    const std::string name = f.path().filename().string();
    std::error_code ec;
    if (is_tmp_name(name)) {  // left by a crash (or in flight in another process: keep new ones)
      if (f.last_write_time(ec) < stale_tmp && !ec) fs::remove(f.path(), ec);
      return;
    }
    auto key = key_of_name(name);
    if (!key || !f.is_regular_file(ec)) return;
    const auto size = f.file_size(ec);
    if (ec) return;
    const auto mtime = f.last_write_time(ec);
    if (ec) return;
    files.push_back({mtime, name, *key, size});
  });
  std::sort(files.begin(), files.end(),
            [](const found& a, const found& b) { return a.mtime != b.mtime ? a.mtime < b.mtime : a.name < b.name; });
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::pair<digest, std::uint64_t>> written_meanwhile;
    for (auto it = by_rank_.lower_bound(listing_from); it != by_rank_.end(); ++it)
      written_meanwhile.emplace_back(it->second, index_.at(it->second).bytes);
    index_.clear();
    by_rank_.clear();
    bytes_ = 0;
    for (const auto& f : files) index_put_locked(f.key, f.bytes);
    for (const auto& [k, b] : written_meanwhile) index_put_locked(k, b);
    next_resync_ = std::chrono::steady_clock::now() + config_.resync_interval;
  }
  evict();
}

void disk_tier::mark_degraded(const std::string& why) {
  bool was;
  {
    std::lock_guard<std::mutex> lock(mu_);
    was = degraded_;
    degraded_ = true;
    retry_at_ = std::chrono::steady_clock::now() + config_.retry_after;
  }
  if (!was) log_.reset();  // the transition is always worth one line
  std::uint64_t held = 0;
  if (log_.allow(&held))
    spdlog::warn("cache disk tier degraded (memory and redis go on): {}{}", why, core::suppressed_note(held));
}

bool disk_tier::degraded() const {
  std::lock_guard<std::mutex> lock(mu_);
  return degraded_;
}

void disk_tier::remove_file(const digest& key) {
  ::unlink(path_of(key).c_str());  // ENOENT is fine: someone else removed it
  std::lock_guard<std::mutex> lock(mu_);
  index_erase_locked(key);
}

std::optional<entry> disk_tier::read_one(const digest& key, tb::error* err) {
  const fs::path p = path_of(key);
  std::string bytes;
  const int e = read_file(p, &bytes);
  if (e == ENOENT || e == ENOTDIR) {
    counters_.misses.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(mu_);
    index_erase_locked(key);
    return std::nullopt;
  }
  if (e != 0) {
    counters_.errors.fetch_add(1, std::memory_order_relaxed);
    counters_.misses.fetch_add(1, std::memory_order_relaxed);
    *err = tb::error{errc::io, "cache disk tier: read " + p.string() + ": " + errno_text(e)};
    return std::nullopt;
  }
  decode_result d = decode_entry(bytes, &key);
  if (d.status == decode_status::ok) {
    if (d.value.expired(now_ms(*clock_))) {
      remove_file(key);
      counters_.expired.fetch_add(1, std::memory_order_relaxed);
      counters_.misses.fetch_add(1, std::memory_order_relaxed);
      return std::nullopt;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (index_.find(key) == index_.end()) index_put_locked(key, bytes.size());  // found anew
    }
    counters_.hits.fetch_add(1, std::memory_order_relaxed);
    return std::move(d.value);
  }
  counters_.misses.fetch_add(1, std::memory_order_relaxed);
  if (d.status == decode_status::unsupported) return std::nullopt;  // a newer writer's file
  remove_file(key);
  counters_.corrupt.fetch_add(1, std::memory_order_relaxed);
  std::uint64_t held = 0;
  if (log_.allow(&held))
    spdlog::warn("cache disk tier: removed corrupt entry {}: {}{}", p.string(), d.detail, core::suppressed_note(held));
  return std::nullopt;
}

lookup disk_tier::get(const digest& key) {
  core::scoped_latency t(counters_.latency);
  tb::error err;
  auto r = read_one(key, &err);
  if (!r && !err.message.empty()) return err;
  return r;
}

lookups disk_tier::get_many(const std::vector<digest>& keys) {
  core::scoped_latency t(counters_.latency);
  std::vector<std::optional<entry>> out;
  out.reserve(keys.size());
  for (const auto& k : keys) {
    tb::error err;  // a per-file I/O error is a counted miss; the batch goes on
    out.push_back(read_one(k, &err));
  }
  return out;
}

tb::expected<std::size_t> disk_tier::put(const entry& e) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (degraded_ && std::chrono::steady_clock::now() < retry_at_) {
      counters_.rejected.fetch_add(1, std::memory_order_relaxed);
      return tb::error{errc::unavailable, "cache disk tier degraded: " + config_.dir.string()};
    }
  }
  const std::string bytes = encode_entry(e);
  const fs::path final_path = path_of(e.key_id);
  const fs::path folder = final_path.parent_path();
  if (::mkdir(folder.c_str(), 0755) != 0 && errno != EEXIST) {
    if (errno == ENOENT) {  // the root is missing (removed, or never created): once more
      std::error_code ec;
      fs::create_directories(config_.dir, ec);
    }
    if (::mkdir(folder.c_str(), 0755) != 0 && errno != EEXIST) {
      counters_.errors.fetch_add(1, std::memory_order_relaxed);
      const std::string why = "mkdir " + folder.string() + ": " + errno_text(errno);
      mark_degraded(why);
      return tb::error{errc::io, "cache disk tier: " + why};
    }
  }
  const std::string hex = final_path.stem().string();
  const fs::path tmp = folder / ("." + hex + "." + std::to_string(::getpid()) + "." +
                                 std::to_string(tmp_seq.fetch_add(1, std::memory_order_relaxed)) + ".tmp");
  int err = write_new_file(tmp, bytes);
  if (err == EEXIST) {  // our pid and a sequence number we never used: a crashed process's file
    ::unlink(tmp.c_str());
    err = write_new_file(tmp, bytes);
  }
  if (err == 0 && ::rename(tmp.c_str(), final_path.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.c_str());
    counters_.errors.fetch_add(1, std::memory_order_relaxed);
    const std::string why = "write " + final_path.string() + ": " + errno_text(err);
    mark_degraded(why);
    return tb::error{errc::io, "cache disk tier: " + why};
  }
  bool recovered = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    recovered = degraded_;
    degraded_ = false;
    index_put_locked(e.key_id, bytes.size());
  }
  if (recovered) {
    log_.reset();
    spdlog::info("cache disk tier writable again: {}", config_.dir.string());
  }
  counters_.saves.fetch_add(1, std::memory_order_relaxed);
  evict();
  return bytes.size();
}

void disk_tier::evict() {
  for (;;) {
    digest victim;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (bytes_ <= config_.max_bytes || by_rank_.empty()) return;
      victim = by_rank_.begin()->second;
      index_erase_locked(victim);
    }
    ::unlink(path_of(victim).c_str());
    counters_.evictions.fetch_add(1, std::memory_order_relaxed);
  }
}

tb::expected<bool> disk_tier::erase(const digest& key) {
  const fs::path p = path_of(key);
  const bool removed = ::unlink(p.c_str()) == 0;
  const int e = errno;
  {
    std::lock_guard<std::mutex> lock(mu_);
    index_erase_locked(key);
  }
  if (!removed && e != ENOENT && e != ENOTDIR) {
    counters_.errors.fetch_add(1, std::memory_order_relaxed);
    return tb::error{errc::io, "cache disk tier: remove " + p.string() + ": " + errno_text(e)};
  }
  return removed;
}

tb::expected<std::size_t> disk_tier::clear() {
  std::size_t removed = 0;
  std::optional<tb::error> first;
  for_each_in_entry_folders(config_.dir, [&](const fs::path&, const fs::directory_entry& f) {
    const std::string name = f.path().filename().string();
    if (!key_of_name(name) && !is_tmp_name(name)) return;  // never touch others' files
    if (::unlink(f.path().c_str()) == 0) {
      if (!is_tmp_name(name)) ++removed;
    } else if (errno != ENOENT && !first) {
      first = tb::error{errc::io, "cache disk tier: remove " + f.path().string() + ": " + errno_text(errno)};
    }
  });
  {
    std::lock_guard<std::mutex> lock(mu_);
    index_.clear();
    by_rank_.clear();
    bytes_ = 0;
  }
  if (first) {
    counters_.errors.fetch_add(1, std::memory_order_relaxed);
    return *first;
  }
  return removed;
}

verify_report disk_tier::verify(bool remove) {
  verify_report rep;
  const std::int64_t now = now_ms(*clock_);
  auto problem = [&](const fs::path& p, const std::string& why) {
    if (rep.problems.size() < 100) rep.problems.push_back(p.string() + ": " + why);
  };
  std::vector<std::pair<digest, std::uint64_t>> good;
  for_each_in_entry_folders(config_.dir, [&](const fs::path& folder, const fs::directory_entry& f) {
    const auto key = key_of_name(f.path().filename().string());
    if (!key) return;
    ++rep.files;
    std::string bytes;
    if (const int e = read_file(f.path(), &bytes); e != 0) {
      problem(f.path(), "read: " + errno_text(e));
      return;
    }
    const bool wrong_folder = folder.filename().string() != to_hex(*key).substr(0, 2);
    decode_result d = decode_entry(bytes, &*key);
    bool drop = false;
    if (d.status == decode_status::ok && !wrong_folder) {
      if (d.value.expired(now)) {
        ++rep.expired;
        drop = true;
      } else {
        ++rep.ok;
      }
    } else if (d.status == decode_status::unsupported) {
      ++rep.unsupported;
      problem(f.path(), d.detail);
    } else {
      ++rep.corrupt;
      problem(f.path(), wrong_folder ? std::string("in the wrong folder") : d.detail);
      drop = true;
    }
    if (drop && remove && ::unlink(f.path().c_str()) == 0) {
      ++rep.removed;
      return;
    }
    rep.bytes += bytes.size();
    if (!drop && !wrong_folder) good.emplace_back(*key, bytes.size());
  });
  if (remove) {
    counters_.corrupt.fetch_add(rep.corrupt, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(mu_);
    // Re-sync: forget files that are gone, learn files another process wrote.
    std::unordered_map<digest, std::uint64_t, digest_hash> present(good.begin(), good.end());
    std::vector<digest> gone;
    for (const auto& [k, info] : index_)
      if (!present.count(k)) gone.push_back(k);
    for (const auto& k : gone) index_erase_locked(k);
    for (const auto& [k, b] : good)
      if (!index_.count(k)) index_put_locked(k, b);
  }
  return rep;
}

tier_stats disk_tier::stats() const {
  tier_stats s;
  s.name = name();
  counters_.fill(s);
  std::lock_guard<std::mutex> lock(mu_);
  s.state = degraded_ ? "degraded" : "ok";
  s.entries = index_.size();
  s.bytes = bytes_;
  return s;
}

std::vector<digest> disk_tier::keys_oldest_first() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<digest> out;
  out.reserve(by_rank_.size());
  for (const auto& [rank, k] : by_rank_) out.push_back(k);
  return out;
}

}  // namespace tb::cache
