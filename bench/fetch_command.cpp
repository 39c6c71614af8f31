// Bulk throughput: one download, timed from the request to the last checked byte.
#include "bench/commands.hpp"

namespace tpdp::bench {

asio::awaitable<JsonLine> run_fetch(const Options& o) {
  auto ex = co_await asio::this_coro::executor;
  const StreamPattern pattern;
  std::vector<std::uint8_t> buf(o.read_buffer);
  double secs = 0;
  if (o.tcp_port != 0) {
    tcp::socket socket(ex);
    tcp::endpoint where(asio::ip::make_address("127.0.0.1"), o.tcp_port);
    co_await socket.async_connect(where, asio::use_awaitable);
    auto start = Clock::now();
    co_await fetch_checked(socket, o.bytes, 0, buf, pattern);
    secs = seconds_since(start);
  } else {
    auto path = co_await path_by_ports(o.pool, o.paths.at(0));
    Circuit circuit(ex);
    co_await build_circuit(circuit, path, o.dest_port);
    auto start = Clock::now();
    co_await fetch_checked(circuit, o.bytes, 0, buf, pattern);
    secs = seconds_since(start);
    co_await finish_circuit(circuit, std::chrono::seconds(5));
  }
  JsonLine out;
  out.add("bytes", static_cast<double>(o.bytes))
      .add("seconds", secs)
      .add("mb_per_s", static_cast<double>(o.bytes) / secs / 1e6);
  co_return out;
}

}  // namespace tpdp::bench
