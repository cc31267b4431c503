#include "inference/safetensors.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

namespace tb::inference {
namespace {

constexpr std::uint64_t max_header_bytes = 100u * 1024u * 1024u;

tb::error bad(const std::string& file, const std::string& what) {
  return tb::error{errc::bad_checkpoint, file + ": " + what};
}

bool dtype_from_string(const std::string& s, st_dtype& out) {
  if (s == "F32")
    out = st_dtype::f32;
  else if (s == "F16")
    out = st_dtype::f16;
  else if (s == "BF16")
    out = st_dtype::bf16;
  else if (s == "I64")
    out = st_dtype::i64;
  else
    return false;
  return true;
}

}  // namespace

const char* to_string(st_dtype d) {
  switch (d) {
    case st_dtype::f32:
      return "F32";
    case st_dtype::f16:
      return "F16";
    case st_dtype::bf16:
      return "BF16";
    case st_dtype::i64:
      return "I64";
  }
  return "?";
}

std::size_t dtype_size(st_dtype d) {
  switch (d) {
    case st_dtype::f32:
      return 4;
    case st_dtype::f16:
      return 2;
    case st_dtype::bf16:
      return 2;
    case st_dtype::i64:
      return 8;
  }
  return 0;
}

std::int64_t st_tensor::numel() const {
  std::int64_t n = 1;
  for (auto s : shape) n *= s;
  return n;
}

tb::expected<safetensors_file> safetensors_file::open(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return tb::error{errc::io, path + ": cannot open"};
  const std::streamoff size = in.tellg();
  if (size < 0) return tb::error{errc::io, path + ": cannot read size"};
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  in.seekg(0);
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size)) {
    return tb::error{errc::io, path + ": read error"};
  }
  return parse(std::move(bytes), path);
}

tb::expected<safetensors_file> safetensors_file::parse(std::vector<std::uint8_t> bytes, const std::string& name) {
  safetensors_file f;
  f.path_ = name;
  const std::size_t size = bytes.size();
  if (size < 8) return bad(name, "truncated: " + std::to_string(size) + " bytes, no header length");
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[static_cast<std::size_t>(i)];
  if (n > size - 8) {
    return bad(name, "truncated or corrupt: header length " + std::to_string(n) + " exceeds the " +
                         std::to_string(size - 8) + " bytes after it");
  }
  if (n > max_header_bytes) return bad(name, "corrupt: header length " + std::to_string(n));
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  } catch (const std::exception& e) {
    return bad(name, std::string("corrupt header JSON: ") + e.what());
  }
  if (!header.is_object()) return bad(name, "corrupt header: not a JSON object");
  f.data_start_ = 8 + static_cast<std::size_t>(n);
  const std::size_t data_size = size - f.data_start_;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& key = it.key();
    const auto& v = it.value();
    if (key == "__metadata__") {
      if (!v.is_object()) return bad(name, "__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (m.value().is_string()) f.metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + key + "': ";
    if (!v.is_object()) return bad(name, where + "entry is not an object");
    if (!v.contains("dtype") || !v["dtype"].is_string()) return bad(name, where + "no dtype");
    if (!v.contains("shape") || !v["shape"].is_array()) return bad(name, where + "no shape");
    if (!v.contains("data_offsets") || !v["data_offsets"].is_array() || v["data_offsets"].size() != 2) {
      return bad(name, where + "no data_offsets pair");
    }
    st_tensor t;
    t.name = key;
    const std::string dt = v["dtype"].get<std::string>();
    if (!dtype_from_string(dt, t.dtype)) {
      return bad(name, where + "unsupported dtype " + dt + " (F32, F16, BF16, I64 are read)");
    }
    std::uint64_t elems = 1;
    for (const auto& d : v["shape"]) {
      if (!d.is_number_integer() || d.get<std::int64_t>() < 0) return bad(name, where + "bad shape entry");
      const auto dim = static_cast<std::uint64_t>(d.get<std::int64_t>());
      if (dim != 0 && elems > std::numeric_limits<std::uint64_t>::max() / dim) {
        return bad(name, where + "shape overflows");
      }
      elems *= dim;
      t.shape.push_back(static_cast<std::int64_t>(dim));
    }
    const auto& off = v["data_offsets"];
    if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned()) {
      return bad(name, where + "bad data_offsets");
    }
    const auto begin = off[0].get<std::uint64_t>();
    const auto end = off[1].get<std::uint64_t>();
    if (begin > end) return bad(name, where + "data_offsets begin > end");
    if (end > data_size) {
      return bad(name, where + "data ends at byte " + std::to_string(end) + " but the file holds " +
                           std::to_string(data_size) + " data bytes (truncated?)");
    }
    const std::uint64_t esize = dtype_size(t.dtype);
    if (elems > std::numeric_limits<std::uint64_t>::max() / esize || elems * esize != end - begin) {
      return bad(name, where + "holds " + std::to_string(end - begin) + " bytes, shape and dtype need " +
                           std::to_string(elems * esize));
    }
    t.offset = static_cast<std::size_t>(begin);
    t.bytes = static_cast<std::size_t>(end - begin);
    f.tensors_.emplace(key, std::move(t));
  }
  f.bytes_ = std::move(bytes);
  return f;
}

tb::expected<bool> write_safetensors(const std::string& path, const std::vector<st_write_tensor>& tensors,
                                     const std::map<std::string, std::string>& metadata) {
  std::vector<const st_write_tensor*> order;
  for (const auto& t : tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->name < b->name; });
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const auto* t : order) {
    std::int64_t n = 1;
    for (auto s : t->shape) n *= s;
    if (n != static_cast<std::int64_t>(t->values.size())) {
      return tb::error{errc::invalid_argument, path + ": tensor '" + t->name + "' has " +
                                                   std::to_string(t->values.size()) + " values for " +
                                                   std::to_string(n) + " elements"};
    }
    const std::uint64_t bytes = static_cast<std::uint64_t>(n) * 4;
    header[t->name] = {{"dtype", "F32"}, {"shape", t->shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string h = header.dump();
  while (h.size() % 8 != 0) h += ' ';
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return tb::error{errc::io, path + ": cannot write"};
  std::uint8_t len[8];
  std::uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<std::uint8_t>((n >> (8 * i)) & 0xff);
  out.write(reinterpret_cast<const char*>(len), 8);
  out.write(h.data(), static_cast<std::streamsize>(h.size()));
  for (const auto* t : order) {
    // Little-endian hosts only (x86-64, aarch64): floats are written as they lie in memory.
    out.write(reinterpret_cast<const char*>(t->values.data()),
              static_cast<std::streamsize>(t->values.size() * sizeof(float)));
  }
  out.close();
  if (!out) return tb::error{errc::io, path + ": write failed"};
  return true;
}

}  // namespace tb::inference
