#include "core/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "core/endpoint.hpp"
#include "core/text.hpp"

namespace tb::core {
namespace {

std::string section_of(const std::string& name) { return name.substr(0, name.find('.')); }

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string format_number(double v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, res.ptr);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// What a key accepts, in words: "an integer in [0, 65535]".
std::string allowed(const key_spec& k) {
  switch (k.kind) {
    case value_kind::boolean:
      return "true or false";
    case value_kind::integer:
      return "an integer in [" + std::to_string(static_cast<long long>(k.min)) + ", " +
             std::to_string(static_cast<long long>(k.max)) + "]";
    case value_kind::real:
      return "a number in [" + format_number(k.min) + ", " + format_number(k.max) + "]";
    case value_kind::string: {
      if (k.choices.empty()) return "a string";
      std::string s = "one of";
      for (const auto& c : k.choices) s += " " + quote(c);
      return s;
    }
    case value_kind::list:
      break;
  }
  return "a list of at most " + std::to_string(static_cast<long long>(k.max)) +
         (k.endpoints ? " \"host:port\" strings" : " strings");
}

// Checks `raw` against `k`; returns the problem in words, or "" with `raw` normalised to the
// value to store (strings with choices in lower case, list entries upper case).
std::string check(const key_spec& k, config_value& raw) {
  switch (k.kind) {
    case value_kind::boolean:
      if (!std::holds_alternative<bool>(raw)) return "expected " + allowed(k);
      return {};
    case value_kind::integer: {
      if (!std::holds_alternative<std::int64_t>(raw)) return "expected " + allowed(k);
      auto v = std::get<std::int64_t>(raw);
      if (v < k.min || v > k.max) return std::to_string(v) + " is out of range; expected " + allowed(k);
      return {};
    }
    case value_kind::real: {
      double v;
      if (auto* i = std::get_if<std::int64_t>(&raw))
        v = static_cast<double>(*i);
      else if (auto* d = std::get_if<double>(&raw))
        v = *d;
      else
        return "expected " + allowed(k);
      if (!std::isfinite(v) || v < k.min || v > k.max)
        return format_number(v) + " is out of range; expected " + allowed(k);
      raw = v;
      return {};
    }
    case value_kind::string: {
      if (!std::holds_alternative<std::string>(raw)) return "expected " + allowed(k);
      if (!k.choices.empty()) {
        auto v = to_lower(trim(std::get<std::string>(raw)));
        if (std::find(k.choices.begin(), k.choices.end(), v) == k.choices.end())
          return quote(excerpt(std::get<std::string>(raw))) + " is not allowed; expected " + allowed(k);
        raw = v;
      }
      return {};
    }
    case value_kind::list:
      break;
  }
  if (!std::holds_alternative<std::vector<std::string>>(raw)) return "expected " + allowed(k);
  const auto n = std::get<std::vector<std::string>>(raw).size();
  if (n > k.max) return std::to_string(n) + " entries; expected " + allowed(k);
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (auto s : std::get<std::vector<std::string>>(raw)) {
    s = trim(s);
    std::string item;  // the entry as stored: "host:port" normalised, or an upper-case symbol
    if (k.endpoints) {
      auto e = parse_endpoint(s);
      if (!e) return e.error().message;
      item = to_string(*e);
    } else {
      for (auto& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      bool ok = !s.empty() && s.size() <= 16 && std::all_of(s.begin(), s.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '/' || ch == '-';
      });
      if (!ok) return quote(excerpt(s)) + " is not a symbol (letters, digits, '.', '/', '-'; at most 16)";
      item = s;
    }
    if (!seen.insert(item).second) return quote(s) + " is listed twice";
    out.push_back(std::move(item));
  }
  raw = std::move(out);
  return {};
}

// Checks `raw` against `k` and stores it in `c`; returns the problem in words, or "" when stored.
std::string assign(void* c, const key_spec& k, config_value raw) {
  auto problem = check(k, raw);
  if (problem.empty()) k.set(c, raw);
  return problem;
}

// A TOML node as a raw value; nullopt for types no key takes (tables, dates, ...).
std::optional<config_value> from_toml(const toml::node& n) {
  if (auto v = n.as_boolean()) return config_value{v->get()};
  if (auto v = n.as_integer()) return config_value{v->get()};
  if (auto v = n.as_floating_point()) return config_value{v->get()};
  if (auto v = n.as_string()) return config_value{v->get()};
  if (auto arr = n.as_array()) {
    std::vector<std::string> out;
    for (const auto& e : *arr) {
      auto s = e.as_string();
      if (!s) return std::nullopt;
      out.push_back(s->get());
    }
    return config_value{std::move(out)};
  }
  return std::nullopt;
}

// An environment string as the raw value the key's type expects; nullopt when it does not parse.
std::optional<config_value> from_env(const key_spec& k, const std::string& text) {
  const std::string s = trim(text);
  switch (k.kind) {
    case value_kind::boolean: {
      auto l = to_lower(s);
      if (l == "1" || l == "true" || l == "yes" || l == "on") return config_value{true};
      if (l == "0" || l == "false" || l == "no" || l == "off") return config_value{false};
      return std::nullopt;
    }
    case value_kind::integer: {
      std::int64_t v = 0;
      auto res = std::from_chars(s.data(), s.data() + s.size(), v);
      if (res.ec != std::errc() || res.ptr != s.data() + s.size() || s.empty()) return std::nullopt;
      return config_value{v};
    }
    case value_kind::real: {
      char* end = nullptr;
      double v = std::strtod(s.c_str(), &end);
      if (s.empty() || end != s.c_str() + s.size()) return std::nullopt;
      return config_value{v};
    }
    case value_kind::string:
      return config_value{s};
    case value_kind::list:
      break;
  }
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!trim(item).empty()) out.push_back(item);
  return config_value{std::move(out)};
}

// An override's text as the raw value its key takes: a TOML value (the file's rules), else, for
// a string or list key, the text as the environment gives it; nullopt when it does not parse.
std::optional<config_value> from_override(const key_spec& k, const std::string& text) {
  std::optional<config_value> raw;
  try {
    const auto tbl = toml::parse("v = " + text);
    if (tbl.size() == 1 && tbl.get("v")) raw = from_toml(*tbl.get("v"));  // one value, no smuggled keys
  } catch (const toml::parse_error&) {}
  if (k.kind == value_kind::string && !(raw && std::holds_alternative<std::string>(*raw))) return from_env(k, text);
  if (k.kind == value_kind::list && !(raw && std::holds_alternative<std::vector<std::string>>(*raw)))
    return from_env(k, text);
  return raw;
}

std::string where(const std::string& path, const toml::source_region& src) {
  return path + ":" + std::to_string(src.begin.line) + ": ";
}

nlohmann::json value_json(const void* c, const key_spec& k) {
  return std::visit([](const auto& v) { return nlohmann::json(v); }, k.get(c));
}

std::string value_toml(const void* c, const key_spec& k) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>)
          return v ? "true" : "false";
        else if constexpr (std::is_same_v<T, std::int64_t>)
          return std::to_string(v);
        else if constexpr (std::is_same_v<T, double>)
          return format_number(v);
        else if constexpr (std::is_same_v<T, std::string>)
          return quote(v);
        else {
          std::string s = "[";
          for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + quote(v[i]);
          return s + "]";
        }
      },
      k.get(c));
}

}  // namespace

