// Known-answer test vectors for TPDP/1. Every hex value here is also printed
// in spec/tpdp-1.md, section "Test vectors": if one changes, both change.
// All inputs are fixed (no randomness), so an independent implementation
// must reproduce these bytes exactly.
#include <sodium.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/circuit_messages.hpp"
#include "protocol/exit_policy.hpp"
#include "protocol/frame.hpp"
#include "protocol/hex.hpp"
#include "protocol/identity.hpp"
#include "protocol/layer_cipher.hpp"
#include "protocol/ntor.hpp"
#include "protocol/pool_messages.hpp"

using namespace tpdp;

namespace {

using Seed = SecretBytes<32, struct SeedTag>;

Bytes unhex(std::string_view hex) {
  auto b = from_hex(hex);
  REQUIRE(b.has_value());
  return *b;
}

template <class T>
T secret_hex(std::string_view hex) {
  Bytes b = unhex(hex);
  REQUIRE(b.size() == T::size());
  T t;
  std::copy(b.begin(), b.end(), t.data());
  return t;
}

template <class T>
T public_hex(std::string_view hex) {
  auto v = public_from_hex<T>(hex);
  REQUIRE(v.has_value());
  return *v;
}

template <class T>
std::string hex_of(const T& v) {
  return to_hex(v.view());
}

void init_sodium() {
  REQUIRE(sodium_init() >= 0);
}

// ---- fixed inputs (spec/tpdp-1.md, "Test vectors: inputs") ----

// Node A (hop 1 of the walk-through).
constexpr std::string_view kSeedA =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr std::string_view kOnionA =
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";
constexpr std::string_view kClientXA =
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f";
constexpr std::string_view kNodeYA =
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f";
// Node B (hop 2, the exit).
constexpr std::string_view kSeedB =
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f";
constexpr std::string_view kOnionB =
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";
constexpr std::string_view kClientXB =
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf";
constexpr std::string_view kNodeYB =
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
// The pool.
constexpr std::string_view kPoolSeed =
    "9f9e9d9c9b9a999897969594939291908f8e8d8c8b8a89888786858483828180";

// ---- expected outputs ----

constexpr std::string_view kIdA =
    "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
constexpr std::string_view kBA = "358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254";
constexpr std::string_view kXA = "79a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89af85a51a";
constexpr std::string_view kYA = "675dd574ed7789310b3d2e7681f3790b466c773b1521fecf36577958371ea52f";
constexpr std::string_view kExpYxA =
    "d6fb939511b2381bc8599b4b8edc5968829450dfd7a87aebe78a703cd04cd54e";
constexpr std::string_view kExpBxA =
    "04c304fb1ca83cee75e206344231f33797e07d9929db670994b7c6fbeb1dc255";
constexpr std::string_view kKeySeedA =
    "0929aa0a12020633fe43378341be20803299b04f82f254feba68cbde093882c3";
constexpr std::string_view kVerifyA =
    "0308f04bebc21483ab57527e388545b63c7cc8f34d9a2767f2e1e0dfdde527a5";
constexpr std::string_view kAuthA =
    "df153604d0d2ad3060ad9e0f53ef224fbcbe9f88abfc4101c5acea06bb2f4f39";

constexpr std::string_view kIdB =
    "cd14b37f956e953194ff7fb73b3d81dcc561d61a7538094b7c3e1a643ee5f3aa";
constexpr std::string_view kBB = "605a725d2a4adfeeb1a29e17edd621c1b7593ee8cdbc44ac6c4ab6e2f805d23c";
constexpr std::string_view kXB = "dc2cca31e8e43bbd91dff7e475cca3347eb478107d5bd765aba4ae4a30c35d44";
constexpr std::string_view kYB = "736845d54e87de09d6bb114aa7042c50a4a015bd9901d1a0026f5956533a1519";
constexpr std::string_view kKeySeedB =
    "6ffbab241c6ac5da47ea9b2cdab91d758cab3fa660196544f28127121230d8c7";
constexpr std::string_view kAuthB =
    "39f15a78b1bfa664916a65fa8f2593ca29aefdfadcee8914d7d5ad85c804aec0";

constexpr std::string_view kPoolPub =
    "87ded68945a0fdb974d33ada42d2408e1ae490de811757e729dac5ddc3fe73f1";

struct ExpectedKeys {
  std::string_view forward_layer_key, forward_layer_iv, backward_layer_key, backward_layer_iv,
      forward_frame_key, backward_frame_key;
};

constexpr ExpectedKeys kKeysA{
    "14b70a83032ab688a0a4965de3a41ac428c5f20f300a3a39dbd847de8c785090",
    "72a8c7114d2129105c3af6d6fe414aed",
    "9762298619355d3577b47ae66f68400c607f24f35cc951305244db75bd2491d4",
    "6da34d4b5824ed2e2e712bc2f15b7429",
    "011dedee49989eea84f8159cd4ef16fe6aeffb04f523da6e42286ce757325d08",
    "4079ada4e2341472b37ad196b73fe48b42f806b7c38d90bf6ecb5f2aa2c68a68",
};

constexpr ExpectedKeys kKeysB{
    "3d71f6a8448f9ae3617d8d981091851273c2158835331e8248b8b68d06c28672",
    "9c8d6e962256b2c00811394d9012274b",
    "6b426ecd212a1610578ed1a8cce9d0500ca511e0f7a38988d0e7acb2267005a9",
    "05ce7a19a9a6fe73098fad92745afcf1",
    "46083a2068a8ff9a4ce39e6e104065903e6d0ce88651075eedaec7690e4d56bc",
    "9eb04526838ddbb7d63e2790109e800e6b0ed9d5b9036cc951b59ca7e3feab52",
};

void check_keys(const HopKeys& k, const ExpectedKeys& e) {
  CHECK(hex_of(k.forward_layer_key) == e.forward_layer_key);
  CHECK(hex_of(k.forward_layer_iv) == e.forward_layer_iv);
  CHECK(hex_of(k.backward_layer_key) == e.backward_layer_key);
  CHECK(hex_of(k.backward_layer_iv) == e.backward_layer_iv);
  CHECK(hex_of(k.forward_frame_key) == e.forward_frame_key);
  CHECK(hex_of(k.backward_frame_key) == e.backward_frame_key);
}

struct FixedNode {
  IdentityKeypair identity;
  OnionKeypair onion;
  std::string_view x_hex, y_hex;
};

FixedNode node_a() {
  return {IdentityKeypair::from_seed(secret_hex<Seed>(kSeedA)),
          OnionKeypair::from_secret(secret_hex<OnionSecretKey>(kOnionA)), kClientXA, kNodeYA};
}

FixedNode node_b() {
  return {IdentityKeypair::from_seed(secret_hex<Seed>(kSeedB)),
          OnionKeypair::from_secret(secret_hex<OnionSecretKey>(kOnionB)), kClientXB, kNodeYB};
}

OnionKeypair fixed_onion(std::string_view secret_hex_text) {
  return OnionKeypair::from_secret(secret_hex<OnionSecretKey>(secret_hex_text));
}

// Both halves of a fixed handshake; checks they agree and returns the node's reply.
NtorServerReply handshake(const FixedNode& n) {
  auto reply = ntor_server_respond(n.identity.public_key, n.onion, fixed_onion(n.x_hex).public_key,
                                   fixed_onion(n.y_hex));
  REQUIRE(reply.has_value());
  NtorClient client(n.identity.public_key, n.onion.public_key, fixed_onion(n.x_hex));
  auto keys = client.finish(reply->node_ephemeral, reply->auth);
  REQUIRE(keys.has_value());
  CHECK(hex_of(keys->forward_frame_key) == hex_of(reply->keys.forward_frame_key));
  CHECK(hex_of(keys->backward_layer_iv) == hex_of(reply->keys.backward_layer_iv));
  return std::move(*reply);
}

// H(x, t) = HMAC-SHA256(key = t, message = x), computed here independently of ntor.cpp.
std::string hmac_hex(std::string_view tweak, ByteView message) {
  unsigned char out[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(tweak.data()),
                              tweak.size());
  crypto_auth_hmacsha256_update(&st, message.data(), message.size());
  crypto_auth_hmacsha256_final(&st, out);
  return to_hex({out, sizeof out});
}

std::string keystream_hex(std::string_view key_hex, std::string_view iv_hex, std::size_t n) {
  Bytes key = unhex(key_hex), iv = unhex(iv_hex);
  REQUIRE(key.size() == 32);
  REQUIRE(iv.size() == 16);
  LayerCipher c(std::span<const std::uint8_t, 32>(key.data(), 32),
                std::span<const std::uint8_t, 16>(iv.data(), 16));
  Bytes zeros(n, 0);
  c.apply(zeros);
  return to_hex(zeros);
}

constexpr std::string_view kNistKey =
    "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";

}  // namespace

