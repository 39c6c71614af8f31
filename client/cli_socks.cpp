// tpdp-client socks: run the SOCKS5 proxy until SIGINT or SIGTERM.
#include <csignal>

#include "client/cli_common.hpp"
#include "client/socks_server.hpp"

namespace tpdp::cli {

int run_socks(const Options& options, const std::string& listen, std::size_t max_connections) {
  std::string error;
  auto where = parse_host_port(listen, &error);
  if (!where) throw std::invalid_argument("--listen: " + error);
  if (max_connections == 0) throw std::invalid_argument("--max-connections must be at least 1");
  auto log = make_logger("tpdp-client", options.verbose ? "debug" : "info");

  asio::io_context io;
  socks::SocksOptions socks;
  socks.listen = *where;
  socks.max_connections = max_connections;
  auto server = socks::SocksServer::create(io.get_executor(), options, socks, log);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](std::error_code ec, int sig) {
    if (ec) return;
    log->info("signal {}: stopping", sig);
    server->stop();
    io.stop();  // connections in progress are cut
  });
  std::exception_ptr failure;
  asio::co_spawn(io, server->run(), [&](std::exception_ptr e) {
    failure = e;
    std::error_code ignored;
    signals.cancel(ignored);
  });
  io.run();
  if (failure) std::rethrow_exception(failure);
  return 0;
}

}  // namespace tpdp::cli
