// The per-hop one-way authenticated key exchange (ntor, as in Tor's
// tor-spec "The ntor handshake", with X25519 and HMAC-SHA256), and the key
// schedule that turns its KEY_SEED into per-direction keys. spec/tpdp-1.md
// section "Key exchange" is the normative text.
#pragma once

#include <optional>
#include <string_view>

#include "protocol/crypto_types.hpp"

namespace tpdp {

inline constexpr std::string_view kNtorProtoId = "tpdp-1-ntor-x25519-sha256";

// Keys of one hop, each direction separate: no keystream is used twice.
struct HopKeys {
  LayerKey forward_layer_key;  // client -> node onion layer
  LayerIv forward_layer_iv;
  LayerKey backward_layer_key;  // node -> client onion layer
  LayerIv backward_layer_iv;
  AeadKey forward_frame_key;   // client -> node authenticated frames
  AeadKey backward_frame_key;  // node -> client authenticated frames
};

// Expands KEY_SEED into the hop's keys (crypto_kdf_derive_from_key, context "TPDP1hop").
HopKeys derive_hop_keys(const SharedSecret& key_seed);

// An X25519 key pair (ephemeral or the node's onion key).
struct OnionKeypair {
  OnionPublicKey public_key;
  OnionSecretKey secret_key;
  static OnionKeypair generate();
  // From a given secret (test vectors, key files).
  static OnionKeypair from_secret(OnionSecretKey secret);
};

// Client half: holds the ephemeral x until the node answers.
class NtorClient {
 public:
  NtorClient(const IdentityPublicKey& node_id, const OnionPublicKey& node_onion_key);
  NtorClient(const IdentityPublicKey& node_id, const OnionPublicKey& node_onion_key,
             OnionKeypair ephemeral);
  const OnionPublicKey& client_public() const { return ephemeral_.public_key; }
  // Computes EXP(B, x) ahead of finish(), which then needs one X25519
  // instead of two: done while the node is still answering, it takes one
  // Diffie-Hellman off every hop's build time. Optional; same keys either way.
  void prepare();
  // Verifies AUTH and derives the keys; nullopt if the node did not prove
  // it holds the onion key (or sent a degenerate Y).
  std::optional<HopKeys> finish(const OnionPublicKey& node_ephemeral, const AuthTag& auth) const;

 private:
  IdentityPublicKey node_id_;
  OnionPublicKey node_onion_key_;
  OnionKeypair ephemeral_;
  bool prepared_ = false;
  std::optional<SharedSecret> exp_onion_;  // EXP(B, x) once prepared (nullopt: degenerate B)
};

struct NtorServerReply {
  OnionPublicKey node_ephemeral;  // Y
  AuthTag auth;
  HopKeys keys;
};

// Node half: nullopt if X is degenerate (the shared secret would be zero).
std::optional<NtorServerReply> ntor_server_respond(const IdentityPublicKey& node_id,
                                                   const OnionKeypair& onion_key,
                                                   const OnionPublicKey& client_public,
                                                   OnionKeypair ephemeral);
std::optional<NtorServerReply> ntor_server_respond(const IdentityPublicKey& node_id,
                                                   const OnionKeypair& onion_key,
                                                   const OnionPublicKey& client_public);

}  // namespace tpdp
