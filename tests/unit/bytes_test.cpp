#include "protocol/bytes.hpp"

#include <catch2/catch.hpp>

#include <string>

#include "protocol/errors.hpp"
#include "protocol/hex.hpp"
#include "protocol/pool_messages.hpp"

using namespace tpdp;

TEST_CASE("Writer writes big-endian integers", "[bytes]") {
  Bytes out;
  Writer w(out);
  w.u8(0xab);
  w.u16(0x0102);
  w.u32(0x03040506);
  w.u64(0x0708090a0b0c0d0eULL);
  w.text("hi");
  const std::uint8_t raw[] = {0xfe, 0xff};
  w.bytes(raw);
  CHECK(w.size() == 1 + 2 + 4 + 8 + 2 + 2);
  CHECK(out == Bytes{0xab, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
                     0x0d, 0x0e, 'h', 'i', 0xfe, 0xff});
}

TEST_CASE("Writer appends to existing contents", "[bytes]") {
  Bytes out{1, 2};
  Writer w(out);
  w.u16(0xffff);
  CHECK(out == Bytes{1, 2, 0xff, 0xff});
  CHECK(w.size() == 4);
}

TEST_CASE("Reader reads what Writer wrote", "[bytes]") {
  Bytes out;
  Writer w(out);
  w.u8(0x80);
  w.u16(0xbeef);
  w.u32(0xdeadbeef);
  w.u64(0xfedcba9876543210ULL);
  w.text("abc");
  Reader r(out);
  CHECK(r.remaining() == out.size());
  CHECK(r.u8() == 0x80);
  CHECK(r.u16() == 0xbeef);
  CHECK(r.u32() == 0xdeadbeefU);
  CHECK(r.u64() == 0xfedcba9876543210ULL);
  CHECK(r.consumed() == 15);
  auto b = r.bytes(3);
  REQUIRE(b.size() == 3);
  CHECK(std::string(b.begin(), b.end()) == "abc");
  CHECK_FALSE(r.truncated());
  CHECK(r.remaining() == 0);
  CHECK(r.consumed() == 18);
}

TEST_CASE("Reader past the end yields zeros and stays truncated", "[bytes]") {
  const std::uint8_t data[] = {0x12, 0x34, 0x56};
  Reader r(data);
  CHECK(r.u16() == 0x1234);
  CHECK(r.u16() == 0);  // only one byte left
  CHECK(r.truncated());
  // Truncation is sticky: even a read that would fit now fails.
  CHECK(r.u8() == 0);
  CHECK(r.bytes(0).empty());
  CHECK(r.truncated());
  CHECK(r.consumed() == 2);
  CHECK(r.remaining() == 1);
}

TEST_CASE("Reader fill and copy_to", "[bytes]") {
  const std::uint8_t data[] = {1, 2, 3, 4, 5};
  Reader r(data);
  std::uint8_t two[2] = {9, 9};
  r.copy_to(two);
  CHECK(two[0] == 1);
  CHECK(two[1] == 2);
  std::array<std::uint8_t, 3> three{};
  r.fill(three);
  CHECK(three == std::array<std::uint8_t, 3>{3, 4, 5});
  CHECK_FALSE(r.truncated());
  std::array<std::uint8_t, 1> more{7};
  r.fill(more);
  CHECK(r.truncated());
  CHECK(more[0] == 7);  // untouched on truncation
}

TEST_CASE("Reader on an empty span", "[bytes]") {
  Reader r(ByteView{});
  CHECK(r.remaining() == 0);
  CHECK(r.u32() == 0);
  CHECK(r.truncated());
}

TEST_CASE("as_bytes views the characters of a string", "[bytes]") {
  auto v = as_bytes("A\x01z");
  REQUIRE(v.size() == 3);
  CHECK(v[0] == 'A');
  CHECK(v[1] == 1);
  CHECK(v[2] == 'z');
  CHECK(as_bytes("").empty());
}