TEST_CASE("vectors: ntor handshake and key schedule, node A", "[vectors][ntor]") {
  init_sodium();
  auto a = node_a();
  CHECK(hex_of(a.identity.public_key) == kIdA);
  CHECK(fingerprint(a.identity.public_key) == kIdA);
  CHECK(hex_of(a.onion.public_key) == kBA);
  CHECK(hex_of(fixed_onion(kClientXA).public_key) == kXA);
  CHECK(hex_of(fixed_onion(kNodeYA).public_key) == kYA);

  auto reply = handshake(a);
  CHECK(hex_of(reply.node_ephemeral) == kYA);
  CHECK(hex_of(reply.auth) == kAuthA);
  check_keys(reply.keys, kKeysA);

  // The intermediate values, recomputed from the spec's formulas.
  unsigned char exp1[32], exp2[32];
  auto x = fixed_onion(kClientXA);
  REQUIRE(crypto_scalarmult(exp1, x.secret_key.data(), reply.node_ephemeral.data()) == 0);
  REQUIRE(crypto_scalarmult(exp2, x.secret_key.data(), a.onion.public_key.data()) == 0);
  CHECK(to_hex({exp1, 32}) == kExpYxA);
  CHECK(to_hex({exp2, 32}) == kExpBxA);
  Bytes secret_input = unhex(std::string(kExpYxA) + std::string(kExpBxA) + std::string(kIdA) +
                             std::string(kBA) + std::string(kXA) + std::string(kYA));
  Writer(secret_input).text(kNtorProtoId);
  REQUIRE(secret_input.size() == 217);
  CHECK(hmac_hex("tpdp-1-ntor-x25519-sha256:key_extract", secret_input) == kKeySeedA);
  CHECK(hmac_hex("tpdp-1-ntor-x25519-sha256:verify", secret_input) == kVerifyA);
  Bytes auth_input = unhex(std::string(kVerifyA) + std::string(kIdA) + std::string(kBA) +
                           std::string(kYA) + std::string(kXA));
  Writer(auth_input).text("tpdp-1-ntor-x25519-sha256Server");
  REQUIRE(auth_input.size() == 191);
  CHECK(hmac_hex("tpdp-1-ntor-x25519-sha256:mac", auth_input) == kAuthA);

  // The KDF on its own.
  check_keys(derive_hop_keys(secret_hex<SharedSecret>(kKeySeedA)), kKeysA);
}

