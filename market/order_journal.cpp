#include "market/order_journal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace tb::market {
namespace {

using nlohmann::json;

std::optional<journal_kind> kind_from(const std::string& s) {
  for (auto k : {journal_kind::intent, journal_kind::ack, journal_kind::reject, journal_kind::fill,
                 journal_kind::closed, journal_kind::abandoned})
    if (s == to_string(k)) return k;
  return std::nullopt;
}

}  // namespace

const char* to_string(journal_kind k) {
  switch (k) {
    case journal_kind::intent: return "intent";
    case journal_kind::ack: return "ack";
    case journal_kind::reject: return "reject";
    case journal_kind::fill: return "fill";
    case journal_kind::closed: return "closed";
    case journal_kind::abandoned: return "abandoned";
  }
  return "intent";
}

std::string client_order_id_for(const std::string& symbol, std::int64_t bar_time_s, side s,
                                const std::string& strategy) {
  std::string sym = symbol;
  for (auto& c : sym)
    if (c == '/') c = '_';
  std::string id = sym + "-" + std::to_string(bar_time_s) + "-" + to_string(s) + "-" + strategy;
  if (id.size() > 128) id.resize(128);
  return id;
}

std::string to_json_line(const journal_record& r) {
  json j = {{"kind", to_string(r.kind)}, {"client_order_id", r.client_order_id}, {"at_ns", r.at_unix_ns}};
  switch (r.kind) {
    case journal_kind::intent:
      j["symbol"] = r.order.symbol;
      j["side"] = to_string(r.order.side);
      j["qty"] = r.order.qty;
      j["limit_price"] = r.order.limit_price;
      j["tif"] = to_string(r.order.tif);
      j["strategy"] = r.strategy;
      j["bar_time_s"] = r.bar_time_s;
      break;
    case journal_kind::ack: j["broker_order_id"] = r.broker_order_id; break;
    case journal_kind::fill:
      j["broker_order_id"] = r.broker_order_id;
      j["qty"] = r.fill_qty;
      j["price"] = r.fill_price;
      break;
    case journal_kind::closed:
      j["broker_order_id"] = r.broker_order_id;
      j["reason"] = r.reason;
      break;
    case journal_kind::reject:
    case journal_kind::abandoned: j["reason"] = r.reason; break;
  }
  return j.dump();
}

tb::expected<journal_record> journal_record_from_json(const std::string& line) {
  try {
    const json j = json::parse(line);
    journal_record r;
    auto kind = kind_from(j.at("kind").get<std::string>());
    if (!kind) return tb::error{errc::bad_data, "unknown record kind " + j.at("kind").dump()};
    r.kind = *kind;
    r.client_order_id = j.at("client_order_id").get<std::string>();
    r.at_unix_ns = j.value("at_ns", std::int64_t{0});
    if (r.kind == journal_kind::intent) {
      r.order.client_order_id = r.client_order_id;
      r.order.symbol = j.at("symbol").get<std::string>();
      r.order.side = j.at("side").get<std::string>() == "sell" ? side::sell : side::buy;
      r.order.qty = j.at("qty").get<double>();
      r.order.limit_price = j.at("limit_price").get<double>();
      r.order.tif = j.value("tif", std::string("gtc")) == "day" ? time_in_force::day : time_in_force::gtc;
      r.strategy = j.value("strategy", std::string());
      r.bar_time_s = j.value("bar_time_s", std::int64_t{0});
    }
    r.broker_order_id = j.value("broker_order_id", std::string());
    r.fill_qty = j.value("qty", 0.0);
    r.fill_price = j.value("price", 0.0);
    r.reason = j.value("reason", std::string());
    return r;
  } catch (const std::exception& e) {
    return tb::error{errc::bad_data, e.what()};
  }
}

