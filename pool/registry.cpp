#include "pool/registry.hpp"

namespace tpdp {

Errc Registry::upsert(const NodeDescriptor& node, Clock::time_point now, Change* change) {
  for (const auto& [id, e] : nodes_) {
    if (!(id == node.identity) && e.node.host == node.host && e.node.port == node.port) {
      return Errc::address_in_use;
    }
  }
  auto it = nodes_.find(node.identity);
  if (it == nodes_.end()) {
    if (nodes_.size() >= max_nodes_) return Errc::limit_reached;
    nodes_.emplace(node.identity, Entry{node, now});
    if (change) *change = Change::added;
    return Errc::ok;
  }
  bool moved = !(it->second.node == node);
  it->second = Entry{node, now};
  if (change) *change = moved ? Change::moved : Change::refreshed;
  return Errc::ok;
}

std::vector<NodeDescriptor> Registry::sweep(Clock::time_point now, Clock::duration expiry) {
  std::vector<NodeDescriptor> removed;
  for (auto it = nodes_.begin(); it != nodes_.end();) {
    if (now - it->second.last_seen > expiry) {
      removed.push_back(it->second.node);
      it = nodes_.erase(it);
    } else {
      ++it;
    }
  }
  return removed;
}

std::vector<NodeDescriptor> Registry::snapshot() const {
  std::vector<NodeDescriptor> out;
  out.reserve(nodes_.size());
  for (const auto& [id, e] : nodes_) out.push_back(e.node);
  return out;
}

}  // namespace tpdp