const char* to_string(value_source s) {
  switch (s) {
    case value_source::default_value:
      return "default";
    case value_source::file:
      return "file";
    case value_source::env:
      return "env";
    case value_source::command_line:
      return "cli";
  }
  return "default";
}

env_lookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

tb::expected<config_override> parse_override(const std::string& text, const std::string& origin) {
  const auto eq = text.find('=');
  if (eq == std::string::npos)
    return tb::error{errc::bad_config, origin + ": expected KEY=VALUE (e.g. strategy.min_sharpe=0.3)"};
  config_override o{trim(text.substr(0, eq)), text.substr(eq + 1), origin};
  if (o.key.empty()) return tb::error{errc::bad_config, origin + ": no key before '='"};
  return o;
}

std::optional<tb::error> joined(const std::vector<std::string>& errors) {
  if (errors.empty()) return std::nullopt;
  std::string msg;
  for (const auto& e : errors) msg += (msg.empty() ? "" : "\n") + e;
  return tb::error{errc::bad_config, msg};
}

std::string value_problem(const key_spec& key, const void* s) {
  auto v = key.get(s);
  auto problem = check(key, v);
  return problem.empty() ? problem : std::string(key.env ? key.env : key.name.c_str()) + ": " + problem;
}

schema_engine::schema_engine(std::vector<key_spec> keys) : keys_(std::move(keys)) {}

