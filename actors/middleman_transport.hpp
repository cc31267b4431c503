#pragma once
// Both ends of CAF's middleman, plain or over mutual TLS (CAF's OpenSSL module): publishing an
// actor on a port and connecting to one published elsewhere. Every publish and connect of
// tradebotd goes through these functions, so which transport a connection uses is decided here.
//
// TLS in CAF 0.17 is process-wide: the OpenSSL manager reads the certificate, key and CA from the
// actor_system_config (openssl.certificate / openssl.key / openssl.cafile), so configure_transport
// must run on the config before the actor system is made, and publish_actor / connect_actor must
// be given the same files. With those set, CAF builds every TLS context with
// SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT on BOTH ends and the CA file as the only trust
// anchor: the host refuses a client without a certificate chaining to the CA, and the client
// refuses a host likewise (mutual TLS). Host names are not matched against the certificate (CAF
// sets no host check): the CA is the identity, so use a CA that signs tradebotd peers only.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <caf/all.hpp>
#include <caf/io/middleman_actor.hpp>

#include "actors/config.hpp"
#include "core/error.hpp"

namespace tb::actors {

struct tls_options {
  std::string certificate;  // PEM: this side's certificate (chain)
  std::string key;          // PEM: its private key (unencrypted)
  std::string ca;           // PEM: the CA every peer's certificate must chain to
  bool enabled() const { return !certificate.empty(); }
};

// The inference.tls_* files of a config (all empty: plain).
tls_options tls_options_of(const config& cfg);

// Loads what the files hold and whether they fit: a certificate, a private key matching it, a CA
// certificate; errc::bad_config naming the key and file otherwise (nullopt when fine or plain).
// Run before the actor system exists: CAF's OpenSSL module would throw on its I/O thread.
std::optional<tb::error> check_tls_files(const tls_options& tls);

// Loads the middleman into `cfg` and, with TLS, the OpenSSL manager with these files. Call before
// the actor system is made from `cfg`.
void configure_transport(caf::actor_system_config& cfg, const tls_options& tls);

// The middleman actor of the transport `tls` names (CAF's plain middleman or its OpenSSL manager):
// an error when the actor system has no middleman or was configured with other TLS files. An
// actor publishes itself without blocking by requesting caf::publish_atom of it.
caf::expected<caf::io::middleman_actor> transport(caf::actor_system& sys, const tls_options& tls);

// Publishes `whom` on address:port (port 0 picks a free one) with the transport `tls` names;
// returns the bound port. Blocks the caller until the port is open: any thread but a scheduler
// worker (an actor asks `transport` instead).
caf::expected<std::uint16_t> publish_actor(caf::actor_system& sys, const caf::actor& whom, const std::string& address,
                                           std::uint16_t port, const tls_options& tls);

// Closes `port` if `whom` is published there (port 0: every port `whom` is published on), without waiting (the
// middleman does it on its own thread). Any thread, an actor's included.
void unpublish_actor(caf::actor_system& sys, const caf::actor_addr& whom, std::uint16_t port, const tls_options& tls);

// Connects to the actor published on host:port with the transport `tls` names and returns a
// proxy for it. Blocks the caller until connected, refused (TLS handshake, no actor there) or
// `timeout`: call it from a detached actor or another thread, never from a scheduler worker.
caf::expected<caf::actor> connect_actor(caf::actor_system& sys, const std::string& host, std::uint16_t port,
                                        const tls_options& tls,
                                        std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace tb::actors
