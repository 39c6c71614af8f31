// Long-term identities: Ed25519 signing keys of nodes and pools, the node's
// X25519 onion key, and the byte layout of their key files (the file I/O
// itself lives in common/key_store).
#pragma once

#include <optional>
#include <string>

#include "protocol/bytes.hpp"
#include "protocol/crypto_types.hpp"
#include "protocol/ntor.hpp"

namespace tpdp {

struct IdentityKeypair {
  IdentityPublicKey public_key;
  IdentitySecretKey secret_key;
  static IdentityKeypair generate();
  static IdentityKeypair from_seed(const SecretBytes<32, struct SeedTag>& seed);
};

Signature sign_detached(const IdentitySecretKey& key, ByteView message);
bool verify_detached(const IdentityPublicKey& key, ByteView message, const Signature& sig);

// Lower-case hex of the Ed25519 public key: how users see and pin identities.
std::string fingerprint(const IdentityPublicKey& key);

struct NodeKeys {
  IdentityKeypair identity;
  OnionKeypair onion;
};

// Key files: a 16-byte magic line, the secrets, then the public keys, which
// are re-derived on load so a damaged file is detected, never silently used.
Bytes encode_node_key_file(const NodeKeys& keys);
Decoded<NodeKeys> decode_node_key_file(ByteView file);
Bytes encode_pool_key_file(const IdentityKeypair& keys);
Decoded<IdentityKeypair> decode_pool_key_file(ByteView file);

}  // namespace tpdp
