#pragma once
// Throwaway PKI for tests over TLS (the fake Alpaca server, the middleman's mutual TLS): a CA, a
// server certificate for DNS:localhost and IP:127.0.0.1 and a client certificate, both signed by
// it, generated with the OpenSSL API into a directory (P-256 keys, valid from an hour ago for a
// day). Test-only; throws std::runtime_error on an OpenSSL failure.
#include <string>

namespace tb::test {

struct pki_files {
  std::string ca_cert;      // PEM: the CA certificate (what a client trusts)
  std::string server_cert;  // PEM: the server certificate
  std::string server_key;   // PEM: the server's private key
  std::string client_cert;  // PEM: a client certificate (extended key usage clientAuth)
  std::string client_key;   // PEM: the client's private key
};

// Writes <dir>/<prefix>ca.pem, <prefix>server.pem, <prefix>server.key, <prefix>client.pem,
// <prefix>client.key. `ca_name` is the CA's CN.
pki_files make_pki(const std::string& dir, const std::string& prefix, const std::string& ca_name);

}  // namespace tb::test
