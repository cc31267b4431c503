#include "core/latency_histogram.hpp"

#include <nlohmann/json.hpp>

namespace tb::core {
namespace {

// The bounds in integer nanoseconds, so a record is compared exactly (1 ms lands in le=0.001).
constexpr std::array<std::uint64_t, prometheus_le_seconds.size()> le_ns = [] {
  std::array<std::uint64_t, prometheus_le_seconds.size()> out{};
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<std::uint64_t>(prometheus_le_seconds[i] * 1e9 + 0.5);
  return out;
}();

}  // namespace

nlohmann::json to_json(const histogram_counts& h) {
  return {{"le_seconds", prometheus_le_seconds},
          {"cumulative_counts", h.cumulative},
          {"count", h.count},
          {"sum_seconds", h.sum_seconds}};
}

int latency_histogram::bucket_of(std::uint64_t ns) noexcept {
  if (ns < (1u << sub_bits)) return static_cast<int>(ns);  // 0..3 ns: exact
  const int msb = 63 - __builtin_clzll(ns);                // >= sub_bits
  const int sub = static_cast<int>((ns >> (msb - sub_bits)) & ((1u << sub_bits) - 1));
  const int b = ((msb - sub_bits + 1) << sub_bits) + sub;
  return b < n_buckets ? b : n_buckets - 1;
}

std::uint64_t latency_histogram::upper_bound_ns(int b) noexcept {
  if (b < (1 << sub_bits)) return static_cast<std::uint64_t>(b);
  const int octave = (b >> sub_bits) - 1 + sub_bits;  // msb
  const std::uint64_t sub = static_cast<std::uint64_t>(b & ((1 << sub_bits) - 1));
  const std::uint64_t base = std::uint64_t{1} << octave;
  const std::uint64_t step = std::uint64_t{1} << (octave - sub_bits);
  return base + (sub + 1) * step - 1;
}

void latency_histogram::record(std::chrono::nanoseconds d) noexcept {
  const auto ns = d.count() < 0 ? 0 : static_cast<std::uint64_t>(d.count());
  buckets_[static_cast<std::size_t>(bucket_of(ns))].fetch_add(1, std::memory_order_relaxed);
  std::size_t i = 0;
  while (i < n_le && ns > le_ns[i]) ++i;
  le_buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(ns, std::memory_order_relaxed);
}

histogram_counts latency_histogram::prometheus() const noexcept {
  histogram_counts out;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < n_le; ++i) {
    seen += le_buckets_[i].load(std::memory_order_relaxed);
    out.cumulative[i] = seen;
  }
  out.count = seen + le_buckets_[n_le].load(std::memory_order_relaxed);
  out.sum_seconds = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  return out;
}

std::uint64_t latency_histogram::count() const noexcept {
  std::uint64_t n = 0;
  for (const auto& b : buckets_) n += b.load(std::memory_order_relaxed);
  return n;
}

double latency_histogram::quantile_us(double q) const noexcept {
  std::array<std::uint64_t, n_buckets> snap;
  std::uint64_t n = 0;
  for (int i = 0; i < n_buckets; ++i) n += snap[i] = buckets_[i].load(std::memory_order_relaxed);
  if (n == 0) return 0.0;
  auto rank = static_cast<std::uint64_t>(q * static_cast<double>(n) + 0.999999);
  if (rank < 1) rank = 1;
  if (rank > n) rank = n;
  std::uint64_t seen = 0;
  for (int i = 0; i < n_buckets; ++i) {
    seen += snap[i];
    if (seen >= rank) return static_cast<double>(upper_bound_ns(i)) / 1000.0;
  }
  return static_cast<double>(upper_bound_ns(n_buckets - 1)) / 1000.0;
}

}  // namespace tb::core
