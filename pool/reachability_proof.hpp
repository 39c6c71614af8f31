// The pool's proof that a node answers at its advertised address as the
// identity and onion key its heartbeat claims (spec 5.3): a client's
// first-hop handshake (spec 6.5), CREATE with a fresh X and the CREATED
// answer checked with the descriptor's onion key, then an abortive close.
// The heartbeat's signature binds identity, onion key and address; this
// shows that the machine at that address holds both keys.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <string>

#include "common/net.hpp"
#include "protocol/pool_messages.hpp"

namespace tpdp {

struct ProofResult {
  // ok; timeout (no answer within the deadline); connect_failed (no
  // connection, or no complete CREATED); unknown_identity (the node there
  // answered 07: it holds another identity); authentication_failed (AUTH
  // did not verify: it does not hold the onion key).
  Errc status = Errc::connect_failed;
  tcp::endpoint reached;  // the endpoint that answered (status ok)
  std::string detail;     // for the log: what happened
};

// Never throws for what the far end does; bounded by `deadline` in all.
asio::awaitable<ProofResult> prove_reachable(const NodeDescriptor& node,
                                             std::chrono::steady_clock::duration deadline);

}  // namespace tpdp
