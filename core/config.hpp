#pragma once
// The configuration machinery: one TOML file plus the environment variables users of the
// original bot already set, plus command-line overrides. core/ knows no setting: each library
// declares the rows of its own options struct (name, type, bounds, description, environment
// variable, read-at-start-only flag; the struct's member initialisers are the defaults), the
// application binds those structs into its config (`bind`) and gives the rows, in order, with
// its cross-key rules, to a `config_schema<C>`. Loading normalises and validates, then freezes
// the result into an immutable snapshot `std::shared_ptr<const C>`.
//
// Adding a setting: a member (with its default) in the component's options struct and one row
// beside the others of that struct (CONTRIBUTING.md, "How to add a setting").
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace tb::core {

// Where a key's value came from: its default, the file, the environment, or the command line
// (`tradebot backtest --set`, `tradebot sweep --grid`: config_override).
enum class value_source { default_value, file, env, command_line };
const char* to_string(value_source s);
inline std::ostream& operator<<(std::ostream& os, value_source s) { return os << to_string(s); }

// Where each key's effective value came from, by dotted name ("http.port").
using config_sources = std::map<std::string, value_source>;

// Reads an environment variable; tests inject their own.
using env_lookup = std::function<std::optional<std::string>(const std::string&)>;
env_lookup process_env();

// One `KEY=VALUE` given on a command line (tradebot's --set, one value of a --grid). `origin` is
// how the user wrote it ("--set portfolio.max_positions=5"); every error about it starts with it.
struct config_override {
  std::string key;    // dotted name, "portfolio.max_positions"
  std::string value;  // as typed, read by the key's type (apply_overrides)
  std::string origin;
};

// Splits `text` = "KEY=VALUE" at its first '='; errc::bad_config "<origin>: ..." when there is no
// '=' or no key. The key is not checked here (apply_overrides does, with a suggestion).
tb::expected<config_override> parse_override(const std::string& text, const std::string& origin);

// A setting's value as the file, the environment or the command line give it: true/false, an
// integer, a number, a string, a list of strings (the kinds of key, in this order).
using config_value = std::variant<bool, std::int64_t, double, std::string, std::vector<std::string>>;
enum class value_kind { boolean, integer, real, string, list };

// One declared key, type-erased: get/set reach its member from a pointer to the struct the rows
// are declared (or bound) for. set only ever receives a value of the key's kind within its
// bounds and choices (the schema checks first).
struct key_spec {
  std::string name;  // "section.key"
  value_kind kind = value_kind::string;
  const char* description = "";  // one line
  const char* env = nullptr;
  double min = 0, max = 0;           // inclusive bounds of integers and reals; max: most entries of a list
  std::vector<std::string> choices;  // allowed strings (normalised to lower case); {} = any
  bool secret = false;
  bool restart = false;    // read at start only: a reload that changes it warns instead
  bool endpoints = false;  // a list of "host:port" (core/endpoint.hpp), not of symbols
  std::function<config_value(const void*)> get;
  std::function<void(void*, const config_value&)> set;
};

// The rows of options struct S.
template <class S>
struct row {
  key_spec spec;
};
template <class S>
using rows = std::vector<row<S>>;

namespace detail {
template <class T>
struct is_duration : std::false_type {};
template <class R, class P>
struct is_duration<std::chrono::duration<R, P>> : std::true_type {};

// How a member of type T is read and shown: bool, any integer or duration (its count, in the
// duration's own unit), any floating point, std::string, std::vector<std::string>.
template <class T>
constexpr value_kind kind_of() {
  if constexpr (std::is_same_v<T, bool>)
    return value_kind::boolean;
  else if constexpr (std::is_integral_v<T> || is_duration<T>::value)
    return value_kind::integer;
  else if constexpr (std::is_floating_point_v<T>)
    return value_kind::real;
  else if constexpr (std::is_same_v<T, std::string>)
    return value_kind::string;
  else {
    static_assert(std::is_same_v<T, std::vector<std::string>>,
                  "a config member is bool, integer, duration, "
                  "floating point, string or list of strings");
    return value_kind::list;
  }
}

template <class T>
config_value to_value(const T& v) {
  if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::string> ||
                std::is_same_v<T, std::vector<std::string>>)
    return v;
  else if constexpr (is_duration<T>::value)
    return static_cast<std::int64_t>(v.count());
  else if constexpr (std::is_integral_v<T>)
    return static_cast<std::int64_t>(v);
  else
    return static_cast<double>(v);
}

template <class T>
void from_value(T& out, const config_value& v) {
  if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::string> ||
                std::is_same_v<T, std::vector<std::string>>)
    out = std::get<T>(v);
  else if constexpr (is_duration<T>::value)
    out = T(static_cast<typename T::rep>(std::get<std::int64_t>(v)));
  else if constexpr (std::is_integral_v<T>)
    out = static_cast<T>(std::get<std::int64_t>(v));
  else
    out = static_cast<T>(std::get<double>(v));
}
}  // namespace detail

