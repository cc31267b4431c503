#include "core/snapshot_board.hpp"

namespace tb::core {

const char* to_string(health_status s) {
  switch (s) {
    case health_status::ok:
      return "ok";
    case health_status::degraded:
      return "degraded";
    case health_status::failing:
      return "failing";
  }
  return "failing";
}

void snapshot_board::publish(const std::string& name, json doc) {
  auto ptr = std::make_shared<const json>(std::move(doc));
  std::lock_guard<std::mutex> lock(mu_);
  sections_[name] = std::move(ptr);
}

void snapshot_board::publish_entry(const std::string& name, const std::string& key, json doc) {
  auto ptr = std::make_shared<const json>(std::move(doc));
  std::lock_guard<std::mutex> lock(mu_);
  entries_[name][key] = std::move(ptr);
}

void snapshot_board::remove_entry(const std::string& name, const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = entries_.find(name); it != entries_.end()) it->second.erase(key);
}

void snapshot_board::publish_check(const std::string& name, health_check check) {
  auto ptr = std::make_shared<const health_check>(std::move(check));
  std::lock_guard<std::mutex> lock(mu_);
  checks_[name] = std::move(ptr);
}

void snapshot_board::remove_check(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  checks_.erase(name);
}

namespace {

nlohmann::json object_of(const std::map<std::string, std::shared_ptr<const nlohmann::json>>& entries) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, doc] : entries) out[key] = *doc;
  return out;
}

}  // namespace

std::shared_ptr<const nlohmann::json> snapshot_board::section(const std::string& name) const {
  entries copy;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto e = entries_.find(name);
    if (e == entries_.end()) {
      auto it = sections_.find(name);
      return it == sections_.end() ? nullptr : it->second;
    }
    copy = e->second;  // pointer copies; the documents are copied below, outside the lock
  }
  return std::make_shared<const json>(object_of(copy));
}

nlohmann::json snapshot_board::sections() const {
  std::map<std::string, std::shared_ptr<const json>> docs;
  std::map<std::string, entries> parts;
  {
    std::lock_guard<std::mutex> lock(mu_);
    docs = sections_;  // pointer copies; the documents are copied below, outside the lock
    parts = entries_;
  }
  json out = json::object();
  for (const auto& [name, doc] : docs) out[name] = *doc;
  for (const auto& [name, e] : parts) out[name] = object_of(e);
  return out;
}

nlohmann::json snapshot_board::checks(health_status* worst) const {
  std::map<std::string, std::shared_ptr<const health_check>> now;
  {
    std::lock_guard<std::mutex> lock(mu_);
    now = checks_;
  }
  json out = json::object();
  health_status w = health_status::ok;
  for (const auto& [name, ptr] : now) {
    const health_check& check = *ptr;
    json entry = check.detail.is_object() ? check.detail : json{{"detail", check.detail}};
    entry["status"] = to_string(check.status);
    out[name] = std::move(entry);
    if (static_cast<int>(check.status) > static_cast<int>(w)) w = check.status;
  }
  if (worst) *worst = w;
  return out;
}

}  // namespace tb::core
