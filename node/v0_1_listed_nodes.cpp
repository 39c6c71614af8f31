#include "node/v0_1_listed_nodes.hpp"

#include "common/net.hpp"
#include "common/v0_1_pool_list.hpp"

namespace tpdp {

namespace {
using Clock = std::chrono::steady_clock;
constexpr auto kFresh = std::chrono::seconds(5);       // a listed node is believed this long
constexpr auto kMinRefetch = std::chrono::seconds(1);  // misses refetch at most this often
}  // namespace

V01ListedNodes::V01ListedNodes(asio::any_io_executor ex, std::vector<HostPort> pools,
                               std::chrono::milliseconds timeout, Logger log)
    : pools_(std::move(pools)),
      timeout_(timeout),
      log_(std::move(log)),
      fetch_done_(ex, Clock::time_point::max()) {}

asio::awaitable<bool> V01ListedNodes::contains(const HostPort& where) {
  auto key = std::make_pair(where.host, where.port);
  auto age = Clock::now() - fetched_at_;
  if (age < kFresh && listed_.count(key)) co_return true;
  if (fetching_) {
    while (fetching_) {
      [[maybe_unused]] auto [ec] = co_await fetch_done_.async_wait(use_tuple);
    }
  } else if (age >= kMinRefetch) {
    co_await refresh();
  }
  co_return listed_.count(key) > 0;
}

asio::awaitable<void> V01ListedNodes::refresh() {
  fetching_ = true;
  std::set<std::pair<std::string, std::uint16_t>> listed;
  std::size_t answered = 0;
  for (const auto& pool : pools_) {
    try {
      auto list = co_await fetch_v0_1_node_list(pool, timeout_);
      for (auto& n : list.nodes) listed.emplace(std::move(n.host), n.port);
      ++answered;
    } catch (const std::exception& e) {
      log_->warn("cannot fetch the node list of pool {}: {}", format_host_port(pool), e.what());
    }
  }
  // Keep the old lists when no pool answered.
  if (answered > 0) listed_ = std::move(listed);
  fetched_at_ = Clock::now();
  fetching_ = false;
  fetch_done_.cancel();
}

}  // namespace tpdp
