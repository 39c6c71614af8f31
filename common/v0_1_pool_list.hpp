// Fetching a TPDP/0.1 pool's node list (used by clients, and by nodes to
// recognise next hops): send 00, read entries until the pool closes.
#pragma once

#include <asio.hpp>
#include <chrono>

#include "protocol/host.hpp"
#include "protocol/v0_1/pool_messages.hpp"

namespace tpdp {

// Throws std::system_error (network, timeout) or ProtocolViolation (a list
// cut inside an entry, or longer than v0_1::kMaxListBytes).
asio::awaitable<v0_1::NodeList> fetch_v0_1_node_list(const HostPort& pool,
                                                     std::chrono::milliseconds timeout);

}  // namespace tpdp
