// Keys (pure functions), the entry codec and the latency histogram.
#define BOOST_TEST_MODULE cache_key_codec
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cmath>
#include <functional>
#include <limits>
#include <set>
#include <thread>
#include <vector>

#include "cache/codec.hpp"
#include "cache/key.hpp"
#include "core/latency_histogram.hpp"
#include "tests/cache/cache_test_support.hpp"

using namespace tb::cache;
using namespace tb::cache::testing;
namespace core = tb::core;

namespace {

cache_key key_or_fail(const std::string& symbol, const std::vector<core::bar>& bars, const core::sampling_params& p,
                      const core::model_identity& m, int decimals = default_decimals) {
  auto k = make_key(symbol, bars, p, m, decimals);
  BOOST_TEST_REQUIRE(k.has_value(), (k ? "" : k.error().message));
  return *k;
}

const cache_key& base_key() {
  static const cache_key k = key_or_fail("AAPL", make_bars(232), bot_params(), bot_model());
  return k;
}

// Applies `change` to a copy of the base window's bar `i` and returns the new key.
cache_key with_bar_change(std::size_t i, const std::function<void(core::bar&)>& change) {
  auto bars = make_bars(232);
  change(bars[i]);
  return key_or_fail("AAPL", bars, bot_params(), bot_model());
}

}  // namespace

BOOST_AUTO_TEST_CASE(key_is_deterministic_and_has_a_stable_hex_form) {
  const cache_key a = key_or_fail("AAPL", make_bars(232), bot_params(), bot_model());
  const cache_key b = key_or_fail("AAPL", make_bars(232), bot_params(), bot_model());
  BOOST_TEST(a == b);
  BOOST_TEST(a.hex() == b.hex());
  BOOST_TEST(a.hex().size() == 64u);
  BOOST_TEST(a.hex().find_first_not_of("0123456789abcdef") == std::string::npos);
  BOOST_TEST(digest_from_hex(a.hex()).value() == a.id);
  BOOST_TEST(!digest_from_hex("xyz").has_value());
  // Pins the canonical encoding: if this changes, every deployed cache misses. Bump
  // key_version / fingerprint_version on purpose, then update the constant.
  BOOST_TEST(a.hex() == "dc6d943425c62322896f4d6812a8a86d06b18ab8cc53eb97e94d8fd219e18ce6");
}

BOOST_AUTO_TEST_CASE(a_change_in_any_column_or_timestamp_misses) {
  const auto& base = base_key();
  const std::vector<std::pair<const char*, std::function<void(core::bar&)>>> changes = {
      {"open", [](core::bar& b) { b.open += 1e-6; }},  {"high", [](core::bar& b) { b.high += 1e-6; }},
      {"low", [](core::bar& b) { b.low -= 1e-6; }},    {"close", [](core::bar& b) { b.close += 1e-6; }},
      {"volume", [](core::bar& b) { b.volume += 1; }}, {"amount", [](core::bar& b) { b.amount += 1; }},
      {"time", [](core::bar& b) { b.time_s += 60; }},  {"utc_offset", [](core::bar& b) { b.utc_offset_s = 3600; }},
  };
  for (const auto& [name, change] : changes) {
    for (std::size_t i : {std::size_t{0}, std::size_t{115}, std::size_t{231}}) {
      BOOST_TEST_CONTEXT("column " << name << " bar " << i) { BOOST_TEST(with_bar_change(i, change) != base); }
    }
  }
}

BOOST_AUTO_TEST_CASE(a_change_below_the_rounding_hits) {
  const auto& base = base_key();
  // 1e-10 is below the default 8 decimals; float noise of a few ulps likewise.
  BOOST_TEST(with_bar_change(10, [](core::bar& b) { b.close += 1e-10; }) == base);
  BOOST_TEST(with_bar_change(10, [](core::bar& b) { b.open -= 2e-10; }) == base);
  BOOST_TEST(with_bar_change(
                 10, [](core::bar& b) { b.amount = std::nextafter(std::nextafter(b.amount, 1e300), 1e300); }) == base);
  BOOST_TEST(with_bar_change(10, [](core::bar& b) { b.volume = std::nextafter(b.volume, 0.0); }) == base);
  // The classic: 0.1 + 0.2 != 0.3 in binary, equal after rounding.
  auto q1 = quantise(0.1 + 0.2, 8), q2 = quantise(0.3, 8);
  BOOST_TEST((q1.value() == q2.value()));
  // A large amount (1.2e11: an ulp of ~1.5e-5) still absorbs ulp noise (14 significant digits).
  const double big = 123456789012.345678;
  BOOST_TEST((quantise(big, 8).value() == quantise(std::nextafter(big, 1e300), 8).value()));
  BOOST_TEST(quantise(big, 8)->scale == 2);
  // -0 and +0 are one value.
  BOOST_TEST((quantise(-0.0, 8).value() == quantise(0.0, 8).value()));
  // With fewer decimals, a bigger change hits.
  auto bars = make_bars(232);
  const cache_key k4 = key_or_fail("AAPL", bars, bot_params(), bot_model(), 4);
  bars[3].close += 1e-6;
  BOOST_TEST((key_or_fail("AAPL", bars, bot_params(), bot_model(), 4) == k4));
  BOOST_TEST((k4 != base));  // decimals are part of the key
}

