#pragma once
// The order journal: an append-only file, one JSON object per line, that makes the order path
// crash-safe. The broker actor writes an `intent` record (and fsyncs it) BEFORE it submits the
// order, then `ack` (the broker accepted it) or `reject` (it refused it), later `fill`, `closed`
// (canceled/expired) or `abandoned` (found journaled but never submitted after a crash).
//
// The file is a jsonl_log (jsonl_log.hpp): a torn last line (a crash in the middle of a write)
// is dropped and reported in warnings(); any other unparsable line is errc::bad_data naming the
// line.
//
// client_order_id: derived from (symbol, bar time, side, strategy) only, so the same decision
// made again (a re-run pass, a restart) produces the same id and the broker actor refuses to
// submit it twice.
//
// Thread: not thread-safe; one owner (the broker actor, on its own thread). append() blocks on
// fsync: never call it from a CAF scheduler worker.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "market/broker.hpp"
#include "market/jsonl_log.hpp"

namespace tb::market {

enum class journal_kind { intent, ack, reject, fill, closed, abandoned };
const char* to_string(journal_kind k);

struct journal_record {
  journal_kind kind = journal_kind::intent;
  std::string client_order_id;
  std::int64_t at_unix_ns = 0;  // the injected clock's now when written
  order_request order;          // intent: the request as it will be submitted
  std::string strategy;         // intent: the strategy that proposed it
  std::int64_t bar_time_s = 0;  // intent: the bar the decision was made from
  std::string broker_order_id;  // ack, fill, closed
  double fill_qty = 0;          // fill
  double fill_price = 0;        // fill (average)
  std::string reason;           // reject, closed (the status), abandoned
};

// "SYMBOL-BARTIME-side-strategy" with '/' replaced by '_' (e.g. "AAPL-1719878400-buy-maxdiff").
// At most 128 characters (Alpaca's limit) for symbols of at most 16 and strategy names of <= 32.
std::string client_order_id_for(const std::string& symbol, std::int64_t bar_time_s, side s,
                                const std::string& strategy);

// What the journal says about one client_order_id, after folding its records in order.
struct journal_entry {
  journal_record intent;
  std::string state = "intent";  // intent | acked | rejected | filled | closed | abandoned
  std::string broker_order_id;
  double filled_qty = 0;
  double filled_price = 0;
  bool terminal() const {
    return state == "rejected" || state == "filled" || state == "closed" || state == "abandoned";
  }
};

class order_journal {
 public:
  // Opens (creating it and its folder when missing) and reads `path`. errc::io when it cannot be
  // opened; errc::bad_data for a corrupt line other than a torn last one. read_only: a reader beside
  // the broker actor (`tradebot report`), see jsonl_log; append() then fails.
  static tb::expected<order_journal> open(const std::string& path, jsonl_access access = jsonl_access::append);

  // Writes one line and fsyncs the file before returning. An intent for a client_order_id the
  // journal already holds is errc::invalid_argument (nothing is written). errc::io on failure.
  std::optional<tb::error> append(const journal_record& r);

  bool contains(const std::string& client_order_id) const { return entries_.count(client_order_id) > 0; }
  // Every client_order_id with its folded state, by id; and ids in the order of their intents.
  const std::map<std::string, journal_entry>& entries() const { return entries_; }
  const std::vector<std::string>& order_of_intents() const { return intent_order_; }
  const std::vector<journal_record>& records() const { return records_; }
  const std::vector<std::string>& warnings() const { return warnings_; }
  const std::string& path() const { return log_.path(); }

 private:
  order_journal() = default;
  void fold(const journal_record& r);

  jsonl_log log_;
  std::vector<journal_record> records_;
  std::map<std::string, journal_entry> entries_;
  std::vector<std::string> intent_order_;
  std::vector<std::string> warnings_;
};

// STATE/broker/orders.jsonl of a daemon whose state_dir is `state_dir` (the broker actor's journal;
// `tradebot report` reads it).
std::string order_journal_path(const std::string& state_dir);

// One record as its JSON line (without the newline), and back. Exposed for tests.
std::string to_json_line(const journal_record& r);
tb::expected<journal_record> journal_record_from_json(const std::string& line);

}  // namespace tb::market
