#include "common/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <stdexcept>

namespace tpdp {

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
