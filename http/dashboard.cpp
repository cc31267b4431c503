#include "http/dashboard.hpp"

#include <stdexcept>
#include <vector>

#include <openssl/evp.h>
#include <openssl/sha.h>

namespace tb::http {

extern const unsigned char dashboard_page[];  // generated from http/dashboard.html
extern const std::size_t dashboard_page_size;

namespace {

// The sources of every `<tag>...</tag>` element of the page (exactly `<tag>`: no attributes).
std::string hashes_of(std::string_view page, const std::string& tag) {
  const std::string open = "<" + tag + ">", close = "</" + tag + ">";
  std::string out;
  for (std::size_t at = page.find(open); at != std::string_view::npos; at = page.find(open, at)) {
    const std::size_t begin = at + open.size(), end = page.find(close, begin);
    if (end == std::string_view::npos) break;
    out += " " + csp_hash_source(page.substr(begin, end - begin));
    at = end + close.size();
  }
  if (out.empty()) throw std::logic_error("http/dashboard.html has no <" + tag + "> element");
  return out;
}

}  // namespace

std::string_view dashboard_html() { return {reinterpret_cast<const char*>(dashboard_page), dashboard_page_size}; }

std::string csp_hash_source(std::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  unsigned char b64[4 * ((SHA256_DIGEST_LENGTH + 2) / 3) + 1];
  EVP_EncodeBlock(b64, digest, SHA256_DIGEST_LENGTH);
  return "'sha256-" + std::string(reinterpret_cast<const char*>(b64)) + "'";
}

const std::string& dashboard_csp() {
  static const std::string csp = [] {
    const std::string_view page = dashboard_html();
    return "default-src 'none'; script-src" + hashes_of(page, "script") + "; style-src" + hashes_of(page, "style") +
           "; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
  }();
  return csp;
}

}  // namespace tb::http
