// The node: accepts circuits, runs each one's handshake and relay, and
// enforces the limits. Single io_context thread: no locks.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/logging.hpp"
#include "common/net.hpp"
#include "node/buffer_pool.hpp"
#include "node/handshake_turns.hpp"
#include "node/idle_sweeper.hpp"
#include "node/node_config.hpp"
#include "protocol/identity.hpp"
#include "protocol/ntor.hpp"

namespace tpdp {

class V01ListedNodes;
class NodeDirectory;

class NodeServer {
 public:
  // keys: the node's identity and onion keys (unused in TPDP/0.1 mode, which has none).
  NodeServer(asio::any_io_executor ex, NodeConfig config, NodeKeys keys, Logger log);
  ~NodeServer();
  asio::awaitable<void> run();
  // Stops accepting: the listening socket is closed (new connections are
  // refused) and destroyed, so that the server holds no I/O object and may
  // outlive the io_context whose pending circuits use its buffers.
  void stop();
  // After stop(): waits until every open circuit has ended, or the grace
  // period is over; returns how many are still open.
  asio::awaitable<std::size_t> drain(std::chrono::steady_clock::duration grace);
  tcp::endpoint local_endpoint() const { return acceptor_->local_endpoint(); }
  std::size_t active_circuits() const { return active_circuits_; }
  std::size_t relaying_circuits() const { return sweeper_.watched(); }
  std::size_t buffers_in_use() const { return buffers_.in_use(); }
  // A pool accepted a heartbeat and asked for the next after `period`: the
  // node refreshes its pools' node lists as often (node/node_directory.hpp).
  void heartbeat_period(const std::string& pool, std::chrono::seconds period);

 private:
  asio::awaitable<void> accept_loop();
  void start_serving(tcp::socket socket);
  // Turns a connection away at once, before any work for it: the status
  // byte limit_reached (TPDP/1), then close. No coroutine, timer or buffer:
  // under a flood most connections end here, and that must stay cheap.
  void refuse_now(tcp::socket& socket, const std::string& peer_ip, const char* what);
  asio::awaitable<void> serve(tcp::socket socket, std::string peer_ip);
  // circuit_session.cpp. True when the circuit went on to relay: the relay
  // then owns the socket and decrements active_circuits_ when it ends.
  asio::awaitable<bool> run_circuit(tcp::socket& up, std::uint64_t id, const std::string& peer);
  // v0_1_session.cpp
  asio::awaitable<void> run_v0_1_circuit(tcp::socket& up, std::uint64_t id,
                                         const std::string& peer);

  // The log line for a refused circuit, throttled per kind of refusal.
  ThrottledWarning& refusal_log(Errc kind);

  // The ephemeral key pair for the next CREATE, made after the previous
  // CREATED went out: off the handshake's path. Used once, then replaced.
  OnionKeypair take_ephemeral();
  void prepare_ephemeral();

  NodeConfig config_;
  NodeKeys keys_;
  Logger log_;
  std::optional<tcp::acceptor> acceptor_;
  BufferPool buffers_;
  IdleSweeper sweeper_;
  ThrottledWarning refusals_;
  ThrottledWarning accept_failures_;
  std::map<Errc, ThrottledWarning> circuit_refusals_;
  // What the default exit policy refuses (this host's own addresses): no
  // EXTEND goes there unless --lab or an operator's rule accepts it.
  ExitPolicy own_host_;
  std::unique_ptr<NodeDirectory> directory_;  // TPDP/1 with pools only
  std::size_t active_circuits_ = 0;
  std::map<std::string, std::size_t> handshakes_by_source_;
  HandshakeTurns handshake_turns_;
  std::uint64_t next_circuit_id_ = 1;
  bool stopping_ = false;
  std::unique_ptr<V01ListedNodes> v0_1_listed_nodes_;  // TPDP/0.1 with pools only
  std::optional<OnionKeypair> next_ephemeral_;

  friend class CircuitSession;
  friend class V01Session;
};

}  // namespace tpdp
