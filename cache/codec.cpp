#include "cache/codec.hpp"

#include <array>
#include <cmath>
#include <cstring>

namespace tb::cache {
namespace {

std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}

void put_u16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>(v >> 8));
}
void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void set_u32(std::string& out, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// Bounds-checked little-endian reader over a byte view.
class reader {
 public:
  explicit reader(std::string_view b) : b_(b) {}
  bool take(std::size_t n, const char** p) {
    if (b_.size() - pos_ < n) return false;
    *p = b_.data() + pos_;
    pos_ += n;
    return true;
  }
  bool u8(std::uint8_t* v) {
    const char* p;
    if (!take(1, &p)) return false;
    *v = static_cast<std::uint8_t>(*p);
    return true;
  }
  bool u16(std::uint16_t* v) { return uint_n(2, v); }
  bool u32(std::uint32_t* v) { return uint_n(4, v); }
  bool u64(std::uint64_t* v) { return uint_n(8, v); }
  std::size_t left() const { return b_.size() - pos_; }

 private:
  template <class T>
  bool uint_n(int n, T* v) {
    const char* p;
    if (!take(static_cast<std::size_t>(n), &p)) return false;
    T r = 0;
    for (int i = 0; i < n; ++i) r |= static_cast<T>(static_cast<std::uint8_t>(p[i])) << (8 * i);
    *v = r;
    return true;
  }
  std::string_view b_;
  std::size_t pos_ = 0;
};

decode_result fail(decode_status s, std::string why) {
  decode_result r;
  r.status = s;
  r.detail = std::move(why);
  return r;
}

}  // namespace

std::uint32_t crc32(const void* data, std::size_t n) {
  static const std::array<std::uint32_t, 256> table = make_crc_table();
  const auto* p = static_cast<const std::uint8_t*>(data);
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

const char* to_string(decode_status s) {
  switch (s) {
    case decode_status::ok:
      return "ok";
    case decode_status::corrupt:
      return "corrupt";
    case decode_status::unsupported:
      return "unsupported";
    case decode_status::key_mismatch:
      return "key_mismatch";
  }
  return "unknown";
}

bool valid_forecast(const core::forecast& f) {
  if (f.rows.size() > max_forecast_rows) return false;
  for (const auto& row : f.rows)
    for (double v : row)
      if (!std::isfinite(v)) return false;
  return true;
}

std::string encode_entry(const entry& e) {
  const std::size_t rows = e.value.rows.size();
  const std::size_t payload = 32 + 8 + 8 + 1 + 2 + e.symbol.size() + 4 + 4 + rows * core::n_features * 8;
  std::string out;
  out.reserve(entry_header_size + payload);
  out.append(entry_magic, 4);
  put_u16(out, entry_format_version);
  put_u16(out, 0);
  put_u32(out, static_cast<std::uint32_t>(payload));
  put_u32(out, 0);  // CRC, set below
  out.append(reinterpret_cast<const char*>(e.key_id.data()), e.key_id.size());
  put_u64(out, static_cast<std::uint64_t>(e.created_ms));
  put_u64(out, static_cast<std::uint64_t>(e.expires_ms));
  out.push_back(static_cast<char>(e.kind));
  const std::size_t sym = std::min<std::size_t>(e.symbol.size(), 0xffff);
  put_u16(out, static_cast<std::uint16_t>(sym));
  out.append(e.symbol.data(), sym);
  put_u32(out, static_cast<std::uint32_t>(rows));
  put_u32(out, core::n_features);
  for (const auto& row : e.value.rows)
    for (double v : row) {
      std::uint64_t bits;
      std::memcpy(&bits, &v, 8);
      put_u64(out, bits);
    }
  // A symbol longer than 64 KiB was truncated above: fix the length so the file stays valid.
  set_u32(out, 8, static_cast<std::uint32_t>(out.size() - entry_header_size));
  set_u32(out, 12, crc32(out.data() + entry_header_size, out.size() - entry_header_size));
  return out;
}

decode_result decode_entry(std::string_view bytes, const digest* expected_key) {
  if (bytes.size() < entry_header_size)
    return fail(decode_status::corrupt, "truncated header (" + std::to_string(bytes.size()) + " bytes)");
  if (std::memcmp(bytes.data(), entry_magic, 4) != 0) return fail(decode_status::corrupt, "bad magic");
  reader h(bytes.substr(4, entry_header_size - 4));
  std::uint16_t version = 0, flags = 0;
  std::uint32_t length = 0, crc = 0;
  h.u16(&version);
  h.u16(&flags);
  h.u32(&length);
  h.u32(&crc);
  if (version != entry_format_version)
    return fail(decode_status::unsupported, "format version " + std::to_string(version));
  if (flags != 0) return fail(decode_status::corrupt, "unknown flags");
  if (length != bytes.size() - entry_header_size)
    return fail(decode_status::corrupt, "length " + std::to_string(length) + " but " +
                                            std::to_string(bytes.size() - entry_header_size) +
                                            " payload bytes (truncated or padded)");
  const std::string_view payload = bytes.substr(entry_header_size);
  if (crc32(payload.data(), payload.size()) != crc) return fail(decode_status::corrupt, "checksum mismatch");

  reader r(payload);
  decode_result out;
  entry& e = out.value;
  const char* p = nullptr;
  std::uint64_t created = 0, expires = 0;
  std::uint8_t kind = 0;
  std::uint16_t sym = 0;
  std::uint32_t rows = 0, cols = 0;
  if (!r.take(32, &p)) return fail(decode_status::corrupt, "short payload");
  std::memcpy(e.key_id.data(), p, 32);
  if (!r.u64(&created) || !r.u64(&expires) || !r.u8(&kind) || !r.u16(&sym) || !r.take(sym, &p))
    return fail(decode_status::corrupt, "short payload");
  e.symbol.assign(p, sym);
  if (!r.u32(&rows) || !r.u32(&cols)) return fail(decode_status::corrupt, "short payload");
  if (kind > 1) return fail(decode_status::corrupt, "bad window kind");
  if (cols != core::n_features) return fail(decode_status::corrupt, "bad column count");
  if (rows > max_forecast_rows || r.left() != std::size_t{rows} * cols * 8)
    return fail(decode_status::corrupt, "row count does not match payload");
  e.created_ms = static_cast<std::int64_t>(created);
  e.expires_ms = static_cast<std::int64_t>(expires);
  e.kind = static_cast<window_kind>(kind);
  e.value.rows.resize(rows);
  for (auto& row : e.value.rows)
    for (double& v : row) {
      std::uint64_t bits = 0;
      r.u64(&bits);
      std::memcpy(&v, &bits, 8);
      if (!std::isfinite(v)) return fail(decode_status::corrupt, "non-finite value");
    }
  if (expected_key && e.key_id != *expected_key)
    return fail(decode_status::key_mismatch, "entry of key " + to_hex(e.key_id));
  out.status = decode_status::ok;
  return out;
}

}  // namespace tb::cache
