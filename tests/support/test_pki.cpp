#include "tests/support/test_pki.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

namespace tb::test {
namespace {

struct key_free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct x509_free {
  void operator()(X509* x) const { X509_free(x); }
};
using key_ptr = std::unique_ptr<EVP_PKEY, key_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test_pki: ") + what + " failed");
}

key_ptr make_key() {
  key_ptr k(EVP_EC_gen("P-256"));
  check(k != nullptr, "EVP_EC_gen");
  return k;
}

void add_ext(X509* x, X509V3_CTX* ctx, int nid, const char* value) {
  X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
  check(e != nullptr, "X509V3_EXT_conf_nid");
  check(X509_add_ext(x, e, -1) == 1, "X509_add_ext");
  X509_EXTENSION_free(e);
}

// A certificate for `key` named `cn`, signed by (issuer, issuer_key) or self-signed; a leaf (signed)
// one is for `usage` ("serverAuth": with the loopback names; "clientAuth").
x509_ptr make_cert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key, long serial,
                   const std::string& usage = {}) {
  x509_ptr x(X509_new());
  check(x != nullptr, "X509_new");
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 86400);
  check(X509_set_pubkey(x.get(), key) == 1, "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : x.get(), x.get(), nullptr, nullptr, 0);
  const bool ca = issuer == nullptr;
  add_ext(x.get(), &ctx, NID_subject_key_identifier, "hash");
  if (ca) {
    add_ext(x.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(x.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(x.get(), &ctx, NID_authority_key_identifier, "keyid:always");
    add_ext(x.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(x.get(), &ctx, NID_key_usage, "critical,digitalSignature");
    add_ext(x.get(), &ctx, NID_ext_key_usage, usage.c_str());
    if (usage == "serverAuth") add_ext(x.get(), &ctx, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  }
  check(X509_sign(x.get(), issuer_key ? issuer_key : key, EVP_sha256()) > 0, "X509_sign");
  return x;
}

void write_cert(const std::string& path, X509* x) {
  FILE* f = std::fopen(path.c_str(), "wb");
  check(f != nullptr, "fopen");
  const bool ok = PEM_write_X509(f, x) == 1;
  std::fclose(f);
  check(ok, "PEM_write_X509");
}

void write_key(const std::string& path, EVP_PKEY* k) {
  FILE* f = std::fopen(path.c_str(), "wb");
  check(f != nullptr, "fopen");
  const bool ok = PEM_write_PrivateKey(f, k, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  std::fclose(f);
  check(ok, "PEM_write_PrivateKey");
}

}  // namespace

pki_files make_pki(const std::string& dir, const std::string& prefix, const std::string& ca_name) {
  key_ptr ca_key = make_key();
  x509_ptr ca = make_cert(ca_key.get(), ca_name, nullptr, nullptr, 1);
  key_ptr srv_key = make_key();
  x509_ptr srv = make_cert(srv_key.get(), "localhost", ca.get(), ca_key.get(), 2, "serverAuth");
  key_ptr cli_key = make_key();
  x509_ptr cli = make_cert(cli_key.get(), "tradebot test client", ca.get(), ca_key.get(), 3, "clientAuth");
  const std::string base = dir + "/" + prefix;
  pki_files out{base + "ca.pem", base + "server.pem", base + "server.key", base + "client.pem", base + "client.key"};
  write_cert(out.ca_cert, ca.get());
  write_cert(out.server_cert, srv.get());
  write_key(out.server_key, srv_key.get());
  write_cert(out.client_cert, cli.get());
  write_key(out.client_key, cli_key.get());
  return out;
}

}  // namespace tb::test
