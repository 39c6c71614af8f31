#include "protocol/frame.hpp"

#include <sodium.h>

#include <cstring>
#include <stdexcept>

namespace tpdp {
namespace {

void make_nonce(std::uint64_t counter,
                std::uint8_t (&nonce)[crypto_aead_chacha20poly1305_IETF_NPUBBYTES]) {
  std::memset(nonce, 0, sizeof nonce);
  for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<std::uint8_t>(counter >> (56 - 8 * i));
}

}  // namespace

bool is_known_frame_type(std::uint8_t t) {
  return t >= 1 && t <= 7;
}

std::size_t FrameSealer::seal(FrameType type, ByteView payload, std::uint8_t* out) {
  if (payload.size() > kMaxFramePayload) throw std::length_error("frame payload too large");
  std::uint8_t header[kFrameHeaderSize] = {static_cast<std::uint8_t>(type),
                                           static_cast<std::uint8_t>(payload.size() >> 8),
                                           static_cast<std::uint8_t>(payload.size())};
  std::uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
  make_nonce(counter_++, nonce);
  // memmove first: the payload may already sit at out + header (in-place sealing).
  if (payload.data() != out + kFrameHeaderSize && !payload.empty()) {
    std::memmove(out + kFrameHeaderSize, payload.data(), payload.size());
  }
  std::memcpy(out, header, kFrameHeaderSize);
  unsigned long long mac_len = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(
      out + kFrameHeaderSize, out + kFrameHeaderSize + payload.size(), &mac_len,
      out + kFrameHeaderSize, payload.size(), header, kFrameHeaderSize, nullptr, nonce,
      key_.data());
  return payload.size() + kFrameOverhead;
}

void FrameSealer::seal_append(FrameType type, ByteView payload, Bytes& out) {
  std::size_t at = out.size();
  out.resize(at + payload.size() + kFrameOverhead);
  seal(type, payload, out.data() + at);
}

Decoded<OpenedFrame> FrameOpener::open(std::span<std::uint8_t> buf) {
  if (buf.size() < kFrameHeaderSize) return NeedMore{};
  std::uint8_t type = buf[0];
  std::size_t len = (static_cast<std::size_t>(buf[1]) << 8) | buf[2];
  if (!is_known_frame_type(type)) return Malformed{"unknown frame type"};
  if (len > kMaxFramePayload) return Malformed{"frame longer than the maximum"};
  if (buf.size() < len + kFrameOverhead) return NeedMore{};
  std::uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
  make_nonce(counter_, nonce);
  std::uint8_t* body = buf.data() + kFrameHeaderSize;
  if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(body, nullptr, body, len, body + len,
                                                         buf.data(), kFrameHeaderSize, nonce,
                                                         key_.data()) != 0) {
    return Malformed{"frame failed authentication", Errc::integrity_failure};
  }
  ++counter_;
  return OpenedFrame{static_cast<FrameType>(type), buf.subspan(kFrameHeaderSize, len),
                     len + kFrameOverhead};
}

}  // namespace tpdp
