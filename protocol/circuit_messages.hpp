// TPDP/1 circuit messages: the CREATE/CREATED handshake bytes, and the
// payloads of the control frames (EXTEND, EXTENDED, BEGIN, ERROR).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "protocol/bytes.hpp"
#include "protocol/crypto_types.hpp"
#include "protocol/errors.hpp"

namespace tpdp {

inline constexpr std::uint8_t kCreateMagic[4] = {'T', 'P', 'D', '1'};
inline constexpr std::size_t kCreateSize = 4 + 32 + 32;
// The CREATE a node writes to the next node when it extends a circuit: it
// tells the next node its place in the path (a middle never reads the
// client's later frames, so only the extending node can say it).
inline constexpr std::uint8_t kNodeCreateMagic[4] = {'T', 'P', 'D', 'E'};
inline constexpr std::size_t kNodeCreateSize = 4 + 1 + 32 + 32 + 32;
// The most nodes in one circuit (Tor's RELAY_EARLY limit): a node at this
// depth refuses to extend, so a path cannot loop through the same nodes.
inline constexpr std::size_t kMaxCircuitHops = 8;
inline constexpr std::size_t kCreatedOkSize = 1 + 32 + 32;
inline constexpr std::size_t kMaxErrorReason = 200;

// Client -> node, in the clear inside the layers of earlier hops.
struct CreateMsg {
  IdentityPublicKey node_id;     // identity the client expects
  OnionPublicKey client_public;  // X
};

// Names the node that extended a circuit to this one without writing its
// identity in the clear: that identity is already in the clear on the link
// before (in its own CREATE), and a byte string repeated on two links would
// link them for an observer. previous_node_tag(id, X) =
// BLAKE2b-256("tpdp-1 prev-node" | X | id), X from the same CREATE.
using PreviousNodeTag = PublicBytes<32, struct PreviousNodeTagTag>;
PreviousNodeTag previous_node_tag(const IdentityPublicKey& previous, const OnionPublicKey& x);

// Node -> next node, while extending: the client's CREATE (its node_id and
// X unchanged) with the receiving node's hop number and who extended to it.
struct NodeCreateMsg {
  std::uint8_t depth = 2;    // hop number of the receiving node, 2 ... kMaxCircuitHops
  PreviousNodeTag previous;  // previous_node_tag(extending node's identity, create.client_public)
  CreateMsg create;
};

// What a node reads first on a new connection: a client's CREATE ("TPD1",
// depth 1, no previous node) or a node's ("TPDE"). The magic decides how
// many bytes follow.
struct IncomingCreate {
  std::uint8_t depth = 1;
  std::optional<PreviousNodeTag> previous;
  CreateMsg create;
};

// Node -> client. status != ok: only the status byte is sent.
struct CreatedMsg {
  Errc status = Errc::ok;
  OnionPublicKey node_ephemeral;  // Y
  AuthTag auth;
};

struct ExtendMsg {
  std::string host;
  std::uint16_t port = 0;
  CreateMsg create;
};

struct ExtendedMsg {
  CreatedMsg created;
};

struct BeginMsg {
  std::string host;
  std::uint16_t port = 0;
};

struct ErrorMsg {
  Errc code = Errc::protocol_error;
  std::string reason;  // short printable ASCII, at most kMaxErrorReason bytes
};

void encode(Writer& w, const CreateMsg& m);
void encode(Writer& w, const NodeCreateMsg& m);
// A client's form when previous is unset (depth is then not sent), a node's otherwise.
void encode(Writer& w, const IncomingCreate& m);
void encode(Writer& w, const CreatedMsg& m);
void encode(Writer& w, const ExtendMsg& m);
void encode(Writer& w, const ExtendedMsg& m);
void encode(Writer& w, const BeginMsg& m);
void encode(Writer& w, const ErrorMsg& m);

// CREATE and CREATED are read from a stream: NeedMore until complete.
// Frame payloads (EXTEND, EXTENDED, BEGIN, ERROR) are complete: use decode_exact.
template <>
Decoded<CreateMsg> decode<CreateMsg>(Reader& r);
// Either form; a node form with a depth outside 2 ... kMaxCircuitHops is malformed.
template <>
Decoded<IncomingCreate> decode<IncomingCreate>(Reader& r);
template <>
Decoded<CreatedMsg> decode<CreatedMsg>(Reader& r);
template <>
Decoded<ExtendMsg> decode<ExtendMsg>(Reader& r);
template <>
Decoded<ExtendedMsg> decode<ExtendedMsg>(Reader& r);
template <>
Decoded<BeginMsg> decode<BeginMsg>(Reader& r);
template <>
Decoded<ErrorMsg> decode<ErrorMsg>(Reader& r);

}  // namespace tpdp
