// A node and a client in one process, on loopback: what an idle relaying
// circuit holds, and that the node's idle sweeper ends it. Real sockets and
// the real NodeServer; every wait is bounded.
#include <sodium.h>

#include <catch2/catch.hpp>

#include <asio.hpp>
#include <chrono>
#include <optional>

#include "client/circuit.hpp"
#include "common/logging.hpp"
#include "common/net.hpp"
#include "node/node_server.hpp"
#include "protocol/identity.hpp"

using namespace tpdp;
using namespace std::chrono_literals;

namespace {

// Echoes one connection until EOF or an error.
asio::awaitable<void> echo_once(tcp::acceptor& acceptor) {
  auto socket = co_await acceptor.async_accept(asio::use_awaitable);
  std::array<std::uint8_t, 4096> buf;
  for (;;) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), use_tuple);
    if (ec) co_return;
    auto [wec, w] = co_await asio::async_write(socket, asio::buffer(buf.data(), n), use_tuple);
    if (wec) co_return;
  }
}

// Polls until cond() holds or `bound` passes; returns cond().
template <class Cond>
asio::awaitable<bool> eventually(Cond cond, std::chrono::milliseconds bound) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  auto until = std::chrono::steady_clock::now() + bound;
  while (!cond() && std::chrono::steady_clock::now() < until) {
    t.expires_after(10ms);
    co_await t.async_wait(asio::use_awaitable);
  }
  co_return cond();
}

}  // namespace

TEST_CASE("an idle relaying circuit holds no relay buffer and the idle sweeper ends it",
          "[relay]") {
  REQUIRE(sodium_init() >= 0);
  asio::io_context io(1);
  NodeConfig config;
  config.listen = HostPort{"127.0.0.1", 0};
  config.exit_policy = default_exit_policy({}, true);  // lab: exits to loopback allowed
  config.idle_timeout = 300ms;
  NodeKeys keys{IdentityKeypair::generate(), OnionKeypair::generate()};
  NodeDescriptor self{keys.identity.public_key, keys.onion.public_key, "127.0.0.1", 0};
  NodeServer node(io.get_executor(), config, std::move(keys), make_logger("test-node", "off"));
  self.port = node.local_endpoint().port();
  tcp::acceptor echo(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::uint16_t echo_port = echo.local_endpoint().port();

  bool finished = false;
  std::size_t buffers_while_idle = 99, relaying_while_idle = 0, relaying_after = 99;
  std::size_t active_after = 99;
  bool ended_by_sweeper = false, read_failed = false;
  std::string echoed;
  auto scenario = [&]() -> asio::awaitable<void> {
    Circuit circuit(io.get_executor());
    co_await circuit.connect(self);
    const std::string host = "127.0.0.1";  // named: no temporaries into co_await (GCC 12)
    co_await circuit.begin(host, echo_port);
    std::string sent(20000, 'x');
    for (std::size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<char>('a' + i % 26);
    co_await asio::async_write(circuit, asio::buffer(sent), asio::use_awaitable);
    echoed.resize(sent.size());
    co_await asio::async_read(circuit, asio::buffer(echoed), asio::use_awaitable);
    CHECK(echoed == sent);
    // Once the bytes are through, both directions wait for more without a buffer.
    co_await eventually([&] { return node.buffers_in_use() == 0; }, 2000ms);
    buffers_while_idle = node.buffers_in_use();
    relaying_while_idle = node.relaying_circuits();
    // Nothing moves: after the idle timeout (300 ms) the sweeper ends the circuit.
    ended_by_sweeper = co_await eventually([&] { return node.relaying_circuits() == 0; }, 5000ms);
    relaying_after = node.relaying_circuits();
    active_after = node.active_circuits();
    std::array<std::uint8_t, 16> sink;
    auto [ec, n] = co_await circuit.async_read_some(
        asio::buffer(sink), asio::experimental::as_tuple(asio::use_awaitable));
    read_failed = static_cast<bool>(ec);
    node.stop();
    finished = true;
  };
  asio::co_spawn(io, node.run(), asio::detached);
  asio::co_spawn(io, echo_once(echo), asio::detached);
  asio::steady_timer watchdog(io, 15s);
  watchdog.async_wait([&](std::error_code ec) {
    if (!ec) io.stop();  // a hang fails the test instead of blocking it
  });
  std::string error;
  asio::co_spawn(io, scenario(), [&](std::exception_ptr e) {
    watchdog.cancel();
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      error = ex.what();
    }
  });
  io.run_for(20s);
  CHECK(error == "");
  REQUIRE(finished);
  CHECK(buffers_while_idle == 0);
  CHECK(relaying_while_idle == 1);
  CHECK(ended_by_sweeper);
  CHECK(relaying_after == 0);
  CHECK(active_after == 0);
  CHECK(read_failed);  // the circuit was cut, not ended cleanly
}
