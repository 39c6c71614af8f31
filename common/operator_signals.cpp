#include "common/operator_signals.hpp"

#include <csignal>

namespace tpdp {

OperatorSignals::OperatorSignals(asio::any_io_executor ex, Logger log, StopHandler on_stop)
    : signals_(ex, SIGINT, SIGTERM, SIGHUP), log_(std::move(log)), on_stop_(std::move(on_stop)) {
  wait();
}

void OperatorSignals::cancel() {
  cancelled_ = true;  // also when called from on_stop: no new wait after it
  std::error_code ec;
  signals_.cancel(ec);
}

void OperatorSignals::wait() {
  signals_.async_wait([this](std::error_code ec, int sig) {
    if (ec || cancelled_) return;
    if (sig == SIGHUP) {
      if (!reopen_log_file(log_)) log_->info("SIGHUP: logging to stderr, no log file to reopen");
    } else {
      on_stop_(sig, ++stops_);
    }
    if (!cancelled_) wait();
  });
}

}  // namespace tpdp
