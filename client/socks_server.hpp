// tpdp-client socks: a SOCKS5 proxy (RFC 1928/1929) whose connections each
// go through their own TPDP circuit.
//
// Isolation. A TPDP circuit carries one stream, so every SOCKS connection
// builds its own circuit; circuits are never shared. Clients are told apart
// by their isolation key: the authentication method and, with
// username/password, the exact credentials (no-auth is one key). For each
// key the proxy remembers the path (the node list) it chose and builds that
// key's next circuits over the same nodes while all of them are still listed
// by the pools. A new key gets a path that no other key uses; among those it
// prefers nodes, then an exit and an entry, that no other key's path uses.
// Only when too few nodes exist for every key to have its own node sequence
// does a key get the same sequence as another (still on a circuit of its own;
// a warning is logged). A build that fails on the remembered path makes the
// key forget it, refreshes the node list, and is retried once on a fresh
// path that avoids the failing node.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "client/cli_common.hpp"
#include "common/logging.hpp"
#include "common/net.hpp"
#include "protocol/host.hpp"
#include "protocol/pool_messages.hpp"

namespace tpdp::socks {

struct PlannedPath {
  std::vector<NodeDescriptor> nodes;
  bool reused = false;  // the key's remembered path
  bool shared = false;  // same node sequence as another key's: too few nodes to avoid it
};

// Chooses and remembers one path per isolation key (see the top of this file).
class PathPlanner {
 public:
  explicit PathPlanner(std::size_t hops, std::size_t max_keys = 4096);

  // The key's remembered path if all its nodes are in `nodes`; otherwise a
  // new path (without the `avoid` nodes while enough others remain), which
  // is remembered. Throws std::runtime_error when fewer than `hops` nodes are known.
  PlannedPath path_for(const std::string& key, const std::vector<NodeDescriptor>& nodes,
                       const std::vector<IdentityPublicKey>& avoid = {});
  void forget(const std::string& key) { paths_.erase(key); }
  std::size_t remembered() const { return paths_.size(); }

 private:
  struct Entry {
    std::vector<IdentityPublicKey> path;
    std::uint64_t last_used = 0;
  };
  PlannedPath choose(const std::string& key, const std::vector<NodeDescriptor>& nodes,
                     const std::vector<IdentityPublicKey>& avoid);

  std::size_t hops_;
  std::size_t max_keys_;  // least recently used keys are forgotten beyond this
  std::uint64_t clock_ = 0;
  std::map<std::string, Entry> paths_;
};

// "2380e219>35315ec7>1a2ac59e": the first 8 hex digits of each hop's fingerprint.
std::string describe_path(const std::vector<NodeDescriptor>& path);

// What the info line of a connection says (never a password or the destination).
struct ConnectionLog {
  std::string key = "-";     // short keyed hash of the isolation key
  std::string method = "-";  // "no auth" or "user/pass"
  std::string path = "-";
  std::string retried;  // why the first path was given up, if it was
  std::string outcome = "closed cleanly";
  std::uint64_t up = 0, down = 0;  // bytes client -> destination, destination -> client
};

struct SocksOptions {
  HostPort listen{"127.0.0.1", 9050};
  // Connections served at once. A newcomer over it takes the slot of a
  // connection still in its SOCKS handshake (that one is reset): the oldest
  // that has sent part of it, else the oldest that has sent nothing for 1 s
  // (a younger one may have its greeting in flight). When none can be shed,
  // the newcomer is refused with a SOCKS reply (0x01) at once.
  std::size_t max_connections = 1024;
  std::chrono::milliseconds handshake_timeout{10000};
  // Refusals over the limit: each gets this long for its greeting and
  // request; beyond max_refusing at once, connections are closed unanswered.
  std::chrono::milliseconds refusal_timeout{2000};
  std::size_t max_refusing = 64;
  std::chrono::milliseconds refresh_interval{60000};
  // On-demand refreshes (after a failed build) happen at most this often.
  std::chrono::milliseconds min_refresh_gap{5000};
};

class SocksServer : public std::enable_shared_from_this<SocksServer> {
 public:
  static std::shared_ptr<SocksServer> create(asio::any_io_executor ex, cli::Options options,
                                             SocksOptions socks, Logger log);

  // Syncs the node list (throws when no pool answers), listens, then serves
  // until stop(): accepts connections and refreshes the list periodically.
  asio::awaitable<void> run();
  // Stops accepting and refreshing, and resets the connections in progress.
  void stop();

 private:
  SocksServer(asio::any_io_executor ex, cli::Options options, SocksOptions socks, Logger log);

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> refresh_loop();
  // Fetches the pools' lists into a fresh list (nodes the pools no longer
  // list are dropped). On failure the previous list is kept. on_demand:
  // skipped if the last attempt was recent; joins a refresh in progress.
  asio::awaitable<void> refresh(bool on_demand);
  // One connection: logs its info line whatever happens.
  asio::awaitable<void> handle(tcp::socket socket, std::uint64_t id);
  // Over the limit with nothing to shed: a SOCKS refusal, then close.
  asio::awaitable<void> refuse(tcp::socket socket);
  // Resets the oldest connection still in its handshake and frees its slot;
  // false when every connection is past its handshake.
  bool shed_oldest_handshake();
  // Handshake, circuit, reply, relay.
  asio::awaitable<void> serve(tcp::socket& socket, std::uint64_t id, ConnectionLog& log);
  void connection_ended(std::uint64_t id);
  // Keyed hash of an isolation key: map key (32 bytes) and log name (8 hex digits).
  std::string key_hash(const std::string& isolation_key) const;

  asio::any_io_executor ex_;
  cli::Options options_;
  SocksOptions socks_;
  Logger log_;
  tcp::acceptor acceptor_;
  asio::steady_timer refresh_timer_;  // periodic refresh
  asio::steady_timer refresh_done_;   // wakes callers that joined a refresh in progress
  std::vector<NodeDescriptor> nodes_;
  PathPlanner planner_;
  std::string hash_key_;    // random per process: short hashes are not comparable across runs
  std::size_t active_ = 0;  // connections holding a slot
  std::size_t refusing_ = 0;
  struct OpenConnection {
    tcp::socket* socket;
    bool handshaking = true;  // may be shed to make room
    bool started = false;     // part of the handshake has arrived
    bool holds_slot = true;   // false once shed
    std::chrono::steady_clock::time_point accepted = std::chrono::steady_clock::now();
  };
  std::map<std::uint64_t, OpenConnection> open_;  // by connection id: oldest first
  // Per-connection warnings a flood could repeat: at most one a second each.
  ThrottledWarning refused_warning_;
  ThrottledWarning handshake_warning_;
  ThrottledWarning shared_path_warning_;
  std::uint64_t next_id_ = 0;
  bool refreshing_ = false;
  bool stopped_ = false;
  std::chrono::steady_clock::time_point last_refresh_attempt_{};
};

}  // namespace tpdp::socks
