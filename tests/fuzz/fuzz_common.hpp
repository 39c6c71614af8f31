// Shared helpers for the libFuzzer targets in tests/fuzz/ (built by scripts/fuzz).
#pragma once

#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "protocol/bytes.hpp"
#include "protocol/crypto_types.hpp"

namespace tpdp::fuzz {

// Any internal inconsistency is a crash, so libFuzzer keeps the input; the
// line of the failed check goes to stderr first.
inline void check(bool ok, int line = __builtin_LINE(), const char* file = __builtin_FILE()) {
  if (ok) return;
  std::fprintf(stderr, "fuzz check failed at %s:%d\n", file, line);
  std::abort();
}

inline void init_sodium() {
  static const bool ok = sodium_init() >= 0;
  check(ok);
}

inline ByteView view(const std::uint8_t* data, std::size_t size) {
  return {data, size};
}

// What a host that passed is_valid_host may contain (protocol/host.hpp: an
// IPv4 or IPv6 literal without brackets or zone, or a DNS name of letters,
// digits, '-', '_' and dots). In particular never a NUL or anything that is
// not printable ASCII.
inline bool host_charset_ok(std::string_view host) {
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

// The frame key of the frame target; make_seeds seals its seeds with it.
inline AeadKey fixed_frame_key() {
  AeadKey k;
  for (std::size_t i = 0; i < k.size(); ++i) k.data()[i] = static_cast<std::uint8_t>(0x42 + i);
  return k;
}

}  // namespace tpdp::fuzz
