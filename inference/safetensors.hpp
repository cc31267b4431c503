#pragma once
// Our own reader and writer of the safetensors format (https://github.com/huggingface/safetensors):
// 8 bytes little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}},
// then the data buffer. Torch-free on purpose: kronos_model.cpp turns the byte spans into tensors.
//
// Every length, offset and dtype size is checked against the file before any byte is read, so a
// truncated or corrupt file gives an error naming the file (and the tensor), never a crash.
// Thread: a safetensors_file is immutable once opened; share it freely for reading.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace tb::inference {

enum class st_dtype { f32, f16, bf16, i64 };

const char* to_string(st_dtype d);
std::size_t dtype_size(st_dtype d);  // bytes per element

struct st_tensor {
  std::string name;
  st_dtype dtype = st_dtype::f32;
  std::vector<std::int64_t> shape;
  std::size_t offset = 0;  // into safetensors_file::data(), bytes
  std::size_t bytes = 0;   // prod(shape) * dtype_size(dtype)
  std::int64_t numel() const;
};

class safetensors_file {
 public:
  // Reads and validates `path`. Errors: errc::io (cannot read), errc::bad_checkpoint (anything
  // malformed: the message names the file and, where it applies, the tensor).
  static tb::expected<safetensors_file> open(const std::string& path);
  // Same from bytes already in memory (tests); `name` stands for the file in messages.
  static tb::expected<safetensors_file> parse(std::vector<std::uint8_t> bytes, const std::string& name);

  const std::string& path() const { return path_; }
  const std::map<std::string, st_tensor>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Start of the data buffer (after the header); tensor bytes are at data() + t.offset.
  const std::uint8_t* data() const { return bytes_.data() + data_start_; }
  // The whole file as read (the content hash covers it).
  const std::vector<std::uint8_t>& bytes() const { return bytes_; }

 private:
  std::string path_;
  std::vector<std::uint8_t> bytes_;
  std::size_t data_start_ = 0;
  std::map<std::string, st_tensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

// One float32 tensor to write.
struct st_write_tensor {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<float> values;  // row-major, prod(shape) values
};

// Writes F32 tensors (sorted by name, header padded to 8 bytes) with `metadata`.
// Errors: errc::invalid_argument (values/shape mismatch), errc::io.
tb::expected<bool> write_safetensors(const std::string& path, const std::vector<st_write_tensor>& tensors,
                                     const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

}  // namespace tb::inference
