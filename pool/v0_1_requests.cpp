// The pool's TPDP/0.1 requests (spec/tpdp-0.1.md, "Pool index"): a list
// request answered with every live entry and the close, or a heartbeat (the
// node's claimed host and port, possibly split over several writes)
// answered with one byte, the delay to the next heartbeat. Nothing is
// signed: anyone can register any address, as in torpydo.
#include "common/deadline.hpp"
#include "common/message_io.hpp"
#include "pool/pool_server.hpp"
#include "protocol/v0_1/pool_messages.hpp"

namespace tpdp {

namespace {
// 01, a 255-byte host, 00, port.
constexpr std::size_t kMaxV01Request = 1 + 255 + 1 + 2;
}  // namespace

asio::awaitable<void> PoolServer::handle_v0_1_request(
    tcp::socket& socket, const std::string& peer, ConnectionSlots::Id slot,
    std::chrono::steady_clock::time_point arrival) {
  Bytes pending;
  auto request = co_await arriving_by(
      read_message<v0_1::PoolRequest>(socket, pending, kMaxV01Request), arrival);
  slots_.busy(slot);  // a complete request: never shed from now on
  if (request.command == v0_1::PoolCommand::list) {
    std::vector<HostPort> nodes;
    for (const auto& n : registry_.snapshot()) nodes.push_back(HostPort{n.host, n.port});
    Bytes list = v0_1::encode_node_list(nodes);
    co_await asio::async_write(socket, asio::buffer(list), asio::use_awaitable);
    log_->debug("served the node list to {} ({} node(s))", peer, nodes.size());
  } else {
    HostPort where{request.node.host, request.node.port};
    std::string name = format_host_port(where);
    Registry::Change change{};
    Errc status =
        registry_.upsert(v0_1::descriptor_for(where), std::chrono::steady_clock::now(), &change);
    if (status != Errc::ok) {
      // No byte of TPDP/0.1 says "refused": close without a reply (the node retries).
      refused_nodes_("node limit (" + std::to_string(config_.max_nodes) +
                     ") reached; heartbeat from " + peer + " for " + name + " dropped");
      co_return;
    }
    if (change == Registry::Change::added) {
      log_->info("node {} joined (unauthenticated heartbeat from {}); {} node(s) listed", name,
                 peer, registry_.size());
    } else {
      log_->debug("heartbeat from {} for {}", peer, name);
    }
    auto interval = static_cast<std::uint8_t>(config_.heartbeat_interval.count());
    co_await write_message(socket, v0_1::HeartbeatReply{interval});
  }
  // The end of the reply is the close: let the peer read it before the
  // socket goes, for a second at most.
  auto linger = linger_close(socket);
  try {
    co_await with_deadline(std::move(linger), std::chrono::seconds(1));
  } catch (const std::system_error&) {
  }
}

}  // namespace tpdp
