#pragma once
// Errors as values at library boundaries: an error code a caller can branch on, and a message a
// user can act on (it names what and where: file, line, key, tensor, symbol).
#include <cassert>
#include <cstddef>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace tb {

enum class errc {
  invalid_argument,  // a caller passed something out of contract
  bad_config,        // a config file, key or value is wrong
  bad_data,          // malformed input data (CSV row, NaN, ...)
  bad_checkpoint,    // a model file is missing, truncated, corrupt or mismatched
  io,                // a file or socket operation failed
  unavailable,       // a dependency (Redis, broker, feed) cannot be reached
  overloaded,        // a bounded queue is full
  timeout,           // a deadline passed
  out_of_memory,     // the device ran out of memory
  internal,          // a bug: an invariant did not hold
};

const char* to_string(errc code);

// `text` as a message may echo it: whole when it is at most `max_chars` long, else its first
// `max_chars` characters then "... (N bytes)", so a huge value cannot flood a log or /health.
std::string excerpt(const std::string& text, std::size_t max_chars = 80);
inline std::ostream& operator<<(std::ostream& os, errc code) { return os << to_string(code); }

struct error {
  errc code = errc::internal;
  std::string message;
};

// Thrown inside a library where unwinding is the clearest control flow; the library's public
// boundary catches it and returns `expected`.
class exception : public std::runtime_error {
 public:
  exception(errc code, const std::string& message) : std::runtime_error(message), code_(code) {}
  errc code() const noexcept { return code_; }
  tb::error to_error() const { return {code_, what()}; }

 private:
  errc code_;
};

// A value or an error. Deliberately small: has_value/value/error/operator bool.
template <class T>
class expected {
 public:
  expected(T value) : v_(std::move(value)) {}
  expected(tb::error err) : v_(std::move(err)) {}

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { return checked(); }
  const T& value() const& { return const_cast<expected*>(this)->checked(); }
  T&& value() && { return std::move(checked()); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const tb::error& error() const {
    assert(!has_value());
    return std::get<1>(v_);
  }

 private:
  T& checked() {
    if (!has_value()) throw exception(std::get<1>(v_).code, std::get<1>(v_).message);
    return std::get<0>(v_);
  }
  std::variant<T, tb::error> v_;
};

}  // namespace tb
