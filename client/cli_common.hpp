// What the tpdp-client subcommands share: options, and building a circuit
// from the pools' lists with clear messages.
#pragma once

#include <asio.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "client/client.hpp"

namespace tpdp::cli {

struct Options {
  std::vector<PoolAddress> pools;
  std::size_t hops = 3;
  std::vector<std::string> path;  // --path: chosen nodes by address, instead of a random path
  std::filesystem::path data_dir;
  std::chrono::milliseconds timeout{10000};
  bool verbose = false;
  ProtocolVersion protocol = ProtocolVersion::tpdp1;  // --protocol
};

// Fetches every pool's list into client (merging). Warns about pools that
// fail as long as one answers; throws when none does.
asio::awaitable<void> sync_all(Client& client, const Options& options);

// Syncs, then builds a random path (or the --path given) to host:port. Prints the path with
// --verbose.
asio::awaitable<void> build_path(Client& client, const Options& options, const std::string& host,
                                 std::uint16_t port);

void warn(const std::string& message);

int run_nodes(const Options& options);
int run_cat(const Options& options, const std::string& host, std::uint16_t port);
int run_get(const Options& options, const std::string& url, const std::string& output);
// SOCKS5 proxy on listen (HOST:PORT) until SIGINT/SIGTERM; client/socks_server.hpp.
int run_socks(const Options& options, const std::string& listen,
              std::size_t max_connections = 1024);

}  // namespace tpdp::cli
