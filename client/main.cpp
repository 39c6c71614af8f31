// tpdp-client: list nodes, or send a stream or an HTTP request through a random n-hop circuit.
#include <sodium.h>
#include <CLI/CLI.hpp>
#include <cstdlib>

#include "client/cli_common.hpp"
#include "client/cli_get.hpp"
#include "client/http_response.hpp"
#include "common/command_line.hpp"
#include "common/protocol_option.hpp"
#include "protocol/circuit_messages.hpp"
#include "protocol/host.hpp"

int main(int argc, char** argv) {
  using namespace tpdp;
  ensure_standard_fds();
  CLI::App app{
      "tpdp-client: use a tpdp onion network (protocol TPDP/1).\n"
      "Fetches the signed node list from the pools, builds a random path of --hops distinct nodes "
      "and talks to the destination through it.\n"
      "Exit status: 0 success, 1 error (network, circuit, pool), 2 usage error, 3 HTTP status not "
      "2xx (get).\n"
      "With --protocol 0.1 it speaks torpydo's insecure TPDP/0.1 instead: unsigned lists (pools "
      "given as HOST:PORT), nodes without identities, and no half-close (stdin's end is not "
      "passed on: cat ends when the destination closes)."};
  app.require_subcommand(1);
  std::vector<std::string> pool_texts;
  cli::Options options;
  std::string data_dir;
  double timeout = 10;
  std::string protocol_text = "1";
  app.add_option(
         "--pool", pool_texts,
         "Pool index HOST:PORT, optionally pinned to its key: HOST:PORT@FINGERPRINT; may "
         "repeat (lists are merged). Unpinned pools are trusted on first use and remembered")
      ->required()
      ->check(pool_address_check());
  // At most kMaxCircuitHops: nodes refuse to extend a longer circuit (spec 6.6).
  auto* hops_option = app.add_option("--hops", options.hops, "Nodes in the path (distinct, 1 to 8)")
                          ->capture_default_str()
                          ->check(CLI::Range(std::size_t{1}, kMaxCircuitHops));
  app.add_option("--path", options.path,
                 "For cat and get: this path instead of a random one, the listed nodes at these "
                 "addresses in order (first hop first), comma-separated: "
                 "HOST:PORT,HOST:PORT,... (an address the pools do not list is an error)")
      ->delimiter(',')
      ->excludes(hops_option)
      ->check([](const std::string& text) {
        return parse_host_port(text) ? std::string() : "not HOST:PORT: " + text;
      });
  app.add_option("--data-dir", data_dir,
                 "Where pool keys trusted on first use are kept [default: $XDG_DATA_HOME/tpdp or "
                 "~/.local/share/tpdp]");
  app.add_option("--timeout", timeout, "Seconds allowed for each pool request and each build step")
      ->capture_default_str()
      ->check(seconds_check());
  app.add_flag("-v,--verbose", options.verbose,
               "Print the path taken and the build time to stderr");
  add_protocol_option(app, protocol_text);

  auto* nodes = app.add_subcommand("nodes", "List live nodes: HOST:PORT FINGERPRINT, one per line");
  std::string host;
  std::uint16_t port = 0;
  auto* cat = app.add_subcommand(
      "cat",
      "Like netcat through a circuit: stdin to HOST:PORT, its replies to stdout; exit 0 "
      "only when both directions ended cleanly");
  cat->add_option("host", host, "Destination host name or address (resolved by the exit)")
      ->required()
      ->check(CLI::Validator(
          [](std::string& text) {
            return is_valid_host(text) ? std::string() : "not a host name or address: " + text;
          },
          "", "host"));
  cat->add_option("port", port, "Destination port")->required()->check(CLI::Range(1, 65535));
  cli::GetOptions get_options;
  bool get_verbose = false, get_progress = false, get_no_progress = false;
  auto* get = app.add_subcommand(
      "get",
      "Fetch one http:// URL like curl (HTTP/1.1; chunked and Content-Length bodies checked "
      "to the last byte; a short body is an error). Each request, and each redirect followed "
      "with -L, goes over a fresh circuit. Exit 3 (with the status on stderr) for a non-2xx "
      "answer");
  get->add_option("url", get_options.url, "http://HOST[:PORT]/PATH")
      ->required()
      ->check(CLI::Validator(
          [](std::string& text) {
            std::string error;
            return parse_http_url(text, error) ? std::string() : error;
          },
          "", "URL"));
  get->add_option("-o,--output", get_options.output,
                  "Write the body to FILE (through FILE.part, renamed when complete; removed on "
                  "failure) instead of stdout");
  get->add_flag("-L,--location", get_options.follow_redirects,
                "Follow redirects (301, 302, 303, 307, 308) to http:// URLs, at most 10, each "
                "over a fresh circuit");
  get->add_flag("--progress", get_progress,
                "Show the progress bar (bytes, rate, ETA) even when stderr is not a terminal");
  get->add_flag("--no-progress", get_no_progress,
                "No progress bar, even when stderr is a terminal");
  get->add_flag("-v,--verbose", get_verbose,
                "Print each path taken (hops and fingerprints), build times and statuses");
  std::string socks_listen = "127.0.0.1:9050";
  std::size_t socks_max_connections = 1024;
  auto* socks = app.add_subcommand(
      "socks",
      "SOCKS5 proxy (RFC 1928; CONNECT only; no-auth or username/password). Each connection "
      "gets a circuit of its own; host names (socks5h) are resolved by the exit, never locally.\n"
      "Isolation: the username/password pair (or no-auth, one key for all) is an isolation key. "
      "Connections with the same key reuse the key's path (same nodes) while the pools list "
      "them; a new key gets a path no other key uses (preferring unshared nodes, exit and entry), "
      "so different credentials never share a path unless there are too few nodes for that "
      "(then a warning is logged; circuits are never shared). Any credentials are accepted.\n"
      "The node list is refreshed every 60 s and after a failed build; a failed build is "
      "retried once on a fresh path. Logs one line per connection to stderr (-v: debug, with "
      "destinations); stops on SIGINT/SIGTERM");
  socks->add_option("--listen", socks_listen, "Address to listen on, HOST:PORT or [V6]:PORT")
      ->capture_default_str()
      ->check(host_port_check());
  socks
      ->add_option("--max-connections", socks_max_connections,
                   "Connections open at once. Over it, a newcomer takes the place of the oldest "
                   "connection still in its SOCKS handshake (one silent for 1 s or more); when "
                   "every connection is relaying it is refused at once (SOCKS reply 1)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  if (auto status = parse_command_line(app, argc, argv, "tpdp-client")) return *status;
  options.protocol = *parse_protocol_version(protocol_text);
  for (std::size_t i = 0; i < options.path.size(); ++i) {
    // Compared in canonical form: [::1]:6001 and [0:0::1]:6001 are one node.
    auto canonical = format_host_port(*parse_host_port(options.path[i]));
    for (std::size_t j = 0; j < i; ++j) {
      if (format_host_port(*parse_host_port(options.path[j])) == canonical) {
        return usage_error("tpdp-client",
                           "--path: " + canonical + " appears twice (a path's nodes are distinct)");
      }
    }
  }
  if (*socks && !options.path.empty()) {
    return usage_error("tpdp-client", "--path applies to cat and get, not to socks");
  }
  if (*get && get_progress && get_no_progress) {
    return usage_error("tpdp-client", "--progress and --no-progress exclude each other");
  }
  for (const auto& p : pool_texts) {
    if (options.protocol == ProtocolVersion::tpdp0_1 &&
        parse_pool_address(p, nullptr)->pinned_key) {
      return usage_error("tpdp-client", "--pool: TPDP/0.1 pools have no key to pin: use HOST:PORT");
    }
  }
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
    options.timeout = seconds_option(timeout, "--timeout");
    if (options.protocol == ProtocolVersion::tpdp0_1) cli::warn(std::string(kTpdp01Warning));
    options.data_dir =
        data_dir.empty() ? default_client_data_dir() : std::filesystem::path(data_dir);
    if (*nodes) return cli::run_nodes(options);
    if (*cat) return cli::run_cat(options, host, port);
    if (*get) {
      if (get_progress || get_no_progress) get_options.progress = get_progress;
      options.verbose = options.verbose || get_verbose;
      return cli::run_get(options, get_options);
    }
    if (*socks) return cli::run_socks(options, socks_listen, socks_max_connections);
  } catch (const std::exception& e) {
    std::cerr << "tpdp-client: error: " << e.what() << "\n";
    return 1;
  }
  return 1;
}
