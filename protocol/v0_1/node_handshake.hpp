// The node's side of one TPDP/0.1 hop handshake as a state machine fed the
// bytes that arrive from upstream (no sockets): Hello, client key, counter
// block, host length, host, port; it queues the replies (Hello, node key,
// ACK, ACK; then ETB once the caller has connected) or one error byte.
// Bytes may arrive in any split: pipelined in one piece or one at a time.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "protocol/bytes.hpp"
#include "protocol/host.hpp"
#include "protocol/ntor.hpp"
#include "protocol/v0_1/hop_key.hpp"
#include "protocol/v0_1/wire.hpp"

namespace tpdp::v0_1 {

class NodeHandshake {
 public:
  // Each read step of torpydo's node, then what the caller does.
  enum class Step {
    hello,        // 16 bytes
    client_key,   // 32 bytes
    counter,      // 16 bytes
    host_length,  // 2 bytes, not encrypted by this hop
    host,         // L bytes, this hop's forward stream from position 0
    port,         // 2 bytes, forward stream at L
    connecting,   // the caller connects to destination(), then connected() or fail()
    done,         // ETB queued; relaying starts (forward stream at L + 2)
    failed,       // an error byte is queued; close after sending it
  };

  // ephemeral: a fresh OnionKeypair::generate() per connection (tests fix it).
  explicit NodeHandshake(OnionKeypair ephemeral);

  // Consumes the bytes of the steps up to the port and returns how many it
  // took; it stops at `connecting` or `failed`, so bytes after the port (data
  // pipelined by the client) are left to the caller.
  std::size_t feed(ByteView in);
  // Replies to send upstream, in order (possibly empty).
  Bytes take_output();

  Step step() const { return step_; }
  // Whether a read step is in progress (each has its own timer).
  bool reading() const { return step_ < Step::connecting; }
  // Past the public-key work (the per-source handshake limit is released here).
  bool keyed() const { return step_ > Step::client_key && step_ != Step::failed; }
  // Valid in `connecting` and later.
  const HostPort& destination() const { return destination_; }

  // The destination is connected: queues ETB.
  void connected();
  // Ends the handshake with an error byte (timeout, destination error, or a
  // protocol error found by the caller). No-op after done or failed.
  void fail(ErrorByte code, std::string reason);

  std::optional<ErrorByte> failure() const { return failure_; }
  const std::string& failure_reason() const { return reason_; }

  // After done: the hop's streams; forward has carried the host and port.
  HopLayers take_layers();

 private:
  void complete_step();
  void expect(Step next, std::size_t bytes);

  OnionKeypair ephemeral_;
  Step step_ = Step::hello;
  std::size_t need_ = kHello.size();
  Bytes partial_;  // bytes of the current step so far
  Bytes output_;
  std::optional<LayerKey> key_;
  std::optional<HopLayers> layers_;
  HostPort destination_;
  std::optional<ErrorByte> failure_;
  std::string reason_;
};

}  // namespace tpdp::v0_1
