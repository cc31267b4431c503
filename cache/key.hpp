#pragma once
// Forecast cache keys: pure functions from (window, sampling parameters, model) to a key.
//
// A key is a SHA-256 digest over a canonical, versioned byte encoding (see README.md, "Keys"):
//   data fingerprint = SHA-256(bars: timestamps + all six feature columns, rounded)
//   key id           = SHA-256(symbol, fingerprint, sampling parameters, lookback, model identity)
// Its stable string form is the 64 lowercase hex digits of the key id. The forecast seed derives
// from the key id (seed_of), so a hit returns exactly what a recompute would.
//
// Thread: every function here is pure and thread-safe.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bar.hpp"
#include "core/error.hpp"
#include "core/forecast.hpp"

namespace tb::cache {

// A SHA-256 digest.
using digest = std::array<std::uint8_t, 32>;

// Default rounding of feature values (KRONOS_CACHE_DECIMALS).
inline constexpr int default_decimals = 8;
inline constexpr int max_decimals = 15;
// Values are never quantised finer than this many significant decimal digits: below that a
// double carries only float noise (a 1e11 amount has an ulp of ~1.5e-5, far above 1e-8).
inline constexpr int max_significant_digits = 14;

// Version tags inside the hashed encodings. Bump them when the encoding changes: every old key
// then misses (never collides), which is the safe failure.
inline constexpr std::uint32_t fingerprint_version = 1;
inline constexpr std::uint32_t key_version = 1;

struct cache_key {
  std::string symbol;    // for logs and stats; also hashed into id
  digest fingerprint{};  // SHA-256 of the window's bars (fingerprint_bars)
  digest id{};           // SHA-256 of everything: THE identity of the entry

  std::string hex() const;  // 64 lowercase hex digits of id: file names, Redis keys
  friend bool operator==(const cache_key& a, const cache_key& b) { return a.id == b.id; }
  friend bool operator!=(const cache_key& a, const cache_key& b) { return !(a == b); }
};

// Hash functor for digests (their first 8 bytes; SHA-256 output is uniform).
struct digest_hash {
  std::size_t operator()(const digest& d) const noexcept;
};

// A value rounded for hashing: q * 10^-scale, q an integer (see quantise).
struct quantised {
  std::int64_t q = 0;
  std::int8_t scale = 0;
  friend bool operator==(const quantised& a, const quantised& b) { return a.q == b.q && a.scale == b.scale; }
};

// The canonical rounding of one feature value:
//   scale = the largest s in [0, decimals] with |x| * 10^s < 10^max_significant_digits
//   q     = nearbyint(x * 10^s) in double arithmetic, round-half-to-even (IEEE default mode)
// -0 becomes 0. Errors (bad_data): x is NaN or infinite, or |x| >= 2^63.
// Two values whose difference is below half a unit of the rounding hit the same q, except the
// unavoidable case of straddling a rounding boundary.
tb::expected<quantised> quantise(double x, int decimals);

// SHA-256 (OpenSSL EVP) over the canonical encoding of `bars` (oldest first), all little-endian:
//   u32 fingerprint_version | u32 decimals | u64 bar count |
//   per bar: i64 time_s | i32 utc_offset_s |
//            per column open, high, low, close, volume, amount: i8 scale | i64 q
// Errors: bad_data (a value quantise rejects; the message names bar index and column),
// invalid_argument (decimals outside [0, max_decimals]).
tb::expected<digest> fingerprint_bars(const std::vector<core::bar>& bars, int decimals = default_decimals);

// The key of a forecast request. lookback = bars.size(). Hashed, little-endian:
//   "tb.cache.key" | u32 key_version | str symbol | fingerprint (32 bytes) |
//   i32 pred_len | i32 lookback | i32 max_context | f64 temperature | i32 top_k | f64 top_p |
//   i32 sample_count | f64 clip | str checkpoint_hash | str dtype | u8 compile
// where str = u32 length + bytes and f64 = IEEE-754 bits (-0 as +0); parameters are exact:
// any change in one misses. window.seed is NOT part of the key (it derives from it).
// Errors: those of fingerprint_bars; invalid_argument for an empty symbol or no bars.
tb::expected<cache_key> make_key(const std::string& symbol, const std::vector<core::bar>& bars,
                                 const core::sampling_params& params, const core::model_identity& model,
                                 int decimals = default_decimals);
tb::expected<cache_key> make_key(const core::forecast_window& window, const core::model_identity& model,
                                 int decimals = default_decimals);

// The forecast seed of a key: the first 8 bytes of SHA-256("tb.cache.seed" | key id), read
// little-endian. Callers set forecast_window::seed = seed_of(key) before inference.
std::uint64_t seed_of(const cache_key& key);

// Lowercase hex of a digest, and back (nullopt unless exactly 64 hex digits).
std::string to_hex(const digest& d);
std::optional<digest> digest_from_hex(std::string_view hex);

}  // namespace tb::cache
