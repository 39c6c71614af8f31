// Hands out the node's handshake work (a CREATE's ntor: the X25519s) one
// handshake per turn of the event loop, taking source addresses in turn.
// Without it, every CREATE that arrived in one batch was answered in that
// batch: a flood from one address (up to its in-flight limit, 256) meant
// tens of milliseconds in which nothing else ran, several times over for
// each step of a legitimate circuit. With it, another address's handshake
// waits for at most one handshake per other address with work waiting, and
// relaying goes on between any two handshakes. The first handshake of a
// turn goes ahead at once (no timer, no suspension: the common case costs
// one post); only the others wait. Single-threaded, like the node.
#pragma once

#include <algorithm>
#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <deque>
#include <map>
#include <string>
#include <system_error>

namespace tpdp {

class HandshakeTurns {
 public:
  explicit HandshakeTurns(asio::any_io_executor ex) : ex_(std::move(ex)) {}
  HandshakeTurns(const HandshakeTurns&) = delete;
  HandshakeTurns& operator=(const HandshakeTurns&) = delete;

  // Returns when it is this handshake's turn: do the work right away, before
  // the next co_await. Throws operation_aborted if the caller is cancelled
  // (its deadline) while it waits.
  asio::awaitable<void> wait(const std::string& source) {
    if (!turn_taken_ && waiting_count_ == 0) {
      take_turn();
      co_return;
    }
    Waiter w(*this, source);
    auto [ec] = co_await w.ready.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    if (!w.granted) throw std::system_error(ec ? ec : asio::error::operation_aborted);
  }

  std::size_t waiting() const { return waiting_count_; }

 private:
  struct Waiter {
    Waiter(HandshakeTurns& t, const std::string& s)
        : turns(t), source(s), ready(t.ex_, asio::steady_timer::time_point::max()) {
      turns.enqueue(this);
    }
    ~Waiter() {
      if (!granted) turns.forget(this);
    }
    Waiter(const Waiter&) = delete;
    Waiter& operator=(const Waiter&) = delete;
    HandshakeTurns& turns;
    std::string source;
    asio::steady_timer ready;  // cancelled to wake the waiter
    bool granted = false;
  };

  void enqueue(Waiter* w) {
    auto& queue = by_source_[w->source];
    if (queue.empty()) sources_.push_back(w->source);
    queue.push_back(w);
    ++waiting_count_;
    if (!turn_taken_) take_turn();  // its end hands the next turn to a waiter
  }

  // A waiter that was cancelled (or whose coroutine ended) before its turn.
  void forget(Waiter* w) {
    auto it = by_source_.find(w->source);
    if (it == by_source_.end()) return;
    auto& queue = it->second;
    auto pos = std::find(queue.begin(), queue.end(), w);
    if (pos == queue.end()) return;
    queue.erase(pos);
    --waiting_count_;
    if (queue.empty()) {
      by_source_.erase(it);
      sources_.erase(std::find(sources_.begin(), sources_.end(), w->source));
    }
  }

  // The turn lasts until the posted end_turn runs: everything queued before
  // it (the granted handshake, I/O that became ready) runs first.
  void take_turn() {
    turn_taken_ = true;
    asio::post(ex_, [this] { end_turn(); });
  }

  void end_turn() {
    turn_taken_ = false;
    if (!sources_.empty()) grant_one();
  }

  // Wakes the first waiter of the next source and gives it the turn.
  void grant_one() {
    std::string source = std::move(sources_.front());
    sources_.pop_front();
    auto it = by_source_.find(source);
    Waiter* w = it->second.front();
    it->second.pop_front();
    --waiting_count_;
    if (it->second.empty()) {
      by_source_.erase(it);
    } else {
      sources_.push_back(std::move(source));
    }
    w->granted = true;
    w->ready.cancel();
    take_turn();
  }

  asio::any_io_executor ex_;
  std::map<std::string, std::deque<Waiter*>> by_source_;
  std::deque<std::string> sources_;  // sources with waiters, next turn first
  std::size_t waiting_count_ = 0;
  bool turn_taken_ = false;  // a handshake has the current turn
};

}  // namespace tpdp
