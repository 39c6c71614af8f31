#include "node/node_directory.hpp"

#include "client/pool_client.hpp"
#include "common/net.hpp"
#include "protocol/identity.hpp"

namespace tpdp {

NodeDirectory::NodeDirectory(asio::any_io_executor ex, std::vector<PoolAddress> pools,
                             std::filesystem::path trust_file,
                             std::chrono::milliseconds fetch_timeout, Logger log)
    : pools_(std::move(pools)), fetch_timeout_(fetch_timeout), log_(std::move(log)) {
  next_refresh_.emplace(ex);
  bool any_unpinned = false;
  for (const auto& p : pools_) any_unpinned = any_unpinned || !p.pinned_key;
  // Read at start: a corrupt or unsafe file stops the node here, not later.
  if (any_unpinned) trust_.emplace(std::move(trust_file));
}

void NodeDirectory::stop() {
  stopped_ = true;
  // Destroyed here, not with this object: the node server that owns it
  // outlives the io_context (node/main.cpp), and a timer must not. A wait
  // on it ends as cancelled, and the loop sees stopped_.
  next_refresh_.reset();
  wake_waiters();
}

void NodeDirectory::wake_waiters() {
  for (auto* t : waiters_) t->cancel();
}

bool NodeDirectory::contains(const IdentityPublicKey& id, const std::string& host,
                             std::uint16_t port) const {
  for (const auto& [pool, nodes] : lists_) {
    for (const auto& n : nodes) {
      if (n.identity == id && n.port == port && n.host == host) return true;
    }
  }
  return false;
}

asio::awaitable<void> NodeDirectory::refresh() {
  // A request made before this point is served by this refresh.
  requested_ = false;
  last_start_ = Clock::now();
  ++started_;
  refreshing_ = true;
  // Pools one after another: a pool that is down costs at most the fetch
  // timeout, and its last verified list is kept meanwhile.
  for (const auto& pool : pools_) {
    std::string name = pool.to_string();
    try {
      auto list = co_await fetch_node_list(pool, trust_ ? &*trust_ : nullptr, fetch_timeout_);
      if (list.first_use) {
        log_->info("trusting pool {} key {} on first use (remembered in {})", name,
                   fingerprint(list.pool_key), trust_->file().string());
      }
      bool first = lists_.find(name) == lists_.end();
      auto level = first || pool_failing_[name] ? spdlog::level::info : spdlog::level::debug;
      log_->log(level, "node list from pool {}: {} node(s) this node may extend to", name,
                list.nodes.size());
      lists_[name] = std::move(list.nodes);
      pool_failing_[name] = false;
    } catch (const std::exception& e) {
      // Warn once per outage; the list verified last stays in use.
      auto level = pool_failing_[name] ? spdlog::level::debug : spdlog::level::warn;
      log_->log(level, "cannot refresh the node list from pool {} ({}); keeping the last one", name,
                e.what());
      pool_failing_[name] = true;
    }
  }
  refreshing_ = false;
  ++completed_;
  wake_waiters();
}

void NodeDirectory::heartbeat_period(const std::string& pool, std::chrono::seconds period) {
  periods_[pool] = std::max<std::chrono::seconds>(period, kNodeListMinInterval);
  auto shortest = periods_.begin()->second;
  for (const auto& [name, p] : periods_) shortest = std::min(shortest, p);
  if (shortest == period_) return;
  period_ = shortest;
  if (!refreshing_ && next_refresh_) next_refresh_->cancel();  // the loop looks at the new period
}

asio::awaitable<void> NodeDirectory::run() {
  while (!stopped_) {
    co_await refresh();
    // Cut short by lists() (requested_), heartbeat_period() or stop().
    while (!stopped_ && !requested_ && Clock::now() < last_start_ + period_) {
      next_refresh_->expires_at(last_start_ + period_);
      co_await next_refresh_->async_wait(use_tuple);
    }
    if (stopped_) break;
    auto earliest = last_start_ + kNodeListMinInterval;
    while (!stopped_ && Clock::now() < earliest) {
      next_refresh_->expires_at(earliest);
      co_await next_refresh_->async_wait(use_tuple);
    }
  }
  wake_waiters();
}

asio::awaitable<bool> NodeDirectory::lists(const IdentityPublicKey& id, const std::string& host,
                                           std::uint16_t port, Clock::time_point deadline) {
  if (contains(id, host, port)) co_return true;
  if (pools_.empty() || stopped_) co_return false;
  // A refresh already under way may have fetched before the node joined:
  // wait for one that starts after now.
  const std::uint64_t wanted = started_ + 1;
  if (!requested_) {
    requested_ = true;
    if (!refreshing_ && next_refresh_) next_refresh_->cancel();
  }
  asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
  // Registered for as long as this frame lives, even if it is destroyed
  // while waiting (io_context torn down): never a dangling entry.
  struct Registration {
    std::set<asio::steady_timer*>& set;
    asio::steady_timer* timer;
    ~Registration() { set.erase(timer); }
  } registration{waiters_, &timer};
  waiters_.insert(&timer);
  auto cancellation = co_await asio::this_coro::cancellation_state;
  while (completed_ < wanted && !stopped_) {
    auto [ec] = co_await timer.async_wait(use_tuple);
    if (!ec) break;  // the deadline
    if (cancellation.cancelled() != asio::cancellation_type::none) break;
  }
  co_return contains(id, host, port);
}

}  // namespace tpdp
