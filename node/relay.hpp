// The relay phase of a circuit at a node: one coroutine per direction, each
// with its own cipher state. The circuit's sockets, keys and counters move
// into one object the two directions share; it goes away when both have
// ended, so a relaying circuit holds no other coroutine (in particular no
// idle timer: the node's IdleSweeper watches all circuits at once).
// Half-close is carried: EOF from one side becomes a write shutdown on the
// other; a failure in one direction ends the other one too.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <optional>

#include "node/buffer_pool.hpp"
#include "node/idle_sweeper.hpp"
#include "protocol/frame.hpp"
#include "protocol/layer_cipher.hpp"

namespace tpdp {

using asio::ip::tcp;

struct CircuitStats {
  std::uint64_t bytes_forward = 0;   // towards the destination
  std::uint64_t bytes_backward = 0;  // towards the client
  std::chrono::steady_clock::time_point last_activity = std::chrono::steady_clock::now();
};

// What the control phase hands over.
struct RelaySetup {
  tcp::socket up;    // towards the client
  tcp::socket down;  // the next hop (middle) or the destination (exit)
  LayerCipher forward_layer;
  LayerCipher backward_layer;
  // Exit only: the client's frames are opened here and the destination's bytes sealed.
  std::optional<FrameOpener> opener;
  std::optional<FrameSealer> sealer;
  Bytes early_forward;  // bytes read during the handshake, layer already removed
};

// Called once, when both directions have ended, with the circuit's failure:
// null when both ended cleanly; std::system_error with Errc::timeout when
// the circuit was idle; at the exit, the stream's failure (integrity,
// protocol, truncation) after its ERROR frame went to the client.
using RelayDone = std::function<void(std::exception_ptr failure, const CircuitStats& stats)>;

// Starts both directions on the sockets' executor and returns at once.
// Middle (no opener): peel one layer going forward, add one going back.
// Exit: peel the layer and open the client's frames going forward; seal the
// destination's bytes into frames and add the layer going back.
void start_relay(RelaySetup setup, BufferPool& buffers, IdleSweeper& sweeper, RelayDone done);

// A building block, also used by the TPDP/0.1 relay: reads what
// `from` holds right now (without blocking) into lease at offset, taking a buffer
// from the pool only for the read (given back if nothing was there, so a
// direction waiting for bytes holds none). nullopt: nothing waiting (wait
// for readability, then call again: Asio's async_wait is edge-triggered and
// does not look at the socket first, so always read before waiting); 0: EOF.
std::optional<std::size_t> read_now(tcp::socket& from, BufferPool& pool, BufferPool::Lease& lease,
                                    std::size_t offset, std::size_t max);

}  // namespace tpdp
