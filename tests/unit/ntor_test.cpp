#include "protocol/ntor.hpp"

#include <sodium.h>

#include <catch2/catch.hpp>

#include <cstring>
#include <string>

#include "protocol/bytes.hpp"
#include "protocol/hex.hpp"
#include "protocol/identity.hpp"

using namespace tpdp;

namespace {

template <class Secret>
bool same(const Secret& a, const Secret& b) {
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

void check_same_keys(const HopKeys& a, const HopKeys& b) {
  CHECK(same(a.forward_layer_key, b.forward_layer_key));
  CHECK(same(a.forward_layer_iv, b.forward_layer_iv));
  CHECK(same(a.backward_layer_key, b.backward_layer_key));
  CHECK(same(a.backward_layer_iv, b.backward_layer_iv));
  CHECK(same(a.forward_frame_key, b.forward_frame_key));
  CHECK(same(a.backward_frame_key, b.backward_frame_key));
}

OnionSecretKey secret_from_hex(std::string_view hex) {
  auto b = from_hex(hex);
  REQUIRE(b);
  REQUIRE(b->size() == 32);
  OnionSecretKey s;
  std::memcpy(s.data(), b->data(), 32);
  return s;
}

OnionPublicKey public_from(std::string_view hex) {
  auto k = public_from_hex<OnionPublicKey>(hex);
  REQUIRE(k);
  return *k;
}

struct Node {
  IdentityKeypair identity = IdentityKeypair::generate();
  OnionKeypair onion = OnionKeypair::generate();
};

// X25519 public keys of small order (and their non-canonical encodings):
// every scalar multiple is the identity, so the shared secret is all zero.
const char* kLowOrderPoints[] = {
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
};

SharedSecret hmac(const std::string& key, const Bytes& msg) {
  SharedSecret out;
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&st, msg.data(), msg.size());
  crypto_auth_hmacsha256_final(&st, out.data());
  return out;
}

}  // namespace

