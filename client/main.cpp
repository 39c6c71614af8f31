// tpdp-client: list nodes, or send a stream or an HTTP request through a random n-hop circuit.
#include <sodium.h>
#include <CLI/CLI.hpp>
#include <cstdlib>

#include "client/cli_common.hpp"

namespace {

std::filesystem::path default_data_dir() {
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x)
    return std::filesystem::path(x) / "tpdp";
  if (const char* h = std::getenv("HOME"); h && *h)
    return std::filesystem::path(h) / ".local/share/tpdp";
  return ".tpdp-client";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tpdp;
  CLI::App app{
      "tpdp-client: use a tpdp onion network (protocol TPDP/1).\n"
      "Fetches the signed node list from the pools, builds a random path of --hops distinct nodes "
      "and talks to the destination through it.\n"
      "Exit status: 0 success, 1 error (network, circuit, usage), 3 HTTP status not 2xx (get)."};
  app.require_subcommand(1);
  std::vector<std::string> pool_texts;
  cli::Options options;
  std::string data_dir;
  double timeout = 10;
  app.add_option(
         "--pool", pool_texts,
         "Pool index HOST:PORT, optionally pinned to its key: HOST:PORT@FINGERPRINT; may "
         "repeat (lists are merged). Unpinned pools are trusted on first use and remembered")
      ->required();
  app.add_option("--hops", options.hops, "Nodes in the path (distinct)")
      ->capture_default_str()
      ->check(CLI::Range(1, 16));
  app.add_option("--data-dir", data_dir,
                 "Where pool keys trusted on first use are kept [default: $XDG_DATA_HOME/tpdp or "
                 "~/.local/share/tpdp]");
  app.add_option("--timeout", timeout, "Seconds allowed for each pool request and each build step")
      ->capture_default_str();
  app.add_flag("-v,--verbose", options.verbose,
               "Print the path taken and the build time to stderr");

  auto* nodes = app.add_subcommand("nodes", "List live nodes: HOST:PORT FINGERPRINT, one per line");
  std::string host;
  std::uint16_t port = 0;
  auto* cat = app.add_subcommand(
      "cat",
      "Like netcat through a circuit: stdin to HOST:PORT, its replies to stdout; exit 0 "
      "only when both directions ended cleanly");
  cat->add_option("host", host, "Destination host name or address (resolved by the exit)")
      ->required();
  cat->add_option("port", port, "Destination port")->required()->check(CLI::Range(1, 65535));
  std::string url, output;
  auto* get = app.add_subcommand("get", "Fetch one http:// URL over a fresh circuit (HTTP/1.0)");
  get->add_option("url", url, "http://HOST[:PORT]/PATH")->required();
  get->add_option("-o,--output", output, "Write the body to FILE instead of stdout");
  CLI11_PARSE(app, argc, argv);
  if (sodium_init() < 0) {
    std::cerr << "tpdp-client: error: libsodium failed to initialise\n";
    return 1;
  }

  try {
    for (const auto& p : pool_texts) {
      std::string err;
      auto pool = parse_pool_address(p, &err);
      if (!pool) throw std::invalid_argument("--pool: " + err);
      options.pools.push_back(*pool);
    }
    if (!(timeout > 0)) throw std::invalid_argument("--timeout must be > 0");
    options.timeout = std::chrono::milliseconds(static_cast<long long>(timeout * 1000));
    options.data_dir = data_dir.empty() ? default_data_dir() : std::filesystem::path(data_dir);
    if (*nodes) return cli::run_nodes(options);
    if (*cat) return cli::run_cat(options, host, port);
    if (*get) return cli::run_get(options, url, output);
  } catch (const std::exception& e) {
    std::cerr << "tpdp-client: error: " << e.what() << "\n";
    return 1;
  }
  return 1;
}
