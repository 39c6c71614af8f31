// The pool's list of live nodes, keyed by identity. Single-threaded (owned
// by the pool's io_context).
//
// TPDP/1 lists a node only after the pool has proved it answers at its
// advertised address (pool/reachability_proof.hpp): admit() takes the
// endpoint the proof reached. TPDP/0.1 has nothing to prove: upsert().
#pragma once

#include <asio/ip/address.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <vector>

#include "protocol/pool_messages.hpp"

namespace tpdp {

class Registry {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Change { added, refreshed, moved };
  // What a verified TPDP/1 heartbeat needs before the pool accepts it.
  enum class ProofNeeded {
    none,     // listed with this very descriptor, proved recently: refresh()
    first,    // a new identity, or a new address or onion key: admit() after a proof
    recheck,  // listed unchanged, but the last proof is older than the re-check interval
  };

  // max_per_address: most identities listed at one proved IP address (0: no cap).
  explicit Registry(std::size_t max_nodes, std::size_t max_per_address = 0)
      : max_nodes_(max_nodes), max_per_address_(max_per_address) {}

  // TPDP/0.1: records a heartbeat as it comes. Errc::address_in_use if
  // another live identity holds that host:port; Errc::limit_reached when full.
  Errc upsert(const NodeDescriptor& node, Clock::time_point now, Change* change = nullptr);

  ProofNeeded proof_needed(const NodeDescriptor& node, Clock::time_point now,
                           Clock::duration recheck) const;
  // Refreshes a node listed with exactly this descriptor; false if it is not.
  bool refresh(const NodeDescriptor& node, Clock::time_point now);
  // Errc::limit_reached if admitting `node` could not succeed whatever its
  // proof shows (checked before the work of a proof): the list is full and
  // no entry would make room, or `literal` (the host when it is an IP
  // literal) already holds the most identities allowed.
  Errc precheck(const NodeDescriptor& node, const asio::ip::address* literal) const;
  // Lists `node` after its proof reached it at `proved`. The node answered
  // there as its identity, so any other identity listed for the same
  // host:port, or proved at the same endpoint, loses it: those entries are
  // dropped and returned in *displaced. Errc::limit_reached (nothing
  // changed) if the IP address already holds max_per_address other
  // identities or the list is full.
  Errc admit(const NodeDescriptor& node, const asio::ip::address& proved_ip,
             std::uint16_t proved_port, Clock::time_point now, Change* change,
             std::vector<NodeDescriptor>* displaced);
  // Drops an identity (its proof failed); true if it was listed.
  bool remove(const IdentityPublicKey& identity);
  // The listed node proved longest ago, if that was before `proved_before`:
  // the one to prove again when the list is full (a node that answered its
  // proof once and went silent must not hold a place until its re-check).
  std::optional<NodeDescriptor> least_recently_proved(Clock::time_point proved_before) const;
  // A listed node with exactly this descriptor was proved again at `now`.
  void proved_again(const NodeDescriptor& node, Clock::time_point now);

  // Drops nodes whose last heartbeat is older than expiry; returns them.
  std::vector<NodeDescriptor> sweep(Clock::time_point now, Clock::duration expiry);
  std::vector<NodeDescriptor> snapshot() const;
  std::size_t size() const { return nodes_.size(); }

 private:
  struct Entry {
    NodeDescriptor node;
    Clock::time_point last_seen;
    Clock::time_point proved_at{};  // TPDP/1: when its address was last proved
    asio::ip::address proved_ip;    // TPDP/1: the endpoint the proof reached
    std::uint16_t proved_port = 0;
  };
  bool same_address(const Entry& e, const NodeDescriptor& node, const asio::ip::address& ip,
                    std::uint16_t port) const;
  std::size_t max_nodes_;
  std::size_t max_per_address_;
  std::map<IdentityPublicKey, Entry> nodes_;
};

}  // namespace tpdp
