// The HTTP/1.1 chunked transfer coding (RFC 9112 7.1), decoded byte by byte
// across any split of the input, and the encoder to re-frame data with. Used
// by `tpdp-client get` and by tpdp-http-proxy; no sockets here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tpdp::http {

// Longest chunk size line (size, whitespace, extensions) and trailer section accepted.
inline constexpr std::size_t kMaxChunkSizeLine = 4096;
inline constexpr std::size_t kMaxTrailerSize = 64 * 1024;

// Decodes "chunked" (RFC 9112 7.1). Chunk data is handed out as it arrives,
// across any split of the input; extensions and trailer fields are checked
// for size and dropped.
class ChunkedDecoder {
 public:
  enum class Result { need_more, done, error };

  // Consumes bytes of `in` (never past the end of the body) and appends the
  // chunk data among them to `data`.
  Result feed(std::string_view in, std::size_t& consumed, std::string& data);
  bool done() const { return state_ == State::done; }
  bool failed() const { return state_ == State::error; }
  const std::string& error() const { return error_; }

 private:
  enum class State {
    size_start,  // first hex digit of a chunk size
    size,        // more hex digits
    size_space,  // whitespace after the size, before ';' or the line end
    extension,   // ";name=value..." up to the line end
    size_lf,     // CR seen after the size line, LF due
    data,        // chunk data
    data_end,    // CRLF due after the data
    data_lf,     // LF due after the data's CR
    trailer_start,
    trailer_line,
    trailer_line_lf,  // CR seen inside a trailer line, LF due
    trailer_lf,       // CR seen at the start of a trailer line: LF ends the body
    done,
    error,
  };
  Result fail(std::string message);
  void size_line_done();

  State state_ = State::size_start;
  std::uint64_t size_ = 0;       // the chunk being received
  std::uint64_t remaining_ = 0;  // of its data
  std::size_t size_line_bytes_ = 0;
  std::size_t trailer_bytes_ = 0;
  std::string error_;
};

// One chunk carrying `data` (nothing for empty data: an empty chunk would end the body).
void append_chunk(std::string& out, std::string_view data);
// The last chunk and an empty trailer section.
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace tpdp::http
