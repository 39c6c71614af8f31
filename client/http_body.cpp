#include "client/http_body.hpp"

#include <algorithm>

namespace tpdp {
namespace {

constexpr std::size_t kMaxSizeLine = 4096;       // chunk size plus extensions
constexpr std::size_t kMaxTrailers = 64 * 1024;  // all trailer lines together

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

ChunkedDecoder::Status ChunkedDecoder::fail(std::string message) {
  state_ = State::error;
  error_ = std::move(message);
  return Status::error;
}

ChunkedDecoder::Status ChunkedDecoder::feed(std::string_view in, std::string& out,
                                            std::size_t& consumed) {
  consumed = 0;
  std::size_t i = 0;
  // A size line ended: start the chunk's data, or the trailers after the last chunk.
  auto size_line_done = [&] {
    line_bytes_ = 0;
    if (chunk_size_ == 0) {
      state_ = State::trailer;
    } else {
      remaining_ = chunk_size_;
      state_ = State::data;
    }
  };
  auto next_size_line = [&] {
    state_ = State::size;
    chunk_size_ = 0;
    size_digits_ = 0;
    line_bytes_ = 0;
    in_extension_ = false;
  };
  auto trailer_line_done = [&] {
    if (line_bytes_ == 0) {
      state_ = State::done;
    } else {
      line_bytes_ = 0;
      state_ = State::trailer;
    }
  };
  while (i < in.size()) {
    if (state_ == State::done) break;
    if (state_ == State::error) return Status::error;
    if (state_ == State::data) {
      std::size_t n = static_cast<std::size_t>(
          std::min<std::uint64_t>(remaining_, static_cast<std::uint64_t>(in.size() - i)));
      out.append(in.data() + i, n);
      i += n;
      remaining_ -= n;
      body_bytes_ += n;
      if (remaining_ == 0) state_ = State::data_end;
      continue;
    }
    char c = in[i++];
    switch (state_) {
      case State::size:
      case State::size_tail:
        if (++line_bytes_ > kMaxSizeLine) return fail("chunk size line longer than 4 KiB");
        if (c == '\r') {
          if (size_digits_ == 0) return fail("bad chunk size");
          state_ = State::size_lf;
        } else if (c == '\n') {
          if (size_digits_ == 0) return fail("bad chunk size");
          size_line_done();
        } else if (state_ == State::size && hex_value(c) >= 0) {
          if (chunk_size_ > (UINT64_MAX >> 4)) return fail("chunk size too large");
          chunk_size_ = (chunk_size_ << 4) | static_cast<std::uint64_t>(hex_value(c));
          ++size_digits_;
        } else if (size_digits_ == 0) {
          return fail("bad chunk size");
        } else if (state_ == State::size) {
          // After the digits: optional whitespace, then ";name[=value]" extensions.
          if (c != ' ' && c != '\t' && c != ';') return fail("bad chunk size");
          in_extension_ = c == ';';
          state_ = State::size_tail;
        } else if (!in_extension_) {
          if (c == ';') {
            in_extension_ = true;
          } else if (c != ' ' && c != '\t') {
            return fail("bad chunk size");
          }
        } else if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
          return fail("bad chunk extension");
        }
        break;
      case State::size_lf:
        if (c != '\n') return fail("bad line ending in chunked body");
        size_line_done();
        break;
      case State::data_end:
        if (c == '\r') {
          state_ = State::data_lf;
        } else if (c == '\n') {
          next_size_line();
        } else {
          return fail("missing CRLF after chunk data");
        }
        break;
      case State::data_lf:
        if (c != '\n') return fail("missing CRLF after chunk data");
        next_size_line();
        break;
      case State::trailer:
        if (c == '\r') {
          state_ = State::trailer_lf;
        } else if (c == '\n') {
          trailer_line_done();
        } else {
          ++line_bytes_;
          if (++trailer_bytes_ > kMaxTrailers) return fail("trailers longer than 64 KiB");
        }
        break;
      case State::trailer_lf:
        if (c != '\n') return fail("bad line ending in chunked body");
        trailer_line_done();
        break;
      case State::data:
      case State::done:
      case State::error:
        break;  // handled above
    }
  }
  consumed = i;
  if (state_ == State::error) return Status::error;
  return state_ == State::done ? Status::done : Status::need_more;
}

HttpBodyDecoder::HttpBodyDecoder(const HttpResponseHead& head) {
  if ((head.status >= 100 && head.status < 200) || head.status == 204 || head.status == 304) {
    framing_ = BodyFraming::none;
  } else if (head.chunked) {
    framing_ = BodyFraming::chunked;
  } else if (head.content_length) {
    framing_ = BodyFraming::length;
    length_ = *head.content_length;
  } else {
    framing_ = BodyFraming::close;
  }
}

bool HttpBodyDecoder::feed(std::string_view in, std::string& out) {
  if (!error_.empty()) return false;
  switch (framing_) {
    case BodyFraming::none:
      return true;
    case BodyFraming::length: {
      std::size_t n = static_cast<std::size_t>(
          std::min<std::uint64_t>(length_ - body_bytes_, static_cast<std::uint64_t>(in.size())));
      out.append(in.data(), n);
      body_bytes_ += n;
      return true;
    }
    case BodyFraming::chunked: {
      std::size_t consumed = 0;
      if (chunked_.feed(in, out, consumed) == ChunkedDecoder::Status::error) {
        error_ = "bad chunked body: " + chunked_.error();
        return false;
      }
      body_bytes_ = chunked_.body_bytes();
      return true;
    }
    case BodyFraming::close:
      out.append(in.data(), in.size());
      body_bytes_ += in.size();
      return true;
  }
  return true;
}

bool HttpBodyDecoder::complete() const {
  switch (framing_) {
    case BodyFraming::none:
      return true;
    case BodyFraming::length:
      return body_bytes_ == length_;
    case BodyFraming::chunked:
      return chunked_.done();
    case BodyFraming::close:
      return false;
  }
  return false;
}

std::string HttpBodyDecoder::end_of_stream() {
  if (!error_.empty()) return error_;
  if (framing_ == BodyFraming::length && body_bytes_ < length_) {
    error_ = "body truncated: got " + std::to_string(body_bytes_) + " of " +
             std::to_string(length_) + " bytes";
  } else if (framing_ == BodyFraming::chunked && !chunked_.done()) {
    error_ = "chunked body truncated after " + std::to_string(body_bytes_) + " bytes";
  }
  return error_;
}

std::optional<std::uint64_t> HttpBodyDecoder::expected_bytes() const {
  if (framing_ == BodyFraming::length) return length_;
  if (framing_ == BodyFraming::none) return 0;
  return std::nullopt;
}

}  // namespace tpdp
