// tpdp-http-proxy: an HTTP proxy that sends every request through a random
// n-hop tpdp circuit. Plain http:// requests (absolute form, keep-alive,
// request bodies) go over a fresh circuit each; CONNECT opens a tunnel for
// HTTPS. Every failure is answered with an HTTP status and a one-line reason.
//
//   tpdp-http-proxy --listen 127.0.0.1:8686 --pool 127.0.0.1:8080 --hops 3
//   curl -x http://127.0.0.1:8686 http://example.org/
//
// Built only on the client library (tpdp::Circuit, tpdp::Client's pool
// fetching) plus CLI11, like every example.
#include <sodium.h>

#include <CLI/CLI.hpp>
#include <asio.hpp>
#include <cstdlib>
#include <iostream>

#include "client/trust_store.hpp"
#include "common/command_line.hpp"
#include "common/net.hpp"
#include "common/operator_signals.hpp"
#include "common/protocol_option.hpp"
#include "examples/http_proxy/node_directory.hpp"
#include "examples/http_proxy/proxy_session.hpp"
#include "protocol/circuit_messages.hpp"

namespace {

using namespace tpdp;
using namespace tpdp::http_proxy;

asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor& acceptor, ProxyContext& ctx) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer backoff(ex);
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // Out of descriptors, most likely: wait a little instead of spinning.
      ctx.refused("accepting a connection failed: " + ec.message());
      backoff.expires_after(std::chrono::milliseconds(100));
      [[maybe_unused]] auto [wait_ec] = co_await backoff.async_wait(use_tuple);
      continue;
    }
    set_no_delay(socket);
    set_close_on_exec(socket);
    auto session = std::make_shared<Session>(std::move(socket), ctx);
    asio::co_spawn(ex, Session::run(session), asio::detached);
  }
}

