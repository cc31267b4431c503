#pragma once
// Disk tier: one file per entry under a directory, in the codec's binary format.
//
// Layout: <dir>/<first two hex digits of the key>/<64 hex digits>.tbfc; a write goes to
// <same folder>/.<hex>.<pid>.<n>.tmp (n: a sequence shared by the process's tiers) and is renamed over the final name
// (readers see the old or the new complete file, never a partial one; no fsync: a file torn by a crash fails its
// checksum and is a miss). Only files matching these names are ever read or removed.
//
// Eviction: oldest written first (a rewrite makes an entry newest), when the total of file
// sizes exceeds max_bytes. Files present at start are ordered by modification time.
//
// Faults: a corrupt, truncated or mis-named file is a miss; it is removed and `corrupt` counted.
// An expired entry is a miss and removed. A failing write (unwritable directory, disk full,
// read-only file system) marks the tier degraded: puts are refused (counted as `rejected`) until
// `retry_after` has passed, then the next put tries again and a success clears the state.
// Reads are always attempted. Logs are rate-limited to one per `log_interval`.
//
// Thread: thread-safe. Designed for the owner's thread (reads) plus the facade's write-behind
// thread (writes); the index is under one mutex, file I/O runs outside it.
//
// Processes: several (daemons, backtests, `tradebot cache`) may share one directory.
//   - writes: a temp name unique per process and write (pid, sequence) renamed over the final
//     name, so a reader sees a whole old or a whole new file, never part of one;
//   - reads: a file unlinked (evicted, replaced) after a reader opened it is still read whole;
//     one gone before is a miss, never an error; bytes that fail the checksum are a miss;
//   - budget: each process indexes what it writes and reads, and resync() (on maintain(), every
//     resync_interval) re-reads the folder, so the oldest-first eviction applies max_bytes to what
//     every process wrote; files another process removed are forgotten there. Between resyncs the
//     folder may exceed max_bytes by what the other processes wrote meanwhile.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include "cache/tier.hpp"
#include "core/log_throttle.hpp"

namespace tb::cache {

struct disk_config {
  std::filesystem::path dir;                     // [cache] dir
  std::uint64_t max_bytes = 1000ull << 20;       // KRONOS_PREDICTION_CACHE_MAX_SIZE_MB (MiB)
  std::chrono::milliseconds retry_after{30000};  // degraded: next write attempt after this
  std::chrono::milliseconds log_interval{60000};
  // maintain(): re-read the folder this often (a listing and a stat per file: seconds for millions)
  std::chrono::milliseconds resync_interval{300000};
};

// What verify() found.
struct verify_report {
  std::uint64_t files = 0;  // entry files examined
  std::uint64_t ok = 0;
  std::uint64_t corrupt = 0;  // bad bytes or a name that does not match the content
  std::uint64_t expired = 0;
  std::uint64_t unsupported = 0;  // another format version (left in place)
  std::uint64_t removed = 0;
  std::uint64_t bytes = 0;            // bytes of the files left
  std::vector<std::string> problems;  // "<path>: <why>", at most 100
};

class disk_tier final : public tier {
 public:
  // Creates the directory if needed and indexes the files in it (one stat per file).
  // Never fails: an unusable directory makes the tier degraded.
  disk_tier(disk_config config, clock_ptr clock);

  const char* name() const override { return "disk"; }
  lookup get(const digest& key) override;
  lookups get_many(const std::vector<digest>& keys) override;
  tb::expected<std::size_t> put(const entry& e) override;
  tb::expected<bool> erase(const digest& key) override;
  tb::expected<std::size_t> clear() override;
  tier_stats stats() const override;

  bool degraded() const;
  // Re-indexes the folder (one directory entry and one stat per file) in modification-time order:
  // files other processes wrote count in the budget, files they removed are forgotten; then
  // evicts down to max_bytes. Removes temp files older than 10 minutes (left by a crash).
  void resync();
  // resync() when resync_interval has passed since the last one (or construction); else nothing.
  void maintain();
  // Decodes every entry file; with remove, deletes corrupt and expired ones (operators:
  // `tradebot cache verify`). Also re-syncs the index with what is on disk.
  verify_report verify(bool remove);

  // The path of a key's file (tests, operators).
  std::filesystem::path path_of(const digest& key) const;
  // The keys from oldest to newest written (tests).
  std::vector<digest> keys_oldest_first() const;

 private:
  struct file_info {
    std::uint64_t bytes;
    std::uint64_t rank;  // larger = written later
  };

  std::optional<entry> read_one(const digest& key, tb::error* err);
  // mu_ must be held.
  void index_put_locked(const digest& key, std::uint64_t bytes);
  void index_erase_locked(const digest& key);
  void remove_file(const digest& key);
  void mark_degraded(const std::string& why);
  void evict();

  const disk_config config_;
  const clock_ptr clock_;  // never null; shared with the other tiers
  mutable std::mutex mu_;
  std::unordered_map<digest, file_info, digest_hash> index_;  // guarded by mu_
  std::map<std::uint64_t, digest> by_rank_;                   // guarded by mu_
  std::uint64_t next_rank_ = 0;                               // guarded by mu_
  std::uint64_t bytes_ = 0;                                   // guarded by mu_
  bool degraded_ = false;                                     // guarded by mu_
  std::chrono::steady_clock::time_point retry_at_{};          // guarded by mu_
  std::chrono::steady_clock::time_point next_resync_{};       // guarded by mu_
  tier_counters counters_;
  core::log_throttle log_;
};

}  // namespace tb::cache
