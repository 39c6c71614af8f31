// The pool index server: answers signed heartbeats and serves the signed
// node list, one request per TCP connection. In TPDP/0.1 mode the same
// server (limits, expiry, sweeps) speaks torpydo's unsigned messages.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <map>
#include <string>

#include "common/logging.hpp"
#include "common/net.hpp"
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
  std::chrono::seconds request_timeout{5};
  std::size_t max_nodes = 10000;
  std::size_t max_connections = 1024;
  std::size_t max_connections_per_source = 64;  // one host cannot take the pool offline
};

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
  asio::awaitable<void> serve(tcp::socket socket, std::string source);
  asio::awaitable<void> handle_request(tcp::socket& socket, const std::string& peer);
  asio::awaitable<void> handle_heartbeat(tcp::socket& socket, Bytes& pending,
                                         const std::string& peer);
  asio::awaitable<void> handle_list(tcp::socket& socket, Bytes& pending);
  // TPDP/0.1 (pool/v0_1_requests.cpp): unsigned heartbeats and list.
  asio::awaitable<void> handle_v0_1_request(tcp::socket& socket, const std::string& peer);

  PoolConfig config_;
  IdentityKeypair key_;
  Logger log_;
  tcp::acceptor acceptor_;
  asio::steady_timer sweep_timer_;
  Registry registry_;
  std::size_t connections_ = 0;
  std::map<std::string, std::size_t> connections_by_source_;
  ThrottledWarning refusals_;
  bool stopping_ = false;
};

}  // namespace tpdp
