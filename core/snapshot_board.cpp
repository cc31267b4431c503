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

void snapshot_board::publish_check(const std::string& name, health_check check) {
  auto ptr = std::make_shared<const health_check>(std::move(check));
  std::lock_guard<std::mutex> lock(mu_);
  checks_[name] = std::move(ptr);
}

void snapshot_board::remove_check(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  checks_.erase(name);
}

std::shared_ptr<const nlohmann::json> snapshot_board::section(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sections_.find(name);
  return it == sections_.end() ? nullptr : it->second;
}

nlohmann::json snapshot_board::sections() const {
  std::map<std::string, std::shared_ptr<const json>> docs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    docs = sections_;  // pointer copies; the documents are copied below, outside the lock
  }
  json out = json::object();
  for (const auto& [name, doc] : docs) out[name] = *doc;
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
