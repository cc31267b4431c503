#include "http/auth.hpp"

#include <sys/stat.h>

#include <array>
#include <cctype>

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <spdlog/spdlog.h>
#include <boost/asio/ip/address.hpp>

#include "core/credentials.hpp"

namespace tb::http {
namespace {

// The token in `path` (named by `what` in errors).
tb::expected<auth_token> read_token(const std::string& path, const std::string& what) {
  const auto bad = [&](const std::string& why) { return tb::error{errc::bad_config, what + " " + path + " " + why}; };
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return bad("is not a readable file");
  auto value = core::read_secret_file(path);
  if (!value) return bad("cannot be read");
  if (value->empty()) return bad("is empty; put the bearer token in it");
  if (!core::clean_secret(*value))
    return bad("must hold one token of at most 512 printable characters, without spaces");
  if (st.st_mode & S_IROTH) spdlog::warn("http: the token file {} is readable by every user; chmod o-r it", path);
  return auth_token{std::move(*value), path};
}

std::array<unsigned char, SHA256_DIGEST_LENGTH> digest(std::string_view s) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> out{};
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), out.data());
  return out;
}

}  // namespace

bool is_loopback_address(const std::string& address) {
  boost::system::error_code ec;
  const auto a = boost::asio::ip::make_address(address, ec);
  if (ec) return false;
  if (a.is_v4()) return a.to_v4().is_loopback();
  const auto v6 = a.to_v6();
  if (v6.is_v4_mapped()) return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).is_loopback();
  return v6.is_loopback();
}

tb::expected<auth_token> resolve_auth_token(const server_options& options, const core::env_lookup& env) {
  auth_token token;
  if (!options.auth_token_file.empty()) {
    auto t = read_token(options.auth_token_file, "http.auth_token_file");
    if (!t) return t;
    token = std::move(*t);
  } else if (const auto cred = core::credential_path("http_token", env)) {
    struct stat st {};
    if (::stat(cred->c_str(), &st) == 0) {
      auto t = read_token(*cred, "the systemd credential");
      if (!t) return t;
      token = std::move(*t);
    }
  }
  if (token.value.empty() && !is_loopback_address(options.address))
    return tb::error{errc::bad_config,
                     "http.address = \"" + excerpt(options.address) +
                         "\" is not a loopback address, and no token guards it: set http.auth_token_file "
                         "or the systemd credential http_token (LoadCredential=), or bind 127.0.0.1"};
  return token;
}

bool is_open_path(std::string_view path) { return path == "/" || path == "/health/live" || path == "/health/ready"; }

bool bearer_matches(std::string_view authorization, std::string_view token) {
  constexpr std::string_view scheme = "bearer ";
  bool scheme_ok = authorization.size() > scheme.size();
  for (std::size_t i = 0; scheme_ok && i < scheme.size(); ++i)
    scheme_ok = std::tolower(static_cast<unsigned char>(authorization[i])) == scheme[i];
  if (!scheme_ok) return false;
  std::string_view presented = authorization.substr(scheme.size());
  while (!presented.empty() && presented.front() == ' ') presented.remove_prefix(1);
  while (!presented.empty() && presented.back() == ' ') presented.remove_suffix(1);
  const auto a = digest(presented), b = digest(token);
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0 && !token.empty();
}

}  // namespace tb::http
