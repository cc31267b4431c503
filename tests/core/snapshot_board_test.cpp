// core/snapshot_board: whole sections, sections written entry by entry, and the checks.
#define BOOST_TEST_MODULE snapshot_board
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "core/snapshot_board.hpp"

using tb::core::health_check;
using tb::core::health_status;
using tb::core::snapshot_board;
using json = nlohmann::json;

BOOST_AUTO_TEST_CASE(a_whole_section_is_replaced_and_read_back) {
  snapshot_board board;
  BOOST_TEST(board.section("cache") == nullptr);
  board.publish("cache", json{{"hits", 1}});
  board.publish("cache", json{{"hits", 2}});
  BOOST_TEST(*board.section("cache") == (json{{"hits", 2}}));
  BOOST_TEST(board.sections() == (json{{"cache", {{"hits", 2}}}}));
}

BOOST_AUTO_TEST_CASE(entries_make_up_their_section_once_written) {
  snapshot_board board;
  board.publish("symbols", json::object());  // the section before any entry
  BOOST_TEST(*board.section("symbols") == json::object());
  board.publish_entry("symbols", "AAPL", json{{"state", "ok"}});
  board.publish_entry("symbols", "BTCUSD", json{{"state", "stale"}});
  board.publish_entry("symbols", "AAPL", json{{"state", "error"}});  // replaces AAPL's entry only
  const json both = {{"AAPL", {{"state", "error"}}}, {"BTCUSD", {{"state", "stale"}}}};
  BOOST_TEST(*board.section("symbols") == both);
  BOOST_TEST(board.sections() == (json{{"symbols", both}}));
  board.remove_entry("symbols", "AAPL");
  board.remove_entry("symbols", "NOPE");  // not there: nothing happens
  BOOST_TEST(*board.section("symbols") == (json{{"BTCUSD", {{"state", "stale"}}}}));
  board.remove_entry("symbols", "BTCUSD");
  BOOST_TEST(*board.section("symbols") == json::object());  // entries gone: an empty object
  board.remove_entry("other", "x");                         // a section never written stays absent
  BOOST_TEST(board.section("other") == nullptr);
}

BOOST_AUTO_TEST_CASE(reads_while_entries_are_written_see_each_writers_latest_entry_never_an_older_one) {
  snapshot_board board;
  constexpr int writers_n = 4, writes = 3000;
  std::atomic<int> running{writers_n};
  std::vector<std::thread> writers;
  for (int w = 0; w < writers_n; ++w)
    writers.emplace_back([&board, &running, w] {
      for (int i = 0; i < writes; ++i)
        board.publish_entry("symbols", "S" + std::to_string(w), json{{"n", i}, {"w", w}});
      --running;
    });
  std::map<std::string, int> seen;  // each writer's newest n read so far
  int reads_with_entries = 0;
  while (running > 0) {
    const auto section = board.section("symbols");
    if (!section) continue;  // no entry written yet
    ++reads_with_entries;
    for (const auto& [key, doc] : section->items()) {
      BOOST_TEST(doc.at("w").get<int>() == std::stoi(key.substr(1)));  // the key's own document
      const int n = doc.at("n").get<int>();
      BOOST_TEST(n >= seen[key], key << ": read " << n << " after " << seen[key]);
      seen[key] = n;
    }
  }
  for (auto& t : writers) t.join();
  BOOST_TEST(reads_with_entries > 0);
  const auto last = *board.section("symbols");
  BOOST_TEST(last.size() == std::size_t(writers_n));
  for (const auto& [key, doc] : last.items()) BOOST_TEST(doc.at("n") == writes - 1);
}

BOOST_AUTO_TEST_CASE(checks_report_the_worst_status) {
  snapshot_board board;
  health_status worst = health_status::failing;
  BOOST_TEST(board.checks(&worst) == json::object());
  BOOST_TEST((worst == health_status::ok));
  board.publish_check("model", health_check{});
  board.publish_check("symbols", health_check{health_status::degraded, json{{"failing", {{"X", "bad"}}}}});
  const auto checks = board.checks(&worst);
  BOOST_TEST((worst == health_status::degraded));
  BOOST_TEST(checks["symbols"]["status"] == "degraded");
  BOOST_TEST(checks["symbols"]["failing"]["X"] == "bad");
  board.remove_check("symbols");
  board.checks(&worst);
  BOOST_TEST((worst == health_status::ok));
}
