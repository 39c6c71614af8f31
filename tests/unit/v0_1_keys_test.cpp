// TPDP/0.1 key exchange and cipher: each vector was derived outside tpdp's
// code (tests/unit/v0_1_vectors.py): X25519 from RFC 7748 section 6.1,
// HKDF-SHA256 with `openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt
// hexkey:SHARED -kdfopt info:TPDP/0.1 HKDF`, keystreams with `openssl enc
// -aes-256-ctr -K KEY -iv COUNTER` over zero bytes; the wrapped blocks were
// also checked against `openssl enc -aes-256-ecb` of the carried counters.
#include <catch2/catch.hpp>

#include <cstring>

#include "protocol/hex.hpp"
#include "protocol/v0_1/hop_key.hpp"

using namespace tpdp;
using namespace tpdp::v0_1;

namespace {

constexpr const char* kAliceSecret =
    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
constexpr const char* kBobPublic =
    "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
constexpr const char* kShared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
constexpr const char* kKey = "6b1b61ef6636e1d4a332dfc9eccf3b84cbb9ac2a824526ae1b342cd5fc6f040e";

OnionKeypair keypair(const char* secret_hex) {
  auto b = from_hex(secret_hex);
  REQUIRE(b);
  OnionSecretKey s;
  std::memcpy(s.data(), b->data(), 32);
  return OnionKeypair::from_secret(std::move(s));
}

CounterBlock counter(const char* hex) {
  auto b = from_hex(hex);
  REQUIRE(b);
  REQUIRE(b->size() == 16);
  CounterBlock c{};
  std::copy(b->begin(), b->end(), c.begin());
  return c;
}

LayerKey key_from_hex(const char* hex) {
  auto b = from_hex(hex);
  REQUIRE(b);
  LayerKey k;
  std::memcpy(k.data(), b->data(), 32);
  return k;
}

std::string hex_of(const LayerKey& k) {
  return to_hex(k.view());
}

}  // namespace

TEST_CASE("TPDP/0.1 key: X25519 (RFC 7748) then HKDF-SHA256 with info TPDP/0.1", "[v0_1]") {
  SharedSecret shared;
  auto s = from_hex(kShared);
  std::memcpy(shared.data(), s->data(), 32);
  CHECK(hex_of(derive_key(shared)) == kKey);

  auto bob = public_from_hex<OnionPublicKey>(kBobPublic);
  REQUIRE(bob);
  auto key = agree_key(keypair(kAliceSecret), *bob);
  REQUIRE(key);
  CHECK(hex_of(*key) == kKey);
}

TEST_CASE("TPDP/0.1 key: a low-order peer key (all-zero secret) is refused", "[v0_1]") {
  auto own = keypair(kAliceSecret);
  // u = 0 and u = 1 are points of small order: X25519 gives all zeros.
  OnionPublicKey zero{};
  CHECK_FALSE(agree_key(own, zero).has_value());
  OnionPublicKey one{};
  one.bytes[0] = 1;
  CHECK_FALSE(agree_key(own, one).has_value());
  auto order8 = public_from_hex<OnionPublicKey>(
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800");
  REQUIRE(order8);
  CHECK_FALSE(agree_key(own, *order8).has_value());
}

TEST_CASE("TPDP/0.1 cipher: the counter block is one 128-bit integer wrapping at 2^128", "[v0_1]") {
  LayerKey key = key_from_hex(kKey);
  struct Case {
    const char* counter;
    const char* keystream;  // 3 blocks: E(c), E(c + 1), E(c + 2)
  };
  const Case cases[] = {
      // ff..ff: block 1 is E(00..00), block 2 E(00..01).
      {"ffffffffffffffffffffffffffffffff",
       "5d5cbd5ecb804db688d649335e189792f9f7cfe88431bc4d812d026ef1e3617491684b9b02660974a473a94bf6c"
       "94f"
       "87"},
      // Low 64 bits all ones: the carry reaches byte 7 (0102030405060709 00..00).
      {"0102030405060708ffffffffffffffff",
       "44bb0bda2b921d6fad5e70db1096c4a80d0bc47789bb1690d7ebbed05df7777f3e1274a047d94c5de9386d4c64d"
       "3db"
       "ed"},
      // Low 32 bits all ones: the carry reaches byte 11.
      {"0102030405060708090a0b0cffffffff",
       "993ffdb8b5317b1ac4704f2f07e8cf02ed51cf59732a209b6460a8bb5e2867332f18e54c2fcc3ff873fefefb7c6"
       "e59"
       "f7"},
  };
  for (const auto& c : cases) {
    INFO("counter " << c.counter);
    auto layers = make_hop_layers(key, counter(c.counter));
    Bytes forward(48, 0), backward(48, 0);
    layers.forward.apply(forward);
    layers.backward.apply(backward);
    CHECK(to_hex(forward) == c.keystream);
    // Both directions of a hop use the same keystream (TPDP/0.1's flaw).
    CHECK(backward == forward);
  }
  // The carried counter restarts the same stream one block later.
  auto wrapped = make_hop_layers(key, counter("ffffffffffffffffffffffffffffffff"));
  auto from_zero = make_hop_layers(key, counter("00000000000000000000000000000000"));
  Bytes a(48, 0), b(32, 0);
  wrapped.forward.apply(a);
  from_zero.forward.apply(b);
  CHECK(Bytes(a.begin() + 16, a.end()) == b);
}
