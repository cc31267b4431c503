// The CSV bar loader on every file of tests/data and on broken files.
#define BOOST_TEST_MODULE bar_csv
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <sstream>

#include "core/bar_csv.hpp"

namespace fs = std::filesystem;
using tb::core::load_bars_csv;

namespace {

const std::string data_dir = std::string(TRADEBOT_TEST_DATA);

tb::expected<tb::core::bar_series> from_text(const std::string& text, std::vector<std::string>* warnings = nullptr) {
  std::istringstream in(text);
  return load_bars_csv(in, "mem.csv", "", warnings);
}

void expect_bad(const std::string& text, const std::string& where, const std::string& what) {
  auto r = from_text(text);
  BOOST_TEST_REQUIRE(!r.has_value(), "accepted: " << text);
  BOOST_TEST((r.error().code == tb::errc::bad_data));
  BOOST_TEST(r.error().message.find(where) != std::string::npos, r.error().message);
  BOOST_TEST(r.error().message.find(what) != std::string::npos, r.error().message);
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_data_file_loads) {
  int files = 0;
  for (const char* sub : {"daily", "intraday"}) {
    for (const auto& e : fs::directory_iterator(data_dir + "/" + sub)) {
      if (e.path().extension() != ".csv") continue;
      ++files;
      std::vector<std::string> warnings;
      auto s = load_bars_csv(e.path().string(), "", &warnings);
      if (!s) BOOST_FAIL(s.error().message);
      BOOST_TEST(s->symbol == e.path().stem().string());
      BOOST_TEST(s->bars.size() >= 629u);
      BOOST_TEST(warnings.empty());
      for (std::size_t i = 1; i < s->bars.size(); ++i) BOOST_TEST_REQUIRE(s->bars[i].time_s > s->bars[i - 1].time_s);
      for (const auto& b : s->bars) {
        BOOST_TEST_REQUIRE(b.high >= b.low);
        BOOST_TEST_REQUIRE(b.volume >= 0);
      }
    }
  }
  BOOST_TEST(files == 14);
}

BOOST_AUTO_TEST_CASE(daily_columns_in_any_order) {
  // ARM.csv: Date,close,high,low,open,volume; first row 2023-09-14 with
  // close 63.59000015258789, high 66.27999877929688, low 55.540000915527344, open 56.099998474121094.
  auto s = load_bars_csv(data_dir + "/daily/ARM.csv");
  BOOST_TEST_REQUIRE(s.has_value());
  const auto& b = s->bars.front();
  BOOST_TEST(b.time_s == 1694649600);  // 2023-09-14 00:00 naive
  BOOST_TEST(b.utc_offset_s == 0);
  BOOST_TEST(b.open == 56.099998474121094);
  BOOST_TEST(b.high == 66.27999877929688);
  BOOST_TEST(b.low == 55.540000915527344);
  BOOST_TEST(b.close == 63.59000015258789);
  BOOST_TEST(b.volume == 130534500.0);
  // No amount column: volume x mean(o, h, l, c).
  BOOST_TEST(b.amount == b.volume * (b.open + b.high + b.low + b.close) / 4.0);
  BOOST_TEST(s->bars.size() == 629u);
  const auto st = tb::core::stamp_of(b);
  BOOST_TEST(st.weekday == 3);  // Thursday
  BOOST_TEST(st.day == 14);
  BOOST_TEST(st.month == 9);
}

BOOST_AUTO_TEST_CASE(offsets_and_intraday) {
  auto sui = load_bars_csv(data_dir + "/daily/SUIUSD.csv", "SUI");
  BOOST_TEST_REQUIRE(sui.has_value());
  BOOST_TEST(sui->symbol == "SUI");
  BOOST_TEST(sui->bars.front().time_s == 1704067200);  // 2024-01-01T00:00:00+00:00
  BOOST_TEST(sui->bars.front().volume == 49861871.3);
  auto x = load_bars_csv(data_dir + "/intraday/XSHG_600977_5min.csv");
  BOOST_TEST_REQUIRE(x.has_value());
  BOOST_TEST(x->bars.size() == 2500u);
  BOOST_TEST(x->bars.front().amount == 427161.0);  // the file's own amount column
  const auto st = tb::core::stamp_of(x->bars.front());
  BOOST_TEST(st.hour == 11);
  BOOST_TEST(st.minute == 15);
}

BOOST_AUTO_TEST_CASE(time_formats) {
  std::int64_t t = 0;
  std::int32_t off = 0;
  BOOST_TEST(tb::core::parse_bar_time("2024-06-18", t, off));
  BOOST_TEST(t == 1718668800);
  BOOST_TEST(tb::core::parse_bar_time("2024-06-18 11:15", t, off));
  BOOST_TEST(t == 1718668800 + 11 * 3600 + 15 * 60);
  BOOST_TEST(tb::core::parse_bar_time("2024-06-18T11:15:30Z", t, off));
  BOOST_TEST(t == 1718668800 + 11 * 3600 + 15 * 60 + 30);
  BOOST_TEST(off == 0);
  BOOST_TEST(tb::core::parse_bar_time("2024-06-18T09:30:00-04:00", t, off));
  BOOST_TEST(t == 1718668800 + 13 * 3600 + 30 * 60);
  BOOST_TEST(off == -4 * 3600);
  BOOST_TEST(tb::core::parse_bar_time("2024-06-18 09:30:00.000+0800", t, off));
  BOOST_TEST(off == 8 * 3600);
  // Calendar fields read the local time, not UTC.
  tb::core::bar b;
  tb::core::parse_bar_time("2024-06-18T23:30:00-04:00", b.time_s, b.utc_offset_s);
  BOOST_TEST(tb::core::stamp_of(b).hour == 23);
  BOOST_TEST(tb::core::stamp_of(b).day == 18);
  for (const char* bad : {"", "2024-13-01", "2024-02-30", "2023-02-29", "2024-06-18 25:00", "2024/06/18", "18-06-2024",
                          "2024-06-18 10:00+", "2024-06-18x", "2024-06-18 10:00 junk"}) {
    BOOST_TEST(!tb::core::parse_bar_time(bad, t, off), bad);
  }
  BOOST_TEST(tb::core::parse_bar_time("2024-02-29", t, off));
}

BOOST_AUTO_TEST_CASE(descending_and_case_insensitive) {
  auto s = from_text(
      "\xEF\xBB\xBF CLOSE ,Open,HIGH,low,Timestamp,extra\r\n"
      "3,2.5,3.5,2,2024-01-03,x\r\n"
      "\r\n"
      "2,1.5,2.5,1,2024-01-02,y\r\n"
      "1,0.5,1.5,0.5,2024-01-01,\"z,q\"\r\n");
  if (!s) BOOST_FAIL(s.error().message);
  BOOST_TEST_REQUIRE(s->bars.size() == 3u);
  BOOST_TEST(s->symbol == "mem");
  BOOST_TEST(s->bars[0].close == 1);
  BOOST_TEST(s->bars[2].close == 3);
  BOOST_TEST(s->bars[2].open == 2.5);
  // No volume column: volume = amount = 0.
  BOOST_TEST(s->bars[0].volume == 0);
  BOOST_TEST(s->bars[0].amount == 0);
}

// The Quandl WIKI layout, newest row first: the raw Open/High/Low/Close/Volume columns are read
// (not the "Adj. ..." ones), the rows come back oldest first.
BOOST_AUTO_TEST_CASE(quandl_layout_newest_first) {
  auto s = load_bars_csv(data_dir + "/quandl/AAPL.csv");
  if (!s) BOOST_FAIL(s.error().message);
  BOOST_TEST(s->symbol == "AAPL");
  BOOST_TEST_REQUIRE(s->bars.size() > 3000u);
  for (std::size_t i = 1; i < s->bars.size(); ++i) BOOST_TEST_REQUIRE(s->bars[i].time_s > s->bars[i - 1].time_s);
  // 2000-06-01,52.72,53.23,52.62,53.00,5098465.0,0.0,1.0,0.941429,...
  const auto& first = s->bars.front();
  BOOST_TEST(first.time_s == 959817600);  // 2000-06-01
  BOOST_TEST(first.open == 52.72);
  BOOST_TEST(first.high == 53.23);
  BOOST_TEST(first.low == 52.62);
  BOOST_TEST(first.close == 53.00);
  BOOST_TEST(first.volume == 5098465.0);
  // 2012-12-31,578.56,589.02,566.56,570.90,31399486.0,...
  BOOST_TEST(s->bars.back().time_s == 1356912000);  // 2012-12-31
  BOOST_TEST(s->bars.back().close == 570.90);
}

BOOST_AUTO_TEST_CASE(duplicates) {
  std::vector<std::string> warnings;
  auto s = from_text(
      "date,open,high,low,close,volume\n"
      "2024-01-02,1,2,1,2,10\n"
      "2024-01-01,1,2,1,2,10\n"
      "2024-01-02,1,2,1,2,10\n",
      &warnings);
  if (!s) BOOST_FAIL(s.error().message);
  BOOST_TEST(s->bars.size() == 2u);
  BOOST_TEST_REQUIRE(warnings.size() == 1u);
  BOOST_TEST(warnings[0] == "mem.csv:4: duplicate of line 2, dropped");
  expect_bad(
      "date,open,high,low,close,volume\n"
      "2024-01-02,1,2,1,2,10\n"
      "2024-01-01,1,2,1,2,10\n"
      "2024-01-02,1,2,1,2.5,10\n",
      "mem.csv:4", "line 2");
  // The same instant written with two offsets is a duplicate too.
  expect_bad(
      "datetime,open,high,low,close\n"
      "2024-01-02 10:00:00+01:00,1,2,1,2\n"
      "2024-01-02 09:00:00Z,1,2,1,3\n",
      "mem.csv:3", "line 2");
}

BOOST_AUTO_TEST_CASE(bad_rows_name_file_and_line) {
  const std::string h = "date,open,high,low,close,volume,amount\n";
  expect_bad(h + "2024-01-01,1,2,1,2,10,20\n2024-01-02,1,2,1,2,10\n", "mem.csv:3", "fields");
  expect_bad(h + "2024-01-01,1,2,1,2,10,20\n2024-01-02,1,2,1,abc,10,20\n", "mem.csv:3", "close");
  expect_bad(h + "2024-01-01,1,2,1,nan,10,20\n", "mem.csv:2", "close");
  expect_bad(h + "2024-01-01,1,inf,1,2,10,20\n", "mem.csv:2", "high");
  expect_bad(h + "2024-01-01,1,2,1,,10,20\n", "mem.csv:2", "close");
  expect_bad(h + "2024-01-01,1,1,2,1,10,20\n", "mem.csv:2", "high < low");
  expect_bad(h + "2024-01-01,1,2,1,2,-10,20\n", "mem.csv:2", "volume");
  expect_bad(h + "2024-01-01,1,2,1,2,10,20\n2024-01-02,1,2,-3,-2.5,10,20\n", "mem.csv:3",
             "low -3 is not a positive price");
  expect_bad(h + "2024-01-01,0,2,1,2,10,20\n", "mem.csv:2", "open 0 is not a positive price");
  expect_bad(h + "2024-01-01,1,2,1,2,10,-20\n", "mem.csv:2", "amount");
  expect_bad(h + "01/02/2024,1,2,1,2,10,20\n", "mem.csv:2", "time");
  expect_bad(h + "2024-01-01,1,2,1,2,10,\"20\n", "mem.csv:2", "quote");
  expect_bad(h + "2024-01-01,1e999,2,1,2,10,20\n", "mem.csv:2", "open");
  expect_bad(h, "mem.csv", "no data rows");
  expect_bad("", "mem.csv", "empty");
  expect_bad("date,open,high,close\n2024-01-01,1,2,1\n", "mem.csv:1", "low");
  expect_bad("open,high,low,close\n1,2,1,2\n", "mem.csv:1", "date");
  auto missing = load_bars_csv("/nonexistent/file.csv");
  BOOST_TEST_REQUIRE(!missing.has_value());
  BOOST_TEST((missing.error().code == tb::errc::io));
  BOOST_TEST(missing.error().message.find("/nonexistent/file.csv") != std::string::npos);
}
