#include "pool/proof_gate.hpp"

namespace tpdp {

ProofGate::Slot::~Slot() {
  if (!gate_) return;
  --gate_->in_flight_;
  auto it = gate_->by_source_.find(source_);
  if (it != gate_->by_source_.end() && --it->second == 0) gate_->by_source_.erase(it);
}

std::optional<ProofGate::Slot> ProofGate::acquire(const std::string& source) {
  if (in_flight_ >= max_in_flight_) return std::nullopt;
  auto it = by_source_.find(source);
  if (it != by_source_.end() && it->second >= max_per_source_) return std::nullopt;
  ++in_flight_;
  ++by_source_[source];
  return std::optional<Slot>(std::in_place, this, source);
}

std::optional<Errc> ProofGate::remembered_failure(const NodeDescriptor& node,
                                                  Clock::time_point now) const {
  auto it = failures_.find(encode_to_bytes(node));
  if (it == failures_.end() || now - it->second.at >= memory_) return std::nullopt;
  return it->second.status;
}

void ProofGate::remember_failure(const NodeDescriptor& node, Errc status, Clock::time_point now) {
  if (failures_.size() >= max_remembered_) forget_old(now);
  if (failures_.size() >= max_remembered_) {
    // Still full of recent failures (a flood): forget the oldest one.
    auto oldest = failures_.begin();
    for (auto it = failures_.begin(); it != failures_.end(); ++it) {
      if (it->second.at < oldest->second.at) oldest = it;
    }
    failures_.erase(oldest);
  }
  failures_[encode_to_bytes(node)] = Failure{status, now};
}

void ProofGate::forget_old(Clock::time_point now) {
  for (auto it = failures_.begin(); it != failures_.end();) {
    if (now - it->second.at >= memory_) {
      it = failures_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace tpdp
