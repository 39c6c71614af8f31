// Fuzzes the node and pool key file decoders: a file that decodes must
// re-encode to exactly the same bytes, and keys made from the input must
// survive an encode/decode round trip.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "protocol/identity.hpp"
#include "tests/fuzz/fuzz_common.hpp"

using namespace tpdp;
using namespace tpdp::fuzz;

namespace {

template <class Secret>
bool same(const Secret& a, const Secret& b) {
  return std::memcmp(a.data(), b.data(), a.size()) == 0;
}

template <class T>
void check_not_value(const Decoded<T>& d) {
  // Key files are whole files: never NeedMore.
  check(is_malformed(d));
  check(!std::get<Malformed>(d).reason.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  init_sodium();
  ByteView in = view(data, size);

  auto node = decode_node_key_file(in);
  if (is_value(node)) {
    const auto& k = std::get<NodeKeys>(node);
    check(size == 16 + 4 * 32);
    check(encode_node_key_file(k) == Bytes(in.begin(), in.end()));
    auto again = decode_node_key_file(encode_node_key_file(k));
    check(is_value(again));
    check(std::get<NodeKeys>(again).identity.public_key == k.identity.public_key);
    check(std::get<NodeKeys>(again).onion.public_key == k.onion.public_key);
  } else {
    check_not_value(node);
  }

  auto pool = decode_pool_key_file(in);
  if (is_value(pool)) {
    const auto& k = std::get<IdentityKeypair>(pool);
    check(size == 16 + 2 * 32);
    check(encode_pool_key_file(k) == Bytes(in.begin(), in.end()));
  } else {
    check_not_value(pool);
  }
  // No file is both.
  check(!(is_value(node) && is_value(pool)));

  // Keys made from the input bytes round trip through both file formats.
  if (size >= 64) {
    SecretBytes<32, SeedTag> seed;
    std::memcpy(seed.data(), data, 32);
    OnionSecretKey onion;
    std::memcpy(onion.data(), data + 32, 32);
    NodeKeys keys{IdentityKeypair::from_seed(seed), OnionKeypair::from_secret(std::move(onion))};
    auto back = decode_node_key_file(encode_node_key_file(keys));
    check(is_value(back));
    const auto& b = std::get<NodeKeys>(back);
    check(b.identity.public_key == keys.identity.public_key);
    check(same(b.identity.secret_key, keys.identity.secret_key));
    check(b.onion.public_key == keys.onion.public_key);
    check(same(b.onion.secret_key, keys.onion.secret_key));

    auto pool_back = decode_pool_key_file(encode_pool_key_file(keys.identity));
    check(is_value(pool_back));
    check(std::get<IdentityKeypair>(pool_back).public_key == keys.identity.public_key);
    check(same(std::get<IdentityKeypair>(pool_back).secret_key, keys.identity.secret_key));

    // A key file with the public key of another seed is refused.
    Bytes file = encode_pool_key_file(keys.identity);
    file[16 + 32 + (data[0] % 32)] ^= static_cast<std::uint8_t>(1 | data[1]);
    check(is_malformed(decode_pool_key_file(file)));
  }
  return 0;
}
