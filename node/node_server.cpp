#include "node/node_server.hpp"

#include "common/deadline.hpp"
#include "node/v0_1_listed_nodes.hpp"
#include "protocol/circuit_messages.hpp"

namespace tpdp {

NodeServer::NodeServer(asio::any_io_executor ex, NodeConfig config, NodeKeys keys, Logger log)
    : config_(std::move(config)),
      keys_(std::move(keys)),
      log_(std::move(log)),
      acceptor_(listen_on(ex, config_.listen)),
      sweeper_(config_.idle_timeout),
      refusals_(log_) {
  // Every circuit link this node accepts gets keep-alive probes (common/net.hpp).
  enable_dead_link_detection(*acceptor_);
  if (config_.protocol == ProtocolVersion::tpdp0_1 && !config_.pools.empty()) {
    std::vector<HostPort> pools;
    for (const auto& p : config_.pools) pools.push_back(p.address);
    v0_1_listed_nodes_ =
        std::make_unique<V01ListedNodes>(ex, std::move(pools), config_.connect_timeout, log_);
  }
}

NodeServer::~NodeServer() = default;

OnionKeypair NodeServer::take_ephemeral() {
  if (!next_ephemeral_) return OnionKeypair::generate();
  OnionKeypair k = std::move(*next_ephemeral_);
  next_ephemeral_.reset();
  return k;
}

void NodeServer::prepare_ephemeral() {
  if (!next_ephemeral_) next_ephemeral_ = OnionKeypair::generate();
}

void NodeServer::stop() {
  stopping_ = true;
  acceptor_.reset();  // a pending accept completes with operation_aborted
}

asio::awaitable<std::size_t> NodeServer::drain(std::chrono::steady_clock::duration grace) {
  // Polled: circuits end in many places, and a tenth of a second is soon
  // enough for an exit.
  auto deadline = std::chrono::steady_clock::now() + grace;
  asio::steady_timer tick(co_await asio::this_coro::executor);
  while (active_circuits_ > 0 && std::chrono::steady_clock::now() < deadline) {
    tick.expires_after(std::min<std::chrono::steady_clock::duration>(
        std::chrono::milliseconds(100), deadline - std::chrono::steady_clock::now()));
    co_await tick.async_wait(use_tuple);
  }
  co_return active_circuits_;
}

asio::awaitable<void> NodeServer::run() {
  asio::co_spawn(co_await asio::this_coro::executor, sweeper_.run(stopping_), asio::detached);
  co_await accept_loop();
}

asio::awaitable<void> NodeServer::accept_loop() {
  auto ex = co_await asio::this_coro::executor;
  while (!stopping_) {
    auto [ec, socket] = co_await acceptor_->async_accept(use_tuple);
    if (ec == asio::error::operation_aborted || stopping_) break;
    if (ec) {
      log_->warn("accept failed: {}", ec.message());
      asio::steady_timer t(ex, std::chrono::milliseconds(100));
      co_await t.async_wait(use_tuple);
      continue;
    }
    std::error_code rec;
    auto ep = socket.remote_endpoint(rec);
    std::string peer_ip = rec ? "?" : ep.address().to_string();
    asio::co_spawn(ex, serve(std::move(socket), std::move(peer_ip)), asio::detached);
  }
}

asio::awaitable<void> NodeServer::serve(tcp::socket socket, std::string peer_ip) {
  // Limits are checked before any cryptography is done for the peer.
  auto refuse = [&](const char* what) -> asio::awaitable<void> {
    refusals_("refused a circuit from " + peer_ip + ": " + what);
    auto answer = [&]() -> asio::awaitable<void> {
      // TPDP/0.1 has no error byte for "busy" (0, 1 and 2 would mislead): it closes.
      if (config_.protocol == ProtocolVersion::tpdp1) {
        std::uint8_t status = static_cast<std::uint8_t>(Errc::limit_reached);
        co_await asio::async_write(socket, asio::buffer(&status, 1), asio::use_awaitable);
      }
      co_await linger_close(socket);
    };
    try {
      co_await with_deadline(answer(), std::chrono::seconds(1));
    } catch (const std::exception&) {
    }
    std::error_code ec;
    socket.close(ec);
  };
  if (active_circuits_ >= config_.max_circuits) {
    co_await refuse("circuit limit reached");
    co_return;
  }
  auto in_flight = handshakes_by_source_.find(peer_ip);
  if (in_flight != handshakes_by_source_.end() &&
      in_flight->second >= config_.max_handshakes_per_source) {
    co_await refuse("too many handshakes in flight from this address");
    co_return;
  }
  ++active_circuits_;
  std::uint64_t id = next_circuit_id_++;
  bool relaying = false;
  try {
    if (config_.protocol == ProtocolVersion::tpdp0_1) {
      co_await run_v0_1_circuit(socket, id, peer_ip);
    } else {
      relaying = co_await run_circuit(socket, id, peer_ip);
    }
  } catch (const std::exception& e) {
    log_->error("circuit {}: unexpected failure: {}", id, e.what());
  }
  if (relaying) co_return;  // the relay owns the connection and the count now
  --active_circuits_;
  std::error_code ec;
  socket.close(ec);
}

}  // namespace tpdp
