// Lower-case hex for fingerprints and test vectors.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "protocol/bytes.hpp"

namespace tpdp {

std::string to_hex(ByteView data);
// The value of one hex digit (either case), or -1.
int hex_digit_value(char c);
// Parses an even-length hex string (either case); nullopt on any bad character.
std::optional<Bytes> from_hex(std::string_view hex);

// Parses exactly T::size() bytes of hex into a public value.
template <class T>
std::optional<T> public_from_hex(std::string_view hex) {
  auto b = from_hex(hex);
  if (!b || b->size() != T::size()) return std::nullopt;
  T v;
  for (std::size_t i = 0; i < T::size(); ++i) v.bytes[i] = (*b)[i];
  return v;
}

}  // namespace tpdp
