// tpdp-node: an onion relay. Peels one layer going forward, adds one going back.
#include <sodium.h>
#include <CLI/CLI.hpp>
#include <asio.hpp>
#include <iostream>
#include <optional>
#include <vector>

#include "common/command_line.hpp"
#include "common/key_store.hpp"
#include "common/logging.hpp"
#include "common/operator_signals.hpp"
#include "common/protocol_option.hpp"
#include "node/heartbeat.hpp"
#include "node/node_server.hpp"
#include "node/v0_1_heartbeat.hpp"

int main(int argc, char** argv) {
  using namespace tpdp;
  ensure_standard_fds();
  CLI::App app{
      "tpdp-node: a relay of a tpdp onion network (protocol TPDP/1).\n"
      "On first start it creates its identity (DATA_DIR/node.key, mode 0600), then relays "
      "circuits and sends signed heartbeats to each pool.\n"
      "With --protocol 0.1 it is a node of torpydo's TPDP/0.1 instead (no identity, no "
      "--data-dir): its exit policy and limits still apply; destinations the policy refuses are "
      "reached only if a --pool lists them as nodes, and only for a TPDP/0.1 handshake."};
  std::string listen_text, advertise_text, data_dir, policy_text, log_level = "info", log_file;
  std::string protocol_text = "1";
  app.footer(
      "Signals: SIGTERM or SIGINT stops accepting circuits and heartbeats, lets open circuits "
      "finish for up to --grace seconds, then exits 0 (a second signal ends them at once); SIGHUP "
      "reopens --log-file.");
  std::vector<std::string> pool_texts;
  bool lab = false, print_fingerprint = false, log_destinations = false;
  double handshake_timeout = 10, connect_timeout = 10, idle_timeout = 300, heartbeat_retry = -1,
         grace = 30;
  std::size_t max_circuits = 16384, max_handshakes = 256;
  app.add_option("--listen", listen_text,
                 "Address to listen on, HOST:PORT or [V6]:PORT (e.g. 0.0.0.0:6001)")
      ->check(host_port_check());
  app.add_option("--advertise", advertise_text,
                 "HOST:PORT the pool publishes for this node, when others must use another address "
                 "than --listen (binding 0.0.0.0, or behind a forwarder)")
      ->check(host_port_check());
  app.add_option("--pool", pool_texts,
                 "Pool index to heartbeat to, HOST:PORT[@FINGERPRINT]; its signed node list says "
                 "which nodes this node extends circuits to (unpinned: key trusted on first use, "
                 "kept in DATA_DIR/known_pools.json); may repeat (none: not listed, extends to no "
                 "node)")
      ->check(pool_address_check());
  add_protocol_option(app, protocol_text);
  app.add_option("--data-dir", data_dir,
                 "Directory for the node's identity key (node.key); required with TPDP/1");
  app.add_option("--exit-policy", policy_text,
                 "Exit rules 'accept|reject ADDR[/BITS]:PORT[-PORT]', comma-separated, first match "
                 "wins; checked before the default rules, which refuse this host's own addresses "
                 "(loopback, link-local, its interfaces) and accept the rest")
      ->check(CLI::Validator(
          [](std::string& text) {
            std::string error;
            return ExitPolicy::parse(text, &error) ? std::string() : error;
          },
          "", "exit policy"));
  app.add_flag("--lab", lab,
               "One-machine lab profile: allow exits to loopback and extending circuits to "
               "nodes on this host, retry the pool every second");
  app.add_option("--handshake-timeout", handshake_timeout,
                 "Seconds a circuit may take from connection to relaying (TPDP/0.1: each read "
                 "step of the handshake, then error byte 0)")
      ->capture_default_str()
      ->check(seconds_check());
  app.add_option("--connect-timeout", connect_timeout,
                 "Seconds to resolve and connect to the next hop or destination")
      ->capture_default_str()
      ->check(seconds_check());
  app.add_option("--idle-timeout", idle_timeout,
                 "Seconds a circuit may carry no bytes before it is closed")
      ->capture_default_str()
      ->check(seconds_check());
  app.add_option("--heartbeat-retry", heartbeat_retry,
                 "Seconds between attempts while a pool is unreachable [default: 10, lab: 1]")
      ->check(seconds_check());
  app.add_option("--max-circuits", max_circuits, "Most circuits open at once")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}));
  app.add_option("--max-handshakes-per-source", max_handshakes,
                 "Most handshakes in flight from one source address")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}));
  app.add_flag("--log-destinations", log_destinations,
               "Log exit destinations at info (hidden by default)");
  app.add_flag("--print-fingerprint", print_fingerprint,
               "Print the node's identity fingerprint (creating the key if needed) and exit");
  app.add_option("--grace", grace,
                 "Seconds open circuits may take to finish after SIGTERM/SIGINT (0: none)")
      ->capture_default_str()
      ->check(seconds_check(86400, true));
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str()
      ->check(log_level_check());
  app.add_option("--log-file", log_file,
                 "Append the log to FILE (created 0640) instead of stderr; SIGHUP reopens it")
      ->type_name("FILE");
  if (auto status = parse_command_line(app, argc, argv, "tpdp-node")) return *status;
  const ProtocolVersion protocol = *parse_protocol_version(protocol_text);
  const bool v0_1 = protocol == ProtocolVersion::tpdp0_1;
  if (!v0_1 && data_dir.empty()) {
    std::cerr << "tpdp-node: error: --data-dir is required (see tpdp-node --help)\n";
    return 2;
  }
  if (v0_1 && print_fingerprint) {
    std::cerr << "tpdp-node: error: a TPDP/0.1 node has no identity and no fingerprint\n";
    return 2;
  }
  if (listen_text.empty() && !print_fingerprint) {
    return usage_error("tpdp-node", "--listen is required (e.g. --listen 127.0.0.1:6001)");
  }
  if (!listen_text.empty() && advertise_text.empty()) {
    auto host = parse_host_port(listen_text)->host;
    if (host == "0.0.0.0" || host == "::" || host == "[::]") {
      return usage_error("tpdp-node", "listening on " + listen_text +
                                          " needs --advertise HOST:PORT: the address other "
                                          "hosts use");
    }
  }
  if (!advertise_text.empty()) {
    std::error_code ec;
    auto address = asio::ip::make_address(parse_host_port(advertise_text)->host, ec);
    if (!ec && address.is_unspecified()) {
      // Every other host would take 0.0.0.0 or :: for itself.
      return usage_error("tpdp-node", "--advertise " + advertise_text +
                                          ": an unspecified address is no address other hosts "
                                          "can reach; give this host's address");
    }
  }
  for (const auto& p : pool_texts) {
    if (v0_1 && parse_pool_address(p, nullptr)->pinned_key) {
      return usage_error("tpdp-node", "--pool: TPDP/0.1 pools have no key to pin: use HOST:PORT");
    }
  }
  if (sodium_init() < 0) {
    std::cerr << "tpdp-node: error: libsodium failed to initialise\n";
    return 1;
  }

  try {
    auto log = make_logger("tpdp-node", log_level, log_file);
    if (v0_1) log->warn("{}", kTpdp01Warning);
    if (v0_1 && !data_dir.empty()) log->warn("--data-dir is not used with TPDP/0.1 (no keys)");
    // TPDP/0.1 nodes have no keys: nothing is read or written.
    auto loaded = v0_1 ? LoadedNodeKeys{} : load_or_create_node_keys(data_dir);
    if (print_fingerprint) {
      std::cout << fingerprint(loaded.keys.identity.public_key) << "\n";
      return 0;
    }
    if (listen_text.empty())
      throw std::invalid_argument("--listen is required (e.g. --listen 127.0.0.1:6001)");
    std::string err;
    NodeConfig config;
    auto listen = parse_host_port(listen_text, &err);
    if (!listen) throw std::invalid_argument("--listen: " + err);
    config.listen = *listen;
    if (!advertise_text.empty()) {
      auto adv = parse_host_port(advertise_text, &err);
      if (!adv) throw std::invalid_argument("--advertise: " + err);
      config.advertise = *adv;
    }
    for (const auto& p : pool_texts) {
      auto pool = parse_pool_address(p, &err);
      if (!pool) throw std::invalid_argument("--pool: " + err);
      if (v0_1 && pool->pinned_key) {
        throw std::invalid_argument("--pool: TPDP/0.1 pools have no key to pin: use HOST:PORT");
      }
      config.pools.push_back(*pool);
    }
    config.protocol = protocol;
    config.data_dir = data_dir;
    auto user_policy = ExitPolicy::parse(policy_text, &err);
    if (!user_policy) throw std::invalid_argument("--exit-policy: " + err);
    config.exit_policy = *user_policy;
    config.exit_policy.append(default_exit_policy(local_addresses(), lab));
    config.lab = lab;
    config.handshake_timeout = seconds_option(handshake_timeout, "--handshake-timeout");
    config.connect_timeout = seconds_option(connect_timeout, "--connect-timeout");
    config.idle_timeout = seconds_option(idle_timeout, "--idle-timeout");
    config.heartbeat_retry =
        seconds_option(heartbeat_retry > 0 ? heartbeat_retry : (lab ? 1 : 10), "--heartbeat-retry");
    if (!(grace >= 0) || grace > 86400) {
      throw std::invalid_argument("--grace must be 0 to 86400 seconds (1 day)");
    }
    auto grace_period = std::chrono::milliseconds(static_cast<long long>(grace * 1000));
    config.max_circuits = max_circuits;
    config.max_handshakes_per_source = max_handshakes;
    config.log_destinations = log_destinations;

    // The server outlives the io_context: circuits still open when it stops
    // are destroyed with it, and give their buffers back to the server.
    std::optional<NodeServer> server;
    // Outlive the io_context too: heartbeat coroutines hold slots of them.
    std::vector<asio::cancellation_signal> stop_heartbeats(config.pools.size());
    asio::io_context io(1);
    NodeDescriptor self{loaded.keys.identity.public_key, loaded.keys.onion.public_key, "", 0};
    const IdentitySecretKey signing_key = loaded.keys.identity.secret_key.clone();
    server.emplace(io.get_executor(), config, std::move(loaded.keys), log);
    // On every way out, the listening socket goes before the io_context.
    struct StopListening {
      std::optional<NodeServer>& server;
      ~StopListening() { server->stop(); }
    } stop_listening{server};
    auto bound = server->local_endpoint();
    HostPort advertised =
        config.advertise.value_or(HostPort{bound.address().to_string(), bound.port()});
    if (!config.advertise && bound.address().is_unspecified()) {
      throw std::invalid_argument("listening on " + listen_text +
                                  " needs --advertise HOST:PORT: the address other hosts use");
    }
    self.host = advertised.host;
    self.port = advertised.port;
    if (loaded.created) log->info("created a new identity in {}", loaded.file.string());
    if (lab) log->warn("lab profile: exits to loopback and EXTENDs to this host allowed");
    log->info("{} node listening on {} as {} ({})", protocol_name(protocol),
              format_host_port(bound.address().to_string(), bound.port()),
              format_host_port(advertised),
              v0_1 ? "no identity: TPDP/0.1 nodes have none"
                   : "fingerprint " + fingerprint(self.identity));
    log->info("exit policy: {}", config.exit_policy.to_string());
    if (config.pools.empty()) log->warn("no --pool given: this node is not listed anywhere");
    for (std::size_t i = 0; i < config.pools.size(); ++i) {
      const auto& pool = config.pools[i];
      if (v0_1) {
        V01HeartbeatConfig hb{pool.address, advertised, config.heartbeat_retry,
                              std::chrono::seconds(10)};
        asio::co_spawn(io, v0_1_heartbeat_loop(hb, log),
                       asio::bind_cancellation_slot(stop_heartbeats[i].slot(), asio::detached));
        continue;
      }
      HeartbeatConfig hb{pool, self, config.heartbeat_retry, std::chrono::seconds(10)};
      // The node's list of nodes it extends to follows the pool's period.
      hb.on_accepted = [&server, name = pool.to_string()](std::chrono::seconds period) {
        server->heartbeat_period(name, period);
      };
      asio::co_spawn(io, heartbeat_loop(hb, signing_key, log),
                     asio::bind_cancellation_slot(stop_heartbeats[i].slot(), asio::detached));
    }
    // Graceful stop: no new circuits, no heartbeats (the pool drops the
    // node), open circuits finish within the grace period, then exit 0.
    auto shut_down = [&]() -> asio::awaitable<void> {
      std::size_t open = server->active_circuits();
      server->stop();
      for (auto& s : stop_heartbeats) s.emit(asio::cancellation_type::terminal);
      if (open > 0) {
        log->info("waiting up to {} s for {} open circuit(s) to finish", grace, open);
      }
      std::size_t left = co_await server->drain(grace_period);
      if (left > 0) {
        log->warn("grace period over: closing {} open circuit(s)", left);
      } else {
        log->info("no circuit open: exiting");
      }
      io.stop();
    };
    OperatorSignals signals(io.get_executor(), log, [&](int sig, int count) {
      if (count == 1) {
        log->info("signal {}: no longer accepting circuits", sig);
        asio::co_spawn(io, shut_down(), asio::detached);
      } else {
        log->warn("signal {} again: closing {} open circuit(s) now", sig,
                  server->active_circuits());
        io.stop();
      }
    });
    asio::co_spawn(io, server->run(), asio::detached);
    io.run();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "tpdp-node: error: " << e.what() << "\n";
    return 1;
  }
}
