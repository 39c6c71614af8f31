// Loggers: one per process, passed down explicitly (no global logger).
// Payload bytes are never logged.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace tpdp {

using Logger = std::shared_ptr<spdlog::logger>;

// A stderr logger named after the process; level is one of
// trace, debug, info, warn, error, off. Throws std::invalid_argument otherwise.
Logger make_logger(const std::string& name, const std::string& level);

}  // namespace tpdp