TEST_CASE("X25519 key pairs follow RFC 7748", "[ntor]") {
  REQUIRE(sodium_init() >= 0);
  auto alice = OnionKeypair::from_secret(
      secret_from_hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  CHECK(to_hex(alice.public_key.view()) ==
        "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  auto bob = OnionKeypair::from_secret(
      secret_from_hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
  CHECK(to_hex(bob.public_key.view()) ==
        "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  auto g1 = OnionKeypair::generate();
  auto g2 = OnionKeypair::generate();
  CHECK_FALSE(g1.public_key == g2.public_key);
}

TEST_CASE("client and server derive identical keys", "[ntor]") {
  REQUIRE(sodium_init() >= 0);
  for (int i = 0; i < 5; ++i) {
    Node node;
    NtorClient client(node.identity.public_key, node.onion.public_key);
    auto reply = ntor_server_respond(node.identity.public_key, node.onion, client.client_public());
    REQUIRE(reply);
    auto keys = client.finish(reply->node_ephemeral, reply->auth);
    REQUIRE(keys);
    check_same_keys(*keys, reply->keys);
    // Directions and purposes use distinct keys.
    CHECK_FALSE(same(keys->forward_layer_key, keys->backward_layer_key));
    CHECK_FALSE(same(keys->forward_frame_key, keys->backward_frame_key));
    CHECK_FALSE(same(keys->forward_layer_iv, keys->backward_layer_iv));
    CHECK(std::memcmp(keys->forward_layer_key.data(), keys->forward_frame_key.data(), 32) != 0);
  }
}

TEST_CASE("two handshakes with the same node give different keys", "[ntor]") {
  Node node;
  NtorClient c1(node.identity.public_key, node.onion.public_key);
  NtorClient c2(node.identity.public_key, node.onion.public_key);
  CHECK_FALSE(c1.client_public() == c2.client_public());
  auto r1 = ntor_server_respond(node.identity.public_key, node.onion, c1.client_public());
  auto r2 = ntor_server_respond(node.identity.public_key, node.onion, c2.client_public());
  REQUIRE(r1);
  REQUIRE(r2);
  CHECK_FALSE(r1->node_ephemeral == r2->node_ephemeral);
  CHECK_FALSE(r1->auth == r2->auth);
  CHECK_FALSE(same(r1->keys.forward_frame_key, r2->keys.forward_frame_key));
}

TEST_CASE("ntor AUTH and KEY_SEED follow the tor-spec construction", "[ntor]") {
  REQUIRE(sodium_init() >= 0);
  // Fixed keys, so the transcript is reproducible.
  auto b = OnionKeypair::from_secret(
      secret_from_hex("0101010101010101010101010101010101010101010101010101010101010101"));
  auto x = OnionKeypair::from_secret(
      secret_from_hex("0202020202020202020202020202020202020202020202020202020202020202"));
  auto y = OnionKeypair::from_secret(
      secret_from_hex("0303030303030303030303030303030303030303030303030303030303030303"));
  IdentityPublicKey id;
  for (int i = 0; i < 32; ++i) id.bytes[i] = static_cast<std::uint8_t>(0x40 + i);

  auto reply =
      ntor_server_respond(id, b, x.public_key, OnionKeypair::from_secret(y.secret_key.clone()));
  REQUIRE(reply);
  CHECK(reply->node_ephemeral == y.public_key);

  // Independent computation: EXP(X,y) | EXP(X,b) | ID | B | X | Y | PROTOID.
  std::string protoid(kNtorProtoId);
  CHECK(protoid == "tpdp-1-ntor-x25519-sha256");
  SharedSecret exp1, exp2;
  REQUIRE(crypto_scalarmult(exp1.data(), y.secret_key.data(), x.public_key.data()) == 0);
  REQUIRE(crypto_scalarmult(exp2.data(), b.secret_key.data(), x.public_key.data()) == 0);
  Bytes secret_input;
  Writer w(secret_input);
  w.bytes(exp1.view());
  w.bytes(exp2.view());
  w.bytes(id.view());
  w.bytes(b.public_key.view());
  w.bytes(x.public_key.view());
  w.bytes(y.public_key.view());
  w.text(protoid);
  SharedSecret key_seed = hmac(protoid + ":key_extract", secret_input);
  SharedSecret verify = hmac(protoid + ":verify", secret_input);
  Bytes auth_input;
  Writer a(auth_input);
  a.bytes(verify.view());
  a.bytes(id.view());
  a.bytes(b.public_key.view());
  a.bytes(y.public_key.view());
  a.bytes(x.public_key.view());
  a.text(protoid);
  a.text("Server");
  SharedSecret auth = hmac(protoid + ":mac", auth_input);
  CHECK(to_hex(reply->auth.view()) == to_hex(auth.view()));
  check_same_keys(reply->keys, derive_hop_keys(key_seed));

  NtorClient client(id, b.public_key, OnionKeypair::from_secret(x.secret_key.clone()));
  auto keys = client.finish(reply->node_ephemeral, reply->auth);
  REQUIRE(keys);
  check_same_keys(*keys, derive_hop_keys(key_seed));
}

TEST_CASE("derive_hop_keys uses crypto_kdf with context TPDP1hop", "[ntor]") {
  SharedSecret seed;
  for (int i = 0; i < 32; ++i) seed.data()[i] = static_cast<std::uint8_t>(i);
  HopKeys k = derive_hop_keys(seed);
  const char ctx[8] = {'T', 'P', 'D', 'P', '1', 'h', 'o', 'p'};
  auto expect = [&](const auto& key, std::uint64_t id) {
    Bytes want(key.size());
    REQUIRE(crypto_kdf_derive_from_key(want.data(), want.size(), id, ctx, seed.data()) == 0);
    CHECK(to_hex(key.view()) == to_hex(want));
  };
  expect(k.forward_layer_key, 1);
  expect(k.forward_layer_iv, 2);
  expect(k.backward_layer_key, 3);
  expect(k.backward_layer_iv, 4);
  expect(k.forward_frame_key, 5);
  expect(k.backward_frame_key, 6);
  // Deterministic.
  check_same_keys(k, derive_hop_keys(seed));
}

TEST_CASE("the client refuses a node that cannot prove its keys", "[ntor]") {
  Node node;
  Node other;

  SECTION("wrong identity expected by the client") {
    NtorClient client(other.identity.public_key, node.onion.public_key);
    auto reply = ntor_server_respond(node.identity.public_key, node.onion, client.client_public());
    REQUIRE(reply);
    CHECK_FALSE(client.finish(reply->node_ephemeral, reply->auth));
  }
  SECTION("node answers with another onion key") {
    NtorClient client(node.identity.public_key, node.onion.public_key);
    auto reply = ntor_server_respond(node.identity.public_key, other.onion, client.client_public());
    REQUIRE(reply);
    CHECK_FALSE(client.finish(reply->node_ephemeral, reply->auth));
  }
  SECTION("tampered AUTH") {
    NtorClient client(node.identity.public_key, node.onion.public_key);
    auto reply = ntor_server_respond(node.identity.public_key, node.onion, client.client_public());
    REQUIRE(reply);
    REQUIRE(client.finish(reply->node_ephemeral, reply->auth));
    for (std::size_t i = 0; i < AuthTag::size(); ++i) {
      AuthTag bad = reply->auth;
      bad.bytes[i] ^= static_cast<std::uint8_t>(1 << (i % 8));
      INFO("byte " << i);
      CHECK_FALSE(client.finish(reply->node_ephemeral, bad));
    }
  }
  SECTION("tampered Y") {
    NtorClient client(node.identity.public_key, node.onion.public_key);
    auto reply = ntor_server_respond(node.identity.public_key, node.onion, client.client_public());
    REQUIRE(reply);
    for (std::size_t i = 0; i < 31; ++i) {
      OnionPublicKey bad = reply->node_ephemeral;
      bad.bytes[i] ^= 0x01;
      INFO("byte " << i);
      CHECK_FALSE(client.finish(bad, reply->auth));
    }
    // Another valid ephemeral key with the original AUTH.
    CHECK_FALSE(client.finish(OnionKeypair::generate().public_key, reply->auth));
  }
  SECTION("degenerate Y") {
    NtorClient client(node.identity.public_key, node.onion.public_key);
    for (const char* hex : kLowOrderPoints) {
      INFO(hex);
      CHECK_FALSE(client.finish(public_from(hex), AuthTag{}));
    }
  }
}

TEST_CASE("the server refuses a degenerate client key", "[ntor]") {
  Node node;
  for (const char* hex : kLowOrderPoints) {
    INFO(hex);
    CHECK_FALSE(ntor_server_respond(node.identity.public_key, node.onion, public_from(hex)));
  }
  // A valid key is accepted by the same node.
  CHECK(ntor_server_respond(node.identity.public_key, node.onion,
                            OnionKeypair::generate().public_key));
}

TEST_CASE("a client that prepared EXP(B, x) early derives the same keys", "[ntor]") {
  Node node;
  OnionKeypair x = OnionKeypair::generate();
  NtorClient plain(node.identity.public_key, node.onion.public_key,
                   OnionKeypair::from_secret(x.secret_key.clone()));
  NtorClient prepared(node.identity.public_key, node.onion.public_key,
                      OnionKeypair::from_secret(x.secret_key.clone()));
  prepared.prepare();
  prepared.prepare();  // idempotent
  auto reply = ntor_server_respond(node.identity.public_key, node.onion, x.public_key);
  REQUIRE(reply);
  auto a = plain.finish(reply->node_ephemeral, reply->auth);
  auto b = prepared.finish(reply->node_ephemeral, reply->auth);
  REQUIRE(a);
  REQUIRE(b);
  check_same_keys(*a, *b);
  // It still refuses what the unprepared client refuses.
  AuthTag bad = reply->auth;
  bad.bytes[0] ^= 1;
  CHECK_FALSE(prepared.finish(reply->node_ephemeral, bad));
  Node other;
  NtorClient wrong_key(node.identity.public_key, other.onion.public_key);
  wrong_key.prepare();
  auto reply2 =
      ntor_server_respond(node.identity.public_key, node.onion, wrong_key.client_public());
  REQUIRE(reply2);
  CHECK_FALSE(wrong_key.finish(reply2->node_ephemeral, reply2->auth));
  // A degenerate published onion key makes the prepared client refuse too.
  NtorClient degenerate(node.identity.public_key, public_from(kLowOrderPoints[0]));
  degenerate.prepare();
  CHECK_FALSE(degenerate.finish(reply->node_ephemeral, reply->auth));
}