tb::expected<order_journal> order_journal::open(const std::string& path) {
  order_journal j;
  j.path_ = path;
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  {
    std::ifstream in(path, std::ios::binary);
    if (in) {
      std::stringstream ss;
      ss << in.rdbuf();
      const std::string text = ss.str();
      std::size_t pos = 0, line_no = 0;
      while (pos < text.size()) {
        ++line_no;
        const auto nl = text.find('\n', pos);
        const bool torn = nl == std::string::npos;  // no newline: the write did not finish
        const std::string line = text.substr(pos, torn ? std::string::npos : nl - pos);
        pos = torn ? text.size() : nl + 1;
        if (line.empty()) continue;
        auto rec = journal_record_from_json(line);
        if (!rec) {
          if (torn) {
            j.warnings_.push_back(path + ":" + std::to_string(line_no) + ": torn last line ignored");
            break;
          }
          return tb::error{errc::bad_data, path + ":" + std::to_string(line_no) + ": " + rec.error().message};
        }
        j.fold(*rec);
        j.records_.push_back(std::move(*rec));
      }
      if (!j.warnings_.empty()) {
        // Cut the torn tail so the next record starts on a line of its own.
        std::size_t keep = text.rfind('\n');
        keep = keep == std::string::npos ? 0 : keep + 1;
        std::filesystem::resize_file(path, keep, ec);
      }
    }
  }
  j.fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (j.fd_ < 0) return tb::error{errc::io, "cannot open the order journal " + path + ": " + std::strerror(errno)};
  return j;
}

order_journal::order_journal(order_journal&& o) noexcept
    : path_(std::move(o.path_)),
      fd_(o.fd_),
      records_(std::move(o.records_)),
      entries_(std::move(o.entries_)),
      intent_order_(std::move(o.intent_order_)),
      warnings_(std::move(o.warnings_)) {
  o.fd_ = -1;
}

order_journal& order_journal::operator=(order_journal&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(o.path_);
    fd_ = o.fd_;
    o.fd_ = -1;
    records_ = std::move(o.records_);
    entries_ = std::move(o.entries_);
    intent_order_ = std::move(o.intent_order_);
    warnings_ = std::move(o.warnings_);
  }
  return *this;
}

order_journal::~order_journal() {
  if (fd_ >= 0) ::close(fd_);
}

void order_journal::fold(const journal_record& r) {
  if (r.kind == journal_kind::intent) {
    journal_entry e;
    e.intent = r;
    entries_[r.client_order_id] = e;
    intent_order_.push_back(r.client_order_id);
    return;
  }
  auto it = entries_.find(r.client_order_id);
  if (it == entries_.end()) return;  // a record without its intent: nothing to fold it into
  auto& e = it->second;
  switch (r.kind) {
    case journal_kind::ack:
      e.state = "acked";
      e.broker_order_id = r.broker_order_id;
      break;
    case journal_kind::reject: e.state = "rejected"; break;
    case journal_kind::fill:
      e.state = "filled";
      e.filled_qty = r.fill_qty;
      e.filled_price = r.fill_price;
      if (!r.broker_order_id.empty()) e.broker_order_id = r.broker_order_id;
      break;
    case journal_kind::closed: e.state = "closed"; break;
    case journal_kind::abandoned: e.state = "abandoned"; break;
    case journal_kind::intent: break;
  }
}

std::optional<tb::error> order_journal::append(const journal_record& r) {
  if (r.kind == journal_kind::intent && contains(r.client_order_id))
    return tb::error{errc::invalid_argument, "client_order_id " + r.client_order_id + " is already journaled"};
  const std::string line = to_json_line(r) + "\n";
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return tb::error{errc::io, "cannot write the order journal " + path_ + ": " + std::strerror(errno)};
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd_) != 0)
    return tb::error{errc::io, "cannot fsync the order journal " + path_ + ": " + std::strerror(errno)};
  fold(r);
  records_.push_back(r);
  return std::nullopt;
}

}  // namespace tb::market
