// The client's side of one TPDP/0.1 hop handshake as a state machine (no
// sockets). It speaks in the same lock-step order as torpydo's client: one
// message, then the hop's reply. It sees only its own hop's bytes: the
// layers of the hops before it are added and removed by ClientPathBuilder.
//
//   -> Hello            <- Hello
//   -> client key       <- node key
//   -> counter block    <- ACK
//   (destination known: set_destination)
//   -> L, host          <- ACK        (L in clear, host on the forward stream)
//   -> port             <- ETB
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "protocol/bytes.hpp"
#include "protocol/ntor.hpp"
#include "protocol/v0_1/hop_key.hpp"
#include "protocol/v0_1/wire.hpp"

namespace tpdp::v0_1 {

class ClientHop {
 public:
  // The reply being awaited, or what happens next.
  enum class Step {
    hello,                 // 16 bytes
    node_key,              // 32 bytes
    counter_ack,           // ACK
    awaiting_destination,  // call set_destination
    host_ack,              // ACK
    etb,                   // ETB: the hop is connected and relays
    done,
    failed,
  };

  // ephemeral and counter: fresh random ones per hop (tests fix them).
  ClientHop(OnionKeypair ephemeral, CounterBlock counter);
  ClientHop();  // random key and counter block

  // This hop's messages to send now, without the earlier hops' layers.
  Bytes take_output();
  // Consumes this hop's reply bytes (earlier layers already removed); stops
  // at awaiting_destination, done or failed. Returns how many it took.
  std::size_t feed(ByteView in);
  // The host and port this hop connects to: the next node or the final
  // destination. host must pass is_valid_host (at most 255 bytes).
  void set_destination(std::string_view host, std::uint16_t port);
  // The connection ended before the handshake did. As in torpydo, the last
  // byte received in the current step, if any, is the hop's error byte.
  void end_of_stream();

  Step step() const { return step_; }
  bool waiting() const { return step_ != Step::awaiting_destination && step_ < Step::done; }
  // After failed: the step that failed, the error byte (if the hop sent one) and why.
  Step failed_step() const { return failed_step_; }
  std::optional<std::uint8_t> error_byte() const { return error_byte_; }
  const std::string& failure_reason() const { return reason_; }

  // After done: the hop's streams (forward has carried L + 2 bytes).
  HopLayers take_layers();

 private:
  void complete_step();
  void expect(Step next, std::size_t bytes);
  void fail(std::string reason);

  OnionKeypair ephemeral_;
  CounterBlock counter_;
  Step step_ = Step::hello;
  Step failed_step_ = Step::hello;
  std::size_t need_ = kHello.size();
  Bytes partial_;
  Bytes output_;
  std::optional<HopLayers> layers_;
  std::uint16_t port_ = 0;
  std::optional<std::uint8_t> error_byte_;
  std::string reason_;
};

}  // namespace tpdp::v0_1
