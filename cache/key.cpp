#include "cache/key.hpp"

#include <cmath>
#include <cstring>
#include <memory>

#include <openssl/evp.h>

namespace tb::cache {
namespace {

// Incremental SHA-256 over little-endian fields. Throws tb::exception only when OpenSSL fails
// (an invariant: SHA-256 is always available); the public functions catch it.
class sha256_writer {
 public:
  sha256_writer() : ctx_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
      throw tb::exception(errc::internal, "OpenSSL: SHA-256 init failed");
  }
  void bytes(const void* p, std::size_t n) {
    if (n && EVP_DigestUpdate(ctx_.get(), p, n) != 1)
      throw tb::exception(errc::internal, "OpenSSL: SHA-256 update failed");
  }
  void u8(std::uint8_t v) { bytes(&v, 1); }
  void u32(std::uint32_t v) {
    std::uint8_t b[4];
    for (int i = 0; i < 4; ++i) b[i] = static_cast<std::uint8_t>(v >> (8 * i));
    bytes(b, 4);
  }
  void u64(std::uint64_t v) {
    std::uint8_t b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<std::uint8_t>(v >> (8 * i));
    bytes(b, 8);
  }
  void i32(std::int32_t v) { u32(static_cast<std::uint32_t>(v)); }
  void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
  void f64(double v) {
    if (v == 0.0) v = 0.0;  // -0 as +0
    std::uint64_t bits;
    std::memcpy(&bits, &v, 8);
    u64(bits);
  }
  void str(const std::string& s) {
    u32(static_cast<std::uint32_t>(s.size()));
    bytes(s.data(), s.size());
  }
  digest finish() {
    digest d{};
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), d.data(), &n) != 1 || n != d.size())
      throw tb::exception(errc::internal, "OpenSSL: SHA-256 final failed");
    return d;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
};

const char* column_name(int c) {
  static const char* names[] = {"open", "high", "low", "close", "volume", "amount"};
  return names[c];
}

}  // namespace

std::size_t digest_hash::operator()(const digest& d) const noexcept {
  std::uint64_t h;
  std::memcpy(&h, d.data(), 8);
  return static_cast<std::size_t>(h);
}

std::string cache_key::hex() const { return to_hex(id); }

tb::expected<quantised> quantise(double x, int decimals) {
  if (decimals < 0 || decimals > max_decimals)
    return tb::error{errc::invalid_argument, "cache decimals " + std::to_string(decimals) + " outside [0, 15]"};
  if (!std::isfinite(x)) return tb::error{errc::bad_data, "value is NaN or infinite"};
  const double ax = std::fabs(x);
  if (ax >= 9223372036854775808.0)  // 2^63
    return tb::error{errc::bad_data, "value " + std::to_string(x) + " too large to fingerprint"};
  static const double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
  static_assert(sizeof pow10 / sizeof pow10[0] > max_decimals &&
                sizeof pow10 / sizeof pow10[0] > max_significant_digits);
  const double limit = pow10[max_significant_digits];
  int s = decimals;
  while (s > 0 && ax * pow10[s] >= limit) --s;
  const double scaled = std::nearbyint(x * pow10[s]);
  quantised out;
  out.q = scaled == 0.0 ? 0 : static_cast<std::int64_t>(scaled);
  out.scale = static_cast<std::int8_t>(s);
  return out;
}

tb::expected<digest> fingerprint_bars(const std::vector<core::bar>& bars, int decimals) {
  if (decimals < 0 || decimals > max_decimals)
    return tb::error{errc::invalid_argument, "cache decimals " + std::to_string(decimals) + " outside [0, 15]"};
  try {
    sha256_writer h;
    h.u32(fingerprint_version);
    h.u32(static_cast<std::uint32_t>(decimals));
    h.u64(bars.size());
    for (std::size_t i = 0; i < bars.size(); ++i) {
      const core::bar& b = bars[i];
      h.i64(b.time_s);
      h.i32(b.utc_offset_s);
      const double cols[core::n_features] = {b.open, b.high, b.low, b.close, b.volume, b.amount};
      for (int c = 0; c < core::n_features; ++c) {
        auto q = quantise(cols[c], decimals);
        if (!q)
          return tb::error{q.error().code, "bar " + std::to_string(i) + " (time " + std::to_string(b.time_s) +
                                               ") column " + column_name(c) + ": " + q.error().message};
        h.u8(static_cast<std::uint8_t>(q->scale));
        h.i64(q->q);
      }
    }
    return h.finish();
  } catch (const tb::exception& e) {
    return e.to_error();
  }
}

tb::expected<cache_key> make_key(const std::string& symbol, const std::vector<core::bar>& bars,
                                 const core::sampling_params& p, const core::model_identity& model, int decimals) {
  if (symbol.empty()) return tb::error{errc::invalid_argument, "cache key: empty symbol"};
  if (bars.empty()) return tb::error{errc::invalid_argument, "cache key for " + symbol + ": window has no bars"};
  auto fp = fingerprint_bars(bars, decimals);
  if (!fp) return tb::error{fp.error().code, symbol + ": " + fp.error().message};
  try {
    sha256_writer h;
    h.bytes("tb.cache.key", 12);
    h.u32(key_version);
    h.str(symbol);
    h.bytes(fp->data(), fp->size());
    h.i32(p.pred_len);
    h.i32(static_cast<std::int32_t>(bars.size()));  // lookback
    h.i32(p.max_context);
    h.f64(p.temperature);
    h.i32(p.top_k);
    h.f64(p.top_p);
    h.i32(p.sample_count);
    h.f64(p.clip);
    h.str(model.checkpoint_hash);
    h.str(model.dtype);
    h.u8(model.compile ? 1 : 0);
    cache_key k;
    k.symbol = symbol;
    k.fingerprint = *fp;
    k.id = h.finish();
    return k;
  } catch (const tb::exception& e) {
    return e.to_error();
  }
}

tb::expected<cache_key> make_key(const core::forecast_window& w, const core::model_identity& model, int decimals) {
  return make_key(w.symbol, w.bars, w.params, model, decimals);
}

std::uint64_t seed_of(const cache_key& key) {
  // SHA-256 cannot fail short of a broken OpenSSL; that is an invariant, so it may throw.
  sha256_writer h;
  h.bytes("tb.cache.seed", 13);
  h.bytes(key.id.data(), key.id.size());
  const digest d = h.finish();
  std::uint64_t s = 0;
  for (int i = 0; i < 8; ++i) s |= static_cast<std::uint64_t>(d[i]) << (8 * i);
  return s;
}

std::string to_hex(const digest& d) {
  static const char* digits = "0123456789abcdef";
  std::string s(64, '0');
  for (std::size_t i = 0; i < d.size(); ++i) {
    s[2 * i] = digits[d[i] >> 4];
    s[2 * i + 1] = digits[d[i] & 15];
  }
  return s;
}

std::optional<digest> digest_from_hex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  digest d{};
  for (std::size_t i = 0; i < 32; ++i) {
    const int hi = nib(hex[2 * i]), lo = nib(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    d[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return d;
}

}  // namespace tb::cache
