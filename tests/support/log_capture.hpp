#pragma once
// Routes the default spdlog logger into a string for the lifetime of the object, so a test can
// check what was logged (and how often). Construct and destroy it on the test's thread; text()
// is safe once the threads that log have finished or are quiet.
#include <memory>
#include <sstream>
#include <string>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

namespace tb::test {

struct log_capture {
  std::ostringstream out;
  std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
  log_capture() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    auto logger = std::make_shared<spdlog::logger>("capture", sink);
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
  }
  ~log_capture() { spdlog::set_default_logger(previous); }
  log_capture(const log_capture&) = delete;
  log_capture& operator=(const log_capture&) = delete;
  std::string text() {
    spdlog::default_logger()->flush();
    return out.str();
  }
};

}  // namespace tb::test
