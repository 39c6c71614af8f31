// TPDP/1 circuit messages: the CREATE/CREATED handshake bytes, and the
// payloads of the control frames (EXTEND, EXTENDED, BEGIN, ERROR).
#pragma once

#include <cstdint>
#include <string>

#include "protocol/bytes.hpp"
#include "protocol/crypto_types.hpp"
#include "protocol/errors.hpp"

namespace tpdp {

inline constexpr std::uint8_t kCreateMagic[4] = {'T', 'P', 'D', '1'};
inline constexpr std::size_t kCreateSize = 4 + 32 + 32;
inline constexpr std::size_t kCreatedOkSize = 1 + 32 + 32;
inline constexpr std::size_t kMaxErrorReason = 200;

// Client -> node, in the clear inside the layers of earlier hops.
struct CreateMsg {
  IdentityPublicKey node_id;     // identity the client expects
  OnionPublicKey client_public;  // X
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
void encode(Writer& w, const CreatedMsg& m);
void encode(Writer& w, const ExtendMsg& m);
void encode(Writer& w, const ExtendedMsg& m);
void encode(Writer& w, const BeginMsg& m);
void encode(Writer& w, const ErrorMsg& m);

// CREATE and CREATED are read from a stream: NeedMore until complete.
// Frame payloads (EXTEND, EXTENDED, BEGIN, ERROR) are complete: use decode_exact.
template <>
Decoded<CreateMsg> decode<CreateMsg>(Reader& r);
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
