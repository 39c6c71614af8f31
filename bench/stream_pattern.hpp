// The deterministic byte stream that tpdp-bench-source sends and the bench
// clients check byte for byte. Stream position p holds byte p mod kPeriod of
// a fixed pseudo-random pattern; kPeriod is prime, so bytes delivered at the
// wrong place (dropped, repeated or swapped pieces of any size below it)
// compare unequal. Each connection starts at a position of its choosing, so
// concurrent circuits carry different bytes and a mix-up between them shows.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace tpdp::bench {

class StreamPattern {
 public:
  static constexpr std::size_t kPeriod = 1048573;  // largest prime below 2^20

  StreamPattern() : data_(2 * kPeriod) {
    // splitmix64 with a fixed seed: the same bytes in every process.
    std::uint64_t state = 0x7470647062656e63ULL;
    for (std::size_t i = 0; i < kPeriod; i += 8) {
      state += 0x9e3779b97f4a7c15ULL;
      std::uint64_t z = state;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      z ^= z >> 31;
      std::memcpy(data_.data() + i, &z, std::min<std::size_t>(8, kPeriod - i));
    }
    // A second copy: any window of up to kPeriod bytes is contiguous.
    std::memcpy(data_.data() + kPeriod, data_.data(), kPeriod);
  }

  // The stream's bytes from position pos on; at least kPeriod of them are contiguous.
  const std::uint8_t* at(std::uint64_t pos) const { return data_.data() + pos % kPeriod; }

  // Whether p[0, n) equals the stream from position pos.
  bool matches(std::uint64_t pos, const std::uint8_t* p, std::size_t n) const {
    while (n > 0) {
      std::size_t chunk = std::min(n, kPeriod);
      if (std::memcmp(at(pos), p, chunk) != 0) return false;
      pos += chunk;
      p += chunk;
      n -= chunk;
    }
    return true;
  }

 private:
  std::vector<std::uint8_t> data_;
};

// What a bench client asks the source for: `length` bytes of the stream from
// position `start`, as 16 bytes (two big-endian u64).
struct StreamRequest {
  std::uint64_t length = 0;
  std::uint64_t start = 0;
  static constexpr std::size_t kSize = 16;
  static constexpr std::uint64_t kMaxLength = std::uint64_t{1} << 40;  // 1 TiB

  void encode(std::uint8_t (&out)[kSize]) const {
    for (int i = 0; i < 8; ++i) {
      out[i] = static_cast<std::uint8_t>(length >> (56 - 8 * i));
      out[8 + i] = static_cast<std::uint8_t>(start >> (56 - 8 * i));
    }
  }
  static StreamRequest decode(const std::uint8_t (&in)[kSize]) {
    StreamRequest r;
    for (int i = 0; i < 8; ++i) {
      r.length = (r.length << 8) | in[i];
      r.start = (r.start << 8) | in[8 + i];
    }
    return r;
  }
};

}  // namespace tpdp::bench