const key_spec* schema_engine::find(const std::string& name) const {
  for (const auto& k : keys_)
    if (name == k.name) return &k;
  return nullptr;
}

// "[daemon], [http], ...": the schema's sections in declaration order.
std::string schema_engine::section_list() const {
  std::string out, last;
  for (const auto& k : keys_) {
    const std::string section = section_of(k.name);
    if (section == last) continue;
    out += (out.empty() ? "[" : ", [") + section + "]";
    last = section;
  }
  return out;
}

// "unknown key 'x.y'" with the nearest known key, or the section's keys, or "no such section".
std::string schema_engine::unknown_key(const std::string& name) const {
  const std::string section = section_of(name);
  std::string best, in_section;
  std::size_t best_d = 3;
  for (const auto& k : keys_) {
    // A suggestion is at most 2 edits away: a name that much longer than every key has none
    // (and a huge one would cost its length times every key's).
    auto d = name.size() <= 64 ? edit_distance(name, k.name) : best_d;
    if (d < best_d) best_d = d, best = k.name;
    if (section_of(k.name) == section) in_section += std::string(in_section.empty() ? "" : ", ") + k.name;
  }
  std::string msg = "unknown key '" + excerpt(name) + "'";
  if (!best.empty())
    msg += "; did you mean '" + best + "'?";
  else if (!in_section.empty())
    msg += "; keys of [" + excerpt(section) + "]: " + in_section;
  else
    msg += "; there is no section [" + excerpt(section) + "]";
  return msg;
}

void schema_engine::read_overrides(void* c, config_sources& sources, const std::vector<config_override>& overrides,
                                   std::vector<std::string>& errors) const {
  for (const auto& o : overrides) {
    const key_spec* spec = find(o.key);
    if (!spec) {
      errors.push_back(o.origin + ": " + unknown_key(o.key));
      continue;
    }
    auto raw = from_override(*spec, o.value);
    std::string problem = raw ? assign(c, *spec, std::move(*raw)) : "expected " + allowed(*spec);
    if (!problem.empty()) {
      errors.push_back(o.origin + ": key '" + o.key + "': " + problem);
      continue;
    }
    sources[o.key] = value_source::command_line;
  }
}

