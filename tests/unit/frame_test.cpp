#include "protocol/frame.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <stdexcept>
#include <string>

using namespace tpdp;

namespace {

AeadKey key_of(std::uint8_t fill) {
  AeadKey k;
  std::memset(k.data(), fill, k.size());
  return k;
}

Bytes payload_of(std::size_t n, std::uint8_t seed = 0) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 7);
  return b;
}

OpenedFrame opened(const Decoded<OpenedFrame>& d) {
  INFO("open gave " << (needs_more(d)     ? "NeedMore"
                        : is_malformed(d) ? std::get<Malformed>(d).reason
                                          : ""));
  REQUIRE(is_value(d));
  return std::get<OpenedFrame>(d);
}

Errc malformed_code(const Decoded<OpenedFrame>& d) {
  REQUIRE(is_malformed(d));
  CHECK_FALSE(std::get<Malformed>(d).reason.empty());
  return std::get<Malformed>(d).code;
}

const FrameType kAllTypes[] = {FrameType::extend,    FrameType::extended, FrameType::begin,
                               FrameType::connected, FrameType::error,    FrameType::data,
                               FrameType::end};

}  // namespace

TEST_CASE("frame types", "[frame]") {
  CHECK_FALSE(is_known_frame_type(0));
  for (std::uint8_t t = 1; t <= 7; ++t) CHECK(is_known_frame_type(t));
  CHECK_FALSE(is_known_frame_type(8));
  CHECK_FALSE(is_known_frame_type(255));
  CHECK(kFrameOverhead == 19);
  CHECK(kMaxFrameSize == 16384 + 19);
}

TEST_CASE("seal then open round trip", "[frame]") {
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{100}, kMaxFramePayload}) {
    for (auto type : kAllTypes) {
      INFO("payload " << size << " type " << int(type));
      FrameSealer sealer(key_of(1));
      FrameOpener opener(key_of(1));
      Bytes payload = payload_of(size);
      Bytes wire;
      sealer.seal_append(type, payload, wire);
      REQUIRE(wire.size() == size + kFrameOverhead);
      CHECK(wire[0] == static_cast<std::uint8_t>(type));
      CHECK(wire[1] == static_cast<std::uint8_t>(size >> 8));
      CHECK(wire[2] == static_cast<std::uint8_t>(size));
      if (size >= 16) {
        // The payload is encrypted, not copied.
        CHECK(std::memcmp(wire.data() + 3, payload.data(), 16) != 0);
      }
      auto f = opened(opener.open(wire));
      CHECK(f.type == type);
      CHECK(f.consumed == wire.size());
      CHECK(Bytes(f.payload.begin(), f.payload.end()) == payload);
      // Decrypted in place, inside the input buffer.
      CHECK(f.payload.data() == wire.data() + kFrameHeaderSize);
    }
  }
}

TEST_CASE("seal writes to a raw buffer, also in place", "[frame]") {
  FrameSealer sealer(key_of(2));
  FrameSealer sealer2(key_of(2));
  Bytes payload = payload_of(50, 3);
  Bytes a(payload.size() + kFrameOverhead);
  CHECK(sealer.seal(FrameType::data, payload, a.data()) == a.size());

  Bytes b(payload.size() + kFrameOverhead);
  std::memcpy(b.data() + kFrameHeaderSize, payload.data(), payload.size());
  CHECK(sealer2.seal(FrameType::data, ByteView(b.data() + kFrameHeaderSize, payload.size()),
                     b.data()) == b.size());
  CHECK(a == b);

  FrameOpener opener(key_of(2));
  auto f = opened(opener.open(b));
  CHECK(Bytes(f.payload.begin(), f.payload.end()) == payload);
}

TEST_CASE("sealing an oversize payload throws", "[frame]") {
  FrameSealer sealer(key_of(3));
  Bytes payload(kMaxFramePayload + 1);
  Bytes out;
  CHECK_THROWS_AS(sealer.seal_append(FrameType::data, payload, out), std::length_error);
  CHECK(sealer.frames_sealed() == 0);
}

TEST_CASE("counters advance and frames open in order", "[frame]") {
  FrameSealer sealer(key_of(4));
  FrameOpener opener(key_of(4));
  Bytes stream;
  for (int i = 0; i < 5; ++i) {
    CHECK(sealer.frames_sealed() == static_cast<std::uint64_t>(i));
    sealer.seal_append(FrameType::data, payload_of(10 + i, static_cast<std::uint8_t>(i)), stream);
  }
  CHECK(sealer.frames_sealed() == 5);

  // The same payload sealed twice gives different ciphertexts (new nonce).
  FrameSealer twice(key_of(4));
  Bytes one, two;
  twice.seal_append(FrameType::data, payload_of(20), one);
  twice.seal_append(FrameType::data, payload_of(20), two);
  CHECK(one != two);

  std::span<std::uint8_t> rest(stream);
  for (int i = 0; i < 5; ++i) {
    auto f = opened(opener.open(rest));
    CHECK(f.consumed == 10 + i + kFrameOverhead);
    CHECK(Bytes(f.payload.begin(), f.payload.end()) ==
          payload_of(10 + i, static_cast<std::uint8_t>(i)));
    rest = rest.subspan(f.consumed);
  }
  CHECK(rest.empty());
  CHECK(needs_more(opener.open(rest)));
}

