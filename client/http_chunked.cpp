#include "client/http_chunked.hpp"

#include <algorithm>
#include <cstdio>

#include "protocol/hex.hpp"

namespace tpdp::http {
namespace {

bool is_ctl(char c) {
  auto u = static_cast<unsigned char>(c);
  return (u < 0x20 && c != '\t') || u == 0x7f;
}

}  // namespace

ChunkedDecoder::Result ChunkedDecoder::fail(std::string message) {
  state_ = State::error;
  error_ = std::move(message);
  return Result::error;
}

void ChunkedDecoder::size_line_done() {
  size_line_bytes_ = 0;
  if (size_ == 0) {
    state_ = State::trailer_start;
  } else {
    remaining_ = size_;
    state_ = State::data;
  }
}

ChunkedDecoder::Result ChunkedDecoder::feed(std::string_view in, std::size_t& consumed,
                                            std::string& data) {
  consumed = 0;
  while (consumed < in.size()) {
    if (state_ == State::done) return Result::done;
    if (state_ == State::error) return Result::error;
    if (state_ == State::data) {
      auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size() - consumed));
      data.append(in.substr(consumed, n));
      consumed += n;
      remaining_ -= n;
      if (remaining_ == 0) state_ = State::data_end;
      continue;
    }
    char c = in[consumed++];
    bool in_size_line = state_ == State::size_start || state_ == State::size ||
                        state_ == State::size_space || state_ == State::extension;
    // Leading zeros and extensions cost nothing to keep, but no line is endless.
    if (in_size_line && ++size_line_bytes_ > kMaxChunkSizeLine) {
      return fail("chunk size line longer than 4 KiB");
    }
    switch (state_) {
      case State::size_start: {
        int v = hex_digit_value(c);
        if (v < 0) return fail("malformed chunk size");
        size_ = static_cast<std::uint64_t>(v);
        state_ = State::size;
        break;
      }
      case State::size: {
        int v = hex_digit_value(c);
        if (v >= 0) {
          // 2^60 bytes is more than anyone sends; beyond it the size could overflow.
          if (size_ >> 60) return fail("chunk size too large");
          size_ = size_ * 16 + static_cast<std::uint64_t>(v);
        } else if (c == ' ' || c == '\t') {
          state_ = State::size_space;
        } else if (c == ';') {
          state_ = State::extension;
        } else if (c == '\r') {
          state_ = State::size_lf;
        } else if (c == '\n') {
          size_line_done();
        } else {
          return fail("malformed chunk size");
        }
        break;
      }
      case State::size_space:
        if (c == ';') {
          state_ = State::extension;
        } else if (c == '\r') {
          state_ = State::size_lf;
        } else if (c == '\n') {
          size_line_done();
        } else if (c != ' ' && c != '\t') {
          return fail("malformed chunk size");
        }
        break;
      case State::extension:
        if (c == '\r') {
          state_ = State::size_lf;
        } else if (c == '\n') {
          size_line_done();
        } else if (is_ctl(c)) {
          return fail("control character in a chunk extension");
        }
        break;
      case State::size_lf:
        if (c != '\n') return fail("bare CR in a chunk size line");
        size_line_done();
        break;
      case State::data_end:
        if (c == '\r') {
          state_ = State::data_lf;
        } else if (c == '\n') {
          state_ = State::size_start;
        } else {
          return fail("chunk data longer than its size");
        }
        break;
      case State::data_lf:
        if (c != '\n') return fail("chunk data longer than its size");
        state_ = State::size_start;
        break;
      case State::trailer_start:
      case State::trailer_line:
        if (++trailer_bytes_ > kMaxTrailerSize) return fail("trailer section too large");
        if (c == '\r') {
          state_ = state_ == State::trailer_start ? State::trailer_lf : State::trailer_line_lf;
        } else if (c == '\n') {
          if (state_ == State::trailer_start) {
            state_ = State::done;
            return Result::done;
          }
          state_ = State::trailer_start;
        } else if (c == '\0') {
          return fail("NUL in the trailer section");
        } else {
          state_ = State::trailer_line;
        }
        break;
      case State::trailer_line_lf:
        if (c != '\n') return fail("bare CR in the trailer section");
        state_ = State::trailer_start;
        break;
      case State::trailer_lf:
        if (c != '\n') return fail("bare CR in the trailer section");
        state_ = State::done;
        return Result::done;
      case State::data:
      case State::done:
      case State::error:
        break;  // handled above
    }
  }
  if (state_ == State::done) return Result::done;
  if (state_ == State::error) return Result::error;
  return Result::need_more;
}

void append_chunk(std::string& out, std::string_view data) {
  if (data.empty()) return;
  char size[20];
  int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  out.append(size, static_cast<std::size_t>(n));
  out.append(data);
  out.append("\r\n");
}

}  // namespace tpdp::http
