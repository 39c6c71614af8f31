// Authenticated frames: what the client and each hop exchange inside that
// hop's onion layer (control messages), and what the client and the exit
// exchange for the stream (DATA/END). ChaCha20-Poly1305 (IETF), one key and
// one 64-bit counter nonce per direction.
//
//   frame = type(1) | length(2, big-endian) | ciphertext(length) | tag(16)
//   AD = type | length; nonce = 00 00 00 00 | counter (8, big-endian)
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "protocol/bytes.hpp"
#include "protocol/crypto_types.hpp"

namespace tpdp {

enum class FrameType : std::uint8_t {
  extend = 1,     // client -> hop: connect to the next node and pass on its CREATE
  extended = 2,   // hop -> client: the next node's CREATED
  begin = 3,      // client -> exit: connect to a destination
  connected = 4,  // exit -> client: the destination is connected
  error = 5,      // hop -> client: what failed; the hop then closes
  data = 6,       // stream bytes, both directions
  end = 7,        // no more data in this direction (clean half-close)
};

inline constexpr std::size_t kFrameHeaderSize = 3;
inline constexpr std::size_t kFrameTagSize = 16;
inline constexpr std::size_t kFrameOverhead = kFrameHeaderSize + kFrameTagSize;
inline constexpr std::size_t kMaxFramePayload = 16384;
inline constexpr std::size_t kMaxFrameSize = kMaxFramePayload + kFrameOverhead;

bool is_known_frame_type(std::uint8_t t);

class FrameSealer {
 public:
  explicit FrameSealer(AeadKey key) : key_(std::move(key)) {}
  // Writes the sealed frame to out (payload.size() + kFrameOverhead bytes);
  // payload may alias out + kFrameHeaderSize. payload.size() <= kMaxFramePayload.
  std::size_t seal(FrameType type, ByteView payload, std::uint8_t* out);
  // Appends a sealed frame to out.
  void seal_append(FrameType type, ByteView payload, Bytes& out);
  std::uint64_t frames_sealed() const { return counter_; }

 private:
  AeadKey key_;
  std::uint64_t counter_ = 0;
};

struct OpenedFrame {
  FrameType type;
  std::span<std::uint8_t> payload;  // decrypted in place, inside the input buffer
  std::size_t consumed;             // bytes of input this frame took
};

class FrameOpener {
 public:
  explicit FrameOpener(AeadKey key) : key_(std::move(key)) {}
  // Opens the frame at the front of buf, decrypting in place. NeedMore until
  // the whole frame is there; Malformed (integrity_failure) if the tag does
  // not verify, (protocol_error) for an unknown type or an oversize length.
  Decoded<OpenedFrame> open(std::span<std::uint8_t> buf);

 private:
  AeadKey key_;
  std::uint64_t counter_ = 0;
};

}  // namespace tpdp