TEST_CASE("decode_exact turns NeedMore and trailing bytes into Malformed", "[bytes]") {
  ListRequest m;
  for (int i = 0; i < 32; ++i) m.nonce.bytes[i] = static_cast<std::uint8_t>(i);
  Bytes enc = encode_to_bytes(m);
  REQUIRE(enc.size() == 32);

  auto ok = decode_exact<ListRequest>(enc);
  REQUIRE(is_value(ok));
  CHECK(std::get<ListRequest>(ok).nonce == m.nonce);

  auto short_one = decode_exact<ListRequest>(ByteView(enc).first(31));
  REQUIRE(is_malformed(short_one));
  CHECK(std::get<Malformed>(short_one).reason == "message truncated");
  CHECK(std::get<Malformed>(short_one).code == Errc::protocol_error);

  Bytes longer = enc;
  longer.push_back(0);
  auto long_one = decode_exact<ListRequest>(longer);
  REQUIRE(is_malformed(long_one));
  CHECK(std::get<Malformed>(long_one).reason == "trailing bytes after message");

  CHECK(is_value(ok));
  CHECK_FALSE(needs_more(ok));
  CHECK_FALSE(is_malformed(ok));
}

TEST_CASE("hex encodes lower case and parses either case", "[bytes][hex]") {
  const std::uint8_t data[] = {0x00, 0x01, 0xab, 0xff, 0x7f};
  CHECK(to_hex(data) == "0001abff7f");
  CHECK(to_hex(ByteView{}).empty());
  auto b = from_hex("0001ABff7F");
  REQUIRE(b);
  CHECK(*b == Bytes{0x00, 0x01, 0xab, 0xff, 0x7f});
  auto empty = from_hex("");
  REQUIRE(empty);
  CHECK(empty->empty());
  CHECK_FALSE(from_hex("abc"));  // odd length
  CHECK_FALSE(from_hex("0g"));
  CHECK_FALSE(from_hex("g0"));
  CHECK_FALSE(from_hex(" 0"));
  CHECK_FALSE(from_hex(std::string("0\0", 2)));
}

TEST_CASE("public_from_hex needs exactly the right size", "[bytes][hex]") {
  std::string hex(64, 'a');
  auto k = public_from_hex<Nonce32>(hex);
  REQUIRE(k);
  for (auto b : k->bytes) CHECK(b == 0xaa);
  CHECK_FALSE(public_from_hex<Nonce32>(hex.substr(2)));
  CHECK_FALSE(public_from_hex<Nonce32>(hex + "00"));
  CHECK_FALSE(public_from_hex<Nonce32>(std::string(63, 'a') + "x"));
}

TEST_CASE("error codes map to and from the wire", "[bytes][errors]") {
  CHECK(errc_from_wire(0) == Errc::protocol_error);
  CHECK(errc_from_wire(1) == Errc::timeout);
  CHECK(errc_from_wire(9) == Errc::integrity_failure);
  CHECK(errc_from_wire(14) == Errc::connection_refused);
  CHECK(errc_from_wire(15) == Errc::protocol_error);
  CHECK(errc_from_wire(255) == Errc::protocol_error);
  for (std::uint8_t c = 1; c <= kMaxWireErrc; ++c) {
    CHECK(static_cast<std::uint8_t>(errc_from_wire(c)) == c);
  }
  CHECK(std::string(errc_name(Errc::exit_policy_refused)) == "exit_policy_refused");
  CHECK(std::string(errc_name(Errc::ok)) == "ok");
  CHECK(std::string(errc_name(static_cast<Errc>(200))) == "unknown");
  std::error_code ec = Errc::integrity_failure;
  CHECK(ec.category() == tpdp_category());
  CHECK(ec.value() == 9);
  CHECK(std::string(ec.category().name()) == "tpdp");
  CHECK(ec.message() == "integrity check failed (data was altered)");
  CHECK(make_error_code(Errc::timeout).message() == "timed out");
}
