// Builds a TPDP/0.1 path hop by hop without sockets: the caller writes what
// take_output() returns and feeds what it reads. Each later hop's handshake
// travels inside the layers of the hops already built: the client's
// messages get their forward layers (innermost first), the replies lose
// their backward layers, so each hop's streams advance exactly as
// spec/tpdp-0.1.md ("Offsets") says. Bytes that arrive after a hop's ETB
// came through that hop and get its layer removed too.
#pragma once

#include <optional>
#include <vector>

#include "protocol/v0_1/client_hop.hpp"

namespace tpdp::v0_1 {

class ClientPathBuilder {
 public:
  enum class Status {
    idle,                  // no hop in progress: add_hop (or the path is complete)
    waiting,               // the current hop's reply is awaited: feed
    awaiting_destination,  // the current hop is keyed: set_destination
    failed,
  };

  // Starts the handshake with one more node (Status must be idle).
  void add_hop(ClientHop hop);
  // Where the current hop connects: the next node or the final destination.
  void set_destination(std::string_view host, std::uint16_t port);

  // Bytes to write to the first node now.
  Bytes take_output();
  // Bytes read from the first node, as read.
  void feed(ByteView received);
  // The first node closed the connection.
  void end_of_stream();

  Status status() const;
  // Hops built (connected and relaying).
  std::size_t built() const { return layers_.size(); }
  // When failed: the 1-based hop that failed and the state of its handshake.
  std::size_t failed_hop() const { return layers_.size() + 1; }
  const ClientHop& current() const { return *current_; }

  // The layers of the built hops (hop 1 first) and the bytes that arrived
  // after the last hop's ETB, all layers removed: the start of the stream.
  std::vector<HopLayers> take_layers();
  Bytes take_received();

 private:
  void advance();

  std::vector<HopLayers> layers_;
  std::optional<ClientHop> current_;
  Bytes pending_;  // received, built hops' layers removed, not yet consumed
  bool eof_ = false;
};

}  // namespace tpdp::v0_1
