// Many circuits through one node at once: thousands idle (what an idle
// circuit costs the node), or a thousand all moving data (aggregate
// throughput and memory under load). Circuits are built `concurrency` at a
// time; every byte fetched is checked.
#include <memory>

#include "bench/commands.hpp"

namespace tpdp::bench {
namespace {

using Circuits = std::vector<std::unique_ptr<Circuit>>;

// Builds circuits[next..] with `concurrency` workers; failed slots stay null.
asio::awaitable<std::size_t> build_many(const std::vector<NodeDescriptor>& path, std::uint16_t dest,
                                        Circuits& circuits, std::size_t concurrency) {
  auto ex = co_await asio::this_coro::executor;
  std::size_t next = 0, failures = 0;
  WaitGroup finished(ex, concurrency);
  auto worker = [&]() -> asio::awaitable<void> {
    // Each pass takes one slot: at most circuits.size() passes in all.
    while (next < circuits.size()) {
      std::size_t i = next++;
      auto circuit = std::make_unique<Circuit>(ex);
      bool built = true;
      try {
        co_await build_circuit(*circuit, path, dest);
      } catch (const std::exception&) {
        built = false;
      }
      if (built) {
        circuits[i] = std::move(circuit);
      } else {
        ++failures;
      }
    }
    finished.done();
  };
  for (std::size_t w = 0; w < concurrency; ++w) asio::co_spawn(ex, worker(), asio::detached);
  co_await finished.wait();
  co_return failures;
}

asio::awaitable<void> finish_many(Circuits& circuits, std::size_t concurrency) {
  auto ex = co_await asio::this_coro::executor;
  std::size_t next = 0;
  WaitGroup finished(ex, concurrency);
  auto worker = [&]() -> asio::awaitable<void> {
    while (next < circuits.size()) {
      std::size_t i = next++;
      if (circuits[i]) co_await finish_circuit(*circuits[i], std::chrono::seconds(5));
      circuits[i].reset();
    }
    finished.done();
  };
  for (std::size_t w = 0; w < concurrency; ++w) asio::co_spawn(ex, worker(), asio::detached);
  co_await finished.wait();
}

// Fetches and checks `bytes` on every built circuit at once; returns how
// many came intact. finish_seconds: when each intact one was complete.
asio::awaitable<std::size_t> fetch_all(Circuits& circuits, std::uint64_t bytes,
                                       std::size_t buffer_size,
                                       std::vector<double>* finish_seconds = nullptr) {
  auto ex = co_await asio::this_coro::executor;
  const StreamPattern pattern;
  std::size_t intact = 0;
  WaitGroup finished(ex, circuits.size());
  auto start = Clock::now();
  auto one = [&](std::size_t i) -> asio::awaitable<void> {
    if (circuits[i]) {
      std::vector<std::uint8_t> buf(buffer_size);
      // Different positions: bytes crossing from one circuit to another show.
      try {
        co_await fetch_checked(*circuits[i], bytes, i * 7919, buf, pattern);
        ++intact;
        if (finish_seconds) finish_seconds->push_back(seconds_since(start));
      } catch (const std::exception&) {
      }
    }
    finished.done();
  };
  for (std::size_t i = 0; i < circuits.size(); ++i) asio::co_spawn(ex, one(i), asio::detached);
  co_await finished.wait();
  co_return intact;
}

asio::awaitable<void> sleep_for(double seconds) {
  asio::steady_timer t(
      co_await asio::this_coro::executor,
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds)));
  co_await t.async_wait(asio::use_awaitable);
}

void add_node_sample(JsonLine& out, const std::string& prefix,
                     const std::optional<ProcessSample>& s) {
  if (!s) return;
  out.add(prefix + "_rss_bytes", static_cast<double>(s->rss_bytes))
      .add(prefix + "_peak_bytes", static_cast<double>(s->peak_bytes))
      .add(prefix + "_descriptors", static_cast<double>(s->descriptors));
}

struct BusyWatch {
  bool transferring = true;
  std::uint64_t rss = 0;  // the highest reading
};

asio::awaitable<void> watch_rss(std::shared_ptr<BusyWatch> busy, int pid) {
  asio::steady_timer tick(co_await asio::this_coro::executor);
  while (busy->transferring) {
    if (auto s = sample_process(pid, false)) busy->rss = std::max(busy->rss, s->rss_bytes);
    tick.expires_after(std::chrono::milliseconds(20));
    co_await tick.async_wait(asio::use_awaitable);
  }
}

}  // namespace

asio::awaitable<JsonLine> run_idle(const Options& o) {
  auto path = co_await path_by_ports(o.pool, o.paths.at(0));
  auto before = sample_process(o.watch_pid);
  Circuits circuits(o.count);
  std::size_t failures = co_await build_many(path, o.dest_port, circuits, o.concurrency);
  // Every circuit carries a little (4 KiB, checked) before it goes idle.
  std::size_t intact = co_await fetch_all(circuits, 4096, 4096);
  co_await sleep_for(o.settle);
  auto idle = sample_process(o.watch_pid);
  co_await finish_many(circuits, o.concurrency);
  JsonLine out;
  out.add("circuits", static_cast<double>(o.count - failures))
      .add("failures", static_cast<double>(failures))
      .add("intact", static_cast<double>(intact));
  add_node_sample(out, "before", before);
  add_node_sample(out, "idle", idle);
  co_return out;
}

asio::awaitable<JsonLine> run_crowd(const Options& o) {
  auto ex = co_await asio::this_coro::executor;
  auto path = co_await path_by_ports(o.pool, o.paths.at(0));
  auto before = sample_process(o.watch_pid);
  Circuits circuits(o.count);
  std::size_t failures = co_await build_many(path, o.dest_port, circuits, o.concurrency);
  auto built = sample_process(o.watch_pid);
  // The node's RSS while the transfers run, read every 20 ms. The watcher
  // may wake once more after this function has returned: it shares its state.
  auto busy = std::make_shared<BusyWatch>();
  asio::co_spawn(ex, watch_rss(busy, o.watch_pid), asio::detached);
  auto start = Clock::now();
  std::vector<double> finish;
  std::size_t intact = co_await fetch_all(circuits, o.bytes, 64 * 1024, &finish);
  double secs = seconds_since(start);
  busy->transferring = false;
  auto after = sample_process(o.watch_pid);
  co_await finish_many(circuits, o.concurrency);
  JsonLine out;
  out.add("circuits", static_cast<double>(o.count - failures))
      .add("failures", static_cast<double>(failures))
      .add("intact", static_cast<double>(intact))
      .add("bytes_each", static_cast<double>(o.bytes))
      .add("seconds", secs)
      .add("aggregate_mb_per_s",
           static_cast<double>(intact) * static_cast<double>(o.bytes) / secs / 1e6)
      .add("busy_rss_bytes", static_cast<double>(busy->rss))
      .add("finish_median_seconds", quantile(finish, 0.5))
      .add("finish_p10_seconds", quantile(finish, 0.1))
      .add("finish_p90_seconds", quantile(finish, 0.9));
  add_node_sample(out, "before", before);
  add_node_sample(out, "built", built);
  add_node_sample(out, "after", after);
  co_return out;
}

}  // namespace tpdp::bench