// Reads the file into `c`; appends one line per problem to `errors`.
void schema_engine::read_file(void* c, config_sources& sources, const std::string& path,
                              std::vector<std::string>& errors) const {
  // Only a regular file with content is a config: a directory reads as empty on some systems, and
  // an empty file (a truncated copy, a failed deploy) would silently drop every setting, the
  // universe included, on a reload as at a start.
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) {
    errors.push_back(path + ": cannot read the config file: " + (ec ? ec.message() : "no such file"));
    return;
  }
  if (std::filesystem::is_directory(status)) {
    errors.push_back(path + ": is a directory, not a config file");
    return;
  }
  if (!std::filesystem::is_regular_file(status)) {
    errors.push_back(path + ": is not a regular file");
    return;
  }
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in && !in.eof()) {
    errors.push_back(path + ": cannot read the config file");
    return;
  }
  if (trim(text).empty()) {
    errors.push_back(path +
                     ": the file is empty; refusing it (it would drop every setting, trading.symbols "
                     "included). For the built-in defaults start without --config; the generated example "
                     "(tradebotd --print-config, every key commented out) is a valid file");
    return;
  }
  toml::table tbl;
  try {
    tbl = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    errors.push_back(path + ":" + std::to_string(e.source().begin.line) + ":" +
                     std::to_string(e.source().begin.column) + ": " + std::string(e.description()));
    return;
  }
  for (const auto& [section_key, section_node] : tbl) {
    const std::string section(section_key.str());
    const auto* section_tbl = section_node.as_table();
    if (!section_tbl) {
      errors.push_back(where(path, section_key.source()) + "key '" + excerpt(section) +
                       "' outside a section; every key belongs to one of " + section_list());
      continue;
    }
    for (const auto& [key, node] : *section_tbl) {
      const std::string name = section + "." + std::string(key.str());
      const key_spec* spec = find(name);
      if (!spec) {
        errors.push_back(where(path, key.source()) + unknown_key(name));
        continue;
      }
      auto raw = from_toml(node);
      std::string problem = raw ? assign(c, *spec, std::move(*raw)) : "expected " + allowed(*spec);
      if (!problem.empty()) {
        errors.push_back(where(path, node.source()) + "key '" + name + "': " + problem);
        continue;
      }
      sources[name] = value_source::file;
    }
  }
}

void schema_engine::read_env(void* c, config_sources& sources, const env_lookup& env,
                             std::vector<std::string>& errors) const {
  for (const auto& k : keys_) {
    if (!k.env) continue;
    auto text = env(k.env);
    if (!text) continue;
    auto raw = from_env(k, *text);
    std::string problem = raw ? assign(c, k, std::move(*raw)) : "expected " + allowed(k);
    if (!problem.empty()) {
      errors.push_back("environment " + std::string(k.env) + "=" + quote(excerpt(*text)) + " (key '" + k.name +
                       "'): " + problem);
      continue;
    }
    sources[k.name] = value_source::env;
  }
}

std::vector<std::string> schema_engine::restart_required(const void* running, const void* next) const {
  std::vector<std::string> out;
  for (const auto& k : keys_)
    if (k.restart && value_json(running, k) != value_json(next, k)) out.push_back(k.name);
  return out;
}

nlohmann::json schema_engine::describe(const void* c, const config_sources& sources) const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& k : keys_) {
    auto it = sources.find(k.name);
    out[k.name] = {{"value", k.secret ? nlohmann::json("***") : value_json(c, k)},
                   {"source", to_string(it == sources.end() ? value_source::default_value : it->second)}};
  }
  return out;
}

std::string schema_engine::example_toml(const void* defaults) const {
  std::string out =
      "# tradebotd configuration. Every key, with its default; uncomment to change.\n"
      "# Unknown keys, wrong types and out-of-range values are errors (tradebotd --check).\n"
      "# Environment variables named below override the file. SIGHUP reloads this file.\n"
      "# Generated by `tradebotd --print-config`; tests keep this copy in sync.\n";
  std::string section;
  for (const auto& k : keys_) {
    const std::string name = k.name;
    if (section_of(name) != section) {
      section = section_of(name);
      out += "\n[" + section + "]\n";
    }
    out += "# " + std::string(k.description) + ". Allowed: " + allowed(k);
    if (k.restart) out += ". Read at start only";
    if (k.env) out += ". Env: " + std::string(k.env);
    out += ".\n# " + name.substr(section.size() + 1) + " = " + value_toml(defaults, k) + "\n";
  }
  return out;
}

}  // namespace tb::core
