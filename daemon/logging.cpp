#include "daemon/logging.hpp"

#include <cstdlib>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace tb::daemon {

void setup_logging() {
  auto logger = spdlog::stderr_logger_mt("tradebotd");
  if (std::getenv("JOURNAL_STREAM")) {
    logger->set_pattern("[%l] %v");
  } else {
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e [%l] %v");
  }
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

void set_log_level(const std::string& level) { spdlog::set_level(spdlog::level::from_str(level)); }

}  // namespace tb::daemon
