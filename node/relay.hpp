// The relay phase of a circuit at a node: one coroutine per direction, each
// with its own cipher state; both joined so that an error in one ends the
// other, and raced against an idle watchdog. Half-close is carried: EOF from
// one side becomes a write shutdown on the other; the circuit ends when both
// directions have ended.
#pragma once

#include <asio.hpp>
#include <chrono>

#include "node/buffer_pool.hpp"
#include "protocol/frame.hpp"
#include "protocol/layer_cipher.hpp"

namespace tpdp {

using asio::ip::tcp;

struct CircuitStats {
  std::uint64_t bytes_forward = 0;   // towards the destination
  std::uint64_t bytes_backward = 0;  // towards the client
  std::chrono::steady_clock::time_point last_activity = std::chrono::steady_clock::now();
};

struct RelayContext {
  BufferPool& buffers;
  CircuitStats& stats;
  std::chrono::steady_clock::duration idle_timeout;
};

// Building blocks, also used by the TPDP/0.1 relay (node/v0_1_relay.cpp).
// Copies bytes one way, applying a layer, until EOF (then shuts down `to`'s
// sending side) or an error. Both sockets must be non-blocking.
asio::awaitable<void> pump(tcp::socket& from, tcp::socket& to, LayerCipher& layer,
                           std::uint64_t& counter, RelayContext ctx);
// Throws Errc::timeout once no byte has moved for `idle`.
asio::awaitable<void> idle_watchdog(CircuitStats& stats, std::chrono::steady_clock::duration idle);

// Middle (or first) hop after EXTENDED: peel one layer going forward, add one going back.
// early_forward: bytes already read and peeled during the handshake.
asio::awaitable<void> relay_middle(tcp::socket& up, tcp::socket& down, LayerCipher forward_layer,
                                   LayerCipher backward_layer, Bytes early_forward,
                                   RelayContext ctx);

// Exit hop after CONNECTED: peel the layer and open the client's frames going
// forward; seal the destination's bytes into frames and add the layer going back.
// Throws std::system_error(Errc::integrity_failure / circuit_truncated / ...) on a bad stream.
asio::awaitable<void> relay_exit(tcp::socket& up, tcp::socket& destination,
                                 LayerCipher forward_layer, LayerCipher backward_layer,
                                 FrameOpener opener, FrameSealer sealer, Bytes early_forward,
                                 RelayContext ctx);

}  // namespace tpdp
