#include "protocol/layer_cipher.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstring>
#include <random>

#include "protocol/hex.hpp"

using namespace tpdp;

namespace {

using Key = std::array<std::uint8_t, 32>;
using Block = std::array<std::uint8_t, 16>;

template <std::size_t N>
std::array<std::uint8_t, N> hex_array(std::string_view hex) {
  auto b = from_hex(hex);
  REQUIRE(b);
  REQUIRE(b->size() == N);
  std::array<std::uint8_t, N> out{};
  std::copy(b->begin(), b->end(), out.begin());
  return out;
}

Bytes keystream(const Key& key, const Block& iv, std::size_t n) {
  LayerCipher c(key, iv);
  Bytes b(n, 0);
  c.apply(b);
  return b;
}

}  // namespace

TEST_CASE("AES-256-CTR matches NIST SP 800-38A F.5.5", "[layer_cipher]") {
  auto key = hex_array<32>("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
  auto iv = hex_array<16>("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
  auto plain = from_hex(
      "6bc1bee22e409f96e93d7e117393172a"
      "ae2d8a571e03ac9c9eb76fac45af8e51"
      "30c81c46a35ce411e5fbc1191a0a52ef"
      "f69f2445df4f9b17ad2b417be66c3710");
  REQUIRE(plain);
  const char* expected =
      "601ec313775789a5b7a7f504bbf3d228"
      "f443e3ca4d62b59aca84e990cacaf5c5"
      "2b0930daa23de94ce87017ba2d84988d"
      "dfc9c58db67aada613c2dd08457941a6";

  Bytes data = *plain;
  LayerCipher c(key, iv);
  c.apply(data);
  CHECK(to_hex(data) == expected);

  // Decryption is the same operation.
  LayerCipher d(key, iv);
  d.apply(data);
  CHECK(data == *plain);

  // The secret-typed constructor gives the same stream.
  LayerKey lk;
  LayerIv li;
  std::memcpy(lk.data(), key.data(), 32);
  std::memcpy(li.data(), iv.data(), 16);
  LayerCipher typed(lk, li);
  Bytes again = *plain;
  typed.apply(again.data(), again.size());
  CHECK(to_hex(again) == expected);
}

TEST_CASE("applying in chunks equals one call", "[layer_cipher]") {
  Key key{};
  Block iv{};
  for (int i = 0; i < 32; ++i) key[i] = static_cast<std::uint8_t>(i * 3 + 1);
  for (int i = 0; i < 16; ++i) iv[i] = static_cast<std::uint8_t>(0xf0 + i);  // wraps within
  const std::size_t total = 5000;
  Bytes plain(total);
  for (std::size_t i = 0; i < total; ++i) plain[i] = static_cast<std::uint8_t>(i ^ (i >> 8));

  Bytes whole = plain;
  LayerCipher(key, iv).apply(whole);
  CHECK(whole != plain);

  std::mt19937 rng(12345);
  for (int round = 0; round < 50; ++round) {
    INFO("round " << round);
    Bytes pieces = plain;
    LayerCipher c(key, iv);
    std::size_t pos = 0;
    std::uniform_int_distribution<std::size_t> size(0, round % 2 ? 40 : 700);
    while (pos < total) {
      std::size_t n = std::min(size(rng), total - pos);
      c.apply(pieces.data() + pos, n);
      pos += n;
    }
    REQUIRE(pieces == whole);
  }

  // Byte at a time.
  Bytes bytes = plain;
  LayerCipher one(key, iv);
  for (std::size_t i = 0; i < total; ++i) one.apply(&bytes[i], 1);
  CHECK(bytes == whole);
}

TEST_CASE("a moved cipher keeps its stream position", "[layer_cipher]") {
  Key key{};
  key[0] = 9;
  Block iv{};
  Bytes ref = keystream(key, iv, 64);
  LayerCipher a(key, iv);
  Bytes first(20, 0);
  a.apply(first);
  LayerCipher b(std::move(a));
  Bytes second(44, 0);
  b.apply(second);
  first.insert(first.end(), second.begin(), second.end());
  CHECK(first == ref);

  LayerCipher c(key, iv);
  Bytes x(10, 0);
  c.apply(x);
  LayerCipher d(key, Block{});
  d = std::move(c);
  Bytes y(54, 0);
  d.apply(y);
  x.insert(x.end(), y.begin(), y.end());
  CHECK(x == ref);
}

TEST_CASE("the counter block wraps from ff..ff to 00..00", "[layer_cipher]") {
  Key key{};
  for (int i = 0; i < 32; ++i) key[i] = static_cast<std::uint8_t>(0xa5 ^ i);
  Block all_ones;
  all_ones.fill(0xff);
  Block zero{};
  Bytes from_ones = keystream(key, all_ones, 64);
  Bytes from_zero = keystream(key, zero, 48);
  // Block 0 is E(ff..ff); blocks 1.. are E(00..00), E(00..01), ...
  CHECK(Bytes(from_ones.begin() + 16, from_ones.end()) == from_zero);
  CHECK(Bytes(from_ones.begin(), from_ones.begin() + 16) !=
        Bytes(from_zero.begin(), from_zero.begin() + 16));

  // A carry ripples through all 128 bits, not just the low 64.
  Block low_ones{};
  for (int i = 8; i < 16; ++i) low_ones[i] = 0xff;
  Block carried{};
  carried[7] = 1;
  Bytes a = keystream(key, low_ones, 32);
  Bytes b = keystream(key, carried, 16);
  CHECK(Bytes(a.begin() + 16, a.end()) == b);
}

TEST_CASE("different keys or counters give different streams", "[layer_cipher]") {
  Key key{};
  Block iv{};
  Bytes base = keystream(key, iv, 32);
  Key key2 = key;
  key2[31] = 1;
  Block iv2 = iv;
  iv2[0] = 1;
  CHECK(keystream(key2, iv, 32) != base);
  CHECK(keystream(key, iv2, 32) != base);
  // Zero-length applies are no-ops.
  LayerCipher c(key, iv);
  c.apply(nullptr, 0);
  Bytes b(32, 0);
  c.apply(b);
  CHECK(b == base);
}

TEST_CASE("a parked cipher resumes at the same stream position", "[layer_cipher]") {
  Key key{};
  for (int i = 0; i < 32; ++i) key[i] = static_cast<std::uint8_t>(i * 7 + 3);
  // Counter blocks whose increments carry into the high bytes and wrap to zero.
  Block near_wrap;
  near_wrap.fill(0xff);
  near_wrap[15] = 0xf0;
  Block low_carry{};
  for (int i = 9; i < 16; ++i) low_carry[i] = 0xff;
  for (const Block& iv : {near_wrap, low_carry, Block{}}) {
    const std::size_t total = 4096;
    Bytes ref = keystream(key, iv, total);
    std::mt19937 rng(777);
    for (int round = 0; round < 20; ++round) {
      INFO("round " << round);
      LayerCipher c(key, iv);
      Bytes out(total, 0);
      std::size_t pos = 0;
      std::uniform_int_distribution<std::size_t> size(0, round % 2 ? 33 : 600);
      while (pos < total) {
        std::size_t n = std::min(size(rng), total - pos);
        c.apply(out.data() + pos, n);
        pos += n;
        if (rng() % 2) {
          c.park();
          CHECK(c.parked());
        }
      }
      REQUIRE(out == ref);
    }
  }
  // A parked cipher moves like any other.
  LayerCipher a(key, near_wrap);
  Bytes first(21, 0);
  a.apply(first);
  a.park();
  LayerCipher b(std::move(a));
  Bytes second(43, 0);
  b.apply(second);
  CHECK_FALSE(b.parked());
  first.insert(first.end(), second.begin(), second.end());
  CHECK(first == keystream(key, near_wrap, 64));
}
