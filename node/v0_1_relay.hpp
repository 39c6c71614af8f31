// The relay phase of a TPDP/0.1 hop: peel the hop's layer going forward,
// add it going back, one coroutine per direction. TPDP/0.1 has no
// half-close: the first EOF (or error, or the idle timeout) in either
// direction ends both. The caller then closes both sockets.
#pragma once

#include <asio.hpp>
#include <chrono>

#include "node/relay.hpp"
#include "protocol/v0_1/hop_key.hpp"

namespace tpdp {

// What the relay shares with its session: the node's buffers, the circuit's
// counters, and the node's idle timeout.
struct RelayContext {
  BufferPool& buffers;
  CircuitStats& stats;
  std::chrono::steady_clock::duration idle_timeout;
};

struct V01RelayOptions {
  // The destination is allowed only as a TPDP/0.1 node (the pools list it;
  // the exit policy alone would refuse it): the first 16 bytes each way must
  // be the Hello, else the relay ends before anything else is forwarded.
  bool next_hop_only = false;
  std::chrono::milliseconds hello_timeout{10000};  // for each of those two reads
};

// early_forward: bytes read after the port, the hop's layer already peeled.
// Throws std::system_error (Errc::protocol_error when the Hello check fails,
// Errc::timeout when idle) or socket errors.
asio::awaitable<void> relay_v0_1(tcp::socket& up, tcp::socket& down, v0_1::HopLayers layers,
                                 Bytes early_forward, V01RelayOptions options, RelayContext ctx);

}  // namespace tpdp