// A member of S, possibly nested (`member(&cache_config::redis, &redis_config::host)`).
template <class S, class T, class F>
struct field {
  F at;  // at(S&) -> T&, at(const S&) -> const T&
};
template <class S, class T>
auto member(T S::*m) {
  auto at = [m](auto& s) -> auto& { return s.*m; };
  return field<S, T, decltype(at)>{at};
}
template <class S, class A, class T>
auto member(A S::*a, T A::*m) {
  auto at = [ a, m ](auto& s) -> auto& { return (s.*a).*m; };
  return field<S, T, decltype(at)>{at};
}

// One row: a key of options struct S. min/max: inclusive bounds of an integer or a number, the
// most entries of a list; choices: the allowed strings (compared in lower case).
template <class S, class T, class F>
row<S> key(const char* name, field<S, T, F> f, const char* description, const char* env = nullptr, double min = 0,
           double max = 0, std::vector<std::string> choices = {}, bool secret = false) {
  key_spec k;
  k.name = name;
  k.kind = detail::kind_of<T>();
  k.description = description;
  k.env = env;
  k.min = min;
  k.max = max;
  k.choices = std::move(choices);
  k.secret = secret;
  k.get = [at = f.at](const void* s) { return detail::to_value<T>(at(*static_cast<const S*>(s))); };
  k.set = [at = f.at](void* s, const config_value& v) { detail::from_value<T>(at(*static_cast<S*>(s)), v); };
  return {std::move(k)};
}
template <class S, class T>
row<S> key(const char* name, T S::*m, const char* description, const char* env = nullptr, double min = 0,
           double max = 0, std::vector<std::string> choices = {}, bool secret = false) {
  return key(name, member(m), description, env, min, max, std::move(choices), secret);
}

// The key is read at start only: a reload that changes it warns instead.
template <class S>
row<S> restart_only(row<S> r) {
  r.spec.restart = true;
  return r;
}

// The list key holds "host:port" endpoints (core/endpoint.hpp), not symbols.
template <class S>
row<S> endpoint_list(row<S> r) {
  r.spec.endpoints = true;
  return r;
}

// The rows of a section struct S as rows of the application config C that holds it at `at`.
template <class C, class S>
rows<C> bind(S C::*at, const rows<S>& section) {
  rows<C> out;
  for (const auto& r : section) {
    key_spec k = r.spec;
    k.get = [at, get = r.spec.get](const void* c) { return get(&(static_cast<const C*>(c)->*at)); };
    k.set = [at, set = r.spec.set](void* c, const config_value& v) { set(&(static_cast<C*>(c)->*at), v); };
    out.push_back({std::move(k)});
  }
  return out;
}

// The problems of the values `s` holds now, checked against its rows (a library's own check of
// options built in code, not read by the schema), one line each: "<ENV or key>: <value> is out of
// range; expected ...".
std::string value_problem(const key_spec& key, const void* s);  // one key's line; "" when fine
template <class S>
std::vector<std::string> check_values(const rows<S>& section, const S& s) {
  std::vector<std::string> out;
  for (const auto& r : section)
    if (auto problem = value_problem(r.spec, &s); !problem.empty()) out.push_back(std::move(problem));
  return out;
}

// The schema engine over type-erased keys (config.cpp); config_schema<C> is its typed face.
class schema_engine {
 public:
  explicit schema_engine(std::vector<key_spec> keys);
  const std::vector<key_spec>& keys() const { return keys_; }
  const key_spec* find(const std::string& name) const;
  void read_file(void* c, config_sources& sources, const std::string& path, std::vector<std::string>& errors) const;
  void read_env(void* c, config_sources& sources, const env_lookup& env, std::vector<std::string>& errors) const;
  void read_overrides(void* c, config_sources& sources, const std::vector<config_override>& overrides,
                      std::vector<std::string>& errors) const;
  std::vector<std::string> restart_required(const void* running, const void* next) const;
  nlohmann::json describe(const void* c, const config_sources& sources) const;
  std::string example_toml(const void* defaults) const;

