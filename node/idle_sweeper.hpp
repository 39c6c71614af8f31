// Ends relaying circuits that carried no bytes for the idle timeout. One
// timer for the whole node instead of one per circuit: an idle circuit then
// costs its sockets, its keys and its two suspended direction coroutines,
// and nothing that ticks. Single-threaded, like the node.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <functional>

namespace tpdp {

class IdleSweeper {
 public:
  using Clock = std::chrono::steady_clock;

  // A relaying circuit as the sweeper sees it: registered for its lifetime.
  class Watch {
   public:
    Watch(IdleSweeper& sweeper, const Clock::time_point& last_activity,
          std::function<void()> on_idle)
        : sweeper_(&sweeper), last_activity_(last_activity), on_idle_(std::move(on_idle)) {
      sweeper_->add(this);
    }
    ~Watch() {
      if (sweeper_) sweeper_->remove(this);
    }
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;

   private:
    friend class IdleSweeper;
    IdleSweeper* sweeper_;
    const Clock::time_point& last_activity_;
    std::function<void()> on_idle_;
    Watch* prev_ = nullptr;
    Watch* next_ = nullptr;
  };

  explicit IdleSweeper(Clock::duration idle) : idle_(idle) {}
  ~IdleSweeper() {
    // Circuits torn down after the node (at process exit) must not reach back.
    for (Watch* w = head_; w; w = w->next_) w->sweeper_ = nullptr;
  }
  IdleSweeper(const IdleSweeper&) = delete;
  IdleSweeper& operator=(const IdleSweeper&) = delete;

  std::size_t watched() const { return count_; }

  // Every quarter of the idle timeout (at least 50 ms), tells each circuit
  // idle for longer than the timeout to end. A circuit told once and still
  // there is told again at the next pass. Runs until stopped and no circuit
  // is left: a node draining on SIGTERM still ends its idle circuits.
  asio::awaitable<void> run(const bool& stopping) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto tick = std::max<Clock::duration>(idle_ / 4, std::chrono::milliseconds(50));
    while (!stopping || count_ > 0) {
      timer.expires_after(tick);
      co_await timer.async_wait(asio::use_awaitable);
      const auto now = Clock::now();
      // on_idle only cancels operations: no watch is added or removed meanwhile.
      for (Watch* w = head_; w; w = w->next_) {
        if (now - w->last_activity_ > idle_) w->on_idle_();
      }
    }
  }

 private:
  void add(Watch* w) {
    w->next_ = head_;
    if (head_) head_->prev_ = w;
    head_ = w;
    ++count_;
  }
  void remove(Watch* w) {
    if (w->prev_) w->prev_->next_ = w->next_;
    if (w->next_) w->next_->prev_ = w->prev_;
    if (head_ == w) head_ = w->next_;
    --count_;
  }

  Clock::duration idle_;
  Watch* head_ = nullptr;
  std::size_t count_ = 0;
};

}  // namespace tpdp
