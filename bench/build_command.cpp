// Circuit build time: from connecting to the first node until the exit has
// confirmed the destination connection (CONNECTED). One build at a time,
// paths taken in turn so that every path sees the same machine conditions.
#include "bench/commands.hpp"

namespace tpdp::bench {

asio::awaitable<JsonLine> run_build(const Options& o) {
  auto ex = co_await asio::this_coro::executor;
  std::vector<std::vector<NodeDescriptor>> paths;
  for (const auto& ports : o.paths) paths.push_back(co_await path_by_ports(o.pool, ports));
  std::vector<std::vector<double>> ms(paths.size());
  std::size_t failures = 0;
  for (std::size_t i = 0; i < o.count; ++i) {
    for (std::size_t p = 0; p < paths.size(); ++p) {
      Circuit circuit(ex);
      auto start = Clock::now();
      bool built = true;
      try {
        co_await build_circuit(circuit, paths[p], o.dest_port);
      } catch (const std::exception&) {
        built = false;
      }
      if (built) {
        ms[p].push_back(seconds_since(start) * 1e3);
      } else {
        ++failures;
      }
      // Torn down outside the timed part, and completely, before the next build.
      co_await finish_circuit(circuit, std::chrono::seconds(5));
    }
  }
  JsonLine out;
  out.add("failures", static_cast<double>(failures));
  for (std::size_t p = 0; p < paths.size(); ++p) {
    std::string key = "hops" + std::to_string(paths[p].size());
    out.add(key + "_median_ms", quantile(ms[p], 0.5))
        .add(key + "_p99_ms", quantile(ms[p], 0.99))
        .add(key + "_samples_ms", ms[p]);
  }
  co_return out;
}

}  // namespace tpdp::bench