TEST_CASE("vectors: ntor handshake and key schedule, node B", "[vectors][ntor]") {
  init_sodium();
  auto b = node_b();
  CHECK(hex_of(b.identity.public_key) == kIdB);
  CHECK(hex_of(b.onion.public_key) == kBB);
  CHECK(hex_of(fixed_onion(kClientXB).public_key) == kXB);
  auto reply = handshake(b);
  CHECK(hex_of(reply.node_ephemeral) == kYB);
  CHECK(hex_of(reply.auth) == kAuthB);
  check_keys(reply.keys, kKeysB);
  check_keys(derive_hop_keys(secret_hex<SharedSecret>(kKeySeedB)), kKeysB);
}

TEST_CASE("vectors: ntor rejects a wrong AUTH, a wrong identity and degenerate keys",
          "[vectors][ntor]") {
  init_sodium();
  auto a = node_a();
  auto b = node_b();
  auto y = public_hex<OnionPublicKey>(kYA);
  auto auth = public_hex<AuthTag>(kAuthA);
  NtorClient ok(a.identity.public_key, a.onion.public_key, fixed_onion(kClientXA));
  CHECK(ok.finish(y, auth).has_value());

  AuthTag flipped = auth;
  flipped.bytes[31] ^= 1;
  CHECK_FALSE(ok.finish(y, flipped).has_value());

  // Same onion key, but the client expects node B's identity: AUTH no longer matches.
  NtorClient wrong_id(b.identity.public_key, a.onion.public_key, fixed_onion(kClientXA));
  CHECK_FALSE(wrong_id.finish(y, auth).has_value());

  // All-zero (low-order) public keys give an all-zero X25519 result: refused on both sides.
  OnionPublicKey zero{};
  CHECK_FALSE(ok.finish(zero, auth).has_value());
  CHECK_FALSE(
      ntor_server_respond(a.identity.public_key, a.onion, zero, fixed_onion(kNodeYA)).has_value());
}

