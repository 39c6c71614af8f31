// One direction of one onion layer: an AES-256-CTR keystream (OpenSSL
// libcrypto, AES-NI) applied in place. The 16-byte counter block is one
// 128-bit big-endian integer that wraps modulo 2^128. Chosen over
// ChaCha20 by measurement (spec/tpdp-1.md, "Cipher choice").
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "protocol/crypto_types.hpp"

namespace tpdp {

class LayerCipher {
 public:
  LayerCipher(const LayerKey& key, const LayerIv& counter_block);
  // Raw form for TPDP/0.1 and test vectors.
  LayerCipher(std::span<const std::uint8_t, 32> key, std::span<const std::uint8_t, 16> counter);
  LayerCipher(LayerCipher&&) noexcept;
  LayerCipher& operator=(LayerCipher&&) noexcept;
  ~LayerCipher();

  // XORs the next n keystream bytes into data. Stream position carries over
  // between calls, so any split of the stream gives the same bytes.
  void apply(std::uint8_t* data, std::size_t n);
  void apply(std::span<std::uint8_t> data) { apply(data.data(), data.size()); }

  // Frees the OpenSSL context (about 650 bytes) while the layer waits for
  // bytes, keeping only the key, the initial counter block and the stream
  // position: an idle circuit's layers then cost next to nothing. The next
  // apply() rebuilds the context at the same position; the keystream is
  // the same as without parking.
  void park();
  bool parked() const { return !ctx_; }

 private:
  void resume();
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
  LayerKey key_;
  LayerIv initial_counter_;
  std::uint64_t position_ = 0;  // keystream bytes used so far
};

}  // namespace tpdp
