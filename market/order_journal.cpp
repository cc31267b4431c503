#include "market/order_journal.hpp"

#include <filesystem>

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
    case journal_kind::intent:
      return "intent";
    case journal_kind::ack:
      return "ack";
    case journal_kind::reject:
      return "reject";
    case journal_kind::fill:
      return "fill";
    case journal_kind::closed:
      return "closed";
    case journal_kind::abandoned:
      return "abandoned";
  }
  return "intent";
}

std::string order_journal_path(const std::string& state_dir) {
  return (std::filesystem::path(state_dir) / "broker" / "orders.jsonl").string();
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
    case journal_kind::ack:
      j["broker_order_id"] = r.broker_order_id;
      break;
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
    case journal_kind::abandoned:
      j["reason"] = r.reason;
      break;
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

tb::expected<order_journal> order_journal::open(const std::string& path, jsonl_access access) {
  order_journal j;
  auto log = jsonl_log::open(
      path, "the order journal",
      [&j](const std::string& line, std::size_t) {
        auto rec = journal_record_from_json(line);
        if (!rec) return std::optional<tb::error>(tb::error{errc::bad_data, rec.error().message});
        j.fold(*rec);
        j.records_.push_back(std::move(*rec));
        return std::optional<tb::error>();
      },
      access);
  if (!log) return log.error();
  if (auto torn = log->torn_line())
    j.warnings_.push_back(path + ":" + std::to_string(*torn) + ": torn last line ignored");
  j.log_ = std::move(*log);
  return j;
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
    case journal_kind::reject:
      e.state = "rejected";
      break;
    case journal_kind::fill:
      e.state = "filled";
      e.filled_qty = r.fill_qty;
      e.filled_price = r.fill_price;
      if (!r.broker_order_id.empty()) e.broker_order_id = r.broker_order_id;
      break;
    case journal_kind::closed:
      e.state = "closed";
      break;
    case journal_kind::abandoned:
      e.state = "abandoned";
      break;
    case journal_kind::intent:
      break;
  }
}

std::optional<tb::error> order_journal::append(const journal_record& r) {
  if (r.kind == journal_kind::intent && contains(r.client_order_id))
    return tb::error{errc::invalid_argument, "client_order_id " + r.client_order_id + " is already journaled"};
  if (auto err = log_.append(to_json_line(r))) return err;
  fold(r);
  records_.push_back(r);
  return std::nullopt;
}

}  // namespace tb::market
