// tpdp-bench-client: the load generator of bench/run. Each command builds
// circuits with the tpdp client library (or opens plain TCP), moves checked
// bytes from tpdp-bench-source, and prints its figures as one JSON line on
// stdout. Loopback only. The whole run is bounded by --timeout.
#include <sodium.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "bench/commands.hpp"

int main(int argc, char** argv) {
  using namespace tpdp::bench;
  CLI::App app{"tpdp-bench-client: load generator for bench/run (see bench/README.md)"};
  app.require_subcommand(1);
  Options o;
  std::vector<std::string> path_texts;
  double timeout = 600;
  auto common = [&](CLI::App* c, bool needs_path) {
    c->add_option("--pool", o.pool, "Pinned pool address HOST:PORT@FINGERPRINT");
    auto* p = c->add_option("--path", path_texts,
                            "Node ports of a path, comma-separated, first hop first (may repeat)");
    if (needs_path) p->required();
    c->add_option("--dest", o.dest_port, "Port of tpdp-bench-source on 127.0.0.1");
    c->add_option("--watch-pid", o.watch_pid, "PID of the node whose CPU and memory are read");
    c->add_option("--timeout", timeout, "Abort the whole command after this many seconds")
        ->capture_default_str();
  };
  auto* fetch = app.add_subcommand("fetch", "One checked download through a circuit or TCP");
  common(fetch, false);
  fetch->add_option("--tcp", o.tcp_port, "Plain TCP to 127.0.0.1:PORT instead of a circuit");
  fetch->add_option("--bytes", o.bytes, "Bytes to download")->capture_default_str();
  fetch->add_option("--read-buffer", o.read_buffer, "Application read size")->capture_default_str();
  auto* build = app.add_subcommand("build", "Build times, paths in turn");
  common(build, true);
  build->add_option("--count", o.count, "Builds per path")->capture_default_str();
  auto* churn = app.add_subcommand("churn", "1-hop circuits per second through one node");
  common(churn, true);
  churn->add_option("--concurrency", o.concurrency, "Clients building at once")
      ->capture_default_str();
  churn->add_option("--seconds", o.seconds, "Measured window")->capture_default_str();
  churn->add_option("--warmup", o.warmup, "Seconds before the window")->capture_default_str();
  auto* idle = app.add_subcommand("idle", "Node RSS with many idle circuits");
  common(idle, true);
  idle->add_option("--count", o.count, "Circuits")->capture_default_str();
  idle->add_option("--concurrency", o.concurrency, "Circuits being built at once")
      ->capture_default_str();
  idle->add_option("--settle", o.settle, "Seconds idle before the RSS is read")
      ->capture_default_str();
  auto* crowd = app.add_subcommand("crowd", "Many circuits moving checked bytes at once");
  common(crowd, true);
  crowd->add_option("--count", o.count, "Circuits")->capture_default_str();
  crowd->add_option("--bytes", o.bytes, "Bytes per circuit")->capture_default_str();
  crowd->add_option("--concurrency", o.concurrency, "Circuits being built at once")
      ->capture_default_str();
  auto* flood = app.add_subcommand(
      "flood", "Slowloris and a CREATE flood against the first node of --path, until SIGTERM");
  common(flood, true);
  flood->add_option("--stalled", o.count, "Slowloris connections (from 127.0.0.9)")
      ->capture_default_str();
  flood->add_option("--seconds", o.seconds, "Flood at most this long (from 127.0.0.10)")
      ->capture_default_str();
  flood->add_option("--rate", o.rate, "CREATEs per second (0: as fast as one thread can)")
      ->capture_default_str();
  flood->add_flag("--wait-reply", o.wait_reply,
                  "Keep each connection until the node's reply (CREATED or a refusal)");
  flood->add_option("--concurrency", o.concurrency, "With --wait-reply: handshakes at once")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  if (sodium_init() < 0) {
    std::cerr << "tpdp-bench-client: libsodium failed to initialise\n";
    return 1;
  }
  raise_descriptor_limit();
  try {
    for (const auto& t : path_texts) o.paths.push_back(parse_ports(t));
    if (o.concurrency == 0 || o.count == 0) throw std::invalid_argument("counts must be > 0");
  } catch (const std::exception& e) {
    std::cerr << "tpdp-bench-client: " << e.what() << "\n";
    return 2;
  }

  asio::io_context io(1);
  asio::steady_timer watchdog(io, std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::duration<double>(timeout)));
  watchdog.async_wait([&](std::error_code ec) {
    if (ec) return;
    std::cerr << "tpdp-bench-client: timed out after " << timeout << " s\n";
    std::_Exit(3);
  });
  auto* chosen = app.get_subcommands().front();
  asio::awaitable<JsonLine> (*command)(const Options&) = chosen == fetch   ? run_fetch
                                                         : chosen == build ? run_build
                                                         : chosen == churn ? run_churn
                                                         : chosen == idle  ? run_idle
                                                         : chosen == flood ? run_flood
                                                                           : run_crowd;
  int status = 0;
  asio::co_spawn(io, command(o), [&](std::exception_ptr e, JsonLine out) {
    watchdog.cancel();
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::cerr << "tpdp-bench-client: " << chosen->get_name() << ": " << ex.what() << "\n";
      }
      status = 1;
      return;
    }
    std::cout << out.str() << std::endl;
  });
  io.run();
  return status;
}
