#include "http/metrics.hpp"

#include <cmath>
#include <map>
#include <set>
#include <utility>
#include <vector>

namespace tb::http {
namespace {

using json = nlohmann::json;
using labels = std::vector<std::pair<std::string, std::string>>;  // (name, value), ordered

constexpr std::size_t max_label_value_bytes = 256;

struct sample {
  labels labels_;
  std::string value_;
};

struct family {
  std::vector<sample> samples_;
  std::set<std::string> seen_;  // rendered label sets, to drop duplicates
};

// Collects samples into families keyed (and therefore sorted) by metric name.
class collector {
 public:
  void add(const std::string& name, labels ls, std::string value) {
    family& f = families_[name];
    std::string key = render_labels(ls);
    if (!f.seen_.insert(key).second) return;  // same name and labels from another path
    f.samples_.push_back({std::move(ls), std::move(value)});
  }

  std::string render() const {
    std::string out;
    for (const auto& [name, f] : families_) {
      const bool counter = name.size() >= 6 && name.compare(name.size() - 6, 6, "_total") == 0;
      out += "# TYPE " + name + (counter ? " counter\n" : " gauge\n");
      for (const auto& s : f.samples_) {
        out += name;
        out += render_labels(s.labels_);
        out += ' ';
        out += s.value_;
        out += '\n';
      }
    }
    return out;
  }

  static std::string render_labels(const labels& ls) {
    if (ls.empty()) return {};
    std::string out = "{";
    bool first = true;
    for (const auto& [k, v] : ls) {
      if (!first) out += ',';
      first = false;
      out += k;
      out += "=\"";
      out += escape_label_value(v);
      out += '"';
    }
    out += '}';
    return out;
  }

 private:
  std::map<std::string, family> families_;
};

std::string format_number(const json& v) {
  if (v.is_boolean()) return v.get<bool>() ? "1" : "0";
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  const double d = v.get<double>();
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "+Inf" : "-Inf";
  return v.dump();  // shortest round-trip representation
}

bool has_label(const labels& ls, const std::string& name) {
  for (const auto& [k, v] : ls)
    if (k == name) return true;
  return false;
}

std::string join(const std::string& prefix, const std::string& segment) {
  if (segment.empty()) return prefix;
  return prefix + "_" + segment;
}

// If `key` names a labelled collection, returns the label name and sets `segment` to what the key
// contributes to the metric name; otherwise returns "".
std::string collection_label(const std::string& key, std::string* segment) {
  static const std::map<std::string, std::string> named = {
      {"symbols", "symbol"}, {"positions", "symbol"}, {"checks", "check"}};
  if (auto it = named.find(key); it != named.end()) {
    *segment = sanitize_metric_segment(key);
    return it->second;
  }
  if (key.rfind("by_", 0) == 0 && key.size() > 3) {
    *segment = "";
    return sanitize_label_name(key.substr(3));
  }
  if (auto pos = key.rfind("_by_"); pos != std::string::npos && pos > 0 && pos + 4 < key.size()) {
    *segment = sanitize_metric_segment(key.substr(0, pos));
    return sanitize_label_name(key.substr(pos + 4));
  }
  return {};
}

void walk(collector& out, const std::string& name, const labels& ls, const json& node,
          int depth);

// The entries of a labelled collection: each child's key becomes the value of `label`.
void walk_collection(collector& out, const std::string& name, const labels& ls,
                     const std::string& label, const json& node, int depth) {
  for (const auto& [key, child] : node.items()) {
    labels inner = ls;
    if (!has_label(inner, label)) inner.emplace_back(label, key);
    walk(out, name, inner, child, depth + 1);
  }
}

// Walks one JSON node at metric name `name` with labels `ls`. Depth is bounded so a
// pathological document cannot exhaust the stack.
void walk(collector& out, const std::string& name, const labels& ls, const json& node,
          int depth) {
  if (depth > 32) return;
  if (node.is_number() || node.is_boolean()) {
    out.add(name, ls, format_number(node));
    return;
  }
  if (!node.is_object()) return;  // strings are handled by their parent; null/arrays skipped

  labels info = ls;
  for (const auto& [key, child] : node.items()) {
    if (child.is_string()) {
      std::string label = sanitize_label_name(key);
      if (has_label(info, label)) continue;
      std::string value = child.get<std::string>();
      if (value.size() > max_label_value_bytes) value.resize(max_label_value_bytes);
      info.emplace_back(std::move(label), std::move(value));
      continue;
    }
    std::string segment;
    const std::string label = child.is_object() ? collection_label(key, &segment) : "";
    if (!label.empty()) {
      walk_collection(out, join(name, segment), ls, label, child, depth + 1);
    } else {
      walk(out, join(name, sanitize_metric_segment(key)), ls, child, depth + 1);
    }
  }
  if (info.size() > ls.size()) out.add(name + "_info", std::move(info), "1");
}

int status_code(const std::string& s) {
  if (s == "ok") return 0;
  if (s == "degraded") return 1;
  return 2;
}

}  // namespace

std::string sanitize_metric_segment(std::string_view segment) {
  std::string out(segment);
  for (char& c : out) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == ':';
    if (!ok) c = '_';
  }
  return out;
}

std::string sanitize_label_name(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) c = '_';
  }
  if (out.empty() || (out[0] >= '0' && out[0] <= '9')) out.insert(0, "_");
  if (out.rfind("__", 0) == 0) out.insert(0, "l");  // "__" is reserved for Prometheus
  return out;
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string render_metrics(const json& stats, const json& checks, core::health_status overall,
                           const std::string& version) {
  collector out;
  const std::string prefix = "tradebotd";
  if (stats.is_object()) {
    for (const auto& [section, doc] : stats.items()) {
      std::string segment;
      const std::string label = doc.is_object() ? collection_label(section, &segment) : "";
      if (!label.empty())
        walk_collection(out, join(prefix, segment), {}, label, doc, 1);
      else
        walk(out, join(prefix, sanitize_metric_segment(section)), {}, doc, 1);
    }
  }
  out.add(prefix + "_health_status", {}, std::to_string(static_cast<int>(overall)));
  if (checks.is_object()) {
    for (const auto& [name, check] : checks.items()) {
      const std::string s = check.is_object() && check.contains("status") &&
                                    check["status"].is_string()
                                ? check["status"].get<std::string>()
                                : "failing";
      out.add(prefix + "_health_check_status", {{"check", name}}, std::to_string(status_code(s)));
    }
  }
  out.add(prefix + "_build_info", {{"version", version}}, "1");
  return out.render();
}

}  // namespace tb::http
