#pragma once
// The equity curve of a running daemon, kept across restarts: STATE/broker/equity.jsonl beside the
// order journal, one JSON line per mark, {"at_ns": the cycle's scheduled instant (unix ns),
// "equity": the broker's equity at the cycle's start}, in the order of the cycles.
//
// The file is a jsonl_log (jsonl_log.hpp): each mark is fsynced before record() returns; a torn
// last line (a crash in the middle of a write) is dropped and reported in warnings(); any other
// line that is not a mark is errc::bad_data naming the file and line.
//
// One mark per instant: record() of a mark at or before the last one is a cycle re-run after a
// restart (a simulated clock resumes at the last order journal record, so the cycles after it run
// again) and is not written; the first mark of an instant stands.
//
// Thread: not thread-safe; one owner at a time (the portfolio actor, on its own thread). record()
// blocks on fsync: never call it from a CAF scheduler worker.
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "market/jsonl_log.hpp"

namespace tb::market {

struct equity_record {
  std::int64_t at_unix_ns = 0;
  double equity = 0;
};

class equity_log {
 public:
  // Opens (creating it and its folder when missing) and reads `path`; read_only for a reader beside
  // the daemon (`tradebot report`). errc::io when it cannot be opened; errc::bad_data for a corrupt
  // line other than a torn last one, or a mark before the one above it.
  static tb::expected<equity_log> open(const std::string& path, jsonl_access access = jsonl_access::append);

  // Appends `m` (fsynced) when it is after the last mark: true; false when it is not (nothing
  // written). errc::io when the write fails; errc::invalid_argument for a non-finite equity.
  tb::expected<bool> record(const equity_record& m);

  const std::vector<equity_record>& marks() const { return marks_; }
  const std::vector<std::string>& warnings() const { return warnings_; }
  const std::string& path() const { return log_.path(); }

 private:
  equity_log() = default;
  jsonl_log log_;
  std::vector<equity_record> marks_;
  std::vector<std::string> warnings_;
};

// STATE/broker/equity.jsonl of a daemon whose state_dir is `state_dir`.
std::string equity_log_path(const std::string& state_dir);

}  // namespace tb::market
