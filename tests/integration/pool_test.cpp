// The pool against hostile peers: forged, squatting and replayed heartbeats, garbage.
#include <catch2/catch.hpp>

#include "client/pool_client.hpp"
#include "common/message_io.hpp"
#include "common/net.hpp"
#include "fake_nodes.hpp"
#include "harness.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include "node/heartbeat.hpp"
#include "protocol/identity.hpp"

using namespace tpdp;
using namespace tpdp::test;

namespace {

PoolAddress pool_of(const Network& net) {
  std::string err;
  return *parse_pool_address(net.pool_address(), &err);
}

std::vector<NodeDescriptor> list_of(const Network& net) {
  auto pool = pool_of(net);
  return run_io(20, [&] { return fetch_node_list(pool, nullptr, std::chrono::seconds(5)); }).nodes;
}

NodeDescriptor descriptor(const NodeKeys& k, std::uint16_t port) {
  return {k.identity.public_key, k.onion.public_key, "127.0.0.1", port};
}

}  // namespace

TEST_CASE("a heartbeat signed with another key cannot refresh or move a node") {
  TempDir dir;
  Network net(dir);
  net.add_node();
  REQUIRE(net.wait_for_nodes(1));
  auto victim = list_of(net).at(0);
  auto pool = pool_of(net);

  // Claim the victim's identity with a different address, signed by an attacker key.
  NodeKeys attacker{IdentityKeypair::generate(), OnionKeypair::generate()};
  NodeDescriptor forged = victim;
  forged.port = 1;
  auto reply = run_io(20, [&] {
    return send_heartbeat(pool, forged, attacker.identity.secret_key, std::chrono::seconds(5));
  });
  CHECK(reply.status == Errc::bad_signature);

  // Register the attacker's own key at the victim's address: the pool's
  // proof reaches the victim, which answers 07 for the attacker's identity.
  NodeDescriptor squat = descriptor(attacker, victim.port);
  auto reply2 = run_io(20, [&] {
    return send_heartbeat(pool, squat, attacker.identity.secret_key, std::chrono::seconds(5));
  });
  CHECK(reply2.status == Errc::unknown_identity);

  auto after = list_of(net);
  REQUIRE(after.size() == 1);
  CHECK(after[0] == victim);
}

TEST_CASE("a recorded heartbeat cannot be replayed") {
  TempDir dir;
  Network net(dir);
  auto pool = pool_of(net);
  NodeKeys keys{IdentityKeypair::generate(), OnionKeypair::generate()};
  FakeNode answering(keys);  // passes the pool's address proof
  NodeDescriptor self = descriptor(keys, answering.port());

  // A genuine exchange, recorded.
  Bytes recorded;
  auto genuine = [&]() -> asio::awaitable<HeartbeatReply> {
    auto socket = co_await connect_to(pool.address, std::chrono::seconds(5));
    co_await write_message(socket, PoolRequest{PoolCommand::heartbeat});
    Bytes pending;
    auto challenge = co_await read_message<HeartbeatChallenge>(socket, pending, 32);
    SignedHeartbeat hb{self, sign_detached(keys.identity.secret_key,
                                           heartbeat_signed_bytes(challenge.challenge, self))};
    recorded = encode_to_bytes(hb);
    co_await write_message(socket, hb);
    co_return co_await read_message<HeartbeatReply>(socket, pending, 3);
  };
  CHECK(run_io(20, genuine).status == Errc::ok);
  REQUIRE(net.wait_for_nodes(1, 2s));

  // The same bytes on a new connection meet a new challenge.
  auto replay = [&]() -> asio::awaitable<HeartbeatReply> {
    auto socket = co_await connect_to(pool.address, std::chrono::seconds(5));
    co_await write_message(socket, PoolRequest{PoolCommand::heartbeat});
    Bytes pending;
    co_await read_message<HeartbeatChallenge>(socket, pending, 32);
    co_await asio::async_write(socket, asio::buffer(recorded), asio::use_awaitable);
    co_return co_await read_message<HeartbeatReply>(socket, pending, 3);
  };
  CHECK(run_io(20, replay).status == Errc::bad_signature);
}

TEST_CASE("garbage to the pool or a node closes that connection and both keep working") {
  TempDir dir;
  Network net(dir);
  net.add_node();
  REQUIRE(net.wait_for_nodes(1));
  bool closed = false;
  // The pool closes a request it cannot parse, without a reply.
  CHECK(raw_exchange(net.pool_port(), "GET / HTTP/1.0\r\n\r\n", 5s, &closed).empty());
  CHECK(closed);
  // A node answers a bad CREATE with the protocol_error status byte, then closes.
  CHECK(raw_exchange(net.node_port(0), "GET / HTTP/1.0\r\n\r\n", 5s, &closed) == "\x02");
  CHECK(closed);
  // A truncated CREATE meets the handshake timeout, not a hang (lab: as configured).
  CHECK(net.listed_nodes() == 1);
  TcpServer echo(echo_handler);
  auto r =
      net.client({"--hops", "1", "cat", "127.0.0.1", std::to_string(echo.port())}, "still fine");
  CHECK(r.exit_code == 0);
  CHECK(r.out == "still fine");
}

TEST_CASE("a node that answers CREATE without the key fails authentication") {
  TempDir dir;
  Network net(dir, {"--expiry", "60"});
  net.add_node();
  REQUIRE(net.wait_for_nodes(1));
  std::uint16_t port = net.node_port(0);
  net.node(0).signal(SIGKILL);
  REQUIRE(net.node(0).wait_exit(5s));
  // A hostile relay on the listed address: reads CREATE, answers a made-up CREATED.
  TcpServer fake(
      [](int fd) {
        char create[68];
        std::size_t got = 0;
        while (got < sizeof create) {
          ssize_t n = ::recv(fd, create + got, sizeof create - got, 0);
          if (n <= 0) return;
          got += static_cast<std::size_t>(n);
        }
        std::string created = std::string(1, '\0') + random_bytes(64);
        send_all(fd, created.data(), created.size());
        char sink[256];
        while (::recv(fd, sink, sizeof sink, 0) > 0) {
        }
      },
      port);
  auto r = net.client({"--hops", "1", "cat", "127.0.0.1", "9"}, "", 20s);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("hop 1 (127.0.0.1:" + std::to_string(port)) != std::string::npos);
  CHECK(r.err.find("authentication failed") != std::string::npos);
}
