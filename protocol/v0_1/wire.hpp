// TPDP/0.1 constants: the fixed handshake messages, the error bytes, and the
// keystream offsets of the nested handshake (spec/tpdp-0.1.md).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/bytes.hpp"
#include "protocol/errors.hpp"

namespace tpdp::v0_1 {

inline constexpr std::string_view kHello = "Hello TPDP/0.1\r\n";  // 16 bytes, both ways
inline constexpr std::array<std::uint8_t, 2> kAck = {0x06, 0x06};
inline constexpr std::array<std::uint8_t, 2> kEtb = {0x17, 0x17};  // "connected, relaying"
inline constexpr std::string_view kKdfInfo = "TPDP/0.1";
inline constexpr std::size_t kPublicKeySize = 32;
inline constexpr std::size_t kCounterBlockSize = 16;
inline constexpr std::size_t kHostLengthSize = 2;
inline constexpr std::size_t kPortSize = 2;
// tpdp's bound on the host length field (a DNS name or an address fits);
// TPDP/0.1 itself allows 65535.
inline constexpr std::size_t kMaxHostLength = 255;

// Bytes of one later hop's handshake that an earlier hop's forward stream
// carries: Hello, public key, counter block, host length, host, port.
constexpr std::size_t forward_handshake_bytes(std::size_t host_length) {
  return kHello.size() + kPublicKeySize + kCounterBlockSize + kHostLengthSize + host_length +
         kPortSize;  // 68 + L
}
// Bytes of one later hop's replies on an earlier hop's backward stream:
// Hello, public key, ACK, ACK, ETB.
inline constexpr std::size_t kBackwardHandshakeBytes =
    kHello.size() + kPublicKeySize + 3 * kAck.size();  // 54

// The one-byte error a node sends (in clear; upstream nodes encrypt it)
// before closing the connection.
enum class ErrorByte : std::uint8_t {
  timeout = 0,            // a handshake step took longer than the node's timer
  protocol_error = 1,     // wrong Hello, bad host, degenerate key...
  destination_error = 2,  // the node could not connect to the destination
};

// "timeout", "protocol error", "destination connection error" or
// "unknown error code N".
std::string error_byte_meaning(std::uint8_t byte);

// The handshakes read exact byte counts from a stream split anywhere: moves
// bytes from in[used..] into `partial` until it holds `need`; returns how
// many were taken.
inline std::size_t take_step_bytes(Bytes& partial, std::size_t need, ByteView in,
                                   std::size_t used) {
  std::size_t take = std::min(need - partial.size(), in.size() - used);
  partial.insert(partial.end(), in.begin() + static_cast<std::ptrdiff_t>(used),
                 in.begin() + static_cast<std::ptrdiff_t>(used + take));
  return take;
}
// The tpdp error for an error byte (unknown values: protocol_error).
Errc errc_for_error_byte(std::uint8_t byte);

}  // namespace tpdp::v0_1
