#include "common/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <unistd.h>

#include <iostream>
#include <stdexcept>
#include <string>

#include "common/log_file_sink.hpp"

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

Logger make_logger(const std::string& name, const std::string& level, const std::string& log_file) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    throw std::invalid_argument("unknown log level '" + level +
                                "' (use trace, debug, info, warn, error or off)");
  }
  spdlog::sink_ptr sink;
  if (log_file.empty()) {
    sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  } else {
    sink = std::make_shared<LogFileSink>(log_file);
  }
  auto logger = std::make_shared<spdlog::logger>(name, std::move(sink));
  // The pid written in, not %P: that costs a getpid() system call per line.
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %n[" + std::to_string(::getpid()) + "] %^%l%$: %v");
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::info);
  return logger;
}

bool reopen_log_file(const Logger& log) {
  bool reopened = false;
  for (auto& sink : log->sinks()) {
    auto file = std::dynamic_pointer_cast<LogFileSink>(sink);
    if (!file) continue;
    try {
      file->reopen();
      reopened = true;
      log->info("SIGHUP: reopened log file {}", file->path());
    } catch (const std::exception& e) {
      log->error("SIGHUP: {}; still writing to the old file", e.what());
      std::cerr << log->name() << ": error: " << e.what() << "\n";
    }
  }
  return reopened;
}

}  // namespace tpdp
