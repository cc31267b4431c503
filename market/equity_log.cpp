#include "market/equity_log.hpp"

#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>

namespace tb::market {

std::string equity_log_path(const std::string& state_dir) {
  return (std::filesystem::path(state_dir) / "broker" / "equity.jsonl").string();
}

tb::expected<equity_log> equity_log::open(const std::string& path, jsonl_access access) {
  equity_log l;
  auto log = jsonl_log::open(
      path, "the equity curve",
      [&l](const std::string& line, std::size_t) -> std::optional<tb::error> {
        equity_record m;
        try {
          const auto j = nlohmann::json::parse(line);
          m.at_unix_ns = j.at("at_ns").get<std::int64_t>();
          m.equity = j.at("equity").get<double>();
        } catch (const std::exception& e) {
          return tb::error{errc::bad_data, std::string("not an equity mark {\"at_ns\", \"equity\"}: ") + e.what()};
        }
        if (!std::isfinite(m.equity)) return tb::error{errc::bad_data, "equity is not a finite number"};
        if (!l.marks_.empty() && m.at_unix_ns <= l.marks_.back().at_unix_ns)
          return tb::error{errc::bad_data, "mark at_ns " + std::to_string(m.at_unix_ns) +
                                               " is not after the one above it (" +
                                               std::to_string(l.marks_.back().at_unix_ns) + ")"};
        l.marks_.push_back(m);
        return std::nullopt;
      },
      access);
  if (!log) return log.error();
  if (auto torn = log->torn_line())
    l.warnings_.push_back(path + ":" + std::to_string(*torn) + ": torn last line ignored");
  l.log_ = std::move(*log);
  return l;
}

tb::expected<bool> equity_log::record(const equity_record& m) {
  if (!std::isfinite(m.equity)) return tb::error{errc::invalid_argument, "equity mark is not a finite number"};
  if (!marks_.empty() && m.at_unix_ns <= marks_.back().at_unix_ns) return false;
  const nlohmann::json j = {{"at_ns", m.at_unix_ns}, {"equity", m.equity}};
  if (auto err = log_.append(j.dump())) return *err;
  marks_.push_back(m);
  return true;
}

}  // namespace tb::market
