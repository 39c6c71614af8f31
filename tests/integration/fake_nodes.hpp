// Registrations made by hand, for the pool tests: a heartbeat exchange from
// a chosen source address (127.0.0.N), and a stand-in node that answers the
// pool's address proof (CREATE -> CREATED) for the identities it holds.
#pragma once

#include <sys/socket.h>

#include <asio.hpp>
#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/deadline.hpp"
#include "common/message_io.hpp"
#include "common/net.hpp"
#include "harness.hpp"
#include "protocol/circuit_messages.hpp"
#include "protocol/identity.hpp"
#include "protocol/ntor.hpp"
#include "protocol/pool_messages.hpp"

namespace tpdp::test {

// Runs the coroutine make() returns on an io_context of its own for at most
// `seconds`, and returns its result (rethrows its exception; fails the test
// if it did not finish).
template <class F>
auto run_io(int seconds, F make) {
  asio::io_context io;
  using R = typename decltype(make())::value_type;
  std::optional<R> result;
  std::exception_ptr failure;
  auto task = [&]() -> asio::awaitable<void> { result.emplace(co_await make()); };
  asio::co_spawn(io, task(), [&](std::exception_ptr e) { failure = e; });
  io.run_for(std::chrono::seconds(seconds));
  if (failure) std::rethrow_exception(failure);
  REQUIRE(result);
  return std::move(*result);
}

inline NodeKeys fresh_node_keys() {
  return {IdentityKeypair::generate(), OnionKeypair::generate()};
}

inline NodeDescriptor descriptor_at(const NodeKeys& k, const std::string& host,
                                    std::uint16_t port) {
  return {k.identity.public_key, k.onion.public_key, host, port};
}

// One heartbeat exchange with the pool at 127.0.0.1:pool_port, from a
// socket bound to `source` (e.g. "127.0.0.7"); the reply, or throws.
inline asio::awaitable<HeartbeatReply> heartbeat_from(std::string source, std::uint16_t pool_port,
                                                      NodeDescriptor self, IdentitySecretKey key) {
  auto exchange = [&]() -> asio::awaitable<HeartbeatReply> {
    tcp::socket socket(co_await asio::this_coro::executor);
    socket.open(tcp::v4());
    socket.bind(tcp::endpoint(asio::ip::make_address(source), 0));
    tcp::endpoint pool(asio::ip::make_address("127.0.0.1"), pool_port);
    co_await socket.async_connect(pool, asio::use_awaitable);
    co_await write_message(socket, PoolRequest{PoolCommand::heartbeat});
    Bytes pending;
    auto challenge = co_await read_message<HeartbeatChallenge>(socket, pending, 32);
    SignedHeartbeat hb{self, sign_detached(key, heartbeat_signed_bytes(challenge.challenge, self))};
    co_await write_message(socket, hb);
    co_return co_await read_message<HeartbeatReply>(socket, pending, 3);
  };
  co_return co_await with_deadline(exchange(), std::chrono::seconds(12));
}

// Reads CREATE and answers as a node holding `keys` would (spec 6.3):
// CREATED for an identity it holds, 07 for any other, then closes.
using OnionKeys = std::map<IdentityPublicKey, std::shared_ptr<const OnionKeypair>>;

inline void answer_create(int fd, const OnionKeys& keys) {
  std::uint8_t create[kCreateSize];
  std::size_t got = 0;
  while (got < sizeof create) {
    ssize_t n = ::recv(fd, create + got, sizeof create - got, 0);
    if (n <= 0) return;
    got += static_cast<std::size_t>(n);
  }
  auto decoded = decode_exact<CreateMsg>(ByteView(create, sizeof create));
  if (!is_value(decoded)) return;
  auto msg = std::get<CreateMsg>(decoded);
  auto it = keys.find(msg.node_id);
  Bytes created;
  if (it == keys.end()) {
    created = encode_to_bytes(CreatedMsg{Errc::unknown_identity, {}, {}});
  } else {
    auto reply = ntor_server_respond(msg.node_id, *it->second, msg.client_public);
    if (!reply) return;
    created = encode_to_bytes(CreatedMsg{Errc::ok, reply->node_ephemeral, reply->auth});
  }
  send_all(fd, created.data(), created.size());
  char sink[256];
  while (::recv(fd, sink, sizeof sink, 0) > 0) {
  }
}

// A stand-in node on 127.0.0.1: answers the pool's proof for these keys.
class FakeNode {
 public:
  explicit FakeNode(const std::vector<const NodeKeys*>& held, std::uint16_t port = 0) {
    auto keys = std::make_shared<OnionKeys>();
    for (const auto* k : held) {
      keys->emplace(k->identity.public_key,
                    std::make_shared<const OnionKeypair>(
                        OnionKeypair::from_secret(k->onion.secret_key.clone())));
    }
    server_ = std::make_unique<TcpServer>([keys](int fd) { answer_create(fd, *keys); }, port);
  }
  explicit FakeNode(const NodeKeys& held, std::uint16_t port = 0)
      : FakeNode(std::vector<const NodeKeys*>{&held}, port) {}
  std::uint16_t port() const { return server_->port(); }
  int proofs_answered() const { return server_->connections(); }

 private:
  std::unique_ptr<TcpServer> server_;
};

}  // namespace tpdp::test
