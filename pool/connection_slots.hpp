// The pool's open connections: at most `total`, at most `per_source` from
// one IP address. A connection that has not yet delivered its request
// (spec 5.1) is *waiting*; when every slot is taken, the oldest waiting
// connection is shed to make room for the newcomer, so idle connections
// cannot starve heartbeats and list requests. Only when every connection is
// busy with a complete request is the newcomer refused. Single-threaded.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>

namespace tpdp {

class ConnectionSlots {
 public:
  using Id = std::uint64_t;
  // Closes a shed connection (its coroutine then ends on its own).
  using Shed = std::function<void()>;
  enum class Outcome { admitted, admitted_after_shedding, refused_per_source, refused_full };
  struct Admission {
    Outcome outcome;
    Id id = 0;
  };

  ConnectionSlots(std::size_t total, std::size_t per_source)
      : total_(total), per_source_(per_source) {}

  // A new connection from `source`, waiting for its request.
  Admission admit(const std::string& source, Shed shed);
  // The connection's request is complete (busy: not shed) or it waits for
  // the next part of it (a heartbeat after the challenge: may be shed).
  void busy(Id id);
  void waiting(Id id);
  // The connection ended; nothing if it was shed.
  void release(Id id);

  std::size_t size() const { return entries_.size(); }
  std::size_t waiting_count() const { return waiting_.size(); }

 private:
  struct Entry {
    std::string source;
    Shed shed;
  };
  void erase(std::map<Id, Entry>::iterator it);

  std::size_t total_, per_source_;
  Id next_id_ = 1;  // ids grow: the smallest is the oldest
  std::map<Id, Entry> entries_;
  std::set<Id> waiting_;
  std::map<std::string, std::size_t> by_source_;
};

}  // namespace tpdp