TEST_CASE("every strict prefix of a frame needs more", "[frame]") {
  FrameSealer sealer(key_of(5));
  Bytes wire;
  sealer.seal_append(FrameType::begin, payload_of(40), wire);
  for (std::size_t n = 0; n < wire.size(); ++n) {
    INFO("prefix " << n);
    FrameOpener opener(key_of(5));
    Bytes prefix(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK(needs_more(opener.open(prefix)));
  }
  FrameOpener opener(key_of(5));
  CHECK(is_value(opener.open(wire)));
}

TEST_CASE("a flipped bit anywhere is detected", "[frame]") {
  FrameSealer sealer(key_of(6));
  const std::size_t size = 100;
  Bytes wire;
  sealer.seal_append(FrameType::data, payload_of(size), wire);
  REQUIRE(wire.size() == size + kFrameOverhead);
  // Room after the frame, so a length that grows still makes a complete frame.
  Bytes slack(kMaxFrameSize, 0);
  std::size_t flips = 0, integrity = 0;
  for (std::size_t byte = 0; byte < wire.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      INFO("byte " << byte << " bit " << bit);
      Bytes bad = wire;
      bad[byte] ^= static_cast<std::uint8_t>(1 << bit);
      bad.insert(bad.end(), slack.begin(), slack.end());
      FrameOpener opener(key_of(6));
      auto d = opener.open(bad);
      REQUIRE(is_malformed(d));
      Errc expected = Errc::integrity_failure;
      std::size_t len = (static_cast<std::size_t>(bad[1]) << 8) | bad[2];
      if (byte == 0 && !is_known_frame_type(bad[0])) expected = Errc::protocol_error;
      if (byte != 0 && len > kMaxFramePayload) expected = Errc::protocol_error;
      CHECK(malformed_code(d) == expected);
      ++flips;
      if (expected == Errc::integrity_failure) ++integrity;
    }
  }
  CHECK(flips == wire.size() * 8);
  // Only header flips to an unknown type (5 of 8 type bits) or to a length
  // above the maximum (2 bits) are refused before authentication.
  CHECK(integrity == wire.size() * 8 - 5 - 2);
}

TEST_CASE("a header change that keeps the frame well formed fails authentication", "[frame]") {
  FrameSealer sealer(key_of(7));
  Bytes wire;
  sealer.seal_append(FrameType::data, payload_of(8), wire);
  Bytes retyped = wire;
  retyped[0] = static_cast<std::uint8_t>(FrameType::end);
  FrameOpener opener(key_of(7));
  CHECK(malformed_code(opener.open(retyped)) == Errc::integrity_failure);
  // The failed frame did not consume a nonce: the genuine frame still opens.
  CHECK(is_value(opener.open(wire)));
}

TEST_CASE("unknown frame type and oversize length are protocol errors", "[frame]") {
  FrameOpener opener(key_of(8));
  for (std::uint8_t t : {0, 8, 0x80, 0xff}) {
    Bytes bad = {t, 0, 0};
    auto d = opener.open(bad);
    REQUIRE(is_malformed(d));
    CHECK(std::get<Malformed>(d).reason == "unknown frame type");
    CHECK(std::get<Malformed>(d).code == Errc::protocol_error);
  }
  // Refused from the header alone: no waiting for 16 KiB of bytes first.
  Bytes oversize = {6, static_cast<std::uint8_t>((kMaxFramePayload + 1) >> 8),
                    static_cast<std::uint8_t>(kMaxFramePayload + 1)};
  auto d = opener.open(oversize);
  REQUIRE(is_malformed(d));
  CHECK(std::get<Malformed>(d).reason == "frame longer than the maximum");
  CHECK(std::get<Malformed>(d).code == Errc::protocol_error);
  Bytes maxed = {6, 0xff, 0xff};
  CHECK(malformed_code(opener.open(maxed)) == Errc::protocol_error);
}

TEST_CASE("replayed and reordered frames fail", "[frame]") {
  FrameSealer sealer(key_of(9));
  Bytes first, second;
  sealer.seal_append(FrameType::data, payload_of(30, 1), first);
  sealer.seal_append(FrameType::data, payload_of(30, 2), second);

  SECTION("replay") {
    FrameOpener opener(key_of(9));
    Bytes copy = first;
    CHECK(is_value(opener.open(first)));
    CHECK(malformed_code(opener.open(copy)) == Errc::integrity_failure);
  }
  SECTION("reorder") {
    FrameOpener opener(key_of(9));
    Bytes s = second;
    CHECK(malformed_code(opener.open(s)) == Errc::integrity_failure);
  }
  SECTION("drop") {
    FrameOpener opener(key_of(9));
    Bytes s = second;
    Bytes f = first;
    CHECK(is_value(opener.open(f)));
    CHECK(is_value(opener.open(s)));
    Bytes third;
    FrameSealer other(key_of(9));
    other.seal_append(FrameType::data, payload_of(30, 1), third);  // counter 0 again
    CHECK(malformed_code(opener.open(third)) == Errc::integrity_failure);
  }
}

TEST_CASE("a frame sealed under another key fails", "[frame]") {
  FrameSealer sealer(key_of(10));
  Bytes wire;
  sealer.seal_append(FrameType::connected, payload_of(12), wire);
  // Each attempt gets its own copy: open() works in place.
  Bytes copy1 = wire, copy2 = wire;
  FrameOpener wrong(key_of(11));
  CHECK(malformed_code(wrong.open(copy1)) == Errc::integrity_failure);
  AeadKey one_bit = key_of(10);
  one_bit.data()[31] ^= 0x80;
  FrameOpener close(std::move(one_bit));
  CHECK(malformed_code(close.open(copy2)) == Errc::integrity_failure);
  FrameOpener right(key_of(10));
  CHECK(is_value(right.open(wire)));
}
