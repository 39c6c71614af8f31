#include "node/node_server.hpp"

#include <sys/socket.h>

#include <array>

#include "node/node_directory.hpp"
#include "node/v0_1_listed_nodes.hpp"
#include "protocol/circuit_messages.hpp"

namespace tpdp {

NodeServer::NodeServer(asio::any_io_executor ex, NodeConfig config, NodeKeys keys, Logger log)
    : config_(std::move(config)),
      keys_(std::move(keys)),
      log_(std::move(log)),
      acceptor_(listen_on(ex, config_.listen)),
      sweeper_(config_.idle_timeout),
      refusals_(log_),
      accept_failures_(log_),
      own_host_(default_exit_policy(local_addresses(), false)),
      handshake_turns_(ex) {
  // Every circuit link this node accepts gets keep-alive probes (common/net.hpp).
  enable_dead_link_detection(*acceptor_);
  if (config_.protocol == ProtocolVersion::tpdp0_1 && !config_.pools.empty()) {
    std::vector<HostPort> pools;
    for (const auto& p : config_.pools) pools.push_back(p.address);
    v0_1_listed_nodes_ =
        std::make_unique<V01ListedNodes>(ex, std::move(pools), config_.connect_timeout, log_);
  }
  if (config_.protocol == ProtocolVersion::tpdp1 && !config_.pools.empty()) {
    directory_ = std::make_unique<NodeDirectory>(
        ex, config_.pools, config_.data_dir / "known_pools.json", std::chrono::seconds(10), log_);
  }
}

void NodeServer::heartbeat_period(const std::string& pool, std::chrono::seconds period) {
  if (directory_) directory_->heartbeat_period(pool, period);
}

ThrottledWarning& NodeServer::refusal_log(Errc kind) {
  return circuit_refusals_.try_emplace(kind, log_).first->second;
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
  if (directory_) directory_->stop();
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
  if (directory_) {
    asio::co_spawn(co_await asio::this_coro::executor, directory_->run(), asio::detached);
  } else if (config_.protocol == ProtocolVersion::tpdp1) {
    log_->warn("no pool: this node extends circuits to no node (it can only be an exit)");
  }
  co_await accept_loop();
}

void NodeServer::start_serving(tcp::socket socket) {
  std::error_code rec;
  auto ep = socket.remote_endpoint(rec);
  std::string peer_ip = rec ? "?" : ep.address().to_string();
  asio::co_spawn(acceptor_->get_executor(), serve(std::move(socket), std::move(peer_ip)),
                 asio::detached);
}

asio::awaitable<void> NodeServer::accept_loop() {
  auto ex = co_await asio::this_coro::executor;
  // Every connection waiting in the kernel's backlog is taken at once (up to
  // a bound), not one per turn of the event loop: under a flood of
  // connections the per-source limits can only turn the excess away once it
  // is accepted, and a legitimate client must not wait behind a backlog of
  // thousands while the node does one handshake per turn.
  constexpr int kMaxAcceptsPerTurn = 32;
  std::error_code nb_ec;
  acceptor_->non_blocking(true, nb_ec);
  while (!stopping_) {
    auto [ec, socket] = co_await acceptor_->async_accept(use_tuple);
    if (ec == asio::error::operation_aborted || stopping_) break;
    if (ec) {
      accept_failures_("accept failed: " + ec.message());
      asio::steady_timer t(ex, std::chrono::milliseconds(100));
      co_await t.async_wait(use_tuple);
      continue;
    }
    start_serving(std::move(socket));
    for (int i = 0; i < kMaxAcceptsPerTurn && !nb_ec; ++i) {
      std::error_code more_ec;
      tcp::socket more = acceptor_->accept(more_ec);
      if (more_ec)
        break;  // would_block: the backlog is empty (other errors: async_accept sees them)
      start_serving(std::move(more));
    }
  }
}

void NodeServer::refuse_now(tcp::socket& socket, const std::string& peer_ip, const char* what) {
  refusals_("refused a circuit from " + peer_ip + ": " + what);
  int fd = socket.native_handle();
  // TPDP/0.1 has no error byte for "busy" (0, 1 and 2 would mislead): it closes.
  if (config_.protocol == ProtocolVersion::tpdp1) {
    std::uint8_t status = static_cast<std::uint8_t>(Errc::limit_reached);
    [[maybe_unused]] auto sent = ::send(fd, &status, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
  }
  // What the peer sent already (its CREATE) is read and dropped: closing with
  // unread input would reset the connection, and a reset can destroy the
  // status byte before the peer reads it. Bounded: a peer still sending
  // after its CREATE gets the reset.
  std::array<std::uint8_t, 1024> sink;
  for (int i = 0; i < 4 && ::recv(fd, sink.data(), sink.size(), MSG_DONTWAIT) > 0; ++i) {
  }
  std::error_code ec;
  socket.close(ec);
}

asio::awaitable<void> NodeServer::serve(tcp::socket socket, std::string peer_ip) {
  // Limits are checked before any cryptography is done for the peer.
  if (active_circuits_ >= config_.max_circuits) {
    refuse_now(socket, peer_ip, "circuit limit reached");
    co_return;
  }
  auto in_flight = handshakes_by_source_.find(peer_ip);
  if (in_flight != handshakes_by_source_.end() &&
      in_flight->second >= config_.max_handshakes_per_source) {
    refuse_now(socket, peer_ip, "too many handshakes in flight from this address");
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
