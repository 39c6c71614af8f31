#include "examples/http_proxy/node_directory.hpp"

#include "common/net.hpp"

namespace tpdp::http_proxy {

NodeDirectory::NodeDirectory(asio::any_io_executor ex, std::vector<PoolAddress> pools,
                             ClientOptions options, std::chrono::steady_clock::duration max_age,
                             Logger log)
    : pools_(std::move(pools)),
      client_(ex, std::move(options)),
      max_age_(max_age),
      log_(std::move(log)),
      fetch_done_(ex, std::chrono::steady_clock::time_point::max()) {}

asio::awaitable<std::vector<NodeDescriptor>> NodeDirectory::pick_path(std::size_t n) {
  co_await ensure_fresh();
  if (nodes_.empty()) {
    throw NotEnoughNodes("no nodes known: the pools list no live nodes");
  }
  if (nodes_.size() < n) {
    throw NotEnoughNodes("not enough nodes: a " + std::to_string(n) + "-hop path needs " +
                         std::to_string(n) + " distinct nodes, but the pools list only " +
                         std::to_string(nodes_.size()));
  }
  co_return pick_random_path(nodes_, n);
}

asio::awaitable<std::size_t> NodeDirectory::refresh_now() {
  have_list_ = false;
  co_await ensure_fresh();
  co_return nodes_.size();
}

asio::awaitable<void> NodeDirectory::ensure_fresh() {
  if (have_list_ && std::chrono::steady_clock::now() - fetched_at_ < max_age_) co_return;
  if (fetching_) {
    // Someone else is fetching: wait for that fetch and share its outcome.
    while (fetching_) {
      [[maybe_unused]] auto [ec] = co_await fetch_done_.async_wait(use_tuple);
    }
    if (fetch_error_) std::rethrow_exception(fetch_error_);
    co_return;
  }
  fetching_ = true;
  fetch_error_ = nullptr;
  try {
    co_await fetch_all();
  } catch (...) {
    fetch_error_ = std::current_exception();
  }
  fetching_ = false;
  fetch_done_.cancel();  // wakes the waiters
  if (fetch_error_) std::rethrow_exception(fetch_error_);
}

asio::awaitable<void> NodeDirectory::fetch_all() {
  if (pools_.empty()) throw std::runtime_error("no pool given: use --pool HOST:PORT");
  client_.purge_nodes_list();
  std::size_t answered = 0;
  std::exception_ptr last_error;
  for (const auto& pool : pools_) {
    try {
      co_await client_.sync_nodes_list(pool);
      ++answered;
    } catch (const PoolError& e) {
      // An impersonated pool is never skipped quietly.
      if (e.code() == Errc::authentication_failed || e.code() == Errc::bad_signature) throw;
      // Said here only when another pool may still answer; else the caller says it.
      if (pools_.size() > 1) log_->warn("{}", e.what());
      last_error = std::current_exception();
    }
  }
  if (answered == 0) std::rethrow_exception(last_error);
  nodes_ = client_.nodes();
  fetched_at_ = std::chrono::steady_clock::now();
  have_list_ = true;
  log_->debug("the pools list {} node(s)", nodes_.size());
}

}  // namespace tpdp::http_proxy
