// tpdp-client cat: netcat through a circuit. stdin -> destination,
// destination -> stdout, half-close carried both ways.
#include <fcntl.h>
#include <unistd.h>

#include <asio/experimental/awaitable_operators.hpp>

#include "client/cli_common.hpp"
#include "common/net.hpp"

namespace tpdp::cli {
namespace {

// Restores a descriptor's flags (Asio makes it non-blocking; the shell's tty must not stay so).
class FlagsGuard {
 public:
  explicit FlagsGuard(int fd) : fd_(fd), flags_(::fcntl(fd, F_GETFL)) {}
  ~FlagsGuard() {
    if (flags_ >= 0) ::fcntl(fd_, F_SETFL, flags_);
  }

 private:
  int fd_, flags_;
};

asio::awaitable<void> upload(asio::posix::stream_descriptor& in, Circuit& circuit,
                             const bool& stopped) {
  std::vector<std::uint8_t> buf(kMaxFramePayload);
  for (;;) {
    auto [ec, n] = co_await in.async_read_some(asio::buffer(buf), use_tuple);
    // operation_aborted: the destination closed first and download() stopped us.
    if (ec == asio::error::eof || ec == asio::error::operation_aborted) break;
    if (ec) throw std::system_error(ec, "reading standard input");
    co_await asio::async_write(circuit, asio::buffer(buf.data(), n), asio::use_awaitable);
  }
  auto [ec] = co_await circuit.async_shutdown_send(use_tuple);
  if (ec && !stopped) throw std::system_error(ec, "ending the stream");
}

// Like netcat, ends when the destination has closed: stdin is no longer read.
asio::awaitable<void> download(Circuit& circuit, asio::posix::stream_descriptor& out,
                               asio::posix::stream_descriptor& in, bool& stopped) {
  std::vector<std::uint8_t> buf(4 * kMaxFramePayload);
  for (;;) {
    auto [ec, n] = co_await circuit.async_read_some(asio::buffer(buf), use_tuple);
    if (ec == asio::error::eof) {
      stopped = true;
      std::error_code ignored;
      in.cancel(ignored);
      co_return;
    }
    if (ec) {
      std::string detail = circuit.last_error_detail();
      throw CircuitError(
          ec.category() == tpdp_category() ? static_cast<Errc>(ec.value())
                                           : Errc::circuit_truncated,
          0, "stream failed: " + ec.message() + (detail.empty() ? "" : " (" + detail + ")"));
    }
    co_await asio::async_write(out, asio::buffer(buf.data(), n), asio::use_awaitable);
  }
}

asio::awaitable<void> cat(Client& client, const Options& options, const std::string& host,
                          std::uint16_t port) {
  using namespace asio::experimental::awaitable_operators;
  auto ex = co_await asio::this_coro::executor;
  co_await build_path(client, options, host, port);
  asio::posix::stream_descriptor in(ex, ::dup(STDIN_FILENO));
  asio::posix::stream_descriptor out(ex, ::dup(STDOUT_FILENO));
  bool stopped = false;
  std::exception_ptr upload_error;
  auto guarded_upload = [&]() -> asio::awaitable<void> {
    // An upload failure is reported after the download's, which says more
    // (the exit's ERROR reason, truncation, integrity).
    try {
      co_await upload(in, client.circuit(), stopped);
    } catch (...) {
      upload_error = std::current_exception();
    }
  };
  co_await (guarded_upload() && download(client.circuit(), out, in, stopped));
  if (upload_error) std::rethrow_exception(upload_error);
}

}  // namespace

int run_cat(const Options& options, const std::string& host, std::uint16_t port) {
  FlagsGuard in_flags(STDIN_FILENO), out_flags(STDOUT_FILENO);
  asio::io_context io;
  Client client(io.get_executor(), {options.data_dir, options.timeout, warn, options.protocol});
  std::exception_ptr failure;
  asio::co_spawn(io, cat(client, options, host, port), [&](std::exception_ptr e) { failure = e; });
  io.run();
  if (failure) std::rethrow_exception(failure);
  return 0;
}

}  // namespace tpdp::cli
