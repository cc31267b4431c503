#include "core/credentials.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

namespace tb::core {

std::string trim_secret(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

std::optional<std::string> read_secret_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return std::nullopt;  // a directory opens, then fails to read
  return trim_secret(ss.str());
}

std::optional<std::string> credential_path(const std::string& name, const env_lookup& env) {
  auto dir = env("CREDENTIALS_DIRECTORY");
  if (!dir || dir->empty()) return std::nullopt;
  return *dir + "/" + name;
}

bool clean_secret(const std::string& s) {
  if (s.empty() || s.size() > 512) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f;
  });
}

}  // namespace tb::core
