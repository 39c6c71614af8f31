// peer_has_closed on real loopback sockets: false while the peer is open
// (with or without unread bytes), true once it closed and nothing unread
// comes first, true after a reset. Nothing is consumed by the check.
#include <catch2/catch.hpp>

#include <asio.hpp>
#include <chrono>
#include <thread>

#include "common/net.hpp"

using namespace tpdp;
using namespace std::chrono_literals;

namespace {

struct Pair {
  asio::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  tcp::socket client{io};
  tcp::socket server{io};
  Pair() {
    client.connect(acceptor.local_endpoint());
    server = acceptor.accept();
  }
};

// The peer's FIN or RST reaches us asynchronously: poll, bounded.
bool becomes_closed(tcp::socket& s) {
  for (int i = 0; i < 100; ++i) {
    if (peer_has_closed(s)) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

}  // namespace

TEST_CASE("peer_has_closed: open, unread bytes, then EOF, nothing consumed") {
  Pair p;
  CHECK_FALSE(peer_has_closed(p.server));
  asio::write(p.client, asio::buffer("CREATE", 6));
  p.client.shutdown(tcp::socket::shutdown_send);
  std::this_thread::sleep_for(50ms);
  // Bytes come before the end of stream: not "closed" yet, and still there.
  CHECK_FALSE(peer_has_closed(p.server));
  char buf[16];
  CHECK(p.server.read_some(asio::buffer(buf)) == 6);
  CHECK(becomes_closed(p.server));
}

TEST_CASE("peer_has_closed: a reset counts as closed") {
  Pair p;
  p.client.set_option(asio::socket_base::linger(true, 0));
  p.client.close();  // linger 0: RST
  CHECK(becomes_closed(p.server));
}
