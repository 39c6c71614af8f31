#include "client/cli_common.hpp"

#include "protocol/identity.hpp"

namespace tpdp::cli {

void warn(const std::string& message) {
  std::cerr << "tpdp-client: warning: " << message << "\n";
}

asio::awaitable<void> sync_all(Client& client, const Options& options) {
  if (options.pools.empty()) {
    throw std::runtime_error("no pool given: use --pool HOST:PORT[@FINGERPRINT]");
  }
  std::size_t ok = 0;
  std::string last_error;
  for (const auto& pool : options.pools) {
    try {
      co_await client.sync_nodes_list(pool);
      ++ok;
    } catch (const PoolError& e) {
      // A pool that is impersonated is never silently skipped.
      if (e.code() == Errc::authentication_failed || e.code() == Errc::bad_signature) throw;
      last_error = e.what();
      if (options.pools.size() > 1) warn(last_error);
    }
  }
  if (ok == 0) throw std::runtime_error(last_error);
}

asio::awaitable<void> build_path(Client& client, const Options& options, const std::string& host,
                                 std::uint16_t port) {
  co_await sync_all(client, options);
  auto started = std::chrono::steady_clock::now();
  auto path = options.path.empty() ? pick_random_path(client.nodes(), options.hops)
                                   : pick_listed_path(client.nodes(), options.path);
  co_await client.connect(path[0]);
  for (std::size_t i = 1; i < path.size(); ++i) co_await client.next_destination(path[i]);
  co_await client.open_stream(host, port);
  if (options.verbose) {
    auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started);
    for (std::size_t i = 0; i < path.size(); ++i) {
      std::cerr << "tpdp-client: hop " << i + 1 << ": "
                << format_host_port(path[i].host, path[i].port) << " "
                << (options.protocol == ProtocolVersion::tpdp0_1 ? "(TPDP/0.1: no identity)"
                                                                 : fingerprint(path[i].identity))
                << "\n";
    }
    std::cerr << "tpdp-client: circuit to " << format_host_port(host, port) << " built in "
              << ms.count() << " ms\n";
  }
}

int run_nodes(const Options& options) {
  asio::io_context io;
  Client client(io.get_executor(), {options.data_dir, options.timeout, warn, options.protocol});
  std::exception_ptr failure;
  asio::co_spawn(io, sync_all(client, options), [&](std::exception_ptr e) { failure = e; });
  io.run();
  if (failure) std::rethrow_exception(failure);
  auto nodes = client.nodes();
  std::sort(nodes.begin(), nodes.end(), [](const auto& a, const auto& b) {
    return std::tie(a.host, a.port) < std::tie(b.host, b.port);
  });
  for (const auto& n : nodes) {
    std::cout << format_host_port(n.host, n.port);
    // TPDP/0.1 nodes have no identity: the address is all there is.
    if (options.protocol == ProtocolVersion::tpdp1) std::cout << " " << fingerprint(n.identity);
    std::cout << "\n";
  }
  if (nodes.empty()) std::cerr << "tpdp-client: the pool lists no live nodes\n";
  return 0;
}

}  // namespace tpdp::cli
