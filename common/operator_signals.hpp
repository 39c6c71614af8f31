// The signals an operator (or systemd) sends a long-running tpdp program,
// handled the same way by each: SIGTERM and SIGINT ask it to stop (a second
// one asks it to stop now), SIGHUP reopens the log file.
#pragma once

#include <asio.hpp>
#include <functional>

#include "common/logging.hpp"

namespace tpdp {

class OperatorSignals {
 public:
  // on_stop(signal, count): count is 1 for the first SIGTERM/SIGINT, 2 for
  // the next, and so on.
  using StopHandler = std::function<void(int signal, int count)>;

  OperatorSignals(asio::any_io_executor ex, Logger log, StopHandler on_stop);
  // Stops listening: the io_context can then run out of work.
  void cancel();

 private:
  void wait();

  asio::signal_set signals_;
  Logger log_;
  StopHandler on_stop_;
  int stops_ = 0;
  bool cancelled_ = false;
};

}  // namespace tpdp
