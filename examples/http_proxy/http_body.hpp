// HTTP/1.x message bodies for tpdp-http-proxy: how a body is delimited
// (RFC 9112 6) and a byte-fed decoder that removes the framing (the chunked
// coding itself is the client library's, client/http_chunked.hpp). No sockets here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "client/http_chunked.hpp"

namespace tpdp::http {

struct BodyFraming {
  enum Kind { none, length, chunked, until_close } kind = none;
  std::uint64_t content_length = 0;  // for `length`
  bool operator==(const BodyFraming&) const = default;
};

// Any framing: feed bytes, get the body's content.
class BodyDecoder {
 public:
  using Result = ChunkedDecoder::Result;
  explicit BodyDecoder(BodyFraming framing);

  // `until_close` bodies never report done: the end of the stream ends them.
  Result feed(std::string_view in, std::size_t& consumed, std::string& data);
  bool done() const;
  const std::string& error() const { return chunked_.error(); }
  std::uint64_t content_bytes() const { return content_bytes_; }

 private:
  BodyFraming framing_;
  std::uint64_t remaining_ = 0;
  std::uint64_t content_bytes_ = 0;
  ChunkedDecoder chunked_;
};

}  // namespace tpdp::http
