// The pool's list of live nodes, keyed by identity. Single-threaded (owned
// by the pool's io_context).
#pragma once

#include <chrono>
#include <map>
#include <vector>

#include "protocol/pool_messages.hpp"

namespace tpdp {

class Registry {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Change { added, refreshed, moved };

  explicit Registry(std::size_t max_nodes) : max_nodes_(max_nodes) {}

  // Records a verified heartbeat. Errc::address_in_use if another live
  // identity holds that host:port; Errc::limit_reached when full.
  Errc upsert(const NodeDescriptor& node, Clock::time_point now, Change* change = nullptr);
  // Drops nodes whose last heartbeat is older than expiry; returns them.
  std::vector<NodeDescriptor> sweep(Clock::time_point now, Clock::duration expiry);
  std::vector<NodeDescriptor> snapshot() const;
  std::size_t size() const { return nodes_.size(); }

 private:
  struct Entry {
    NodeDescriptor node;
    Clock::time_point last_seen;
  };
  std::size_t max_nodes_;
  std::map<IdentityPublicKey, Entry> nodes_;
};

}  // namespace tpdp
