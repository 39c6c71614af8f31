// A log sink writing to a file that can be reopened (SIGHUP after logrotate
// moved it): each line is one write() on an O_APPEND descriptor, so nothing
// is buffered and lines from a crash are not lost.
#pragma once

#include <spdlog/sinks/base_sink.h>

#include <mutex>
#include <string>

namespace tpdp {

class LogFileSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  // Opens (creating with mode 0640) or throws std::runtime_error naming the file.
  explicit LogFileSink(std::string path);
  ~LogFileSink() override;
  LogFileSink(const LogFileSink&) = delete;
  LogFileSink& operator=(const LogFileSink&) = delete;

  // Opens the path again (a new file if the old one was moved away). On
  // failure keeps writing to the old descriptor and throws.
  void reopen();
  const std::string& path() const { return path_; }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace tpdp
