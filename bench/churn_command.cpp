// Circuit extensions per second through one node: many clients build 1-hop
// circuits (CREATE, ntor, BEGIN, destination connect, CONNECTED) back to
// back, each torn down cleanly. Counted over a window after a warm-up,
// together with the node's CPU time in that window.
#include "bench/commands.hpp"

namespace tpdp::bench {
namespace {

struct Churn {
  bool stop = false;
  std::size_t built = 0;
  std::size_t failed = 0;
};

constexpr std::size_t kMaxBuildsPerWorker = 10'000'000;  // besides the time bound

asio::awaitable<void> worker(const std::vector<NodeDescriptor>& path, std::uint16_t dest,
                             Churn& churn, WaitGroup& finished) {
  auto ex = co_await asio::this_coro::executor;
  for (std::size_t i = 0; i < kMaxBuildsPerWorker && !churn.stop; ++i) {
    Circuit circuit(ex);
    bool built = true;
    try {
      co_await build_circuit(circuit, path, dest);
    } catch (const std::exception&) {
      built = false;
    }
    if (built) {
      ++churn.built;
    } else {
      ++churn.failed;
    }
    co_await finish_circuit(circuit, std::chrono::seconds(5));
  }
  finished.done();
}

asio::awaitable<void> sleep_for(double seconds) {
  asio::steady_timer t(
      co_await asio::this_coro::executor,
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds)));
  co_await t.async_wait(asio::use_awaitable);
}

}  // namespace

asio::awaitable<JsonLine> run_churn(const Options& o) {
  auto ex = co_await asio::this_coro::executor;
  auto path = co_await path_by_ports(o.pool, o.paths.at(0));
  Churn churn;
  WaitGroup finished(ex, o.concurrency);
  for (std::size_t i = 0; i < o.concurrency; ++i) {
    asio::co_spawn(ex, worker(path, o.dest_port, churn, finished), asio::detached);
  }
  co_await sleep_for(o.warmup);
  auto node_before = sample_process(o.watch_pid);
  std::size_t built_before = churn.built, failed_before = churn.failed;
  auto start = Clock::now();
  co_await sleep_for(o.seconds);
  auto node_after = sample_process(o.watch_pid);
  double secs = seconds_since(start);
  std::size_t built = churn.built - built_before, failed = churn.failed - failed_before;
  churn.stop = true;
  co_await finished.wait();
  JsonLine out;
  out.add("circuits", static_cast<double>(built))
      .add("failures", static_cast<double>(failed))
      .add("seconds", secs)
      .add("per_second", static_cast<double>(built) / secs);
  if (node_before && node_after) {
    out.add("node_cpu", (node_after->cpu_seconds - node_before->cpu_seconds) / secs);
  }
  co_return out;
}

}  // namespace tpdp::bench
