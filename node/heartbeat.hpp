// The node's side of the pool protocol: one coroutine per pool sends signed
// heartbeats, waits as long as the pool says, and retries when it is away.
#pragma once

#include <asio.hpp>
#include <functional>

#include "common/logging.hpp"
#include "common/pool_address.hpp"
#include "protocol/identity.hpp"
#include "protocol/pool_messages.hpp"

namespace tpdp {

struct HeartbeatConfig {
  PoolAddress pool;
  NodeDescriptor self;
  std::chrono::milliseconds retry{10000};
  std::chrono::milliseconds timeout{10000};
  // Called after each accepted heartbeat with the period the pool asked for
  // (the node refreshes its pools' node lists as often).
  std::function<void(std::chrono::seconds)> on_accepted;
};

// One heartbeat exchange; returns the pool's reply. Throws on network errors.
asio::awaitable<HeartbeatReply> send_heartbeat(const PoolAddress& pool, const NodeDescriptor& self,
                                               const IdentitySecretKey& key,
                                               std::chrono::milliseconds timeout);

// Heartbeats until cancelled (per-operation cancellation of the coroutine).
asio::awaitable<void> heartbeat_loop(HeartbeatConfig config, const IdentitySecretKey& key,
                                     Logger log);

}  // namespace tpdp
