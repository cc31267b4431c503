// `tradebot calendar`, the real binary: the sessions of a range as JSON and as a table, and bad
// dates exit 2 with a message naming the argument.
#define BOOST_TEST_MODULE tool_calendar
#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"

using namespace tb::test;

namespace {

const std::string tradebot_bin = std::string(TRADEBOT_BIN_DIR) + "/tradebot";

struct tool_run {
  int code = -1;
  std::string output;  // stdout and stderr
};

tool_run calendar(const std::vector<std::string>& args) {
  temp_dir d;
  std::vector<std::string> argv{tradebot_bin, "calendar"};
  argv.insert(argv.end(), args.begin(), args.end());
  child_process p(argv, {}, d.path / "out.log");
  tool_run r;
  r.code = p.wait(30s);
  r.output = p.output();
  return r;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_week_of_september_11_2001_as_json) {
  const auto r = calendar({"--from", "2001-09-07", "--to", "2001-09-18", "--json"});
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.output);
  const auto j = nlohmann::json::parse(r.output);
  BOOST_REQUIRE(j.is_array());
  std::vector<std::string> dates;
  for (const auto& s : j) dates.push_back(s.at("date").get<std::string>());
  const std::vector<std::string> want{"2001-09-07", "2001-09-10", "2001-09-17", "2001-09-18"};
  BOOST_TEST(dates == want, boost::test_tools::per_element());
  BOOST_TEST(j[0].at("open") == "2001-09-07T13:30:00Z");  // 09:30 EDT
  BOOST_TEST(j[0].at("close") == "2001-09-07T20:00:00Z");
  for (const auto& s : j) BOOST_TEST(s.at("early_close") == false);
}

BOOST_AUTO_TEST_CASE(a_table_with_early_closes_and_the_winter_offset) {
  const auto r = calendar({"--from", "1992-11-25", "--to", "1992-11-30"});
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.output);
  // Thanksgiving (Nov 26) is absent; the day after closed at 14:00 EST in 1992.
  BOOST_TEST(r.output.find("1992-11-25  1992-11-25T14:30:00Z  1992-11-25T21:00:00Z  no") != std::string::npos,
             r.output);
  BOOST_TEST(r.output.find("1992-11-26") == std::string::npos, r.output);
  BOOST_TEST(r.output.find("1992-11-27  1992-11-27T14:30:00Z  1992-11-27T19:00:00Z  yes (day after Thanksgiving)") !=
                 std::string::npos,
             r.output);
  BOOST_TEST(r.output.find("1992-11-30") != std::string::npos, r.output);
}

BOOST_AUTO_TEST_CASE(bad_dates_exit_2_with_a_message) {
  auto r = calendar({"--from", "2001-02-30", "--to", "2001-03-02"});
  BOOST_TEST(r.code == 2);
  BOOST_TEST(r.output.find("--from = \"2001-02-30\" is not a date") != std::string::npos, r.output);
  r = calendar({"--from", "2099-12-01", "--to", "2100-01-05"});
  BOOST_TEST(r.code == 2);
  BOOST_TEST(r.output.find("--to = \"2100-01-05\" is outside the years the NYSE calendar covers (1980-2099)") !=
                 std::string::npos,
             r.output);
  r = calendar({"--from", "2001-09-18", "--to", "2001-09-07"});
  BOOST_TEST(r.code == 2);
  BOOST_TEST(r.output.find("before --from") != std::string::npos, r.output);
}
