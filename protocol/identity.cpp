#include "protocol/identity.hpp"

#include <sodium.h>

#include <algorithm>

#include "protocol/hex.hpp"

namespace tpdp {
namespace {

using Seed = SecretBytes<32, struct SeedTag>;
constexpr std::string_view kNodeKeyMagic = "TPDP-NODE-KEY-1\n";
constexpr std::string_view kPoolKeyMagic = "TPDP-POOL-KEY-1\n";

bool has_magic(ByteView file, std::string_view magic) {
  return file.size() >= magic.size() && std::equal(magic.begin(), magic.end(), file.begin());
}

}  // namespace

IdentityKeypair IdentityKeypair::generate() {
  Seed seed;
  randombytes_buf(seed.data(), seed.size());
  return from_seed(seed);
}

IdentityKeypair IdentityKeypair::from_seed(const Seed& seed) {
  IdentityKeypair kp;
  crypto_sign_seed_keypair(kp.public_key.data(), kp.secret_key.data(), seed.data());
  return kp;
}

Signature sign_detached(const IdentitySecretKey& key, ByteView message) {
  Signature sig;
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), key.data());
  return sig;
}

bool verify_detached(const IdentityPublicKey& key, ByteView message, const Signature& sig) {
  return crypto_sign_verify_detached(sig.data(), message.data(), message.size(), key.data()) == 0;
}

std::string fingerprint(const IdentityPublicKey& key) {
  return to_hex(key.view());
}

Bytes encode_node_key_file(const NodeKeys& keys) {
  Bytes out;
  Writer w(out);
  w.text(kNodeKeyMagic);
  w.bytes(keys.identity.secret_key.view().first(32));  // Ed25519 seed
  w.bytes(keys.onion.secret_key.view());
  w.bytes(keys.identity.public_key.view());
  w.bytes(keys.onion.public_key.view());
  return out;
}

Decoded<NodeKeys> decode_node_key_file(ByteView file) {
  if (!has_magic(file, kNodeKeyMagic)) return Malformed{"not a tpdp node key file (bad header)"};
  Reader r(file.subspan(kNodeKeyMagic.size()));
  Seed seed;
  OnionSecretKey onion_secret;
  IdentityPublicKey stored_id;
  OnionPublicKey stored_onion;
  auto s = r.bytes(32);
  std::copy(s.begin(), s.end(), seed.data());
  auto o = r.bytes(32);
  std::copy(o.begin(), o.end(), onion_secret.data());
  r.fill(stored_id.bytes);
  r.fill(stored_onion.bytes);
  if (r.truncated() || r.remaining() != 0) return Malformed{"node key file has the wrong size"};
  NodeKeys keys{IdentityKeypair::from_seed(seed),
                OnionKeypair::from_secret(std::move(onion_secret))};
  if (!(keys.identity.public_key == stored_id) || !(keys.onion.public_key == stored_onion)) {
    return Malformed{"node key file is corrupt (public keys do not match the secrets)"};
  }
  return keys;
}

Bytes encode_pool_key_file(const IdentityKeypair& keys) {
  Bytes out;
  Writer w(out);
  w.text(kPoolKeyMagic);
  w.bytes(keys.secret_key.view().first(32));
  w.bytes(keys.public_key.view());
  return out;
}

Decoded<IdentityKeypair> decode_pool_key_file(ByteView file) {
  if (!has_magic(file, kPoolKeyMagic)) return Malformed{"not a tpdp pool key file (bad header)"};
  Reader r(file.subspan(kPoolKeyMagic.size()));
  Seed seed;
  auto s = r.bytes(32);
  std::copy(s.begin(), s.end(), seed.data());
  IdentityPublicKey stored;
  r.fill(stored.bytes);
  if (r.truncated() || r.remaining() != 0) return Malformed{"pool key file has the wrong size"};
  auto kp = IdentityKeypair::from_seed(seed);
  if (!(kp.public_key == stored)) {
    return Malformed{"pool key file is corrupt (public key does not match the secret)"};
  }
  return kp;
}

}  // namespace tpdp
