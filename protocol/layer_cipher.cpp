#include "protocol/layer_cipher.hpp"

#include <openssl/evp.h>

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
                         std::span<const std::uint8_t, 16> counter)
    : ctx_(std::make_unique<Ctx>()) {
  ctx_->evp = EVP_CIPHER_CTX_new();
  if (!ctx_->evp ||
      EVP_EncryptInit_ex(ctx_->evp, EVP_aes_256_ctr(), nullptr, key.data(), counter.data()) != 1) {
    throw std::runtime_error("AES-256-CTR initialisation failed");
  }
}

LayerCipher::LayerCipher(LayerCipher&&) noexcept = default;
LayerCipher& LayerCipher::operator=(LayerCipher&&) noexcept = default;
LayerCipher::~LayerCipher() = default;

void LayerCipher::apply(std::uint8_t* data, std::size_t n) {
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
