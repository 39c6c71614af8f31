// The nodes this node extends circuits to: the last verified node list of
// each of its pools (fetched and checked as a client does, spec 5.4),
// refreshed every heartbeat period (kNodeListRefresh until a pool has said
// its period) and, at most once a second, when an EXTEND names a node that
// is not in it (a node that has just joined).
// Single io_context thread: no locks.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "client/trust_store.hpp"
#include "common/logging.hpp"
#include "common/pool_address.hpp"
#include "protocol/pool_messages.hpp"

namespace tpdp {

// How often a node fetches its pools' lists until a pool has told it its
// heartbeat period (the pool's default period), and the least time between
// two fetches.
inline constexpr std::chrono::seconds kNodeListRefresh{15};
inline constexpr std::chrono::seconds kNodeListMinInterval{1};
// The least an EXTEND to an unlisted node waits for that refresh (the
// connect timeout when longer): the refresh may have to wait for
// kNodeListMinInterval first.
inline constexpr std::chrono::seconds kNodeListLeastWait{2};

class NodeDirectory {
 public:
  using Clock = std::chrono::steady_clock;

  // trust_file: where unpinned pools' keys are remembered on first use.
  NodeDirectory(asio::any_io_executor ex, std::vector<PoolAddress> pools,
                std::filesystem::path trust_file, std::chrono::milliseconds fetch_timeout,
                Logger log);

  // Fetches the lists now, then every kNodeListRefresh or when asked, until stop().
  asio::awaitable<void> run();
  void stop();
  // A pool accepted a heartbeat and said when the next is due: the lists are
  // refreshed as often as the most frequent pool expects heartbeats.
  void heartbeat_period(const std::string& pool, std::chrono::seconds period);

  // True when a verified list has exactly this identity at exactly this
  // host:port (the host compared as a string, as the pool does). Otherwise
  // asks for a refresh that starts after this call (not sooner than
  // kNodeListMinInterval after the previous one), waits for it until
  // `deadline`, and looks once more.
  asio::awaitable<bool> lists(const IdentityPublicKey& id, const std::string& host,
                              std::uint16_t port, Clock::time_point deadline);
  bool contains(const IdentityPublicKey& id, const std::string& host, std::uint16_t port) const;

 private:
  asio::awaitable<void> refresh();
  void wake_waiters();

  std::vector<PoolAddress> pools_;
  std::optional<TrustStore> trust_;  // unset when every pool is pinned
  std::chrono::milliseconds fetch_timeout_;
  Logger log_;
  std::map<std::string, std::vector<NodeDescriptor>> lists_;  // pool -> last verified list
  std::map<std::string, bool> pool_failing_;                  // warn once per outage
  std::map<std::string, std::chrono::seconds> periods_;       // pool -> heartbeat period
  Clock::duration period_ = kNodeListRefresh;
  std::optional<asio::steady_timer> next_refresh_;  // reset by stop()
  Clock::time_point last_start_{};
  std::uint64_t started_ = 0;    // refreshes started
  std::uint64_t completed_ = 0;  // refreshes completed
  bool refreshing_ = false;
  bool requested_ = false;
  bool stopped_ = false;
  std::set<asio::steady_timer*> waiters_;  // EXTENDs waiting for a refresh
};

}  // namespace tpdp
