// Which addresses the node's TPDP/0.1 pools list as nodes. TPDP/1 extends a
// circuit to the next node without consulting the exit policy because it
// only ever sends that node a CREATE; TPDP/0.1 cannot tell a next hop from a
// final destination, so a destination the exit policy refuses (on one
// machine: every other node, on loopback) is still allowed when the pools
// list it as a node, and then only for a TPDP/0.1 handshake (the relay
// checks the Hello both ways: node/v0_1_relay.hpp).
#pragma once

#include <asio.hpp>
#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "common/logging.hpp"
#include "protocol/host.hpp"

namespace tpdp {

class V01ListedNodes {
 public:
  V01ListedNodes(asio::any_io_executor ex, std::vector<HostPort> pools,
                 std::chrono::milliseconds timeout, Logger log);

  // Whether a pool lists host:port. Uses the lists fetched in the last few
  // seconds, else fetches them (one fetch at a time, at most one a second).
  asio::awaitable<bool> contains(const HostPort& where);

 private:
  asio::awaitable<void> refresh();

  std::vector<HostPort> pools_;
  std::chrono::milliseconds timeout_;
  Logger log_;
  std::set<std::pair<std::string, std::uint16_t>> listed_;
  std::chrono::steady_clock::time_point fetched_at_{};
  bool fetching_ = false;
  asio::steady_timer fetch_done_;  // callers waiting for a fetch in progress park here
};

}  // namespace tpdp
