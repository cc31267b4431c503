#pragma once
// Bearer-token access to the HTTP endpoint: where the token comes from, which paths are open,
// and the constant-time comparison. handle_request applies them (server_info::auth_token); the
// server counts and logs the 401s.
#include <string>
#include <string_view>

#include "core/config.hpp"
#include "core/error.hpp"
#include "http/server_options.hpp"

namespace tb::http {

// The token the daemon serves with, resolved once at start (every http.* key is read at start
// only) and by `tradebotd --check`.
struct auth_token {
  std::string value;   // "" = no token: every path is open
  std::string source;  // the file it was read from, for logs; never the value
};

// http.auth_token_file when set; else $CREDENTIALS_DIRECTORY/http_token when that file exists
// (systemd `LoadCredential=http_token:...`); else no token. Errors (errc::bad_config, one line
// naming the file, never the value): the file cannot be read, is empty, or holds whitespace or
// control characters; no token while http.address is not a loopback address (127.0.0.0/8, ::1).
// A token file other users may read is accepted with a warning.
tb::expected<auth_token> resolve_auth_token(const server_options& options, const core::env_lookup& env);

// 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. False for anything else, 0.0.0.0 and :: included.
bool is_loopback_address(const std::string& address);

// Paths served without the token: the probes /health/live and /health/ready (an orchestrator's
// probe carries no secret, and they say no more than up or down) and the dashboard page `/` (a
// static page that holds no data; its script asks for the token when /stats answers 401).
bool is_open_path(std::string_view path);

// True when `authorization` (the Authorization header's value) is "Bearer <token>", the scheme
// in any case. The two tokens' SHA-256 digests are compared with CRYPTO_memcmp, so the time
// taken depends neither on where they differ nor on the presented token's length.
bool bearer_matches(std::string_view authorization, std::string_view token);

}  // namespace tb::http
