// Loggers: one per process, passed down explicitly (no global logger).
// Payload bytes are never logged.
#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <string>

namespace tpdp {

using Logger = std::shared_ptr<spdlog::logger>;

// A warning that may repeat very often (refused connections under a flood):
// logged at most once per interval, with a count of the ones not logged.
class ThrottledWarning {
 public:
  explicit ThrottledWarning(Logger log,
                            std::chrono::steady_clock::duration every = std::chrono::seconds(1))
      : log_(std::move(log)), every_(every) {}
  void operator()(const std::string& what);

 private:
  Logger log_;
  std::chrono::steady_clock::duration every_;
  std::chrono::steady_clock::time_point last_{};
  std::size_t unlogged_ = 0;
};

// A stderr logger named after the process; level is one of
// trace, debug, info, warn, error, off. Throws std::invalid_argument otherwise.
Logger make_logger(const std::string& name, const std::string& level);

}  // namespace tpdp
