// The tpdp client library, with the operations of the original torpydo
// client in Asio style: sync the node list from pools, build a path hop by
// hop or at random, then send and receive through the circuit.
//
//   tpdp::Client client(io.get_executor(), {.data_dir = dir});
//   co_await client.sync_nodes_list(*tpdp::parse_pool_address("127.0.0.1:8080", nullptr));
//   co_await client.random_path_to_destination("example.org", 80, 3);
//   co_await client.send(tpdp::as_bytes("GET / HTTP/1.0\r\n\r\n"));
//   auto reply = co_await client.receive(4096);
//
// client.circuit() is an AsyncReadStream/AsyncWriteStream for asio::async_read & co.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/circuit.hpp"
#include "client/list_cache.hpp"
#include "client/pool_client.hpp"
#include "client/trust_store.hpp"
#include "common/pool_address.hpp"

namespace tpdp {

struct ClientOptions {
  // Where pool keys trusted on first use are remembered (known_pools.json).
  // Empty: no trust store; only pinned pools (HOST:PORT@FINGERPRINT) are accepted.
  std::filesystem::path data_dir;
  std::chrono::milliseconds timeout{10000};  // per pool request and per build step
  // Called with human-readable warnings (e.g. trusting a pool on first use).
  std::function<void(const std::string&)> on_warning;
  // TPDP/0.1 (torpydo's protocol, spec/tpdp-0.1.md): unsigned pool lists
  // (pools must not be pinned; no trust store), nodes without keys, no
  // half-close. Insecure: for interoperating with torpydo only.
  ProtocolVersion protocol = ProtocolVersion::tpdp1;
  // When a pool cannot be reached, its last verified list (kept in
  // data_dir/last_lists.json) is used instead if it is at most this old.
  std::chrono::seconds last_list_max_age{600};
};

class Client {
 public:
  explicit Client(asio::any_io_executor ex, ClientOptions options = {});

  // Fetches and verifies a pool's list and merges it into the known nodes
  // (by identity; a newer entry replaces an older one). Returns how many were new.
  // If the pool cannot be reached (refused, timed out, malformed answer) and
  // a list it signed was verified within last_list_max_age, that list is
  // merged instead and on_warning says so; a pool that answers with the wrong
  // key or a bad signature is never replaced by a remembered list.
  // TPDP/0.1: the unsigned list, merged by address (v0_1::descriptor_for).
  asio::awaitable<std::size_t> sync_nodes_list(const PoolAddress& pool);
  void purge_nodes_list() { nodes_.clear(); }
  const std::vector<NodeDescriptor>& nodes() const { return nodes_; }

  // Starts a new circuit at `first` (closing any previous one).
  asio::awaitable<void> connect(const NodeDescriptor& first);
  // Extends the circuit to another node, which becomes the last hop.
  asio::awaitable<void> next_destination(const NodeDescriptor& node);
  // Asks the last hop (the exit) to connect to host:port; then data flows.
  asio::awaitable<void> open_stream(const std::string& host, std::uint16_t port);
  // n distinct random known nodes, then open_stream. Throws std::runtime_error
  // if fewer than n nodes are known.
  asio::awaitable<void> random_path_to_destination(const std::string& host, std::uint16_t port,
                                                   std::size_t n);

  asio::awaitable<void> send(ByteView data);
  // Up to max bytes; empty once the destination has closed cleanly.
  asio::awaitable<Bytes> receive(std::size_t max);
  // Exactly n bytes; throws if the stream ends first.
  asio::awaitable<Bytes> receive_exactly(std::size_t n);
  // Ends our direction cleanly (the destination sees EOF); replies can still be received.
  asio::awaitable<void> shutdown_send();
  // Ends our direction cleanly if it is open, then closes the circuit.
  asio::awaitable<void> close();

  Circuit& circuit();
  bool has_circuit() const { return circuit_ != nullptr; }

 private:
  asio::any_io_executor ex_;
  ClientOptions options_;
  std::optional<TrustStore> trust_;
  std::optional<ListCache> list_cache_;
  std::size_t merge(std::vector<NodeDescriptor> nodes);
  std::optional<CachedNodeList> remembered_list(const PoolAddress& pool) const;
  std::vector<NodeDescriptor> nodes_;
  std::unique_ptr<Circuit> circuit_;
};

// Where a client keeps pool keys trusted on first use by default:
// $XDG_DATA_HOME/tpdp, else ~/.local/share/tpdp, else ./.tpdp-client.
std::filesystem::path default_client_data_dir();

// Picks n distinct nodes uniformly at random (libsodium's CSPRNG).
std::vector<NodeDescriptor> pick_random_path(const std::vector<NodeDescriptor>& nodes,
                                             std::size_t n);

// The path a user chose: for each HOST:PORT in addresses, in order, the listed
// node at that address. Throws std::runtime_error naming an address that is
// malformed, not listed, or given twice (a path's nodes are distinct).
std::vector<NodeDescriptor> pick_listed_path(const std::vector<NodeDescriptor>& nodes,
                                             const std::vector<std::string>& addresses);

}  // namespace tpdp
