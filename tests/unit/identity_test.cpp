#include "protocol/identity.hpp"

#include <sodium.h>

#include <catch2/catch.hpp>

#include <cstring>
#include <string>

#include "protocol/hex.hpp"

using namespace tpdp;

namespace {

using Seed = SecretBytes<32, SeedTag>;

Seed seed_from_hex(std::string_view hex) {
  auto b = from_hex(hex);
  REQUIRE(b);
  REQUIRE(b->size() == 32);
  Seed s;
  std::memcpy(s.data(), b->data(), 32);
  return s;
}

std::string malformed_reason(const auto& d) {
  REQUIRE(is_malformed(d));
  CHECK_FALSE(std::get<Malformed>(d).reason.empty());
  return std::get<Malformed>(d).reason;
}

template <class Secret>
bool same(const Secret& a, const Secret& b) {
  return std::memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

TEST_CASE("Ed25519 keys and signatures follow RFC 8032 test 1", "[identity]") {
  REQUIRE(sodium_init() >= 0);
  auto kp = IdentityKeypair::from_seed(
      seed_from_hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  CHECK(fingerprint(kp.public_key) ==
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  auto sig = sign_detached(kp.secret_key, ByteView{});
  CHECK(to_hex(sig.view()) ==
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
        "1cf9b46bd25bf5f0595bbe24655141438e7a100b");
  CHECK(verify_detached(kp.public_key, ByteView{}, sig));
}

TEST_CASE("sign and verify", "[identity]") {
  auto kp = IdentityKeypair::generate();
  auto other = IdentityKeypair::generate();
  CHECK_FALSE(kp.public_key == other.public_key);
  auto msg = as_bytes("the node list");
  auto sig = sign_detached(kp.secret_key, msg);
  CHECK(verify_detached(kp.public_key, msg, sig));
  CHECK_FALSE(verify_detached(other.public_key, msg, sig));
  CHECK_FALSE(verify_detached(kp.public_key, as_bytes("the node lisT"), sig));
  CHECK_FALSE(verify_detached(kp.public_key, as_bytes("the node list "), sig));
  for (std::size_t i = 0; i < Signature::size(); ++i) {
    Signature bad = sig;
    bad.bytes[i] ^= 0x04;
    INFO("signature byte " << i);
    CHECK_FALSE(verify_detached(kp.public_key, msg, bad));
  }
  // Ed25519 is deterministic.
  CHECK(sign_detached(kp.secret_key, msg) == sig);
}

TEST_CASE("fingerprint is the lower-case hex of the public key", "[identity]") {
  IdentityPublicKey k;
  for (int i = 0; i < 32; ++i) k.bytes[i] = static_cast<std::uint8_t>(0xf0 + i);
  std::string fp = fingerprint(k);
  CHECK(fp.size() == 64);
  CHECK(fp.substr(0, 8) == "f0f1f2f3");
  CHECK(fp.substr(56) == "0c0d0e0f");
}

TEST_CASE("node key file round trip", "[identity]") {
  NodeKeys keys{IdentityKeypair::generate(), OnionKeypair::generate()};
  Bytes file = encode_node_key_file(keys);
  REQUIRE(file.size() == 16 + 32 + 32 + 32 + 32);
  CHECK(std::string(file.begin(), file.begin() + 16) == "TPDP-NODE-KEY-1\n");
  CHECK(std::memcmp(file.data() + 16, keys.identity.secret_key.data(), 32) == 0);
  CHECK(std::memcmp(file.data() + 48, keys.onion.secret_key.data(), 32) == 0);
  CHECK(std::memcmp(file.data() + 80, keys.identity.public_key.data(), 32) == 0);
  CHECK(std::memcmp(file.data() + 112, keys.onion.public_key.data(), 32) == 0);

  auto d = decode_node_key_file(file);
  REQUIRE(is_value(d));
  const auto& back = std::get<NodeKeys>(d);
  CHECK(back.identity.public_key == keys.identity.public_key);
  CHECK(same(back.identity.secret_key, keys.identity.secret_key));
  CHECK(back.onion.public_key == keys.onion.public_key);
  CHECK(same(back.onion.secret_key, keys.onion.secret_key));
  CHECK(encode_node_key_file(back) == file);

  // The loaded keys work.
  auto sig = sign_detached(back.identity.secret_key, as_bytes("x"));
  CHECK(verify_detached(keys.identity.public_key, as_bytes("x"), sig));
}

TEST_CASE("pool key file round trip", "[identity]") {
  auto keys = IdentityKeypair::generate();
  Bytes file = encode_pool_key_file(keys);
  REQUIRE(file.size() == 16 + 32 + 32);
  CHECK(std::string(file.begin(), file.begin() + 16) == "TPDP-POOL-KEY-1\n");
  CHECK(std::memcmp(file.data() + 48, keys.public_key.data(), 32) == 0);
  auto d = decode_pool_key_file(file);
  REQUIRE(is_value(d));
  CHECK(std::get<IdentityKeypair>(d).public_key == keys.public_key);
  CHECK(same(std::get<IdentityKeypair>(d).secret_key, keys.secret_key));
  CHECK(encode_pool_key_file(std::get<IdentityKeypair>(d)) == file);
}

TEST_CASE("a damaged node key file is refused", "[identity]") {
  NodeKeys keys{IdentityKeypair::generate(), OnionKeypair::generate()};
  Bytes file = encode_node_key_file(keys);
  for (std::size_t i = 0; i < file.size(); ++i) {
    // Every bit of the byte flipped. (Single-bit flips of the three low bits
    // of the onion secret's first byte, offset 48, and of the two top bits of
    // its last byte are masked by X25519 clamping and not detected.)
    Bytes bad = file;
    bad[i] ^= 0xff;
    INFO("byte " << i);
    std::string reason = malformed_reason(decode_node_key_file(bad));
    if (i < 16) {
      CHECK(reason == "not a tpdp node key file (bad header)");
    } else {
      CHECK(reason == "node key file is corrupt (public keys do not match the secrets)");
    }
    if (i != 48) {
      Bytes bit = file;
      bit[i] ^= 0x01;
      CHECK(is_malformed(decode_node_key_file(bit)));
    }
  }
}

TEST_CASE("a damaged pool key file is refused", "[identity]") {
  Bytes file = encode_pool_key_file(IdentityKeypair::generate());
  for (std::size_t i = 0; i < file.size(); ++i) {
    for (std::uint8_t mask : {0x01, 0x80, 0xff}) {
      Bytes bad = file;
      bad[i] ^= mask;
      INFO("byte " << i << " mask " << int(mask));
      std::string reason = malformed_reason(decode_pool_key_file(bad));
      if (i < 16) {
        CHECK(reason == "not a tpdp pool key file (bad header)");
      } else {
        CHECK(reason == "pool key file is corrupt (public key does not match the secret)");
      }
    }
  }
}

TEST_CASE("key files of the wrong size or kind are refused", "[identity]") {
  NodeKeys keys{IdentityKeypair::generate(), OnionKeypair::generate()};
  Bytes node = encode_node_key_file(keys);
  Bytes pool = encode_pool_key_file(keys.identity);
  for (std::size_t n = 0; n < node.size(); ++n) {
    INFO("node prefix " << n);
    CHECK(is_malformed(decode_node_key_file(ByteView(node).first(n))));
  }
  for (std::size_t n = 0; n < pool.size(); ++n) {
    INFO("pool prefix " << n);
    CHECK(is_malformed(decode_pool_key_file(ByteView(pool).first(n))));
  }
  CHECK(malformed_reason(decode_node_key_file(ByteView(node).first(100))) ==
        "node key file has the wrong size");
  Bytes longer = node;
  longer.push_back('\n');
  CHECK(malformed_reason(decode_node_key_file(longer)) == "node key file has the wrong size");
  Bytes plong = pool;
  plong.push_back(0);
  CHECK(malformed_reason(decode_pool_key_file(plong)) == "pool key file has the wrong size");

  CHECK(malformed_reason(decode_node_key_file(pool)) == "not a tpdp node key file (bad header)");
  CHECK(malformed_reason(decode_pool_key_file(node)) == "not a tpdp pool key file (bad header)");
  CHECK(malformed_reason(decode_node_key_file(ByteView{})) ==
        "not a tpdp node key file (bad header)");
}
