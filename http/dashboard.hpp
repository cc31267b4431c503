#pragma once
// The dashboard at `/`: http/dashboard.html, compiled into the binary at build time
// (cmake/embed_file.cmake), and the Content-Security-Policy it is served with.
#include <string>
#include <string_view>

namespace tb::http {

// The page's bytes (UTF-8 HTML with its CSS and script inline; nothing external).
std::string_view dashboard_html();

// The page's Content-Security-Policy: nothing but the page itself. Its inline <script> and
// <style> elements are allowed by their SHA-256 hashes (computed from the embedded page once),
// fetch() may reach this origin only, and there are no other sources, frames, forms or base URL:
//   default-src 'none'; script-src 'sha256-...'; style-src 'sha256-...'; connect-src 'self';
//   img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'
const std::string& dashboard_csp();

// The CSP source expression of one inline element's text: "'sha256-<base64 of its digest>'".
std::string csp_hash_source(std::string_view text);

}  // namespace tb::http
