// The pool index server: answers signed heartbeats and serves the signed
// node list, one request per TCP connection. In TPDP/0.1 mode the same
// server (limits, expiry, sweeps) speaks torpydo's unsigned messages.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "common/deadline.hpp"
#include "common/logging.hpp"
#include "common/net.hpp"
#include "pool/connection_slots.hpp"
#include "pool/proof_gate.hpp"
#include "pool/registry.hpp"
#include "protocol/identity.hpp"
#include "protocol/protocol_version.hpp"

namespace tpdp {

struct PoolConfig {
  HostPort listen;
  ProtocolVersion protocol = ProtocolVersion::tpdp1;  // what this port speaks
  std::chrono::seconds heartbeat_interval{15};        // told to nodes
  std::chrono::seconds expiry{30};                    // dropped after this long without a heartbeat
  std::chrono::seconds sweep_interval{10};
  // The request must arrive this soon: the header (and a list request's
  // nonce) after the accept, a signed heartbeat after the challenge.
  std::chrono::seconds request_arrival{2};
  std::chrono::seconds request_timeout{10};  // the whole exchange, accept to reply
  std::size_t max_nodes = 10000;
  std::size_t max_connections = 1024;
  std::size_t max_connections_per_source = 64;  // one host cannot take the pool offline
  // TPDP/1 reachability proofs (spec 5.5): nothing of this applies to TPDP/0.1.
  std::size_t max_nodes_per_address = 2;          // identities listed at one IP address; 0: no cap
  std::chrono::seconds proof_timeout{5};          // one proof, connect to CREATED
  std::chrono::seconds proof_recheck{600};        // a listed node is proved again after this
  std::chrono::seconds proof_failure_memory{30};  // a failed proof answers the same descriptor
  // When the list is full, the node proved longest ago is proved again to
  // make room (dropped if it no longer answers), if that proof is older than this.
  std::chrono::seconds proof_room_age{60};
  std::size_t max_proofs_in_flight = 64;
  std::size_t max_proofs_per_source = 8;  // for heartbeats from one source IP address
};

// Runs op until `until`: the part of a request that must have arrived by
// then (throws Errc::timeout after it).
template <class T>
asio::awaitable<T> arriving_by(asio::awaitable<T> op, std::chrono::steady_clock::time_point until) {
  auto left = until - std::chrono::steady_clock::now();
  if (left < std::chrono::steady_clock::duration::zero()) left = {};
  co_return co_await with_deadline(std::move(op), left);
}

class PoolServer {
 public:
  // key: the pool's signing key (unused in TPDP/0.1 mode, which has none).
  PoolServer(asio::any_io_executor ex, PoolConfig config, IdentityKeypair key, Logger log);
  // Runs the accept loop and the sweeper until the acceptor is closed.
  asio::awaitable<void> run();
  void stop();
  tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

 private:
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> sweep_loop();
  asio::awaitable<void> serve(std::shared_ptr<tcp::socket> socket, std::string source,
                              ConnectionSlots::Id slot);
  // One request; `arrival` is when its first part must have arrived.
  asio::awaitable<void> handle_request(tcp::socket& socket, const std::string& peer,
                                       const std::string& source, ConnectionSlots::Id slot,
                                       std::chrono::steady_clock::time_point arrival);
  asio::awaitable<void> handle_heartbeat(tcp::socket& socket, Bytes& pending,
                                         const std::string& peer, const std::string& source,
                                         ConnectionSlots::Id slot);
  // The status for a verified TPDP/1 heartbeat: refreshes, or proves and lists.
  // The list is full: proves the node proved longest ago again, and drops it
  // if it no longer answers.
  asio::awaitable<void> make_room(const std::string& source);
  asio::awaitable<Errc> register_node(const NodeDescriptor& node, const std::string& peer,
                                      const std::string& source);
  asio::awaitable<void> handle_list(tcp::socket& socket, Bytes& pending, ConnectionSlots::Id slot,
                                    std::chrono::steady_clock::time_point arrival);
  // TPDP/0.1 (pool/v0_1_requests.cpp): unsigned heartbeats and list.
  asio::awaitable<void> handle_v0_1_request(tcp::socket& socket, const std::string& peer,
                                            ConnectionSlots::Id slot,
                                            std::chrono::steady_clock::time_point arrival);

  PoolConfig config_;
  IdentityKeypair key_;
  Logger log_;
  tcp::acceptor acceptor_;
  asio::steady_timer sweep_timer_;
  Registry registry_;
  ConnectionSlots slots_;
  ProofGate proofs_;
  // Every warning a peer can cause once per connection is throttled (at
  // most one line a second, with a count of the ones not logged).
  ThrottledWarning refusals_;       // connections refused or shed
  ThrottledWarning bad_requests_;   // malformed, timed out, failed requests
  ThrottledWarning refused_nodes_;  // heartbeats refused: signature, limits
  ThrottledWarning failed_proofs_;  // heartbeats refused: the proof failed
  ThrottledWarning takeovers_;      // an address taken over by the identity that answers there
  bool stopping_ = false;
};

}  // namespace tpdp
