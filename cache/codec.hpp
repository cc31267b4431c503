#pragma once
// The one binary entry format, shared by the disk files and the Redis values.
//
// Layout, all integers little-endian (README.md, "Entry format"):
//   header (16 bytes)
//     0  u8[4] magic "TBFC"
//     4  u16   format version (entry_format_version)
//     6  u16   flags, 0
//     8  u32   payload length N
//    12  u32   CRC-32 (IEEE 802.3, as zlib) of the N payload bytes
//   payload (N bytes)
//     u8[32] key id | i64 created_ms | i64 expires_ms | u8 kind (0 live, 1 closed) |
//     u16 symbol length | symbol bytes | u32 rows | u32 columns (6) |
//     rows x columns f64 (IEEE-754 bits), row-major
// Plain data only: decoding never allocates more than the input's size and runs nothing.
// Thread: pure functions, thread-safe.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cache/entry.hpp"

namespace tb::cache {

inline constexpr char entry_magic[4] = {'T', 'B', 'F', 'C'};
inline constexpr std::uint16_t entry_format_version = 1;
inline constexpr std::size_t entry_header_size = 16;
inline constexpr std::uint32_t max_forecast_rows = 65536;

// The bytes of an entry. Precondition (asserted by callers via valid_forecast): every value is
// finite and every row has n_features columns.
std::string encode_entry(const entry& e);

enum class decode_status {
  ok,
  corrupt,       // bad magic, length, checksum, layout or a non-finite value: remove it
  unsupported,   // a format version this build does not read (a newer writer): a plain miss
  key_mismatch,  // a well-formed entry of ANOTHER key (mis-named file, prefix clash): remove it
};
const char* to_string(decode_status s);

struct decode_result {
  decode_status status = decode_status::corrupt;
  entry value;         // meaningful only when status == ok
  std::string detail;  // why, for logs
};

// Decodes `bytes`; when `expected_key` is given, an entry of another key is key_mismatch.
decode_result decode_entry(std::string_view bytes, const digest* expected_key = nullptr);

// CRC-32 (reflected polynomial 0xEDB88320, init and final xor 0xFFFFFFFF).
std::uint32_t crc32(const void* data, std::size_t n);

// True when every row is finite (NaN/inf are never cached: they would not round-trip as a
// valid forecast) and rows.size() <= max_forecast_rows.
bool valid_forecast(const core::forecast& f);

}  // namespace tb::cache
