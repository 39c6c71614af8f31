// The TPDP/0.1 key exchange of one hop: ephemeral X25519 on both sides, then
// key = HKDF-SHA256(ikm = shared secret, no salt, info "TPDP/0.1", 32 bytes).
// The 16-byte counter block chosen by the client starts both AES-256-CTR
// streams of the hop (forward and backward: the same keystream, the flaw
// TPDP/1 removes).
#pragma once

#include <array>
#include <optional>

#include "protocol/crypto_types.hpp"
#include "protocol/layer_cipher.hpp"
#include "protocol/ntor.hpp"

namespace tpdp::v0_1 {

using CounterBlock = std::array<std::uint8_t, 16>;

// HKDF-SHA256 with no salt (RFC 5869: HashLen zero bytes) and info "TPDP/0.1".
LayerKey derive_key(const SharedSecret& shared);

// X25519(own secret, peer public), then derive_key. nullopt when the shared
// secret is all zero (a low-order peer key): the torpydo code crashes there,
// tpdp refuses the handshake.
std::optional<LayerKey> agree_key(const OnionKeypair& own, const OnionPublicKey& peer);

// A fresh random counter block (libsodium's CSPRNG).
CounterBlock random_counter_block();

// The two streams of one hop, both from (key, counter block).
struct HopLayers {
  LayerCipher forward;   // towards the destination
  LayerCipher backward;  // towards the client
};
HopLayers make_hop_layers(const LayerKey& key, const CounterBlock& counter);

}  // namespace tpdp::v0_1