asio::awaitable<void> first_fetch(NodeDirectory& directory, Logger log, std::size_t hops) {
  try {
    std::size_t n = co_await directory.refresh_now();
    if (n < hops) {
      log->warn(
          "the pools list {} node(s), fewer than --hops {}: requests will get 503 until "
          "more nodes join",
          n, hops);
    } else {
      log->info("the pools list {} node(s)", n);
    }
  } catch (const std::exception& e) {
    log->warn("{} (requests will get 502 until a pool answers)", e.what());
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "tpdp-http-proxy: an HTTP proxy whose every request goes through a random path of "
      "--hops distinct tpdp nodes (protocol TPDP/1).\n"
      "Plain http:// requests are sent over a fresh circuit each (keep-alive with the client, "
      "request bodies, any method); CONNECT HOST:PORT opens a tunnel (HTTPS). Failures are "
      "answered with a status and a one-line reason: 400 malformed request, 403 exit policy "
      "refuses the destination, 502 path or destination unreachable or pool problem, 503 not "
      "enough nodes, 504 timeout.\n"
      "Example: tpdp-http-proxy --pool 127.0.0.1:8080 & curl -x http://127.0.0.1:8686 "
      "http://example.org/\n"
      "With --protocol 0.1 it uses a network of torpydo's insecure TPDP/0.1 instead (pools as "
      "HOST:PORT, no identities, no half-close)."};
  app.footer("Signals: SIGTERM or SIGINT stops the proxy (exit 0); SIGHUP reopens --log-file.");
  std::string listen_text = "127.0.0.1:8686";
  std::vector<std::string> pool_texts;
  std::size_t hops = 3;
  std::string data_dir;
  double timeout = 10, idle_timeout = 120, refresh = 10;
  std::size_t max_connections = 512;
  double head_timeout = 30;
  std::size_t max_per_source = 64;
  std::string log_level = "info", log_file;
  std::string protocol_text = "1";
  app.add_option("--listen", listen_text,
                 "Address to accept clients on, HOST:PORT ([V6]:PORT for IPv6). Anyone who can "
                 "connect can use the proxy: keep it on loopback unless that is what you want")
      ->capture_default_str()
      ->check(host_port_check());
  app.add_option("--pool", pool_texts,
                 "Pool index HOST:PORT, optionally pinned to its key: HOST:PORT@FINGERPRINT; may "
                 "repeat (lists are merged). Unpinned pools are trusted on first use and "
                 "remembered in --data-dir")
      ->required()
      ->check(pool_address_check());
  // At most kMaxCircuitHops: nodes refuse to extend a longer circuit (spec 6.6).
  app.add_option("--hops", hops, "Nodes in each path (distinct, 1 to 8)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, kMaxCircuitHops));
  app.add_option("--data-dir", data_dir,
                 "Where pool keys trusted on first use are kept (known_pools.json) [default: "
                 "$XDG_DATA_HOME/tpdp or ~/.local/share/tpdp]");
  app.add_option("--timeout", timeout,
                 "Seconds allowed for each pool request and each circuit build step (connect, "
                 "extend, open the destination); past it the client gets 504")
      ->capture_default_str()
      ->check(seconds_check());
  app.add_option("--idle-timeout", idle_timeout,
                 "Seconds without traffic after which a client connection or tunnel is closed; "
                 "also how long a destination may take to start its response (then 504)")
      ->capture_default_str()
      ->check(seconds_check());
  app.add_option("--head-timeout", head_timeout,
                 "Seconds a client has to send a whole request head (slowloris defence): from "
                 "the connection's start for its first request, from the first byte for each "
                 "later one (between keep-alive requests --idle-timeout applies). Past it the "
                 "client gets 408 (or, if it sent nothing, the connection is closed); more than "
                 "0, at most 3600")
      ->capture_default_str()
      ->check(seconds_check(3600));
  app.add_option("--refresh", refresh,
                 "Seconds a fetched node list is used before the pools are asked again")
      ->capture_default_str()
      ->check(seconds_check());
  app.add_option("--max-connections", max_connections,
                 "Client connections served at once; more are answered 503")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--max-connections-per-source", max_per_source,
                 "Client connections from one address at once (at most --max-connections); "
                 "more are answered 503. When all --max-connections are taken, the connection "
                 "that has waited longest for its request head is closed to make room")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  add_protocol_option(app, protocol_text);
  app.add_option("--log-level", log_level,
                 "trace, debug, info, warn, error or off (debug logs each request's "
                 "destination and status; payload bytes are never logged)")
      ->capture_default_str()
      ->check(log_level_check());
  app.add_option("--log-file", log_file,
                 "Append the log to FILE (created 0640) instead of stderr; SIGHUP reopens it")
      ->type_name("FILE");
  if (auto status = parse_command_line(app, argc, argv, "tpdp-http-proxy")) return *status;
  if (protocol_text == "0.1") {
    for (const auto& p : pool_texts) {
      if (parse_pool_address(p, nullptr)->pinned_key) {
        return usage_error("tpdp-http-proxy",
                           "--pool: TPDP/0.1 pools have no key to pin: use HOST:PORT");
      }
    }
  }

  if (sodium_init() < 0) {
    std::cerr << "tpdp-http-proxy: error: libsodium failed to initialise\n";
    return 1;
  }
  Logger log;
  try {
    log = make_logger("tpdp-http-proxy", log_level, log_file);
  } catch (const std::exception& e) {
    std::cerr << "tpdp-http-proxy: error: " << e.what() << "\n";
    return 1;
  }
  try {
    std::string error;
    auto listen = parse_host_port(listen_text, &error);
    if (!listen) throw std::invalid_argument("--listen: " + error);
    const ProtocolVersion protocol = *parse_protocol_version(protocol_text);
    if (protocol == ProtocolVersion::tpdp0_1) log->warn("{}", kTpdp01Warning);
    std::vector<PoolAddress> pools;
    for (const auto& p : pool_texts) {
      auto pool = parse_pool_address(p, &error);
      if (!pool) throw std::invalid_argument("--pool: " + error);
      if (protocol == ProtocolVersion::tpdp0_1 && pool->pinned_key) {
        throw std::invalid_argument("--pool: TPDP/0.1 pools have no key to pin: use HOST:PORT");
      }
      pools.push_back(*pool);
    }
    ProxySettings settings;
    settings.hops = hops;
    settings.step_timeout = seconds_option(timeout, "--timeout");
    settings.idle_timeout = seconds_option(idle_timeout, "--idle-timeout");
    settings.max_connections = max_connections;
    settings.head_timeout = seconds_option(head_timeout, "--head-timeout");
    settings.max_per_source = max_per_source;
    settings.protocol = protocol;
    auto refresh_every = seconds_option(refresh, "--refresh");
    std::filesystem::path dir =
        data_dir.empty() ? default_client_data_dir() : std::filesystem::path(data_dir);
    // As the other programs do: a data dir that cannot be used, or a known pools file that
    // cannot be trusted, stops the proxy now rather than answering 502 forever.
    std::error_code ec;
    if (std::filesystem::exists(dir, ec) && !std::filesystem::is_directory(dir, ec)) {
      throw std::runtime_error("data directory " + dir.string() + " is not a directory");
    }
    TrustStore check_known_pools(dir / "known_pools.json");

    asio::io_context io(1);
    ClientOptions client_options{dir, settings.step_timeout,
                                 [log](const std::string& w) { log->warn("{}", w); }, protocol};
    std::string pool_list;
    for (const auto& p : pools) pool_list += (pool_list.empty() ? "" : ", ") + p.to_string();
    NodeDirectory directory(io.get_executor(), pools, client_options, refresh_every, log);
    ProxyContext ctx{settings, directory, log};

    auto acceptor = listen_on(io.get_executor(), *listen);
    log->info("listening on {}: HTTP and CONNECT through {}-hop {} circuits; pools {}",
              format_host_port(*listen), hops, protocol_name(protocol), pool_list);

    OperatorSignals signals(io.get_executor(), log, [&](int sig, int) {
      log->info("signal {}: stopping", sig);
      io.stop();
    });
    asio::co_spawn(io, first_fetch(directory, log, hops), asio::detached);
    asio::co_spawn(io, accept_loop(acceptor, ctx), [&](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        log->error("accept loop ended: {}", x.what());
      }
      io.stop();
    });
    io.run();
  } catch (const std::exception& e) {
    std::cerr << "tpdp-http-proxy: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
