#pragma once
// Test support: browser screenshots (PNG) decoded to RGB pixels, and pixel counts by colour.
// Link ZLIB::ZLIB (decode_png inflates with it).
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace tb::test {

struct image {
  std::uint32_t width = 0, height = 0;
  std::vector<std::uint8_t> rgb;  // 3 bytes per pixel
  std::string error;
};

inline std::uint32_t be32(const std::string& s, std::size_t at) {
  return (std::uint32_t(std::uint8_t(s[at])) << 24) | (std::uint32_t(std::uint8_t(s[at + 1])) << 16) |
         (std::uint32_t(std::uint8_t(s[at + 2])) << 8) | std::uint32_t(std::uint8_t(s[at + 3]));
}

// Decodes an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium and Firefox write) to RGB.
inline image decode_png(const std::string& png) {
  image img;
  static const char sig[] = "\x89PNG\r\n\x1a\n";
  if (png.size() < 8 || png.compare(0, 8, sig, 8) != 0) return img.error = "not a PNG", img;
  std::string idat;
  int color_type = -1;
  for (std::size_t at = 8; at + 8 <= png.size();) {
    const std::uint32_t len = be32(png, at);
    const std::string type = png.substr(at + 4, 4);
    if (at + 12 + len > png.size()) return img.error = "truncated chunk " + type, img;
    if (type == "IHDR") {
      img.width = be32(png, at + 8);
      img.height = be32(png, at + 12);
      const int depth = std::uint8_t(png[at + 16]);
      color_type = std::uint8_t(png[at + 17]);
      const int interlace = std::uint8_t(png[at + 20]);
      if (depth != 8 || (color_type != 2 && color_type != 6) || interlace != 0)
        return img.error = "unsupported PNG: depth " + std::to_string(depth) + ", colour type " +
                           std::to_string(color_type) + ", interlace " + std::to_string(interlace),
               img;
    } else if (type == "IDAT") {
      idat += png.substr(at + 8, len);
    } else if (type == "IEND") {
      break;
    }
    at += 12 + len;
  }
  if (color_type < 0 || img.width == 0 || img.height == 0) return img.error = "no IHDR", img;
  const std::size_t bpp = color_type == 6 ? 4 : 3, stride = img.width * bpp;
  std::vector<std::uint8_t> raw((stride + 1) * img.height);
  uLongf raw_len = raw.size();
  if (::uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) != Z_OK ||
      raw_len != raw.size())
    return img.error = "cannot inflate IDAT", img;
  std::vector<std::uint8_t> prev(stride, 0), cur(stride);
  img.rgb.reserve(std::size_t(img.width) * img.height * 3);
  for (std::uint32_t y = 0; y < img.height; ++y) {
    const std::uint8_t filter = raw[y * (stride + 1)];
    const std::uint8_t* in = &raw[y * (stride + 1) + 1];
    for (std::size_t i = 0; i < stride; ++i) {
      const int a = i >= bpp ? cur[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
      int pred = 0;
      switch (filter) {
        case 0:
          pred = 0;
          break;
        case 1:
          pred = a;
          break;
        case 2:
          pred = b;
          break;
        case 3:
          pred = (a + b) / 2;
          break;
        case 4: {
          const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
          pred = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c);
          break;
        }
        default:
          return img.error = "bad filter " + std::to_string(filter), img;
      }
      cur[i] = std::uint8_t(in[i] + pred);
    }
    for (std::uint32_t x = 0; x < img.width; ++x) img.rgb.insert(img.rgb.end(), &cur[x * bpp], &cur[x * bpp] + 3);
    std::swap(prev, cur);
  }
  return img;
}

// Pixels within `tol` of the colour (r, g, b) in every channel.
inline std::size_t pixels_near(const image& img, int r, int g, int b, int tol) {
  std::size_t n = 0;
  for (std::size_t i = 0; i + 2 < img.rgb.size(); i += 3)
    if (std::abs(img.rgb[i] - r) <= tol && std::abs(img.rgb[i + 1] - g) <= tol && std::abs(img.rgb[i + 2] - b) <= tol)
      ++n;
  return n;
}

}  // namespace tb::test
