#include "protocol/layer_cipher.hpp"

#include <openssl/evp.h>
#include <sodium.h>

#include <algorithm>

#include <climits>
#include <stdexcept>

namespace tpdp {

struct LayerCipher::Ctx {
  EVP_CIPHER_CTX* evp = nullptr;
  ~Ctx() { EVP_CIPHER_CTX_free(evp); }
};

LayerCipher::LayerCipher(const LayerKey& key, const LayerIv& counter_block)
    : LayerCipher(std::span<const std::uint8_t, 32>(key.data(), 32),
                  std::span<const std::uint8_t, 16>(counter_block.data(), 16)) {}

LayerCipher::LayerCipher(std::span<const std::uint8_t, 32> key,
                         std::span<const std::uint8_t, 16> counter) {
  std::copy(key.begin(), key.end(), key_.data());
  std::copy(counter.begin(), counter.end(), initial_counter_.data());
  resume();
}

LayerCipher::LayerCipher(LayerCipher&&) noexcept = default;
LayerCipher& LayerCipher::operator=(LayerCipher&&) noexcept = default;
LayerCipher::~LayerCipher() = default;

void LayerCipher::park() {
  ctx_.reset();  // EVP_CIPHER_CTX_free wipes the key schedule
}

void LayerCipher::resume() {
  // The counter block for the current position: the initial block plus
  // position / 16, as one 128-bit big-endian integer (wrapping like CTR mode).
  std::uint8_t block[16];
  std::copy(initial_counter_.data(), initial_counter_.data() + 16, block);
  std::uint64_t add = position_ / 16;
  unsigned carry = 0;
  for (int i = 15; i >= 0; --i) {
    unsigned sum = block[i] + static_cast<unsigned>(add & 0xff) + carry;
    block[i] = static_cast<std::uint8_t>(sum);
    carry = sum >> 8;
    add >>= 8;
  }
  auto ctx = std::make_unique<Ctx>();
  ctx->evp = EVP_CIPHER_CTX_new();
  bool ok =
      ctx->evp && EVP_EncryptInit_ex(ctx->evp, EVP_aes_256_ctr(), nullptr, key_.data(), block) == 1;
  sodium_memzero(block, sizeof block);
  if (!ok) throw std::runtime_error("AES-256-CTR initialisation failed");
  // Within a block: use up the keystream bytes already applied.
  if (std::size_t skip = position_ % 16; skip > 0) {
    std::uint8_t used[16] = {};
    int out_len = 0;
    if (EVP_EncryptUpdate(ctx->evp, used, &out_len, used, static_cast<int>(skip)) != 1) {
      throw std::runtime_error("AES-256-CTR update failed");
    }
    sodium_memzero(used, sizeof used);
  }
  ctx_ = std::move(ctx);
}

void LayerCipher::apply(std::uint8_t* data, std::size_t n) {
  if (n == 0) return;
  if (!ctx_) resume();
  position_ += n;
  while (n > 0) {
    int chunk = n > static_cast<std::size_t>(INT_MAX / 2) ? INT_MAX / 2 : static_cast<int>(n);
    int out_len = 0;
    // CTR mode: in-place encryption is supported and output length equals input length.
    if (EVP_EncryptUpdate(ctx_->evp, data, &out_len, data, chunk) != 1 || out_len != chunk) {
      throw std::runtime_error("AES-256-CTR update failed");
    }
    data += chunk;
    n -= static_cast<std::size_t>(chunk);
  }
}

}  // namespace tpdp
