// The nodes the proxy builds circuits through: the pools' signed lists,
// fetched when the last fetch is older than --refresh, one fetch at a time
// however many requests are waiting for it.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <exception>
#include <stdexcept>
#include <vector>

#include "client/client.hpp"
#include "common/logging.hpp"

namespace tpdp::http_proxy {

// Too few nodes for a path: the proxy answers 503.
class NotEnoughNodes : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class NodeDirectory {
 public:
  NodeDirectory(asio::any_io_executor ex, std::vector<PoolAddress> pools, ClientOptions options,
                std::chrono::steady_clock::duration max_age, Logger log);

  // n distinct random nodes from a list no older than max_age. Throws
  // PoolError (no pool answered, or one is impersonated) or NotEnoughNodes.
  asio::awaitable<std::vector<NodeDescriptor>> pick_path(std::size_t n);

  // Fetches now (at start-up, to report early what the pools say).
  asio::awaitable<std::size_t> refresh_now();

 private:
  asio::awaitable<void> ensure_fresh();
  asio::awaitable<void> fetch_all();

  std::vector<PoolAddress> pools_;
  Client client_;  // used only for its pool fetching and trust store
  std::chrono::steady_clock::duration max_age_;
  Logger log_;
  std::vector<NodeDescriptor> nodes_;
  std::chrono::steady_clock::time_point fetched_at_{};
  bool have_list_ = false;
  bool fetching_ = false;
  std::exception_ptr fetch_error_;  // of the last fetch
  asio::steady_timer fetch_done_;   // requests waiting for a fetch park here
};

}  // namespace tpdp::http_proxy
