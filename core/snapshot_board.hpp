#pragma once
// The board where components publish what they want shown, and http/ reads it.
//
// Writers (actors, the daemon) replace whole immutable JSON documents; readers (the HTTP
// server's thread) take shared pointers to them. Neither side ever waits on the other beyond a
// pointer swap under a mutex, so a request never waits on an actor.
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

namespace tb::core {

enum class health_status { ok, degraded, failing };
const char* to_string(health_status s);

// One /health check: a name (e.g. "model", "redis"), a status and a JSON detail object.
struct health_check {
  health_status status = health_status::ok;
  nlohmann::json detail = nlohmann::json::object();
};

class snapshot_board {
 public:
  using json = nlohmann::json;

  // Replaces the /stats section `name` (e.g. "cache", "inference"). Thread-safe.
  void publish(const std::string& name, json doc);
  // Replaces entry `key` of the /stats section `name`, an object whose entries are written one at
  // a time by many writers (e.g. "symbols": one document per symbol actor). A write costs its
  // entry; the object is put together when read. Once an entry is written, the entries are the
  // section (a whole document published under `name` shows until then). Thread-safe.
  void publish_entry(const std::string& name, const std::string& key, json doc);
  // Removes entry `key` of section `name` (a symbol removed by a reload). Thread-safe.
  void remove_entry(const std::string& name, const std::string& key);
  // Replaces the /health check `name`. Thread-safe.
  void publish_check(const std::string& name, health_check check);
  // Removes a check (e.g. a symbol that was removed by a reload). Thread-safe.
  void remove_check(const std::string& name);

  // The latest document of a section, or nullptr when never published. Thread-safe.
  std::shared_ptr<const json> section(const std::string& name) const;
  // All sections as one object {name: doc}. Thread-safe.
  json sections() const;
  // All checks as {name: {"status": ..., ...detail}} and the worst status among them
  // (ok when there are none).
  json checks(health_status* worst = nullptr) const;

 private:
  using entries = std::map<std::string, std::shared_ptr<const json>>;
  // Guards the maps. Held only to swap or copy pointers: documents are built before a publish
  // and rendered after a read, outside it.
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const json>> sections_;
  std::map<std::string, entries> entries_;  // sections written entry by entry
  std::map<std::string, std::shared_ptr<const health_check>> checks_;
};

}  // namespace tb::core
