#include "pool/pool_server.hpp"

#include <asio/experimental/awaitable_operators.hpp>

#include "common/deadline.hpp"
#include "common/message_io.hpp"
#include "protocol/hex.hpp"

namespace tpdp {

namespace {
constexpr std::size_t kMaxRequestSize = 512;

std::string short_fp(const IdentityPublicKey& id) {
  return fingerprint(id).substr(0, 16);
}
}  // namespace

PoolServer::PoolServer(asio::any_io_executor ex, PoolConfig config, IdentityKeypair key, Logger log)
    : config_(std::move(config)),
      key_(std::move(key)),
      log_(std::move(log)),
      acceptor_(listen_on(ex, config_.listen)),
      sweep_timer_(ex),
      registry_(config_.max_nodes),
      refusals_(log_) {}

void PoolServer::stop() {
  stopping_ = true;
  std::error_code ec;
  acceptor_.close(ec);
  sweep_timer_.cancel();
}

asio::awaitable<void> PoolServer::run() {
  using namespace asio::experimental::awaitable_operators;
  co_await (accept_loop() && sweep_loop());
}

asio::awaitable<void> PoolServer::accept_loop() {
  auto ex = co_await asio::this_coro::executor;
  while (!stopping_) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
    if (ec == asio::error::operation_aborted || stopping_) break;
    if (ec) {
      log_->warn("accept failed: {}", ec.message());
      // Out of descriptors and similar: back off briefly instead of spinning.
      asio::steady_timer t(ex, std::chrono::milliseconds(100));
      co_await t.async_wait(use_tuple);
      continue;
    }
    std::error_code rec;
    auto ep = socket.remote_endpoint(rec);
    std::string source = rec ? "?" : ep.address().to_string();
    if (connections_ >= config_.max_connections) {
      refusals_("refused a connection: connection limit (" +
                std::to_string(config_.max_connections) + ") reached");
      continue;  // socket closes here
    }
    auto it = connections_by_source_.find(source);
    if (it != connections_by_source_.end() && it->second >= config_.max_connections_per_source) {
      refusals_("refused a connection: too many connections from " + source);
      continue;
    }
    asio::co_spawn(ex, serve(std::move(socket), std::move(source)), asio::detached);
  }
}

asio::awaitable<void> PoolServer::sweep_loop() {
  while (!stopping_) {
    sweep_timer_.expires_after(config_.sweep_interval);
    co_await sweep_timer_.async_wait(use_tuple);  // cancelled by stop()
    if (stopping_) break;
    for (const auto& n : registry_.sweep(std::chrono::steady_clock::now(), config_.expiry)) {
      // TPDP/0.1 nodes have no identity to name.
      std::string who =
          config_.protocol == ProtocolVersion::tpdp1 ? " (" + short_fp(n.identity) + ")" : "";
      log_->info("node {}{} expired: no heartbeat for {} s; {} node(s) listed",
                 format_host_port(n.host, n.port), who, config_.expiry.count(), registry_.size());
    }
  }
}

asio::awaitable<void> PoolServer::serve(tcp::socket socket, std::string source) {
  ++connections_;
  ++connections_by_source_[source];
  std::string peer = "?";
  std::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (!ec) peer = format_host_port(ep.address().to_string(), ep.port());
  try {
    co_await with_deadline(handle_request(socket, peer), config_.request_timeout);
  } catch (const ProtocolViolation& e) {
    log_->warn("request from {} rejected: {}", peer, e.what());
  } catch (const std::system_error& e) {
    if (e.code() == make_error_code(Errc::timeout)) {
      log_->warn("request from {} timed out", peer);
    } else {
      log_->debug("request from {} ended: {}", peer, e.code().message());
    }
  } catch (const std::exception& e) {
    log_->error("request from {} failed: {}", peer, e.what());
  }
  socket.close(ec);
  --connections_;
  auto it = connections_by_source_.find(source);
  if (it != connections_by_source_.end() && --it->second == 0) connections_by_source_.erase(it);
}

asio::awaitable<void> PoolServer::handle_request(tcp::socket& socket, const std::string& peer) {
  if (config_.protocol == ProtocolVersion::tpdp0_1) {
    co_await handle_v0_1_request(socket, peer);
    co_return;
  }
  Bytes pending;
  auto request = co_await read_message<PoolRequest>(socket, pending, kMaxRequestSize);
  if (request.command == PoolCommand::heartbeat) {
    co_await handle_heartbeat(socket, pending, peer);
  } else {
    co_await handle_list(socket, pending);
  }
}

asio::awaitable<void> PoolServer::handle_heartbeat(tcp::socket& socket, Bytes& pending,
                                                   const std::string& peer) {
  // A fresh challenge per connection: a recorded heartbeat is useless later.
  HeartbeatChallenge challenge{random_public<Nonce32>()};
  co_await write_message(socket, challenge);
  auto hb = co_await read_message<SignedHeartbeat>(socket, pending, kMaxRequestSize);
  HeartbeatReply reply;
  reply.next_heartbeat_s = static_cast<std::uint16_t>(config_.heartbeat_interval.count());
  Bytes signed_bytes = heartbeat_signed_bytes(challenge.challenge, hb.node);
  std::string where = format_host_port(hb.node.host, hb.node.port);
  if (!verify_detached(hb.node.identity, signed_bytes, hb.signature)) {
    reply.status = Errc::bad_signature;
    log_->warn("heartbeat from {} for {} ({}) has a bad signature; rejected", peer, where,
               short_fp(hb.node.identity));
  } else {
    Registry::Change change{};
    reply.status = registry_.upsert(hb.node, std::chrono::steady_clock::now(), &change);
    if (reply.status == Errc::address_in_use) {
      log_->warn("heartbeat from {}: {} is held by another identity; {} rejected", peer, where,
                 short_fp(hb.node.identity));
    } else if (reply.status == Errc::limit_reached) {
      log_->warn("node limit ({}) reached; {} rejected", config_.max_nodes, where);
    } else if (change == Registry::Change::added) {
      log_->info("node {} ({}) joined; {} node(s) listed", where, short_fp(hb.node.identity),
                 registry_.size());
    } else if (change == Registry::Change::moved) {
      log_->info("node {} updated its address or key to {}", short_fp(hb.node.identity), where);
    } else {
      log_->debug("heartbeat from {} ({})", where, short_fp(hb.node.identity));
    }
  }
  co_await write_message(socket, reply);
}

asio::awaitable<void> PoolServer::handle_list(tcp::socket& socket, Bytes& pending) {
  auto request = co_await read_message<ListRequest>(socket, pending, kMaxRequestSize);
  NodeList list;
  list.nonce = request.nonce;
  list.issued_at =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  list.nodes = registry_.snapshot();
  SignedNodeList signed_list;
  signed_list.pool_key = key_.public_key;
  signed_list.document = encode_to_bytes(list);
  signed_list.signature =
      sign_detached(key_.secret_key, node_list_signed_bytes(signed_list.document));
  co_await write_message(socket, signed_list);
  log_->debug("served the node list ({} node(s))", list.nodes.size());
}

}  // namespace tpdp
