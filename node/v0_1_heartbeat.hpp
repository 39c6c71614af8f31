// The node's side of the TPDP/0.1 pool protocol: `01 host 00 port`, one byte
// back (seconds to the next heartbeat). First at start; when the pool is
// unreachable or closes without answering, again after the retry delay.
#pragma once

#include <asio.hpp>
#include <chrono>

#include "common/logging.hpp"
#include "protocol/host.hpp"

namespace tpdp {

struct V01HeartbeatConfig {
  HostPort pool;
  HostPort self;  // what the node claims: its --advertise or --listen address
  std::chrono::milliseconds retry{10000};
  std::chrono::milliseconds timeout{10000};
};

// One heartbeat; returns the pool's delay byte. Throws on network errors,
// timeout, or a close without a reply.
asio::awaitable<std::uint8_t> send_v0_1_heartbeat(const HostPort& pool, const HostPort& self,
                                                  std::chrono::milliseconds timeout);

// Heartbeats forever (until cancelled).
asio::awaitable<void> v0_1_heartbeat_loop(V01HeartbeatConfig config, Logger log);

}  // namespace tpdp
