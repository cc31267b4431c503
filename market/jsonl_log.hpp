#pragma once
// An append-only file of JSON lines, each written and fsynced before append() returns: the store
// under the order journal (order_journal.hpp) and the durable sim broker's ledger
// (durable_sim_broker.hpp).
//
// A crash in the middle of append() leaves the last line without its newline. That append never
// returned, so nothing acted on it: open() drops such a line (whatever it holds) and cuts it off
// the file, so the next line starts on a line of its own.
//
// Read-only (jsonl_access::read_only, for a reader beside the writer, e.g. `tradebot report` on a
// running daemon's state folder): the same lines, a torn last line reported in torn_line() but
// left in place (the writer may be in the middle of it), no folder created, and append() fails.
//
// Thread: not thread-safe; one owner. open() and append() block on the disk: never call them from
// a CAF scheduler worker.
#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "core/error.hpp"

namespace tb::market {

enum class jsonl_access { append, read_only };

class jsonl_log {
 public:
  // Called with each complete line (without its newline; empty lines are skipped) and its 1-based
  // number. An error ends open() with that error, its message prefixed with "path:line: ".
  using line_reader = std::function<std::optional<tb::error>(const std::string& line, std::size_t line_no)>;

  // Reads `path` (creating its folder; a missing file has no lines), then opens it for appending
  // (`access` append) or not (read_only). `what` names the file in errors ("the order journal").
  // errc::io when it cannot be opened.
  static tb::expected<jsonl_log> open(const std::string& path, const std::string& what, const line_reader& read,
                                      jsonl_access access = jsonl_access::append);

  jsonl_log() = default;
  jsonl_log(jsonl_log&& o) noexcept;
  jsonl_log& operator=(jsonl_log&& o) noexcept;
  ~jsonl_log();

  // Writes `line` and a newline, then fsyncs. errc::io on failure (also when opened read-only).
  std::optional<tb::error> append(const std::string& line);

  // The line number of the torn last line open() dropped, when it dropped one.
  std::optional<std::size_t> torn_line() const { return torn_line_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_, what_;
  int fd_ = -1;
  std::optional<std::size_t> torn_line_;
};

}  // namespace tb::market
