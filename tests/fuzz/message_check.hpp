// The invariants every wire message decoder must keep, whatever the input.
#pragma once

#include <algorithm>
#include <functional>

#include "protocol/bytes.hpp"
#include "tests/fuzz/fuzz_common.hpp"

namespace tpdp::fuzz {

enum class Framing {
  stream,  // read from a byte stream: NeedMore until complete, then stops
  to_end,  // a complete payload whose last field runs to the end (ERROR)
};

// How the first byte is re-encoded when a decoder maps unknown wire values
// to a canonical one (status and error codes); identity for other messages.
using FirstByteMap = std::uint8_t (*)(std::uint8_t);
inline std::uint8_t same_byte(std::uint8_t b) {
  return b;
}

// Decodes T from in every way there is and checks that the answers agree,
// that a decoded value re-encodes canonically, and that re-encoding and
// decoding again gives the same value. eq compares two values of T.
// Returns the decoded value's address inside `out` if in decoded to a value.
template <class T, class Eq>
const T* check_message(ByteView in, Eq eq, Framing framing, Decoded<T>& out,
                       FirstByteMap first = same_byte) {
  Reader r(in);
  out = decode<T>(r);
  auto exact = decode_exact<T>(in);
  check(r.consumed() <= in.size());
  check(r.remaining() == in.size() - r.consumed());

  if (is_malformed(out)) {
    check(!std::get<Malformed>(out).reason.empty());
    check(is_malformed(exact));
    if (framing == Framing::stream) {
      // A stream decoder's "malformed" is final: more bytes do not help.
      Bytes longer(in.begin(), in.end());
      longer.resize(in.size() + 80, 0x01);
      Reader lr(longer);
      check(is_malformed(decode<T>(lr)));
    }
    return nullptr;
  }
  if (is_malformed(exact)) check(!std::get<Malformed>(exact).reason.empty());
  if (needs_more(out)) {
    check(framing == Framing::stream || in.empty());
    check(is_malformed(exact));  // decode_exact never answers NeedMore
    return nullptr;
  }

  const T& v = std::get<T>(out);
  std::size_t n = r.consumed();
  if (framing == Framing::to_end) check(n == in.size());
  if (n == in.size()) {
    check(is_value(exact) && eq(std::get<T>(exact), v));
  } else {
    check(is_malformed(exact));
  }

  // The bytes taken are enough on their own, and one byte fewer is not.
  auto alone = decode_exact<T>(in.first(n));
  check(is_value(alone) && eq(std::get<T>(alone), v));
  if (framing == Framing::stream) {
    check(n > 0);
    Reader pr(in.first(n - 1));
    check(needs_more(decode<T>(pr)));
    // Bytes after the message do not change it.
    Bytes longer(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(n));
    longer.resize(n + 17, 0xee);
    Reader lr(longer);
    auto again = decode<T>(lr);
    check(is_value(again) && eq(std::get<T>(again), v) && lr.consumed() == n);
  }

  // Re-encoding gives the input back (up to a canonicalised first byte)...
  Bytes enc = encode_to_bytes(v);
  Bytes expected(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(n));
  if (!expected.empty()) expected[0] = first(expected[0]);
  check(enc == expected);
  // ...which decodes to the same value and re-encodes to the same bytes.
  auto back = decode_exact<T>(enc);
  check(is_value(back) && eq(std::get<T>(back), v));
  check(encode_to_bytes(std::get<T>(back)) == enc);
  return &v;
}

}  // namespace tpdp::fuzz
