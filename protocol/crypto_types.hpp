// Distinct fixed-size types for keys, nonces and tags. Secret types wipe
// themselves with sodium_memzero on destruction and are never copied by accident.
#pragma once

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace tpdp {

// Public values (public keys, signatures, tags): plain comparable arrays.
template <std::size_t N, class Tag>
struct PublicBytes {
  std::array<std::uint8_t, N> bytes{};
  static constexpr std::size_t size() { return N; }
  std::uint8_t* data() { return bytes.data(); }
  const std::uint8_t* data() const { return bytes.data(); }
  std::span<const std::uint8_t> view() const { return bytes; }
  bool operator==(const PublicBytes&) const = default;
  bool operator<(const PublicBytes& o) const { return bytes < o.bytes; }
};

// Secret values: move-only, wiped on destruction. Compare with
// sodium_memcmp (constant time) where a comparison is needed.
template <std::size_t N, class Tag>
class SecretBytes {
 public:
  SecretBytes() = default;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&& o) noexcept : bytes_(o.bytes_) { sodium_memzero(o.bytes_.data(), N); }
  SecretBytes& operator=(SecretBytes&& o) noexcept {
    bytes_ = o.bytes_;
    sodium_memzero(o.bytes_.data(), N);
    return *this;
  }
  ~SecretBytes() { sodium_memzero(bytes_.data(), N); }

  static constexpr std::size_t size() { return N; }
  std::uint8_t* data() { return bytes_.data(); }
  const std::uint8_t* data() const { return bytes_.data(); }
  std::span<const std::uint8_t> view() const { return bytes_; }
  // An explicit copy, for the few places that must duplicate a secret.
  SecretBytes clone() const {
    SecretBytes c;
    c.bytes_ = bytes_;
    return c;
  }

 private:
  std::array<std::uint8_t, N> bytes_{};
};

using IdentityPublicKey = PublicBytes<32, struct IdentityPublicKeyTag>;  // Ed25519
using IdentitySecretKey = SecretBytes<64, struct IdentitySecretKeyTag>;  // Ed25519 (seed||pk)
using OnionPublicKey = PublicBytes<32, struct OnionPublicKeyTag>;        // X25519
using OnionSecretKey = SecretBytes<32, struct OnionSecretKeyTag>;        // X25519
using Signature = PublicBytes<64, struct SignatureTag>;                  // Ed25519
using AuthTag = PublicBytes<32, struct AuthTagTag>;                      // ntor AUTH
using Nonce32 = PublicBytes<32, struct Nonce32Tag>;                      // challenges, list nonces
using LayerKey = SecretBytes<32, struct LayerKeyTag>;                    // AES-256-CTR key
using LayerIv = SecretBytes<16, struct LayerIvTag>;  // AES-256-CTR counter block
using AeadKey = SecretBytes<32, struct AeadKeyTag>;  // ChaCha20-Poly1305 key
using SharedSecret = SecretBytes<32, struct SharedSecretTag>;

// Fills a public value with random bytes (libsodium's CSPRNG).
template <class T>
T random_public() {
  T v;
  randombytes_buf(v.data(), v.size());
  return v;
}

}  // namespace tpdp
