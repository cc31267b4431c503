#pragma once
// A fixed-bucket latency histogram (cache tiers, inference queue and compute, cycles, HTTP
// requests): log2 buckets with 4 linear sub-buckets per octave (relative error <= 19%), from 1 ns
// to ~18 min, for quantiles; plus what a Prometheus histogram needs: the sum of the recorded
// durations and exact counts at the fixed `le` bounds of `prometheus_le_seconds`.
// Lock-free: record(), quantile_us() and prometheus() may run concurrently on any threads (relaxed
// atomics; a read is a consistent-enough view: the sum may trail the counts by the records in
// flight, the counts are always cumulative and end with the total).
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

#include <nlohmann/json_fwd.hpp>

namespace tb::core {

// The `le` bounds (seconds) of every latency histogram the daemon exposes: the same for every
// histogram and every daemon, so Prometheus can aggregate them. 10 us (a memory-cache hit) to
// 60 s (a CPU inference queue under load); above the last, only +Inf.
inline constexpr std::array<double, 20> prometheus_le_seconds = {1e-5,   2.5e-5, 5e-5, 1e-4,  2.5e-4, 5e-4, 1e-3,
                                                                 2.5e-3, 5e-3,   0.01, 0.025, 0.05,   0.1,  0.25,
                                                                 0.5,    1.0,    2.5,  5.0,   10.0,   60.0};

// A point-in-time Prometheus view of a histogram (plain values).
struct histogram_counts {
  // cumulative[i]: records <= prometheus_le_seconds[i]; non-decreasing, each <= count.
  std::array<std::uint64_t, prometheus_le_seconds.size()> cumulative{};
  std::uint64_t count = 0;  // every record: the +Inf bucket
  double sum_seconds = 0;   // sum of the recorded durations
};

// The /stats form, read by http/metrics.cpp:
// {"le_seconds": [...], "cumulative_counts": [...], "count": n, "sum_seconds": s}.
nlohmann::json to_json(const histogram_counts& h);

class latency_histogram {
 public:
  static constexpr int sub_bits = 2;                      // 4 sub-buckets per octave
  static constexpr int n_buckets = (40 + 1) << sub_bits;  // up to 2^40 ns

  void record(std::chrono::nanoseconds d) noexcept;
  // The q-quantile (0 < q <= 1) in microseconds: the upper bound of the bucket holding it;
  // 0 when nothing was recorded.
  double quantile_us(double q) const noexcept;
  std::uint64_t count() const noexcept;
  // The Prometheus view: exact counts at prometheus_le_seconds (a record of d counts at every
  // bound >= d), the total and the sum.
  histogram_counts prometheus() const noexcept;

  static int bucket_of(std::uint64_t ns) noexcept;
  static std::uint64_t upper_bound_ns(int bucket) noexcept;

 private:
  static constexpr std::size_t n_le = prometheus_le_seconds.size();
  std::array<std::atomic<std::uint64_t>, n_buckets> buckets_{};
  // le_buckets_[i]: records in (le[i-1], le[i]] (not cumulative); [n_le]: above the last bound.
  std::array<std::atomic<std::uint64_t>, n_le + 1> le_buckets_{};
  std::atomic<std::uint64_t> sum_ns_{0};
};

// Records the time from construction to destruction into a histogram (steady clock).
class scoped_latency {
 public:
  explicit scoped_latency(latency_histogram& h) : h_(h), start_(std::chrono::steady_clock::now()) {}
  ~scoped_latency() { h_.record(std::chrono::steady_clock::now() - start_); }
  scoped_latency(const scoped_latency&) = delete;
  scoped_latency& operator=(const scoped_latency&) = delete;

 private:
  latency_histogram& h_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace tb::core
