// Bounds the work the pool spends proving nodes reachable (spec 5.5): how
// many proofs run at once, in all and for heartbeats from one source IP
// address, and a short memory of failed proofs, so that a flood of fake
// registrations costs the pool little and cannot crowd out real nodes.
// Single-threaded.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>

#include "protocol/pool_messages.hpp"

namespace tpdp {

class ProofGate {
 public:
  using Clock = std::chrono::steady_clock;

  ProofGate(std::size_t max_in_flight, std::size_t max_per_source, Clock::duration memory,
            std::size_t max_remembered = 4096)
      : max_in_flight_(max_in_flight),
        max_per_source_(max_per_source),
        memory_(memory),
        max_remembered_(max_remembered) {}

  // One proof in flight, counted until destroyed.
  class Slot {
   public:
    Slot(ProofGate* gate, std::string source) : gate_(gate), source_(std::move(source)) {}
    Slot(Slot&& o) noexcept : gate_(o.gate_), source_(std::move(o.source_)) { o.gate_ = nullptr; }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    Slot& operator=(Slot&&) = delete;
    ~Slot();

   private:
    ProofGate* gate_;
    std::string source_;
  };

  // A slot for a proof asked for by a heartbeat from `source`; nullopt when
  // the pool already runs its most proofs, in all or for that source.
  std::optional<Slot> acquire(const std::string& source);

  // The status of a proof of exactly this descriptor that failed less than
  // `memory` ago, if any.
  std::optional<Errc> remembered_failure(const NodeDescriptor& node, Clock::time_point now) const;
  void remember_failure(const NodeDescriptor& node, Errc status, Clock::time_point now);
  // Forgets failures older than the memory (called by the pool's sweep).
  void forget_old(Clock::time_point now);

  std::size_t in_flight() const { return in_flight_; }
  std::size_t remembered() const { return failures_.size(); }

 private:
  struct Failure {
    Errc status;
    Clock::time_point at;
  };
  std::size_t max_in_flight_, max_per_source_;
  Clock::duration memory_;
  std::size_t max_remembered_;
  std::size_t in_flight_ = 0;
  std::map<std::string, std::size_t> by_source_;
  std::map<Bytes, Failure> failures_;  // keyed by the encoded descriptor
};

}  // namespace tpdp
