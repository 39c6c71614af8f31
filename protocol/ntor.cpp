#include "protocol/ntor.hpp"

#include <sodium.h>

#include <string>

#include "protocol/bytes.hpp"

namespace tpdp {
namespace {

struct Tweaks {
  std::string key_extract = std::string(kNtorProtoId) + ":key_extract";
  std::string verify = std::string(kNtorProtoId) + ":verify";
  std::string mac = std::string(kNtorProtoId) + ":mac";
};

// H(x, t) = HMAC-SHA256(key = t, message = x), as in tor-spec.
SharedSecret hmac(std::string_view tweak, ByteView message) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(tweak.data()),
                              tweak.size());
  crypto_auth_hmacsha256_update(&st, message.data(), message.size());
  SharedSecret out;
  crypto_auth_hmacsha256_final(&st, out.data());
  sodium_memzero(&st, sizeof st);
  return out;
}

// Wipes a transcript buffer that holds DH outputs.
struct WipedBytes {
  Bytes b;
  ~WipedBytes() {
    if (!b.empty()) sodium_memzero(b.data(), b.size());
  }
};

struct Derived {
  SharedSecret key_seed;
  AuthTag auth;
};

// secret_input = EXP1 | EXP2 | ID | B | X | Y | PROTOID; returns KEY_SEED and AUTH.
Derived derive(const SharedSecret& exp1, const SharedSecret& exp2, const IdentityPublicKey& id,
               const OnionPublicKey& b, const OnionPublicKey& x, const OnionPublicKey& y) {
  static const Tweaks t;
  WipedBytes secret_input;
  Writer w(secret_input.b);
  w.bytes(exp1.view());
  w.bytes(exp2.view());
  w.bytes(id.view());
  w.bytes(b.view());
  w.bytes(x.view());
  w.bytes(y.view());
  w.text(kNtorProtoId);

  Derived d;
  d.key_seed = hmac(t.key_extract, secret_input.b);
  SharedSecret verify = hmac(t.verify, secret_input.b);

  WipedBytes auth_input;
  Writer a(auth_input.b);
  a.bytes(verify.view());
  a.bytes(id.view());
  a.bytes(b.view());
  a.bytes(y.view());
  a.bytes(x.view());
  a.text(kNtorProtoId);
  a.text("Server");
  SharedSecret mac = hmac(t.mac, auth_input.b);
  std::copy(mac.data(), mac.data() + 32, d.auth.bytes.begin());
  return d;
}

std::optional<SharedSecret> x25519(const OnionSecretKey& secret, const OnionPublicKey& peer) {
  SharedSecret out;
  // crypto_scalarmult fails when the result is all zero (a low-order peer key).
  if (crypto_scalarmult(out.data(), secret.data(), peer.data()) != 0) return std::nullopt;
  return out;
}

}  // namespace

HopKeys derive_hop_keys(const SharedSecret& key_seed) {
  static constexpr char kContext[crypto_kdf_CONTEXTBYTES] = {'T', 'P', 'D', 'P',
                                                             '1', 'h', 'o', 'p'};
  HopKeys k;
  auto sub = [&](auto& out, std::uint64_t id) {
    crypto_kdf_derive_from_key(out.data(), out.size(), id, kContext, key_seed.data());
  };
  sub(k.forward_layer_key, 1);
  sub(k.forward_layer_iv, 2);
  sub(k.backward_layer_key, 3);
  sub(k.backward_layer_iv, 4);
  sub(k.forward_frame_key, 5);
  sub(k.backward_frame_key, 6);
  return k;
}

OnionKeypair OnionKeypair::generate() {
  OnionSecretKey secret;
  randombytes_buf(secret.data(), secret.size());
  return from_secret(std::move(secret));
}

OnionKeypair OnionKeypair::from_secret(OnionSecretKey secret) {
  OnionKeypair kp;
  kp.secret_key = std::move(secret);
  crypto_scalarmult_base(kp.public_key.data(), kp.secret_key.data());
  return kp;
}

NtorClient::NtorClient(const IdentityPublicKey& node_id, const OnionPublicKey& node_onion_key)
    : NtorClient(node_id, node_onion_key, OnionKeypair::generate()) {}

NtorClient::NtorClient(const IdentityPublicKey& node_id, const OnionPublicKey& node_onion_key,
                       OnionKeypair ephemeral)
    : node_id_(node_id), node_onion_key_(node_onion_key), ephemeral_(std::move(ephemeral)) {}

void NtorClient::prepare() {
  if (prepared_) return;
  exp_onion_ = x25519(ephemeral_.secret_key, node_onion_key_);  // EXP(B, x)
  prepared_ = true;
}

std::optional<HopKeys> NtorClient::finish(const OnionPublicKey& node_ephemeral,
                                          const AuthTag& auth) const {
  auto exp1 = x25519(ephemeral_.secret_key, node_ephemeral);  // EXP(Y, x)
  auto exp2 = prepared_
                  ? (exp_onion_ ? std::optional<SharedSecret>(exp_onion_->clone()) : std::nullopt)
                  : x25519(ephemeral_.secret_key, node_onion_key_);  // EXP(B, x)
  if (!exp1 || !exp2) return std::nullopt;
  Derived d =
      derive(*exp1, *exp2, node_id_, node_onion_key_, ephemeral_.public_key, node_ephemeral);
  if (sodium_memcmp(d.auth.data(), auth.data(), auth.size()) != 0) return std::nullopt;
  return derive_hop_keys(d.key_seed);
}

std::optional<NtorServerReply> ntor_server_respond(const IdentityPublicKey& node_id,
                                                   const OnionKeypair& onion_key,
                                                   const OnionPublicKey& client_public,
                                                   OnionKeypair ephemeral) {
  auto exp1 = x25519(ephemeral.secret_key, client_public);  // EXP(X, y)
  auto exp2 = x25519(onion_key.secret_key, client_public);  // EXP(X, b)
  if (!exp1 || !exp2) return std::nullopt;
  Derived d =
      derive(*exp1, *exp2, node_id, onion_key.public_key, client_public, ephemeral.public_key);
  return NtorServerReply{ephemeral.public_key, d.auth, derive_hop_keys(d.key_seed)};
}

std::optional<NtorServerReply> ntor_server_respond(const IdentityPublicKey& node_id,
                                                   const OnionKeypair& onion_key,
                                                   const OnionPublicKey& client_public) {
  return ntor_server_respond(node_id, onion_key, client_public, OnionKeypair::generate());
}

}  // namespace tpdp
