#include "pool/connection_slots.hpp"

namespace tpdp {

ConnectionSlots::Admission ConnectionSlots::admit(const std::string& source, Shed shed) {
  auto from = by_source_.find(source);
  if (from != by_source_.end() && from->second >= per_source_) {
    return {Outcome::refused_per_source};
  }
  Outcome outcome = Outcome::admitted;
  if (entries_.size() >= total_) {
    if (waiting_.empty()) return {Outcome::refused_full};
    auto oldest = entries_.find(*waiting_.begin());
    Shed close = std::move(oldest->second.shed);
    erase(oldest);
    if (close) close();
    outcome = Outcome::admitted_after_shedding;
  }
  Id id = next_id_++;
  entries_.emplace(id, Entry{source, std::move(shed)});
  waiting_.insert(id);
  ++by_source_[source];
  return {outcome, id};
}

void ConnectionSlots::busy(Id id) {
  waiting_.erase(id);
}

void ConnectionSlots::waiting(Id id) {
  if (entries_.count(id)) waiting_.insert(id);
}

void ConnectionSlots::release(Id id) {
  auto it = entries_.find(id);
  if (it != entries_.end()) erase(it);
}

void ConnectionSlots::erase(std::map<Id, Entry>::iterator it) {
  waiting_.erase(it->first);
  auto from = by_source_.find(it->second.source);
  if (from != by_source_.end() && --from->second == 0) by_source_.erase(from);
  entries_.erase(it);
}

}  // namespace tpdp
