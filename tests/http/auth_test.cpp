// The bearer token (http/auth.hpp) and the dashboard page (http/dashboard.hpp) through the pure
// handler: which paths need the token, the 401s, the constant-time match, where the token comes
// from and when the daemon refuses to start; `/` with its Content-Security-Policy.
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>

#include <map>

#include "http/auth.hpp"
#include "http/dashboard.hpp"
#include "http/request_handler.hpp"
#include "tests/http/handler_test_util.hpp"
#include "tests/support/process.hpp"

namespace bhttp = boost::beast::http;
using nlohmann::json;
using tb::core::snapshot_board;
using tb::http::handle_request;
using tb::http::request;
using tb::http::response;
using tb::http::server_info;
using tb::http::test::header;
using tb::http::test::make_request;

namespace {

const std::string token = "s3cret-Token_0123456789";

response send(const snapshot_board& board, bhttp::verb method, const std::string& target,
              const std::string& authorization, const std::string& server_token = token) {
  request req = make_request(method, target);
  if (!authorization.empty()) req.set(bhttp::field::authorization, authorization);
  server_info info;
  info.version = "1.2.3";
  info.auth_token = server_token;
  return handle_request(req, board, info);
}

response get(const snapshot_board& board, const std::string& target, const std::string& authorization) {
  return send(board, bhttp::verb::get, target, authorization);
}

// An environment with only the variables given.
tb::core::env_lookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_path_but_the_page_and_the_probes_needs_the_token) {
  snapshot_board board;
  for (const char* path : {"/stats", "/metrics", "/health", "/nope", "/stats?x=1"}) {
    const response missing = get(board, path, "");
    BOOST_TEST(missing.result_int() == 401, path);
    BOOST_TEST(header(missing, "WWW-Authenticate") == R"(Bearer realm="tradebotd")", path);
    BOOST_TEST(json::parse(missing.body())["error"].get<std::string>().find("Bearer") != std::string::npos);
    const response wrong = get(board, path, "Bearer " + token + "x");
    BOOST_TEST(wrong.result_int() == 401, path);
    BOOST_TEST(header(wrong, "WWW-Authenticate") == R"(Bearer realm="tradebotd", error="invalid_token")", path);
    BOOST_TEST(get(board, path, "Basic " + token).result_int() == 401, path);
    BOOST_TEST(get(board, path, token).result_int() == 401, path);  // no scheme
  }
  BOOST_TEST(get(board, "/stats", "Bearer " + token).result_int() == 200);
  BOOST_TEST(get(board, "/stats", "bearer  " + token + " ").result_int() == 200);  // scheme in any case
  BOOST_TEST(get(board, "/metrics", "Bearer " + token).result_int() == 200);
  BOOST_TEST(get(board, "/health", "Bearer " + token).result_int() == 200);
  BOOST_TEST(get(board, "/nope", "Bearer " + token).result_int() == 404);
  // Open without it: the page and the probes (503 here: no heartbeat on this board, but not 401).
  BOOST_TEST(get(board, "/", "").result_int() == 200);
  BOOST_TEST(get(board, "/health/live", "").result_int() == 503);
  BOOST_TEST(get(board, "/health/ready", "Bearer wrong").result_int() == 503);
  // A HEAD gets the 401's headers and no body.
  const response head = send(board, bhttp::verb::head, "/stats", "");
  BOOST_TEST(head.result_int() == 401);
  BOOST_TEST(head.body().empty());
  BOOST_TEST(std::stoul(header(head, "Content-Length")) > 0u);
  // No token configured: everything is open.
  BOOST_TEST(send(board, bhttp::verb::get, "/stats", "", "").result_int() == 200);
}

BOOST_AUTO_TEST_CASE(bearer_matches_only_the_exact_token) {
  using tb::http::bearer_matches;
  BOOST_TEST(bearer_matches("Bearer abc", "abc"));
  BOOST_TEST(bearer_matches("BEARER abc", "abc"));
  BOOST_TEST(!bearer_matches("Bearer abcd", "abc"));
  BOOST_TEST(!bearer_matches("Bearer ab", "abc"));
  BOOST_TEST(!bearer_matches("Bearer ", "abc"));
  BOOST_TEST(!bearer_matches("Bearer", "abc"));
  BOOST_TEST(!bearer_matches("Bearerabc", "abc"));
  BOOST_TEST(!bearer_matches("", ""));
  BOOST_TEST(!bearer_matches("Bearer x", ""));  // an empty configured token matches nothing
}

BOOST_AUTO_TEST_CASE(loopback_addresses) {
  using tb::http::is_loopback_address;
  for (const char* a : {"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"}) BOOST_TEST(is_loopback_address(a), a);
  for (const char* a : {"0.0.0.0", "::", "10.0.0.1", "192.168.1.2", "::ffff:10.0.0.1", "fe80::1", "localhost"})
    BOOST_TEST(!is_loopback_address(a), a);
}

