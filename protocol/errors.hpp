// One error taxonomy for tpdp. Each code maps one to one to the wire error
// code that nodes and pools send (spec/tpdp-1.md, "Error codes").
#pragma once

#include <cstdint>
#include <string>
#include <system_error>

namespace tpdp {

enum class Errc : std::uint8_t {
  ok = 0,
  timeout = 1,                // a phase deadline expired
  protocol_error = 2,         // malformed or unexpected message
  connect_failed = 3,         // the next hop or the destination could not be reached
  authentication_failed = 4,  // a hop could not prove its identity
  exit_policy_refused = 5,    // the exit's policy forbids the destination
  limit_reached = 6,          // a node or pool limit (circuits, handshakes, sizes)
  unknown_identity = 7,       // CREATE named an identity this node does not hold
  resolve_failed = 8,         // the destination name did not resolve
  integrity_failure = 9,      // an authenticated frame failed to verify
  circuit_truncated = 10,     // the stream ended without a clean END
  bad_signature = 11,         // a signed heartbeat or list did not verify
  address_in_use = 12,        // another identity already holds that address (pool)
  internal_error = 13,
  connection_refused = 14,  // the destination actively refused the connection
};

// Highest code a peer may send; anything above decodes as protocol_error.
inline constexpr std::uint8_t kMaxWireErrc = 14;

const std::error_category& tpdp_category();
std::error_code make_error_code(Errc e);
// Short stable name, e.g. "exit_policy_refused".
const char* errc_name(Errc e);
// Maps a byte received from a peer to an Errc (unknown values -> protocol_error).
Errc errc_from_wire(std::uint8_t code);

}  // namespace tpdp

namespace std {
template <>
struct is_error_code_enum<tpdp::Errc> : true_type {};
}  // namespace std
