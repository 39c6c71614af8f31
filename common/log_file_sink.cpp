#include "common/log_file_sink.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace tpdp {
namespace {

int open_log(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    throw std::runtime_error("cannot open log file " + path + ": " + std::strerror(errno));
  }
  return fd;
}

}  // namespace

LogFileSink::LogFileSink(std::string path) : path_(std::move(path)), fd_(open_log(path_)) {}

LogFileSink::~LogFileSink() {
  if (fd_ >= 0) ::close(fd_);
}

void LogFileSink::reopen() {
  std::lock_guard<std::mutex> lock(mutex_);
  int fd = open_log(path_);
  ::close(fd_);
  fd_ = fd;
}

void LogFileSink::sink_it_(const spdlog::details::log_msg& msg) {
  spdlog::memory_buf_t line;
  formatter_->format(msg, line);
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // disk full: the line is lost, the program goes on
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace tpdp
