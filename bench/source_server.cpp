// tpdp-bench-source: the destination of every benchmark stream. Listens on
// 127.0.0.1 (port 0 = any free port, printed on the first line of stdout),
// and on each connection answers requests (bench/stream_pattern.hpp: length,
// start) with that many bytes of the deterministic stream, until the peer
// closes. A connection that asks nothing just stays open (idle circuits).
// Writes straight from the pattern: no copy, no per-request allocation.
// Single-threaded; ends on SIGINT/SIGTERM or after --lifetime seconds.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <iostream>

#include "bench/stream_pattern.hpp"

namespace {

using asio::ip::tcp;
using tpdp::bench::StreamPattern;
using tpdp::bench::StreamRequest;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::size_t kWriteChunk = 256 * 1024;  // < kPeriod: one contiguous slice

asio::awaitable<void> serve(tcp::socket socket, const StreamPattern& pattern) {
  // Each pass answers one request; the loop ends at the peer's EOF or any error.
  for (;;) {
    std::uint8_t raw[StreamRequest::kSize];
    auto [ec, n] = co_await asio::async_read(socket, asio::buffer(raw), use_tuple);
    if (ec) co_return;
    StreamRequest request = StreamRequest::decode(raw);
    if (request.length > StreamRequest::kMaxLength) co_return;
    std::uint64_t pos = request.start, left = request.length;
    while (left > 0) {
      std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(left, kWriteChunk));
      auto [wec, written] =
          co_await asio::async_write(socket, asio::buffer(pattern.at(pos), chunk), use_tuple);
      if (wec) co_return;
      pos += chunk;
      left -= chunk;
    }
  }
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, const StreamPattern& pattern) {
  auto ex = co_await asio::this_coro::executor;
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // Out of descriptors or similar: wait a little rather than spin.
      std::cerr << "tpdp-bench-source: accept: " << ec.message() << "\n";
      asio::steady_timer pause(ex, std::chrono::milliseconds(50));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    asio::co_spawn(ex, serve(std::move(socket), pattern), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tpdp-bench-source: serves the benchmark's deterministic stream on 127.0.0.1"};
  std::uint16_t port = 0;
  double lifetime = 3600;
  app.add_option("--port", port, "Port to listen on (0: any free port)")->capture_default_str();
  app.add_option("--lifetime", lifetime, "Seconds after which the server exits on its own")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  // Thousands of idle circuits end here: allow as many descriptors as the hard limit.
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }

  const StreamPattern pattern;
  asio::io_context io(1);
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  acceptor.listen(asio::socket_base::max_listen_connections);
  std::cout << acceptor.local_endpoint().port() << std::endl;

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](std::error_code, int) { io.stop(); });
  asio::steady_timer end_of_life(io, std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::duration<double>(lifetime)));
  end_of_life.async_wait([&](std::error_code ec) {
    if (!ec) io.stop();
  });
  asio::co_spawn(io, accept_loop(acceptor, pattern), asio::detached);
  io.run();
  return 0;
}
