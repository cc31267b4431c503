#pragma once
// A fixed-bucket latency histogram (cache tiers, inference queue and compute, ...): log2 buckets with 4 linear sub-buckets
// per octave (relative error <= 19%), from 1 ns to ~18 min. Lock-free: record() and quantile()
// may run concurrently on any threads (relaxed atomics; a quantile is a consistent-enough view).
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace tb::core {

class latency_histogram {
 public:
  static constexpr int sub_bits = 2;                       // 4 sub-buckets per octave
  static constexpr int n_buckets = (40 + 1) << sub_bits;   // up to 2^40 ns

  void record(std::chrono::nanoseconds d) noexcept;
  // The q-quantile (0 < q <= 1) in microseconds: the upper bound of the bucket holding it;
  // 0 when nothing was recorded.
  double quantile_us(double q) const noexcept;
  std::uint64_t count() const noexcept;
  void reset() noexcept;

  static int bucket_of(std::uint64_t ns) noexcept;
  static std::uint64_t upper_bound_ns(int bucket) noexcept;

 private:
  std::array<std::atomic<std::uint64_t>, n_buckets> buckets_{};
};

// Records the time from construction to destruction into a histogram (steady clock).
class scoped_latency {
 public:
  explicit scoped_latency(latency_histogram& h)
      : h_(h), start_(std::chrono::steady_clock::now()) {}
  ~scoped_latency() { h_.record(std::chrono::steady_clock::now() - start_); }
  scoped_latency(const scoped_latency&) = delete;
  scoped_latency& operator=(const scoped_latency&) = delete;

 private:
  latency_histogram& h_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace tb::core
