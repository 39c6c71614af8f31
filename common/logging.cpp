#include "common/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <asio/steady_timer.hpp>

#include <unistd.h>

#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>

#include "common/log_file_sink.hpp"

namespace tpdp {

struct ThrottledWarning::State {
  Logger log;
  std::chrono::steady_clock::duration every;
  std::optional<asio::any_io_executor> ex;  // none: no summary of a burst that ends
  std::chrono::steady_clock::time_point last{};
  std::size_t unlogged = 0;
  std::string last_unlogged;                  // the latest warning not logged
  std::weak_ptr<asio::steady_timer> summary;  // pending summary; its handler owns it

  void write(const std::string& what) {
    if (unlogged > 0) {
      log->warn("{} ({} more like it not logged)", what, unlogged);
    } else {
      log->warn("{}", what);
    }
    unlogged = 0;
    last_unlogged.clear();
    last = std::chrono::steady_clock::now();
  }
};

namespace {
// One interval after the last line, writes the latest warning not logged
// with the count of the others. The handler owns the timer, so that an
// io_context destroyed first takes the timer with it; a ThrottledWarning
// destroyed first leaves only a weak reference behind.
void wait_for_summary(std::shared_ptr<asio::steady_timer> timer,
                      std::weak_ptr<ThrottledWarning::State> weak) {
  auto& t = *timer;
  t.async_wait([timer = std::move(timer), weak = std::move(weak)](std::error_code ec) mutable {
    auto s = weak.lock();
    if (ec || !s || s->unlogged == 0) return;
    auto due = s->last + s->every;
    if (std::chrono::steady_clock::now() < due) {
      // A line was written meanwhile: the interval starts again from it.
      timer->expires_at(due);
      wait_for_summary(std::move(timer), std::move(weak));
      return;
    }
    --s->unlogged;  // the one written now
    s->write(s->last_unlogged);
  });
}
}  // namespace

ThrottledWarning::ThrottledWarning(Logger log, std::chrono::steady_clock::duration every)
    : state_(std::make_shared<State>(State{std::move(log), every, std::nullopt})) {}

ThrottledWarning::ThrottledWarning(Logger log, asio::any_io_executor ex,
                                   std::chrono::steady_clock::duration every)
    : state_(std::make_shared<State>(State{std::move(log), every, std::move(ex)})) {}

ThrottledWarning::~ThrottledWarning() {
  if (!state_) return;  // moved from
  if (auto timer = state_->summary.lock()) timer->cancel();
}

void ThrottledWarning::operator()(const std::string& what) {
  auto& s = *state_;
  auto now = std::chrono::steady_clock::now();
  if (s.last == std::chrono::steady_clock::time_point{} || now - s.last >= s.every) {
    s.write(what);
    return;
  }
  ++s.unlogged;
  s.last_unlogged = what;
  if (s.ex && s.summary.expired()) {
    auto timer = std::make_shared<asio::steady_timer>(*s.ex, s.last + s.every);
    s.summary = timer;
    wait_for_summary(std::move(timer), state_);
  }
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
