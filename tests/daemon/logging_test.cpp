// The daemon's log format: sd-daemon priority prefixes and no timestamp when stderr is the
// journal (JOURNAL_STREAM names fd 2's device and inode), the timestamped format otherwise.
#define BOOST_TEST_MODULE logging
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <regex>
#include <sstream>
#include <string>

#include <spdlog/spdlog.h>
#include <boost/test/unit_test.hpp>

#include "daemon/logging.hpp"
#include "tests/support/process.hpp"

namespace {

// Runs setup_logging with fd 2 on a fresh file and JOURNAL_STREAM as `journal_stream` returns
// for that file ("" unsets it), logs one line per level, and returns the file's text.
template <class F>
std::string logged(F journal_stream) {
  tb::test::temp_dir dir;
  const auto path = dir.path / "stderr.log";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  BOOST_REQUIRE(fd >= 0);
  struct stat st {};
  BOOST_REQUIRE(::fstat(fd, &st) == 0);
  const std::string stream = journal_stream(st);
  if (stream.empty())
    ::unsetenv("JOURNAL_STREAM");
  else
    ::setenv("JOURNAL_STREAM", stream.c_str(), 1);

  std::fflush(stderr);
  const int saved = ::dup(STDERR_FILENO);
  ::dup2(fd, STDERR_FILENO);
  const bool journal = tb::daemon::stderr_is_journal();
  tb::daemon::setup_logging();
  tb::daemon::set_log_level("debug");
  spdlog::debug("d-line");
  spdlog::info("i-line");
  spdlog::warn("w-line");
  spdlog::error("e-line");
  spdlog::critical("c-line");
  spdlog::default_logger()->flush();
  std::fflush(stderr);
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  ::close(fd);
  ::unsetenv("JOURNAL_STREAM");
  BOOST_TEST_MESSAGE("stderr_is_journal: " << journal);

  return tb::test::read_file(path);
}

std::string dev_ino(const struct stat& st) { return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino); }

}  // namespace

BOOST_AUTO_TEST_CASE(journal_lines_carry_priorities_and_no_timestamp) {
  const std::string text = logged([](const struct stat& st) { return dev_ino(st); });
  BOOST_TEST(text ==
                 "<7>[debug] d-line\n<6>[info] i-line\n<4>[warning] w-line\n<3>[error] e-line\n"
                 "<2>[critical] c-line\n",
             text);
}

BOOST_AUTO_TEST_CASE(without_the_journal_the_format_is_timestamped) {
  const std::regex line(
      R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \[(debug|info|warning|error|critical)\] [dicwe]-line)");
  for (auto stream :
       {+[](const struct stat&) { return std::string(); },
        // inherited by a process whose stderr is elsewhere: another inode
        +[](const struct stat& st) { return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1); },
        +[](const struct stat&) { return std::string("garbage"); }}) {
    const std::string text = logged(stream);
    std::istringstream lines(text);
    int n = 0;
    for (std::string l; std::getline(lines, l); ++n) BOOST_TEST(std::regex_match(l, line), l);
    BOOST_TEST(n == 5, text);
  }
}
