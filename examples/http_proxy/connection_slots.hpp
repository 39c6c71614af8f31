// The client connections that hold tpdp-http-proxy's slots (--max-connections),
// how many each source address holds (--max-connections-per-source), and
// which one gives its slot up when a newcomer finds them all taken.
//
// Slowloris: connections that trickle their request head hold a slot each for
// as long as they like unless something takes it back. The head deadline
// (--head-timeout) bounds how long; this table makes a full proxy shed a
// connection still waiting for its request head instead of refusing the
// newcomer: the oldest half-sent head first, then the oldest connection that
// has sent nothing for kShedGrace (younger ones may have their head in
// flight: a real client sends it right after connecting), then the oldest
// idle between keep-alive requests. Connections whose request is being served
// are never shed: when nothing can be, newcomers get 503.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace tpdp::http_proxy {

class ConnectionSlots {
 public:
  using Id = std::uint64_t;
  using Clock = std::chrono::steady_clock;
  enum class State {
    sending_head,      // part of a request head has arrived: shed first
    awaiting_head,     // new, nothing sent yet: shed next, once older than kShedGrace
    between_requests,  // keep-alive, nothing of the next request yet: shed last
    serving,           // a request is being served: never shed
  };
  static constexpr std::chrono::milliseconds kShedGrace{1000};
  enum class Admission { admitted, source_full, full };

  ConnectionSlots(std::size_t max_connections, std::size_t max_per_source)
      : max_(max_connections), max_per_source_(max_per_source) {}

  // Takes a slot for a connection from `source`, in state awaiting_head. When
  // all are taken, sheds the connection waiting longest for a head: its slot
  // is freed and on_shed (its own callback) is called before this returns.
  // `id` is set when admitted.
  Admission admit(const std::string& source, std::function<void()> on_shed, Id& id) {
    auto per_source = per_source_.find(source);
    if (per_source != per_source_.end() && per_source->second >= max_per_source_) {
      return Admission::source_full;
    }
    if (entries_.size() >= max_) {
      auto victim = entries_.end();
      auto now = Clock::now();
      for (auto it = entries_.begin(); it != entries_.end(); ++it) {
        const Entry& e = it->second;
        if (e.state == State::serving) continue;
        if (e.state == State::awaiting_head && now - e.since < kShedGrace) continue;
        if (victim == entries_.end() || sheds_before(e, victim->second)) victim = it;
      }
      if (victim == entries_.end()) return Admission::full;
      auto shed = std::move(victim->second.on_shed);
      release(victim->first);
      ++shed_count_;
      if (shed) shed();
    }
    id = ++next_id_;
    entries_[id] = Entry{source, State::awaiting_head, Clock::now(), std::move(on_shed)};
    ++per_source_[source];
    return Admission::admitted;
  }

  // A new state; the wait for a head counts from the change.
  void set_state(Id id, State state) {
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second.state == state) return;
    it->second.state = state;
    it->second.since = Clock::now();
  }

  // Frees the slot (once; later calls do nothing).
  void release(Id id) {
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    auto per_source = per_source_.find(it->second.source);
    if (per_source != per_source_.end() && --per_source->second == 0) per_source_.erase(per_source);
    entries_.erase(it);
  }

  bool holds(Id id) const { return entries_.count(id) != 0; }
  std::size_t size() const { return entries_.size(); }
  std::size_t from(const std::string& source) const {
    auto it = per_source_.find(source);
    return it == per_source_.end() ? 0 : it->second;
  }
  std::uint64_t shed_count() const { return shed_count_; }
  std::size_t max() const { return max_; }
  std::size_t max_per_source() const { return max_per_source_; }

 private:
  struct Entry {
    std::string source;
    State state;
    Clock::time_point since;
    std::function<void()> on_shed;
  };

  // In the order of State; within one, the longer wait.
  static bool sheds_before(const Entry& a, const Entry& b) {
    if (a.state != b.state) return a.state < b.state;
    return a.since < b.since;
  }

  std::size_t max_;
  std::size_t max_per_source_;
  Id next_id_ = 0;
  std::uint64_t shed_count_ = 0;
  std::map<Id, Entry> entries_;  // ids grow: iteration is in order of arrival
  std::map<std::string, std::size_t> per_source_;
};

}  // namespace tpdp::http_proxy
