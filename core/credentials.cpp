#include "core/credentials.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/text.hpp"

namespace tb::core {

std::optional<std::string> read_secret_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return std::nullopt;  // a directory opens, then fails to read
  return trim(ss.str());              // a trailing newline of `echo TOKEN > file` included
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