BOOST_AUTO_TEST_CASE(the_token_comes_from_the_file_or_the_systemd_credential) {
  tb::test::temp_dir dir;
  tb::http::server_options cfg;
  // None: fine on loopback, refused elsewhere with one line naming the key and the fixes.
  auto none = tb::http::resolve_auth_token(cfg, env_of({}));
  BOOST_REQUIRE(none);
  BOOST_TEST(none->value.empty());
  cfg.address = "0.0.0.0";
  auto exposed = tb::http::resolve_auth_token(cfg, env_of({}));
  BOOST_REQUIRE(!exposed);
  BOOST_TEST(exposed.error().code == tb::errc::bad_config);
  BOOST_TEST(exposed.error().message ==
             "http.address = \"0.0.0.0\" is not a loopback address, and no token guards it: set "
             "http.auth_token_file or the systemd credential http_token (LoadCredential=), or bind 127.0.0.1");
  BOOST_TEST(exposed.error().message.find('\n') == std::string::npos);

  // http.auth_token_file, trimmed.
  const auto file = dir.write("token", "  " + token + "\n");
  ::chmod(file.c_str(), 0600);
  cfg.auth_token_file = file.string();
  auto from_file = tb::http::resolve_auth_token(cfg, env_of({}));
  BOOST_REQUIRE(from_file);
  BOOST_TEST(from_file->value == token);
  BOOST_TEST(from_file->source == file.string());

  // The systemd credential when no file is configured; the file wins when both are there.
  std::filesystem::create_directory(dir.path / "creds");
  dir.write("creds/http_token", "from-credential\n");
  const auto creds = env_of({{"CREDENTIALS_DIRECTORY", (dir.path / "creds").string()}});
  BOOST_TEST(tb::http::resolve_auth_token(cfg, creds)->value == token);
  cfg.auth_token_file.clear();
  auto from_cred = tb::http::resolve_auth_token(cfg, creds);
  BOOST_REQUIRE(from_cred);
  BOOST_TEST(from_cred->value == "from-credential");
  BOOST_TEST(from_cred->source == (dir.path / "creds" / "http_token").string());
  // A credential directory without http_token: no token (and refused off loopback).
  auto other = env_of({{"CREDENTIALS_DIRECTORY", dir.path.string() + "/nothing-here"}});
  BOOST_TEST(!tb::http::resolve_auth_token(cfg, other));
  cfg.address = "127.0.0.1";
  BOOST_TEST(tb::http::resolve_auth_token(cfg, other)->value.empty());

  // Unusable files: refused, naming the file, never echoing a value.
  const std::pair<std::string, std::string> bad[] = {{dir.write("empty", " \n").string(), "is empty"},
                                                     {dir.write("spaced", "two words\n").string(), "without spaces"},
                                                     {(dir.path / "missing").string(), "is not a readable file"},
                                                     {dir.path.string(), "is not a readable file"}};
  for (const auto& [path, words] : bad) {
    cfg.auth_token_file = path;
    auto r = tb::http::resolve_auth_token(cfg, env_of({}));
    BOOST_REQUIRE_MESSAGE(!r, path);
    BOOST_TEST(r.error().message.find("http.auth_token_file " + path + " ") == 0u, r.error().message);
    BOOST_TEST(r.error().message.find(words) != std::string::npos, r.error().message);
    BOOST_TEST(r.error().message.find("two words") == std::string::npos);
  }
  cfg.auth_token_file.clear();
  dir.write("creds/http_token", "\n");
  auto empty_cred = tb::http::resolve_auth_token(cfg, creds);
  BOOST_REQUIRE(!empty_cred);
  BOOST_TEST(empty_cred.error().message.find("the systemd credential " + (dir.path / "creds/http_token").string() +
                                             " is empty") == 0u,
             empty_cred.error().message);
}

BOOST_AUTO_TEST_CASE(the_dashboard_page_and_its_content_security_policy) {
  snapshot_board board;
  const response res = get(board, "/", "");
  BOOST_TEST(res.result_int() == 200);
  BOOST_TEST(header(res, "Content-Type") == "text/html; charset=utf-8");
  BOOST_TEST(header(res, "Cache-Control") == "no-store");
  BOOST_TEST(header(res, "X-Content-Type-Options") == "nosniff");
  BOOST_TEST(res.body() == std::string(tb::http::dashboard_html()));
  const std::string page = res.body();
  BOOST_TEST(page.find("<svg id=\"equity-chart\"") != std::string::npos);
  // Nothing external: no URL with a scheme or a protocol-relative one in the page.
  for (const char* external : {"src=", "href=", "url(", "@import", "//fonts", "https:"})
    BOOST_TEST(page.find(external) == std::string::npos, external);
  const auto count = [&](const std::string& what) {
    std::size_t n = 0;
    for (auto at = page.find(what); at != std::string::npos; at = page.find(what, at + 1)) ++n;
    return n;
  };
  BOOST_TEST(count("http:") == count("\"http://www.w3.org/2000/svg\""));  // the SVG namespace only

  // The policy names exactly the page's script and style elements by their hashes, and no other
  // source: 'self' only for fetch().
  const std::string csp = header(res, "Content-Security-Policy");
  BOOST_TEST(csp == tb::http::dashboard_csp());
  const auto inside = [&](const std::string& tag) {
    const auto b = page.find("<" + tag + ">") + tag.size() + 2;
    return page.substr(b, page.find("</" + tag + ">") - b);
  };
  BOOST_TEST(csp == "default-src 'none'; script-src " + tb::http::csp_hash_source(inside("script")) + "; style-src " +
                        tb::http::csp_hash_source(inside("style")) +
                        "; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
                        "frame-ancestors 'none'");
  BOOST_TEST(csp.find("unsafe") == std::string::npos);
  // The known vector: SHA-256("") in base64.
  BOOST_TEST(tb::http::csp_hash_source("") == "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='");

  const response head = send(board, bhttp::verb::head, "/", "");
  BOOST_TEST(head.result_int() == 200);
  BOOST_TEST(head.body().empty());
  BOOST_TEST(header(head, "Content-Length") == std::to_string(page.size()));
}
