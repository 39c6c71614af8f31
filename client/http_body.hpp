// HTTP/1.1 response bodies for `tpdp-client get`: the three ways a response
// body ends (Content-Length, chunked, close), decoded incrementally.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "client/http_chunked.hpp"
#include "client/http_response.hpp"

namespace tpdp {

// Where a response body ends, from its head (RFC 9112 section 6.3, for a GET).
enum class BodyFraming {
  none,     // 1xx, 204, 304: no body at all
  chunked,  // Transfer-Encoding: chunked (wins over Content-Length)
  length,   // Content-Length
  close,    // until the server closes
};

// Feeds the bytes after the response head and tells when the body is complete.
class HttpBodyDecoder {
 public:
  explicit HttpBodyDecoder(const HttpResponseHead& head);

  // Appends body bytes to out. Returns false on a malformed body (see error()).
  // Bytes past the end of the body are ignored.
  bool feed(std::string_view in, std::string& out);
  // Whether the whole body has arrived (never true for `close` before end_of_stream).
  bool complete() const;
  // The server closed: empty if the body is whole, else why it is not.
  std::string end_of_stream();

  BodyFraming framing() const { return framing_; }
  // The announced size, when known in advance (Content-Length framing).
  std::optional<std::uint64_t> expected_bytes() const;
  std::uint64_t body_bytes() const { return body_bytes_; }
  const std::string& error() const { return error_; }

 private:
  BodyFraming framing_;
  std::uint64_t length_ = 0;
  std::uint64_t body_bytes_ = 0;
  http::ChunkedDecoder chunked_;
  std::string error_;
};

}  // namespace tpdp
