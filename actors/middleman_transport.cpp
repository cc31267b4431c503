#include "actors/middleman_transport.hpp"

#include <memory>
#include <set>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

namespace tb::actors {
namespace {

std::string openssl_errors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

// The files the actor system's OpenSSL manager was made with must be the ones asked for: CAF
// reads them from the system config, whatever a caller passes.
caf::error system_mismatch(caf::actor_system& sys, const tls_options& tls) {
  if (!tls.enabled()) return caf::none;
  if (!sys.has_openssl_manager())
    return caf::make_error(caf::sec::invalid_argument,
                           "TLS asked for, but the actor system has no OpenSSL manager (configure_transport)");
  const auto& c = sys.config();
  if (c.openssl_certificate != tls.certificate || c.openssl_key != tls.key || c.openssl_cafile != tls.ca)
    return caf::make_error(caf::sec::invalid_argument,
                           "TLS files differ from those the actor system was configured with");
  return caf::none;
}

}  // namespace

tls_options tls_options_of(const config& cfg) {
  return {cfg.inference.middleman.tls_certificate, cfg.inference.middleman.tls_key, cfg.inference.middleman.tls_ca};
}

std::optional<tb::error> check_tls_files(const tls_options& tls) {
  if (!tls.enabled()) return std::nullopt;
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_method()), &SSL_CTX_free);
  if (!ctx) return tb::error{errc::internal, "TLS: cannot create an OpenSSL context: " + openssl_errors()};
  const auto bad = [](const std::string& key, const std::string& path, const std::string& what) {
    return tb::error{errc::bad_config, key + " " + excerpt(path) + ": " + what + " (" + openssl_errors() + ")"};
  };
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), tls.certificate.c_str()) != 1)
    return bad("inference.tls_certificate", tls.certificate, "not a PEM certificate");
  std::unique_ptr<BIO, decltype(&BIO_free)> key_file(BIO_new_file(tls.key.c_str(), "r"), &BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      key_file ? PEM_read_bio_PrivateKey(key_file.get(), nullptr, nullptr, nullptr) : nullptr, &EVP_PKEY_free);
  if (!key) return bad("inference.tls_key", tls.key, "not an unencrypted PEM private key");
  if (SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1 || SSL_CTX_check_private_key(ctx.get()) != 1)
    return bad("inference.tls_key", tls.key, "does not match inference.tls_certificate " + excerpt(tls.certificate));
  if (SSL_CTX_load_verify_locations(ctx.get(), tls.ca.c_str(), nullptr) != 1)
    return bad("inference.tls_ca", tls.ca, "not a PEM CA certificate");
  return std::nullopt;
}

void configure_transport(caf::actor_system_config& cfg, const tls_options& tls) {
  cfg.load<caf::io::middleman>();
  if (!tls.enabled()) return;
  cfg.openssl_certificate = tls.certificate;
  cfg.openssl_key = tls.key;
  cfg.openssl_cafile = tls.ca;
  cfg.load<caf::openssl::manager>();
}

caf::expected<caf::io::middleman_actor> transport(caf::actor_system& sys, const tls_options& tls) {
  if (!sys.has_middleman()) return caf::make_error(caf::sec::invalid_argument, "the actor system has no middleman");
  if (auto err = system_mismatch(sys, tls)) return err;
  return tls.enabled() ? sys.openssl_manager().actor_handle() : sys.middleman().actor_handle();
}

caf::expected<std::uint16_t> publish_actor(caf::actor_system& sys, const caf::actor& whom, const std::string& address,
                                           std::uint16_t port, const tls_options& tls) {
  if (auto mm = transport(sys, tls); !mm) return mm.error();
  if (tls.enabled()) return caf::openssl::publish(whom, port, address.c_str(), true);
  return sys.middleman().publish(whom, port, address.c_str(), true);
}

void unpublish_actor(caf::actor_system& sys, const caf::actor_addr& whom, std::uint16_t port, const tls_options& tls) {
  if (auto mm = transport(sys, tls)) caf::anon_send(*mm, caf::unpublish_atom::value, whom, port);
}

caf::expected<caf::actor> connect_actor(caf::actor_system& sys, const std::string& host, std::uint16_t port,
                                        const tls_options& tls, std::chrono::milliseconds timeout) {
  // The middleman actor's connect, with a timeout: caf::io::remote_actor would wait forever for a
  // peer that accepts the TCP connection but never completes a handshake.
  auto mm = transport(sys, tls);
  if (!mm) return mm.error();
  caf::expected<caf::actor> result{caf::make_error(caf::sec::cannot_connect_to_node)};
  caf::scoped_actor self{sys};
  self->request(*mm, timeout, caf::connect_atom::value, host, port)
      .receive(
          [&](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
            if (ptr)
              result = caf::actor_cast<caf::actor>(std::move(ptr));
            else
              result = caf::make_error(caf::sec::no_actor_published_at_port, port);
          },
          [&](caf::error& err) { result = std::move(err); });
  return result;
}

}  // namespace tb::actors
