// Fuzzes authenticated frames: opening arbitrary bytes under a fixed key must
// never crash and must classify every frame consistently; and the input
// sealed as payload must open to itself, in order, and not after tampering.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "protocol/frame.hpp"
#include "tests/fuzz/fuzz_common.hpp"

using namespace tpdp;
using namespace tpdp::fuzz;

namespace {

// Opens frames from the front of buf until one does not open; checks each answer.
void open_all(std::span<std::uint8_t> buf) {
  FrameOpener opener(fixed_frame_key());
  Bytes original(buf.begin(), buf.end());
  std::size_t pos = 0;
  for (;;) {
    auto rest = buf.subspan(pos);
    auto d = opener.open(rest);
    if (needs_more(d)) {
      if (rest.size() >= kFrameHeaderSize) {
        std::size_t len = (static_cast<std::size_t>(rest[1]) << 8) | rest[2];
        check(is_known_frame_type(rest[0]) && len <= kMaxFramePayload);
        check(rest.size() < len + kFrameOverhead);
      }
      return;
    }
    if (is_malformed(d)) {
      const auto& m = std::get<Malformed>(d);
      check(!m.reason.empty());
      check(rest.size() >= kFrameHeaderSize);
      std::size_t len = (static_cast<std::size_t>(rest[1]) << 8) | rest[2];
      bool bad_header = !is_known_frame_type(rest[0]) || len > kMaxFramePayload;
      check(m.code == (bad_header ? Errc::protocol_error : Errc::integrity_failure));
      return;
    }
    const auto& f = std::get<OpenedFrame>(d);
    check(is_known_frame_type(static_cast<std::uint8_t>(f.type)));
    check(f.consumed == f.payload.size() + kFrameOverhead);
    check(f.consumed <= rest.size());
    check(f.payload.data() == rest.data() + kFrameHeaderSize);
    check(static_cast<std::uint8_t>(f.type) == original[pos]);
    check(f.payload.size() ==
          ((static_cast<std::size_t>(original[pos + 1]) << 8) | original[pos + 2]));
    pos += f.consumed;
  }
}

FrameType type_from(std::uint8_t b) {
  return static_cast<FrameType>(1 + b % 7);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  init_sodium();

  // 1. Arbitrary bytes as a stream of frames.
  {
    Bytes buf(data, data + size);
    open_all(buf);
  }

  // 2. The input as payloads: sealed, then opened in order.
  if (size == 0) return 0;
  FrameType type = type_from(data[0]);
  ByteView payload(data + 1, std::min(size - 1, kMaxFramePayload));
  ByteView half = payload.first(payload.size() / 2);

  FrameSealer sealer(fixed_frame_key());
  Bytes wire;
  sealer.seal_append(type, payload, wire);
  sealer.seal_append(FrameType::data, half, wire);
  check(sealer.frames_sealed() == 2);
  check(wire.size() == payload.size() + half.size() + 2 * kFrameOverhead);

  // In-place sealing gives the same bytes as sealing from a separate buffer.
  {
    FrameSealer in_place(fixed_frame_key());
    Bytes out(payload.size() + kFrameOverhead);
    if (!payload.empty())
      std::memcpy(out.data() + kFrameHeaderSize, payload.data(), payload.size());
    std::size_t n =
        in_place.seal(type, ByteView(out.data() + kFrameHeaderSize, payload.size()), out.data());
    check(n == out.size());
    check(std::equal(out.begin(), out.end(), wire.begin()));
  }

  Bytes tampered = wire;
  {
    FrameOpener opener(fixed_frame_key());
    std::span<std::uint8_t> rest(wire);
    auto first = opener.open(rest);
    check(is_value(first));
    const auto& f1 = std::get<OpenedFrame>(first);
    check(f1.type == type);
    check(std::equal(f1.payload.begin(), f1.payload.end(), payload.begin(), payload.end()));
    rest = rest.subspan(f1.consumed);
    auto second = opener.open(rest);
    check(is_value(second));
    const auto& f2 = std::get<OpenedFrame>(second);
    check(f2.type == FrameType::data);
    check(std::equal(f2.payload.begin(), f2.payload.end(), half.begin(), half.end()));
    check(f2.consumed == rest.size());
  }

  // The second frame alone (out of order) does not open.
  {
    FrameOpener opener(fixed_frame_key());
    std::span<std::uint8_t> second(tampered.data() + payload.size() + kFrameOverhead,
                                   half.size() + kFrameOverhead);
    Bytes copy(second.begin(), second.end());
    auto d = opener.open(copy);
    check(is_malformed(d) && std::get<Malformed>(d).code == Errc::integrity_failure);
  }

  // One flipped bit in the first frame, chosen by the input, never opens.
  {
    std::size_t frame_bits = (payload.size() + kFrameOverhead) * 8;
    std::size_t pick = 0;
    for (std::size_t i = 0; i < size; ++i) pick = pick * 131 + data[i];
    std::size_t bit = pick % frame_bits;
    tampered[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    FrameOpener opener(fixed_frame_key());
    auto d = opener.open(tampered);
    check(!is_value(d));
    if (is_malformed(d)) check(!std::get<Malformed>(d).reason.empty());
  }
  return 0;
}
