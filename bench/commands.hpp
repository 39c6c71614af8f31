// The measurements of tpdp-bench-client, one per command. Each runs on the
// caller's single-threaded io_context and returns its figures as one JSON line.
#pragma once

#include <asio.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/bench_support.hpp"

namespace tpdp::bench {

struct Options {
  std::string pool;                               // HOST:PORT@FINGERPRINT
  std::vector<std::vector<std::uint16_t>> paths;  // node ports, first hop first
  std::uint16_t dest_port = 0;                    // tpdp-bench-source
  std::uint16_t tcp_port = 0;                     // fetch: plain TCP instead of a circuit
  int watch_pid = 0;                              // the node whose CPU and memory are read
  std::uint64_t bytes = 256ull << 20;             // per stream
  std::size_t count = 200;                        // builds / circuits
  std::size_t concurrency = 64;                   // circuits being built at once
  double seconds = 3;                             // churn: measured window
  double warmup = 0.5;                            // churn: before the window
  double settle = 1;                              // idle: wait before reading the RSS
  std::size_t read_buffer = 256 * 1024;           // fetch: application read size
  double rate = 0;                                // flood: CREATEs per second (0: no pacing)
  bool wait_reply = false;                        // flood: read each reply before closing
};

// Bulk download of `bytes`, checked, over plain TCP (tcp_port) or a circuit (paths[0]).
asio::awaitable<JsonLine> run_fetch(const Options& o);
// `count` builds of each path in turn (A B A B ...): build times in ms.
asio::awaitable<JsonLine> run_build(const Options& o);
// `concurrency` clients building 1-hop circuits back to back: circuits per second, node CPU.
asio::awaitable<JsonLine> run_churn(const Options& o);
// `count` circuits that each fetched a little, then idle: the node's RSS.
asio::awaitable<JsonLine> run_idle(const Options& o);
// `count` circuits each fetching `bytes` at once, all checked: aggregate rate, node RSS.
asio::awaitable<JsonLine> run_crowd(const Options& o);
// Attacks the first node of paths[0]: `count` slowloris connections, then a
// CREATE flood for `seconds` or until SIGTERM: what was sent, what was refused.
asio::awaitable<JsonLine> run_flood(const Options& o);

}  // namespace tpdp::bench