BOOST_AUTO_TEST_CASE(a_change_in_any_sampling_parameter_misses) {
  const auto& base = base_key();
  const std::vector<std::pair<const char*, std::function<void(core::sampling_params&)>>> changes = {
      {"pred_len", [](core::sampling_params& p) { p.pred_len = 8; }},
      {"max_context", [](core::sampling_params& p) { p.max_context = 512; }},
      {"temperature", [](core::sampling_params& p) { p.temperature = 0.153; }},
      {"top_k", [](core::sampling_params& p) { p.top_k = 24; }},
      {"top_p", [](core::sampling_params& p) { p.top_p = 0.75; }},
      {"sample_count", [](core::sampling_params& p) { p.sample_count = 112; }},
      {"clip", [](core::sampling_params& p) { p.clip = 2.0; }},
  };
  for (const auto& [name, change] : changes) {
    auto p = bot_params();
    change(p);
    BOOST_TEST_CONTEXT("parameter " << name) {
      BOOST_TEST(key_or_fail("AAPL", make_bars(232), p, bot_model()) != base);
    }
  }
  // lookback: the same newest bars, one fewer.
  auto bars = make_bars(232);
  bars.erase(bars.begin());
  BOOST_TEST(key_or_fail("AAPL", bars, bot_params(), bot_model()) != base);
  // symbol
  BOOST_TEST(key_or_fail("MSFT", make_bars(232), bot_params(), bot_model()) != base);
}

BOOST_AUTO_TEST_CASE(a_change_in_the_model_misses) {
  const auto& base = base_key();
  auto m = bot_model();
  m.checkpoint_hash[0] = 'd';
  BOOST_TEST(key_or_fail("AAPL", make_bars(232), bot_params(), m) != base);
  m = bot_model();
  m.dtype = "bfloat16";
  BOOST_TEST(key_or_fail("AAPL", make_bars(232), bot_params(), m) != base);
  m = bot_model();
  m.compile = true;
  BOOST_TEST(key_or_fail("AAPL", make_bars(232), bot_params(), m) != base);
}

BOOST_AUTO_TEST_CASE(the_window_overload_ignores_the_seed_and_seed_derives_from_the_key) {
  core::forecast_window w;
  w.symbol = "AAPL";
  w.bars = make_bars(232);
  w.params = bot_params();
  w.seed = 12345;
  const cache_key k = make_key(w, bot_model()).value();
  BOOST_TEST((k == base_key()));
  BOOST_TEST(seed_of(k) == seed_of(base_key()));
  std::set<std::uint64_t> seeds;
  for (int i = 0; i < 50; ++i) seeds.insert(seed_of(key_of("AAPL", i)));
  BOOST_TEST(seeds.size() == 50u);
}

BOOST_AUTO_TEST_CASE(bad_input_is_an_error_naming_the_place) {
  auto bars = make_bars(10);
  bars[4].volume = std::numeric_limits<double>::quiet_NaN();
  auto k = make_key("AAPL", bars, bot_params(), bot_model());
  BOOST_TEST_REQUIRE(!k.has_value());
  BOOST_TEST((k.error().code == tb::errc::bad_data));
  BOOST_TEST(k.error().message.find("bar 4") != std::string::npos);
  BOOST_TEST(k.error().message.find("volume") != std::string::npos);
  BOOST_TEST(!make_key("", make_bars(3), bot_params(), bot_model()).has_value());
  BOOST_TEST(!make_key("AAPL", {}, bot_params(), bot_model()).has_value());
  BOOST_TEST(!make_key("AAPL", make_bars(3), bot_params(), bot_model(), 16).has_value());
  BOOST_TEST(!quantise(std::numeric_limits<double>::infinity(), 8).has_value());
  BOOST_TEST(!quantise(1e19, 8).has_value());
}