TEST_CASE("vectors: AES-256-CTR onion layer keystream", "[vectors][layer]") {
  // NIST SP 800-38A F.5.5 (CTR-AES256.Encrypt): the layer cipher is plain AES-256-CTR.
  {
    Bytes key = unhex(kNistKey), iv = unhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
    LayerCipher c(std::span<const std::uint8_t, 32>(key.data(), 32),
                  std::span<const std::uint8_t, 16>(iv.data(), 16));
    Bytes text = unhex(
        "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
        "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710");
    // Any split of the stream gives the same bytes.
    c.apply(text.data(), 5);
    c.apply(text.data() + 5, 30);
    c.apply(text.data() + 35, text.size() - 35);
    CHECK(to_hex(text) ==
          "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5"
          "2b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6");
  }
  CHECK(keystream_hex(kNistKey, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", 48) ==
        "0bdf7df1591716335e9a8b15c860c502"
        "5a6e699d536119065433863c8f657b94"
        "1bc12c9c01610d5d0d8bd6a3378eca62");
  CHECK(keystream_hex(kNistKey, "00000000000000000000000000000000", 48) ==
        "e568f68194cf76d6174d4cc04310a854"
        "91151e5d0b7a1f1bc0d7acd0ae3e51e4"
        "170e23d1735cd2d579e63a887bc9c813");
  // ff..ff wraps to 00..00: blocks 2 and 3 are blocks 1 and 2 of the all-zero counter.
  CHECK(keystream_hex(kNistKey, "ffffffffffffffffffffffffffffffff", 48) ==
        "3b3c2921c85a24de9ac606ce6d1d60cc"
        "e568f68194cf76d6174d4cc04310a854"
        "91151e5d0b7a1f1bc0d7acd0ae3e51e4");
  // The carry crosses from the low 64 bits into the high 64 bits.
  CHECK(keystream_hex(kNistKey, "0000000000000000ffffffffffffffff", 48) ==
        "289e23e13ec8c34291f27c4ccf3eaa29"
        "579be1a0d892238805feb810a4a10aaa"
        "51ffb50816f5e9fa954d2604f081f8dc");
}

TEST_CASE("vectors: authenticated frames", "[vectors][frame]") {
  init_sodium();
  constexpr std::string_view key =
      "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";
  constexpr std::string_view frame0 =
      "060012f4c879ae40b01bf6827a2cfd6a6b34521908852ac0a19a0122eeb5f8503e2efc922a";
  constexpr std::string_view frame1 = "0700004621f4cc087dafc44650d49b79032928";
  Bytes wire;
  FrameSealer sealer(secret_hex<AeadKey>(key));
  sealer.seal_append(FrameType::data, as_bytes("GET / HTTP/1.0\r\n\r\n"), wire);
  CHECK(to_hex(wire) == frame0);
  Bytes end;
  sealer.seal_append(FrameType::end, {}, end);
  CHECK(to_hex(end) == frame1);
  CHECK(sealer.frames_sealed() == 2);

  // The receiver opens them in order (counter 0, then 1).
  Bytes both = unhex(std::string(frame0) + std::string(frame1));
  FrameOpener opener(secret_hex<AeadKey>(key));
  auto d0 = opener.open(both);
  REQUIRE(is_value(d0));
  auto f0 = std::get<OpenedFrame>(d0);
  CHECK(f0.type == FrameType::data);
  CHECK(std::string(f0.payload.begin(), f0.payload.end()) == "GET / HTTP/1.0\r\n\r\n");
  CHECK(f0.consumed == 37);
  auto d1 = opener.open(std::span<std::uint8_t>(both).subspan(37));
  REQUIRE(is_value(d1));
  CHECK(std::get<OpenedFrame>(d1).type == FrameType::end);
  CHECK(std::get<OpenedFrame>(d1).payload.empty());

  // Out of order (frame 1 at counter 0), a flipped header bit, a flipped tag bit: rejected.
  {
    Bytes b = unhex(frame1);
    FrameOpener o(secret_hex<AeadKey>(key));
    auto d = o.open(b);
    REQUIRE(is_malformed(d));
    CHECK(std::get<Malformed>(d).code == Errc::integrity_failure);
  }
  {
    Bytes b = unhex(frame0);
    b[0] = static_cast<std::uint8_t>(FrameType::end);  // still a known type: AD differs
    FrameOpener o(secret_hex<AeadKey>(key));
    auto d = o.open(b);
    REQUIRE(is_malformed(d));
    CHECK(std::get<Malformed>(d).code == Errc::integrity_failure);
  }
  {
    Bytes b = unhex(frame0);
    b.back() ^= 0x80;
    FrameOpener o(secret_hex<AeadKey>(key));
    auto d = o.open(b);
    REQUIRE(is_malformed(d));
    CHECK(std::get<Malformed>(d).code == Errc::integrity_failure);
  }
  // Unknown type and oversize length are refused before any decryption.
  {
    Bytes b = unhex("08000000000000000000000000000000000000");
    FrameOpener o(secret_hex<AeadKey>(key));
    auto d = o.open(b);
    REQUIRE(is_malformed(d));
    CHECK(std::get<Malformed>(d).code == Errc::protocol_error);
    Bytes big = unhex("064001");
    auto d2 = o.open(big);
    REQUIRE(is_malformed(d2));
    CHECK(std::get<Malformed>(d2).code == Errc::protocol_error);
  }
}

TEST_CASE("vectors: circuit message encodings", "[vectors][messages]") {
  init_sodium();
  auto id_a = public_hex<IdentityPublicKey>(kIdA);
  auto id_b = public_hex<IdentityPublicKey>(kIdB);
  auto x_a = public_hex<OnionPublicKey>(kXA);
  auto x_b = public_hex<OnionPublicKey>(kXB);

  const std::string create = "54504431" + std::string(kIdA) + std::string(kXA);  // "TPD1" | ID | X
  CHECK(to_hex(encode_to_bytes(CreateMsg{id_a, x_a})) == create);
  CHECK(create.size() == 2 * kCreateSize);
  {
    Bytes b = unhex(create);
    auto d = decode_exact<CreateMsg>(b);
    REQUIRE(is_value(d));
    CHECK(std::get<CreateMsg>(d).node_id == id_a);
  }

  const std::string created = "00" + std::string(kYA) + std::string(kAuthA);
  CHECK(to_hex(encode_to_bytes(CreatedMsg{Errc::ok, public_hex<OnionPublicKey>(kYA),
                                          public_hex<AuthTag>(kAuthA)})) == created);
  CHECK(created.size() == 2 * kCreatedOkSize);
  CHECK(to_hex(encode_to_bytes(CreatedMsg{Errc::unknown_identity, {}, {}})) == "07");

  constexpr std::string_view extend =
      "0c3139382e35312e3130302e371772"
      "54504431cd14b37f956e953194ff7fb73b3d81dcc561d61a7538094b7c3e1a643ee5f3aa"
      "dc2cca31e8e43bbd91dff7e475cca3347eb478107d5bd765aba4ae4a30c35d44";
  ExtendMsg ext{"198.51.100.7", 6002, CreateMsg{id_b, x_b}};
  CHECK(to_hex(encode_to_bytes(ext)) == extend);
  {
    Bytes b = unhex(extend);
    auto d = decode_exact<ExtendMsg>(b);
    REQUIRE(is_value(d));
    CHECK(std::get<ExtendMsg>(d).host == "198.51.100.7");
    CHECK(std::get<ExtendMsg>(d).port == 6002);
  }
  // What A writes to B while extending: the node form, depth 2, the tag naming A (spec 16.6).
  constexpr std::string_view node_create =
      "5450444502"
      "e9620b2ed4c03d911b3e541e66a5572ef4c2ee9edced8d634f074eae47a2835f"
      "cd14b37f956e953194ff7fb73b3d81dcc561d61a7538094b7c3e1a643ee5f3aa"
      "dc2cca31e8e43bbd91dff7e475cca3347eb478107d5bd765aba4ae4a30c35d44";
  CHECK(to_hex(previous_node_tag(id_a, x_b).view()) ==
        "e9620b2ed4c03d911b3e541e66a5572ef4c2ee9edced8d634f074eae47a2835f");
  CHECK(to_hex(encode_to_bytes(
            NodeCreateMsg{2, previous_node_tag(id_a, x_b), CreateMsg{id_b, x_b}})) == node_create);
  {
    Bytes b = unhex(node_create);
    auto d = decode_exact<IncomingCreate>(b);
    REQUIRE(is_value(d));
    CHECK(std::get<IncomingCreate>(d).depth == 2);
    CHECK(std::get<IncomingCreate>(d).previous ==
          std::optional<PreviousNodeTag>(previous_node_tag(id_a, x_b)));
    CHECK(std::get<IncomingCreate>(d).create.node_id == id_b);
  }

  const std::string extended = "00" + std::string(kYB) + std::string(kAuthB);
  CHECK(to_hex(encode_to_bytes(ExtendedMsg{CreatedMsg{Errc::ok, public_hex<OnionPublicKey>(kYB),
                                                      public_hex<AuthTag>(kAuthB)}})) == extended);

  CHECK(to_hex(encode_to_bytes(BeginMsg{"example.org", 80})) == "0b6578616d706c652e6f72670050");
  constexpr std::string_view error =
      "05"
      "64657374696e6174696f6e2072656675736564206279206578697420706f6c696379";
  CHECK(to_hex(encode_to_bytes(
            ErrorMsg{Errc::exit_policy_refused, "destination refused by exit policy"})) == error);
  {
    Bytes b = unhex(error);
    auto d = decode_exact<ErrorMsg>(b);
    REQUIRE(is_value(d));
    CHECK(std::get<ErrorMsg>(d).code == Errc::exit_policy_refused);
  }

  // Malformed payloads.
  CHECK(
      is_malformed(decode_exact<BeginMsg>(unhex("00"
                                                "0050"))));                            // empty host
  CHECK(is_malformed(decode_exact<BeginMsg>(unhex("0b6578616d706c652e6f72670000"))));  // port 0
  CHECK(is_malformed(decode_exact<BeginMsg>(unhex("0b6578616d706c652e6f7267005000"))));  // trailing
  CHECK(is_malformed(decode_exact<ErrorMsg>(unhex("0507"))));  // non-printable reason
  {
    Bytes b = unhex("48656c6c6f2054504450");  // "Hello TPDP": a TPDP/0.1 client
    Reader r(b);
    CHECK(is_malformed(decode<CreateMsg>(r)));
  }
}

TEST_CASE("vectors: two-hop circuit, wire bytes on each link", "[vectors][circuit]") {
  init_sodium();
  auto a = node_a();
  auto b = node_b();
  auto ra = handshake(a);
  auto rb = handshake(b);
  HopKeys& ka = ra.keys;
  HopKeys& kb = rb.keys;

  // Client side state.
  LayerCipher a_fwd(ka.forward_layer_key, ka.forward_layer_iv);
  LayerCipher a_bwd(ka.backward_layer_key, ka.backward_layer_iv);
  LayerCipher b_fwd(kb.forward_layer_key, kb.forward_layer_iv);
  LayerCipher b_bwd(kb.backward_layer_key, kb.backward_layer_iv);
  FrameSealer to_a(ka.forward_frame_key.clone()), from_a(ka.backward_frame_key.clone());
  FrameSealer to_b(kb.forward_frame_key.clone()), from_b(kb.backward_frame_key.clone());

  // Step 3: EXTEND to hop 1 (A's frame key, counter 0; A's forward layer at offset 0).
  Bytes extend;
  to_a.seal_append(FrameType::extend,
                   encode_to_bytes(ExtendMsg{
                       "198.51.100.7", 6002,
                       CreateMsg{b.identity.public_key, fixed_onion(kClientXB).public_key}}),
                   extend);
  REQUIRE(extend.size() == 102);
  a_fwd.apply(extend);
  CHECK(to_hex(extend) ==
        "d06222e220c0856a5d4c143bd28489482fb9f5748f69b95bd2551c44e97fa1674a84a816ec08dd43af0e"
        "991623a3fc8f4c0bd793eb1de9f6dd37c1275dc4b6a20f8ce6f73931c4a03000567715ea26c4f3c5aef5"
        "e4090ba379d448ca4c9cc98754e002f318d8");

  // Step 6: EXTENDED from hop 1 (A's backward frame key, counter 0; backward layer offset 0).
  Bytes extended;
  from_a.seal_append(FrameType::extended,
                     encode_to_bytes(ExtendedMsg{CreatedMsg{Errc::ok, rb.node_ephemeral, rb.auth}}),
                     extended);
  REQUIRE(extended.size() == 84);
  a_bwd.apply(extended);
  CHECK(to_hex(extended) ==
        "c8fb14b9878f8e47523695ff042eee500a182a3d16188c16114bdc794731f85765c1677d363821c03712"
        "0d5323b543bdb9982bf20a202d0f6d7f578beef64f6ae664005acf17ab30d0248e31978dd10577eec599");

  // Step 7: BEGIN to hop 2: sealed for B, B's layer (offset 0), then A's layer (offset 102).
  Bytes begin;
  to_b.seal_append(FrameType::begin, encode_to_bytes(BeginMsg{"example.org", 80}), begin);
  b_fwd.apply(begin);
  CHECK(to_hex(begin) == "df434473d8e21f7dea2488a17c5ee5786f1b6188ab1bf729dec11e71479ef6ddb6");
  a_fwd.apply(begin);
  CHECK(to_hex(begin) == "865161e04c45ad62f88f80741bd75e1a8f7f5b60f4cd0f094a69149ffb5f4ce885");

  // Step 8: CONNECTED from hop 2: B's layer (offset 0), then A's layer (offset 84).
  Bytes connected;
  from_b.seal_append(FrameType::connected, {}, connected);
  b_bwd.apply(connected);
  CHECK(to_hex(connected) == "c371d7f2cca1d49ab51a351bc0e2091939c504");
  a_bwd.apply(connected);
  CHECK(to_hex(connected) == "646087bd1dc9723ac2e7fc719a5a2f3d761a4f");

  // Step 9: the first DATA frame: B's counter 1, B's layer at 33, A's layer at 135.
  Bytes data;
  to_b.seal_append(FrameType::data, as_bytes("GET / HTTP/1.0\r\n\r\n"), data);
  b_fwd.apply(data);
  CHECK(to_hex(data) ==
        "254ed20c211fb7b0e1b95e00401e394d115e1f36b91cb36c2a3b92239ebc8ec89c965b53e2");
  a_fwd.apply(data);
  CHECK(to_hex(data) ==
        "d7c43cb8bb9a824a57c98ecfe5fc352a96cf8a8afbcdb4619a552f0ba2c7a43ee274a501fb");

  // Node A's view: peeling its forward layer from link-1 bytes gives the link-2 bytes.
  {
    LayerCipher peel(ka.forward_layer_key, ka.forward_layer_iv);
    Bytes link1 = unhex(
        "d06222e220c0856a5d4c143bd28489482fb9f5748f69b95bd2551c44e97fa1674a84a816ec08dd43af0e"
        "991623a3fc8f4c0bd793eb1de9f6dd37c1275dc4b6a20f8ce6f73931c4a03000567715ea26c4f3c5aef5"
        "e4090ba379d448ca4c9cc98754e002f318d8"
        "865161e04c45ad62f88f80741bd75e1a8f7f5b60f4cd0f094a69149ffb5f4ce885");
    peel.apply(link1);
    FrameOpener opener(ka.forward_frame_key.clone());
    auto d = opener.open(link1);
    REQUIRE(is_value(d));
    CHECK(std::get<OpenedFrame>(d).type == FrameType::extend);
    CHECK(to_hex(ByteView(link1).subspan(102)) ==
          "df434473d8e21f7dea2488a17c5ee5786f1b6188ab1bf729dec11e71479ef6ddb6");
  }
}

TEST_CASE("vectors: pool heartbeat", "[vectors][pool]") {
  init_sodium();
  auto a = node_a();
  CHECK(to_hex(encode_to_bytes(PoolRequest{PoolCommand::heartbeat})) == "5450503101");
  CHECK(to_hex(encode_to_bytes(PoolRequest{PoolCommand::list})) == "5450503102");

  NodeDescriptor desc{a.identity.public_key, a.onion.public_key, "192.0.2.1", 6001};
  const std::string desc_hex =
      std::string(kIdA) + std::string(kBA) + "09" + "3139322e302e322e31" + "1771";
  CHECK(to_hex(encode_to_bytes(desc)) == desc_hex);

  Nonce32 challenge;
  challenge.bytes.fill(0xa5);
  Bytes signed_bytes = heartbeat_signed_bytes(challenge, desc);
  CHECK(to_hex(signed_bytes) ==
        "747064702d3120686561727462656174"  // "tpdp-1 heartbeat"
        "a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5" +
            desc_hex);

  constexpr std::string_view sig =
      "1e0c3aeae3b8853656fba528ff0218725b98450499495ef453ecf5f90f55d41b"
      "67b90b9a08f03c099afc836d60097b978fbf047d23d6bc31bac44efabb0c760c";
  Signature s = sign_detached(a.identity.secret_key, signed_bytes);
  CHECK(hex_of(s) == sig);
  CHECK(verify_detached(a.identity.public_key, signed_bytes, s));
  CHECK(to_hex(encode_to_bytes(SignedHeartbeat{desc, s})) == desc_hex + std::string(sig));

  // A different challenge (a replay) does not verify.
  Nonce32 other = challenge;
  other.bytes[0] ^= 1;
  CHECK_FALSE(verify_detached(a.identity.public_key, heartbeat_signed_bytes(other, desc), s));

  CHECK(to_hex(encode_to_bytes(HeartbeatReply{Errc::ok, 15})) == "00000f");
  CHECK(to_hex(encode_to_bytes(HeartbeatReply{Errc::address_in_use, 15})) == "0c000f");
  {
    Bytes wire = unhex(desc_hex + std::string(sig));
    auto d = decode_exact<SignedHeartbeat>(wire);
    REQUIRE(is_value(d));
    CHECK(std::get<SignedHeartbeat>(d).node == desc);
  }
}

TEST_CASE("vectors: pool node list", "[vectors][pool]") {
  init_sodium();
  auto a = node_a();
  auto b = node_b();
  auto pool = IdentityKeypair::from_seed(secret_hex<Seed>(kPoolSeed));
  CHECK(hex_of(pool.public_key) == kPoolPub);

  Nonce32 nonce;
  nonce.bytes.fill(0x5a);
  Bytes request = encode_to_bytes(PoolRequest{PoolCommand::list});
  Writer w(request);
  encode(w, ListRequest{nonce});
  CHECK(to_hex(request) ==
        "5450503102"
        "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a");

  NodeList list;
  list.nonce = nonce;
  list.issued_at = 1700000000;
  list.nodes = {NodeDescriptor{a.identity.public_key, a.onion.public_key, "192.0.2.1", 6001},
                NodeDescriptor{b.identity.public_key, b.onion.public_key, "198.51.100.7", 6002}};
  const std::string doc_hex =
      "01"
      "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
      "000000006553f100"
      "0002" +
      std::string(kIdA) + std::string(kBA) + "093139322e302e322e311771" + std::string(kIdB) +
      std::string(kBB) + "0c3139382e35312e3130302e371772";
  Bytes doc = encode_to_bytes(list);
  CHECK(to_hex(doc) == doc_hex);
  CHECK(doc.size() == 198);

  Bytes signed_bytes = node_list_signed_bytes(doc);
  CHECK(to_hex(signed_bytes) ==
        "747064702d31206e6f64652d6c697374" + doc_hex);  // "tpdp-1 node-list"
  constexpr std::string_view sig =
      "13647b35032a34d4668da508e3cb535d99e6ce0af90e117b3244669bfb0e926a"
      "d2ca9f05c249cb8a553101428b1bb89b15f30a579ab3a360a32b9e823f53e400";
  Signature s = sign_detached(pool.secret_key, signed_bytes);
  CHECK(hex_of(s) == sig);

  const std::string reply = std::string(kPoolPub) + "000000c6" + doc_hex + std::string(sig);
  CHECK(to_hex(encode_to_bytes(SignedNodeList{pool.public_key, doc, s})) == reply);

  // What a client does with the reply.
  Bytes wire = unhex(reply);
  auto d = decode_exact<SignedNodeList>(wire);
  REQUIRE(is_value(d));
  auto& got = std::get<SignedNodeList>(d);
  CHECK(verify_detached(got.pool_key, node_list_signed_bytes(got.document), got.signature));
  auto parsed = decode_exact<NodeList>(got.document);
  REQUIRE(is_value(parsed));
  CHECK(std::get<NodeList>(parsed).nonce == nonce);
  CHECK(std::get<NodeList>(parsed).issued_at == 1700000000);
  CHECK(std::get<NodeList>(parsed).nodes == list.nodes);
}

TEST_CASE("vectors: key files and fingerprints", "[vectors][identity]") {
  init_sodium();
  auto a = node_a();
  NodeKeys keys{IdentityKeypair::from_seed(secret_hex<Seed>(kSeedA)),
                OnionKeypair::from_secret(secret_hex<OnionSecretKey>(kOnionA))};
  const std::string node_file = "545044502d4e4f44452d4b45592d310a" + std::string(kSeedA) +
                                std::string(kOnionA) + std::string(kIdA) + std::string(kBA);
  CHECK(to_hex(encode_node_key_file(keys)) == node_file);
  CHECK(node_file.size() == 2 * 144);
  {
    Bytes b = unhex(node_file);
    auto d = decode_node_key_file(b);
    REQUIRE(is_value(d));
    CHECK(std::get<NodeKeys>(d).identity.public_key == a.identity.public_key);
    b.back() ^= 1;  // a damaged public key is detected
    CHECK(is_malformed(decode_node_key_file(b)));
  }

  auto pool = IdentityKeypair::from_seed(secret_hex<Seed>(kPoolSeed));
  const std::string pool_file =
      "545044502d504f4f4c2d4b45592d310a" + std::string(kPoolSeed) + std::string(kPoolPub);
  CHECK(to_hex(encode_pool_key_file(pool)) == pool_file);
  CHECK(fingerprint(pool.public_key) == kPoolPub);
}

TEST_CASE("vectors: default exit policy", "[vectors][exit_policy]") {
  CHECK(default_exit_policy({}, false).to_string() ==
        "reject 0.0.0.0/8:*, reject 127.0.0.0/8:*, reject [::]:*, reject [::1]:*, "
        "reject 169.254.0.0/16:*, reject [fe80::]/10:*, accept *:*");
  CHECK(default_exit_policy({}, true).to_string() ==
        "accept 127.0.0.0/8:*, accept [::1]:*, reject 0.0.0.0/8:*, reject 127.0.0.0/8:*, "
        "reject [::]:*, reject [::1]:*, reject 169.254.0.0/16:*, reject [fe80::]/10:*, "
        "accept *:*");
  auto own = {*IpAddress::parse("192.0.2.1"), *IpAddress::parse("2001:db8::1")};
  CHECK(default_exit_policy(own, false).to_string() ==
        "reject 0.0.0.0/8:*, reject 127.0.0.0/8:*, reject [::]:*, reject [::1]:*, "
        "reject 169.254.0.0/16:*, reject [fe80::]/10:*, reject 192.0.2.1:*, "
        "reject [2001:db8::1]:*, accept *:*");
}
