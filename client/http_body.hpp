// HTTP/1.1 response bodies for `tpdp-client get`: the chunked transfer
// coding decoded incrementally (bytes may arrive split anywhere), and the
// three ways a response body ends (Content-Length, chunked, close).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "client/http_response.hpp"

namespace tpdp {

// Decodes a chunked body fed in pieces of any size. Extensions are ignored;
// trailers are read and dropped. Bounded: a size line (with extensions) may
// take 4 KiB and the trailers 64 KiB; decoded bytes go straight to `out`.
class ChunkedDecoder {
 public:
  enum class Status { need_more, done, error };

  // Appends decoded bytes to out; `consumed` tells how much of `in` was used
  // (less than in.size() only once done: what follows the body is not ours).
  Status feed(std::string_view in, std::string& out, std::size_t& consumed);
  bool done() const { return state_ == State::done; }
  bool failed() const { return state_ == State::error; }
  const std::string& error() const { return error_; }
  std::uint64_t body_bytes() const { return body_bytes_; }

 private:
  enum class State {
    size,        // hex digits of the chunk size
    size_tail,   // spaces and ";ext" after the size, up to the line end
    size_lf,     // after CR of the size line
    data,        // chunk data
    data_end,    // CRLF after the data
    data_lf,     // after CR following the data
    trailer,     // a trailer line (or the final empty line)
    trailer_lf,  // after CR of a trailer line
    done,
    error,
  };
  Status fail(std::string message);

  State state_ = State::size;
  std::uint64_t chunk_size_ = 0;
  std::size_t size_digits_ = 0;
  bool in_extension_ = false;      // past the ';' of the size line
  std::size_t line_bytes_ = 0;     // bytes in the current size or trailer line
  std::size_t trailer_bytes_ = 0;  // all trailer bytes so far
  std::uint64_t remaining_ = 0;    // data bytes left in the current chunk
  std::uint64_t body_bytes_ = 0;
  std::string error_;
};

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
  ChunkedDecoder chunked_;
  std::string error_;
};

}  // namespace tpdp