BOOST_AUTO_TEST_CASE(codec_round_trips) {
  manual_clock clock;
  const cache_key k = key_of("AAPL", 1);
  entry e = make_entry(k, make_forecast(42.0), window_kind::closed, ttl_policy{}, clock.now());
  const std::string bytes = encode_entry(e);
  BOOST_TEST(bytes.substr(0, 4) == "TBFC");
  decode_result d = decode_entry(bytes, &k.id);
  BOOST_TEST_REQUIRE(d.status == decode_status::ok, d.detail);
  BOOST_TEST((d.value.key_id == k.id));
  BOOST_TEST(d.value.symbol == "AAPL");
  BOOST_TEST(d.value.created_ms == e.created_ms);
  BOOST_TEST(d.value.expires_ms == clock.now() + 7 * 86400 * 1000);
  BOOST_TEST((d.value.kind == window_kind::closed));
  BOOST_TEST((d.value.value.rows == e.value.rows));
  // crc32 of "123456789" is the standard check value.
  BOOST_TEST(crc32("123456789", 9) == 0xCBF43926u);
}

BOOST_AUTO_TEST_CASE(codec_rejects_every_truncation_and_every_flipped_byte) {
  manual_clock clock;
  const cache_key k = key_of("AAPL", 2);
  const std::string bytes =
      encode_entry(make_entry(k, make_forecast(1.5), window_kind::live, ttl_policy{}, clock.now()));
  for (std::size_t n = 0; n < bytes.size(); ++n)
    BOOST_TEST((decode_entry(std::string_view(bytes).substr(0, n), &k.id).status == decode_status::corrupt),
               "truncated to " << n);
  BOOST_TEST((decode_entry(bytes + "x", &k.id).status == decode_status::corrupt));
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    const auto st = decode_entry(bad, &k.id).status;
    BOOST_TEST((st != decode_status::ok), "flipped byte " << i);
    if (i == 4) BOOST_TEST((st == decode_status::unsupported));  // the version field
  }
  // A valid entry of another key is never served for this one.
  const cache_key other = key_of("AAPL", 3);
  BOOST_TEST((decode_entry(bytes, &other.id).status == decode_status::key_mismatch));
}

BOOST_AUTO_TEST_CASE(histogram_quantiles) {
  core::latency_histogram h;
  BOOST_TEST(h.quantile_us(0.99) == 0.0);
  for (int i = 0; i < 990; ++i) h.record(std::chrono::nanoseconds(1000));
  for (int i = 0; i < 10; ++i) h.record(std::chrono::microseconds(100));
  BOOST_TEST(h.count() == 1000u);
  BOOST_TEST(h.quantile_us(0.5) >= 1.0);
  BOOST_TEST(h.quantile_us(0.5) <= 1.2);
  BOOST_TEST(h.quantile_us(0.99) <= 1.2);
  BOOST_TEST(h.quantile_us(1.0) >= 100.0);
  BOOST_TEST(h.quantile_us(1.0) <= 120.0);
  for (std::uint64_t ns : {0ull, 1ull, 5ull, 1000ull, 123456ull, 1ull << 39})
    BOOST_TEST(core::latency_histogram::upper_bound_ns(core::latency_histogram::bucket_of(ns)) >= ns);
}

// The Prometheus view: exact counts at the fixed le bounds (a record equal to a bound counts at
// it), cumulative, ending with the total, and the sum; records from several threads while another
// reads are all counted, and every read is cumulative.
BOOST_AUTO_TEST_CASE(histogram_prometheus_view) {
  core::latency_histogram h;
  const auto& le = core::prometheus_le_seconds;
  BOOST_TEST(h.prometheus().count == 0u);
  h.record(std::chrono::microseconds(10));    // = le[0]
  h.record(std::chrono::nanoseconds(10001));  // just above le[0]
  h.record(std::chrono::seconds(61));         // above the last bound
  auto v = h.prometheus();
  BOOST_TEST(le[0] == 1e-5);
  BOOST_TEST(v.cumulative[0] == 1u);
  BOOST_TEST(v.cumulative[1] == 2u);
  BOOST_TEST(v.cumulative[le.size() - 1] == 2u);
  BOOST_TEST(v.count == 3u);
  BOOST_TEST(v.sum_seconds == 61.000020001);

  core::latency_histogram shared;
  std::atomic<bool> done{false};
  bool cumulative = true;
  std::thread reader([&] {
    while (!done.load()) {
      const auto r = shared.prometheus();
      for (std::size_t i = 1; i < le.size(); ++i) cumulative = cumulative && r.cumulative[i] >= r.cumulative[i - 1];
      cumulative = cumulative && r.count >= r.cumulative[le.size() - 1];
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t)
    writers.emplace_back([&shared, t] {
      for (int i = 0; i < 10000; ++i) shared.record(std::chrono::microseconds((i * 7 + t) % 5000));
    });
  for (auto& w : writers) w.join();
  done = true;
  reader.join();
  BOOST_TEST(cumulative);
  v = shared.prometheus();
  BOOST_TEST(v.count == 40000u);
  BOOST_TEST(shared.count() == 40000u);
  BOOST_TEST(v.cumulative[8] == 40000u);  // everything <= 5 ms
}
