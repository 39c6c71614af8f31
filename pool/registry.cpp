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
    nodes_.emplace(node.identity, Entry{node, now, {}, {}, 0});
    if (change) *change = Change::added;
    return Errc::ok;
  }
  bool moved = !(it->second.node == node);
  it->second = Entry{node, now, {}, {}, 0};
  if (change) *change = moved ? Change::moved : Change::refreshed;
  return Errc::ok;
}

Registry::ProofNeeded Registry::proof_needed(const NodeDescriptor& node, Clock::time_point now,
                                             Clock::duration recheck) const {
  auto it = nodes_.find(node.identity);
  if (it == nodes_.end() || !(it->second.node == node)) return ProofNeeded::first;
  return now - it->second.proved_at >= recheck ? ProofNeeded::recheck : ProofNeeded::none;
}

std::optional<NodeDescriptor> Registry::least_recently_proved(
    Clock::time_point proved_before) const {
  const Entry* oldest = nullptr;
  for (const auto& [id, e] : nodes_) {
    if (!oldest || e.proved_at < oldest->proved_at) oldest = &e;
  }
  if (!oldest || oldest->proved_at >= proved_before) return std::nullopt;
  return oldest->node;
}

void Registry::proved_again(const NodeDescriptor& node, Clock::time_point now) {
  auto it = nodes_.find(node.identity);
  if (it != nodes_.end() && it->second.node == node) it->second.proved_at = now;
}

bool Registry::refresh(const NodeDescriptor& node, Clock::time_point now) {
  auto it = nodes_.find(node.identity);
  if (it == nodes_.end() || !(it->second.node == node)) return false;
  it->second.last_seen = now;
  return true;
}

Errc Registry::precheck(const NodeDescriptor& node, const asio::ip::address* literal) const {
  if (nodes_.count(node.identity)) return Errc::ok;  // listed: a move never needs room
  bool makes_room = false;
  std::size_t at_address = 0;
  for (const auto& [id, e] : nodes_) {
    bool same = e.node.host == node.host && e.node.port == node.port;
    makes_room = makes_room || same;
    if (literal && !same && e.proved_ip == *literal) ++at_address;
  }
  if (nodes_.size() >= max_nodes_ && !makes_room) return Errc::limit_reached;
  if (max_per_address_ > 0 && at_address >= max_per_address_) return Errc::limit_reached;
  return Errc::ok;
}

bool Registry::same_address(const Entry& e, const NodeDescriptor& node, const asio::ip::address& ip,
                            std::uint16_t port) const {
  return (e.node.host == node.host && e.node.port == node.port) ||
         (e.proved_port == port && e.proved_ip == ip);
}

Errc Registry::admit(const NodeDescriptor& node, const asio::ip::address& proved_ip,
                     std::uint16_t proved_port, Clock::time_point now, Change* change,
                     std::vector<NodeDescriptor>* displaced) {
  // Check every limit before changing anything.
  std::size_t losing = 0, at_address = 0;
  for (const auto& [id, e] : nodes_) {
    if (id == node.identity) continue;
    if (same_address(e, node, proved_ip, proved_port)) {
      ++losing;
    } else if (e.proved_ip == proved_ip) {
      ++at_address;
    }
  }
  auto it = nodes_.find(node.identity);
  if (max_per_address_ > 0 && at_address >= max_per_address_) return Errc::limit_reached;
  if (it == nodes_.end() && nodes_.size() - losing >= max_nodes_) return Errc::limit_reached;

  for (auto e = nodes_.begin(); e != nodes_.end();) {
    if (!(e->first == node.identity) && same_address(e->second, node, proved_ip, proved_port)) {
      if (displaced) displaced->push_back(e->second.node);
      e = nodes_.erase(e);
    } else {
      ++e;
    }
  }
  Entry entry{node, now, now, proved_ip, proved_port};
  it = nodes_.find(node.identity);
  if (it == nodes_.end()) {
    nodes_.emplace(node.identity, std::move(entry));
    if (change) *change = Change::added;
  } else {
    bool moved = !(it->second.node == node);
    it->second = std::move(entry);
    if (change) *change = moved ? Change::moved : Change::refreshed;
  }
  return Errc::ok;
}

bool Registry::remove(const IdentityPublicKey& identity) {
  return nodes_.erase(identity) > 0;
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
