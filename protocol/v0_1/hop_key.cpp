#include "protocol/v0_1/hop_key.hpp"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <sodium.h>

#include <stdexcept>

#include "protocol/v0_1/wire.hpp"

namespace tpdp::v0_1 {

LayerKey derive_key(const SharedSecret& shared) {
  LayerKey key;
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  EVP_KDF_CTX* ctx = kdf ? EVP_KDF_CTX_new(kdf) : nullptr;
  EVP_KDF_free(kdf);
  if (!ctx) throw std::runtime_error("HKDF-SHA256 is not available in libcrypto");
  char digest[] = "SHA256";
  std::array<char, kKdfInfo.size()> info;
  std::copy(kKdfInfo.begin(), kKdfInfo.end(), info.begin());
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                        const_cast<std::uint8_t*>(shared.data()), shared.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), info.size()),
      OSSL_PARAM_construct_end(),
  };
  int ok = EVP_KDF_derive(ctx, key.data(), key.size(), params);
  EVP_KDF_CTX_free(ctx);
  if (ok != 1) throw std::runtime_error("HKDF-SHA256 derivation failed");
  return key;
}

std::optional<LayerKey> agree_key(const OnionKeypair& own, const OnionPublicKey& peer) {
  SharedSecret shared;
  // libsodium returns -1 when the result is all zero (a low-order point).
  if (crypto_scalarmult(shared.data(), own.secret_key.data(), peer.data()) != 0) {
    return std::nullopt;
  }
  return derive_key(shared);
}

CounterBlock random_counter_block() {
  CounterBlock c;
  randombytes_buf(c.data(), c.size());
  return c;
}

HopLayers make_hop_layers(const LayerKey& key, const CounterBlock& counter) {
  std::span<const std::uint8_t, 32> k(key.data(), 32);
  std::span<const std::uint8_t, 16> c(counter.data(), 16);
  return HopLayers{LayerCipher(k, c), LayerCipher(k, c)};
}

}  // namespace tpdp::v0_1
