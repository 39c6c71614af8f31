#include "common/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <stdexcept>

namespace tpdp {

void ThrottledWarning::operator()(const std::string& what) {
  auto now = std::chrono::steady_clock::now();
  if (last_ != std::chrono::steady_clock::time_point{} && now - last_ < every_) {
    ++unlogged_;
    return;
  }
  if (unlogged_ > 0) {
    log_->warn("{} ({} more like it not logged)", what, unlogged_);
  } else {
    log_->warn("{}", what);
  }
  unlogged_ = 0;
  last_ = now;
}

Logger make_logger(const std::string& name, const std::string& level) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    throw std::invalid_argument("unknown log level '" + level +
                                "' (use trace, debug, info, warn, error or off)");
  }
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>(name, sink);
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %n[%P] %^%l%$: %v");
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::info);
  return logger;
}

}  // namespace tpdp
