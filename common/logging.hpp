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

// A logger named after the process, to stderr or (log_file not empty) to
// that file, appending; level is one of trace, debug, info, warn, error, off.
// Throws std::invalid_argument for another level, std::runtime_error naming
// the file when it cannot be opened.
Logger make_logger(const std::string& name, const std::string& level,
                   const std::string& log_file = "");

// SIGHUP: opens the logger's file again (after logrotate moved it) and says
// so in the log. Returns false when it logs to stderr (nothing to reopen).
// A failure is logged to the old file and to stderr; logging goes on.
bool reopen_log_file(const Logger& log);

}  // namespace tpdp
