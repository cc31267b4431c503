#pragma once
// Shared by the market/ Alpaca tests and the daemon's Alpaca test: a temp directory with two throwaway PKIs (the one
// the fake server uses and an unrelated one), the fake server's credentials, https options that keep every delay small,
// and a spdlog capture to check that logs never hold the keys.
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

#include "market/https_client.hpp"
#include "tests/support/fake_alpaca.hpp"
#include "tests/support/log_capture.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_pki.hpp"

namespace tb::test {

inline const std::string test_key_id = "PKTESTKEYID0123456789";
inline const std::string test_secret = "sEcReT0123456789abcdefTESTSECRET";

// One per test executable (generating keys takes milliseconds, but there is no need to repeat).
struct pki_fixture {
  temp_dir dir;
  pki_files trusted = make_pki(dir.path.string(), "a_", "tradebot test CA");
  pki_files other = make_pki(dir.path.string(), "b_", "unrelated test CA");

  fake_alpaca::options server_options(bool tls = true) const {
    fake_alpaca::options o;
    o.tls = tls;
    o.cert_file = trusted.server_cert;
    o.key_file = trusted.server_key;
    o.key_id = test_key_id;
    o.secret_key = test_secret;
    return o;
  }

  // Client options against `server`: the test CA, "localhost" as the verified name, small delays.
  market::https_options client_options(const fake_alpaca& server) const {
    market::https_options o;
    o.url = server.url();
    o.ca_file = trusted.ca_cert;
    o.tls_server_name = "localhost";
    o.allow_plain_http_loopback = true;
    o.connect_timeout = std::chrono::milliseconds(2000);
    o.io_timeout = std::chrono::milliseconds(2000);
    o.max_attempts = 4;
    o.backoff_initial = std::chrono::milliseconds(10);
    o.backoff_max = std::chrono::milliseconds(50);
    o.max_retry_after = std::chrono::milliseconds(5000);
    o.rate_per_minute = 60000;
    o.rate_burst = 100;
    o.jitter_seed = 42;
    return o;
  }
};

}  // namespace tb::test
