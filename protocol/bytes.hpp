// Byte readers and writers for wire messages: big-endian integers, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/errors.hpp"

namespace tpdp {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// Result of decoding a message from a possibly incomplete byte stream:
// the value, "need more bytes", or "malformed" with a reason.
struct NeedMore {};
struct Malformed {
  std::string reason;
  Errc code = Errc::protocol_error;
};
template <class T>
using Decoded = std::variant<T, NeedMore, Malformed>;

template <class T>
bool is_value(const Decoded<T>& d) {
  return std::holds_alternative<T>(d);
}
template <class T>
bool needs_more(const Decoded<T>& d) {
  return std::holds_alternative<NeedMore>(d);
}
template <class T>
bool is_malformed(const Decoded<T>& d) {
  return std::holds_alternative<Malformed>(d);
}

// Reads fields from a byte span. Reading past the end does not throw: it sets
// truncated() and yields zeros, so a decoder reads all fields and then asks
// once whether the input was long enough.
class Reader {
 public:
  explicit Reader(ByteView data) : data_(data) {}

  std::uint8_t u8() {
    if (!take(1)) return 0;
    return data_[pos_ - 1];
  }
  std::uint16_t u16() {
    if (!take(2)) return 0;
    return static_cast<std::uint16_t>((data_[pos_ - 2] << 8) | data_[pos_ - 1]);
  }
  std::uint32_t u32() {
    std::uint32_t hi = u16();
    return (hi << 16) | u16();
  }
  std::uint64_t u64() {
    std::uint64_t hi = u32();
    return (hi << 32) | u32();
  }
  // A view of the next n bytes (empty if truncated).
  ByteView bytes(std::size_t n) {
    if (!take(n)) return {};
    return data_.subspan(pos_ - n, n);
  }
  template <std::size_t N>
  void copy_to(std::uint8_t (&out)[N]) {
    auto v = bytes(N);
    for (std::size_t i = 0; i < v.size(); ++i) out[i] = v[i];
  }
  template <class Array>
  void fill(Array& out) {
    auto v = bytes(out.size());
    for (std::size_t i = 0; i < v.size(); ++i) out[i] = v[i];
  }

  bool truncated() const { return truncated_; }
  std::size_t consumed() const { return pos_; }
  std::size_t remaining() const { return data_.size() - pos_; }

 private:
  bool take(std::size_t n) {
    if (truncated_ || data_.size() - pos_ < n) {
      truncated_ = true;
      return false;
    }
    pos_ += n;
    return true;
  }

  ByteView data_;
  std::size_t pos_ = 0;
  bool truncated_ = false;
};

// Appends big-endian fields to a byte vector.
class Writer {
 public:
  explicit Writer(Bytes& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) {
    u8(static_cast<std::uint8_t>(v >> 8));
    u8(static_cast<std::uint8_t>(v));
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
  }
  void u64(std::uint64_t v) {
    u32(static_cast<std::uint32_t>(v >> 32));
    u32(static_cast<std::uint32_t>(v));
  }
  void bytes(ByteView v) { out_.insert(out_.end(), v.begin(), v.end()); }
  void text(std::string_view s) { out_.insert(out_.end(), s.begin(), s.end()); }
  std::size_t size() const { return out_.size(); }

 private:
  Bytes& out_;
};

inline ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Each wire message type specialises decode<T>; encode(Writer&, const T&)
// overloads live beside it.
template <class T>
Decoded<T> decode(Reader& r);

// Decodes a complete payload: NeedMore and trailing bytes both become Malformed.
template <class T>
Decoded<T> decode_exact(ByteView payload) {
  Reader r(payload);
  auto d = decode<T>(r);
  if (needs_more(d)) return Malformed{"message truncated"};
  if (is_value(d) && r.remaining() != 0) return Malformed{"trailing bytes after message"};
  return d;
}

template <class T>
Bytes encode_to_bytes(const T& m) {
  Bytes out;
  Writer w(out);
  encode(w, m);
  return out;
}

}  // namespace tpdp