 private:
  std::string unknown_key(const std::string& name) const;
  std::string section_list() const;
  std::vector<key_spec> keys_;
};

// Every problem, one per line, as errc::bad_config; nullopt when there is none.
std::optional<tb::error> joined(const std::vector<std::string>& errors);

// The schema of an application config C: C holds its options structs (each read by its rows,
// bound with `bind`), `config_sources sources` and `std::string path`; `check` adds the cross-key
// rules' problems (run only once every key read cleanly).
template <class C>
class config_schema {
 public:
  using ptr = std::shared_ptr<const C>;
  using check_fn = std::function<void(const C&, std::vector<std::string>& errors)>;

  config_schema(const std::vector<rows<C>>& parts, check_fn check)
      : engine_(flatten(parts)), check_(std::move(check)) {}

  const std::vector<key_spec>& keys() const { return engine_.keys(); }

  // Loads `path` (may be "" for defaults plus environment), applies the environment, then the
  // overrides (they win over both), validates. Every problem is reported, one per line, naming
  // the file, line, key and what is allowed (for an override: its origin).
  tb::expected<ptr> load(const std::string& path, const env_lookup& env,
                         const std::vector<config_override>& overrides) const {
    auto c = std::make_shared<C>();
    c->path = path;
    for (const auto& k : keys()) c->sources[k.name] = value_source::default_value;
    std::vector<std::string> errors;
    if (!path.empty()) engine_.read_file(c.get(), c->sources, path, errors);
    engine_.read_env(c.get(), c->sources, env, errors);
    engine_.read_overrides(c.get(), c->sources, overrides, errors);
    return validated(std::move(c), errors);
  }

  // `base` with the overrides applied in order (a later one for the same key wins), then the
  // cross-key rules checked again. A value is read as the key's type exactly as the file's TOML
  // would be (`5` is an integer, `5.0` is not; `0.3`, `1e-3`, `true`), with the same bounds and
  // choices; a string key also takes unquoted text (`model.dtype=bfloat16`), a list key a comma
  // list (`trading.symbols=AAPL,NVDA`). Sources become value_source::command_line. Every problem,
  // one per line, starts with the override's origin; errc::bad_config.
  tb::expected<ptr> apply(const C& base, const std::vector<config_override>& overrides) const {
    auto c = std::make_shared<C>(base);
    std::vector<std::string> errors;
    engine_.read_overrides(c.get(), c->sources, overrides, errors);
    return validated(std::move(c), errors);
  }

  // Whether the override names a key and its value reads by the key's type, bounds and choices
  // (as apply reads it), without the cross-key rules. The error as apply says it.
  tb::expected<bool> check_override(const config_override& o) const {
    C scratch;
    std::vector<std::string> errors;
    engine_.read_overrides(&scratch, scratch.sources, {o}, errors);
    if (!errors.empty()) return tb::error{errc::bad_config, errors.front()};
    return true;
  }

  // Keys read at start only whose values differ between the two snapshots (a reload warns).
  std::vector<std::string> restart_required(const C& running, const C& next) const {
    return engine_.restart_required(&running, &next);
  }

  // Effective values with their sources, for /stats → config.values. Secrets are masked.
  nlohmann::json describe(const C& c) const { return engine_.describe(&c, c.sources); }

  // The documented example file: every key with its description, bounds and default.
  std::string example_toml() const {
    const C defaults;
    return engine_.example_toml(&defaults);
  }

 private:
  static std::vector<key_spec> flatten(const std::vector<rows<C>>& parts) {
    std::vector<key_spec> out;
    for (const auto& part : parts)
      for (const auto& r : part) out.push_back(r.spec);
    return out;
  }
  tb::expected<ptr> validated(std::shared_ptr<C> c, std::vector<std::string>& errors) const {
    if (errors.empty()) check_(*c, errors);
    if (auto e = joined(errors)) return *e;
    return ptr(std::move(c));
  }

  schema_engine engine_;
  check_fn check_;
};

}  // namespace tb::core
