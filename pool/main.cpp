// tpdp-pool: the pool index. Tracks heartbeating nodes and serves the signed node list.
#include <sodium.h>
#include <CLI/CLI.hpp>
#include <asio.hpp>
#include <iostream>

#include "common/command_line.hpp"
#include "common/key_store.hpp"
#include "common/logging.hpp"
#include "common/operator_signals.hpp"
#include "common/protocol_option.hpp"
#include "pool/pool_server.hpp"

int main(int argc, char** argv) {
  using namespace tpdp;
  ensure_standard_fds();
  CLI::App app{
      "tpdp-pool: the pool index of a tpdp network (protocol TPDP/1).\n"
      "Nodes send it signed heartbeats; clients fetch the list of live nodes, signed with the "
      "pool's key (DATA_DIR/pool.key, created on first start).\n"
      "With --protocol 0.1 it is a pool of torpydo's TPDP/0.1 instead: unsigned heartbeats and "
      "list, no key and no --data-dir."};
  app.footer("Signals: SIGTERM or SIGINT stops the pool (exit 0); SIGHUP reopens --log-file.");
  std::string listen_text = "127.0.0.1:8080";
  std::string data_dir;
  bool print_fingerprint = false;
  bool lab = false;
  int interval = -1, expiry = -1, sweep = -1;
  std::size_t max_nodes = 10000;
  std::string log_level = "info", log_file;
  std::string protocol_text = "1";
  app.add_option("--listen", listen_text, "Address to listen on, HOST:PORT or [V6]:PORT")
      ->capture_default_str()
      ->check(host_port_check());
  add_protocol_option(app, protocol_text);
  app.add_option("--data-dir", data_dir,
                 "Directory for the pool's key (pool.key, mode 0600); required with TPDP/1");
  app.add_flag("--print-fingerprint", print_fingerprint,
               "Print the pool's key fingerprint (creating the key if needed) and exit");
  app.add_option("--heartbeat-interval", interval,
                 "Seconds a node is told to wait before its next heartbeat [default: 15, lab: 1; "
                 "at most 255 with TPDP/0.1]")
      ->check(CLI::Range(1, 65535));
  app.add_option("--expiry", expiry,
                 "Seconds without a heartbeat after which a node is dropped, longer than "
                 "--heartbeat-interval [default: 30, lab: 4]")
      ->check(CLI::Range(2, 7 * 86400));
  app.add_option("--sweep-interval", sweep,
                 "Seconds between sweeps for expired nodes [default: 10, lab: 1]")
      ->check(CLI::Range(1, 86400));
  app.add_option("--max-nodes", max_nodes, "Most nodes listed at once")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, kMaxListedNodes));
  std::size_t max_per_address = 0;  // 0: the profile's default
  app.add_option("--max-nodes-per-address", max_per_address,
                 "Most identities listed at one IP address (TPDP/1) [default: 2, lab: 256]")
      ->check(CLI::Range(std::size_t{1}, kMaxListedNodes));
  app.add_flag("--lab", lab,
               "One-machine lab profile: short heartbeat, expiry and sweep timers; nodes re-proved "
               "every 10 s; 256 nodes per address");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str()
      ->check(log_level_check());
  app.add_option("--log-file", log_file,
                 "Append the log to FILE (created 0640) instead of stderr; SIGHUP reopens it")
      ->type_name("FILE");
  if (auto status = parse_command_line(app, argc, argv, "tpdp-pool")) return *status;
  const ProtocolVersion protocol = *parse_protocol_version(protocol_text);
  const bool v0_1 = protocol == ProtocolVersion::tpdp0_1;
  if (!v0_1 && data_dir.empty()) {
    std::cerr << "tpdp-pool: error: --data-dir is required (see tpdp-pool --help)\n";
    return 2;
  }
  if (v0_1 && print_fingerprint) {
    std::cerr << "tpdp-pool: error: a TPDP/0.1 pool has no key and no fingerprint\n";
    return 2;
  }
  // Unset timers take the profile's defaults; what is set was range-checked while parsing.
  if (interval < 0) interval = lab ? 1 : 15;
  if (expiry < 0) expiry = lab ? 4 : 30;
  if (sweep < 0) sweep = lab ? 1 : 10;
  if (v0_1 && interval > 255) {  // TPDP/0.1 replies with one byte
    return usage_error("tpdp-pool", "--heartbeat-interval: at most 255 seconds with TPDP/0.1");
  }
  if (expiry <= interval) {
    return usage_error("tpdp-pool", "--expiry (" + std::to_string(expiry) +
                                        " s) must be longer than --heartbeat-interval (" +
                                        std::to_string(interval) + " s)");
  }
  if (sodium_init() < 0) {
    std::cerr << "tpdp-pool: error: libsodium failed to initialise\n";
    return 1;
  }

  try {
    auto log = make_logger("tpdp-pool", log_level, log_file);
    if (v0_1) log->warn("{}", kTpdp01Warning);
    // TPDP/0.1 signs nothing: no key file at all.
    auto key = v0_1 ? LoadedPoolKey{} : load_or_create_pool_key(data_dir);
    if (print_fingerprint) {
      std::cout << fingerprint(key.keys.public_key) << "\n";
      return 0;
    }
    std::string err;
    auto listen = parse_host_port(listen_text, &err);
    if (!listen) throw std::invalid_argument("--listen: " + err);
    PoolConfig config;
    config.listen = *listen;
    config.protocol = protocol;
    config.heartbeat_interval = std::chrono::seconds(interval);
    config.expiry = std::chrono::seconds(expiry);
    config.sweep_interval = std::chrono::seconds(sweep);
    config.max_nodes = max_nodes;
    config.max_nodes_per_address = max_per_address > 0 ? max_per_address : (lab ? 256 : 2);
    if (lab) {
      config.proof_recheck = std::chrono::seconds(10);
      config.proof_failure_memory = std::chrono::seconds(2);
      config.proof_room_age = std::chrono::seconds(2);
    }

    asio::io_context io;
    std::string fp = v0_1 ? "" : fingerprint(key.keys.public_key);
    PoolServer server(io.get_executor(), config, std::move(key.keys), log);
    if (key.created) log->info("created a new pool key in {}", key.file.string());
    if (lab)
      log->warn("lab profile: short timers (heartbeat {} s, expiry {} s)",
                config.heartbeat_interval.count(), config.expiry.count());
    auto ep = server.local_endpoint();
    log->info("{} pool listening on {} ({}); heartbeat every {} s, expiry {} s",
              protocol_name(protocol), format_host_port(ep.address().to_string(), ep.port()),
              v0_1 ? "no key: TPDP/0.1 lists are unsigned" : "fingerprint " + fp,
              config.heartbeat_interval.count(), config.expiry.count());
    OperatorSignals signals(io.get_executor(), log, [&](int sig, int) {
      log->info("signal {}: shutting down", sig);
      server.stop();
    });
    asio::co_spawn(io, server.run(), [&](std::exception_ptr e) {
      signals.cancel();
      if (e) std::rethrow_exception(e);
    });
    io.run();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "tpdp-pool: error: " << e.what() << "\n";
    return 1;
  }
}
