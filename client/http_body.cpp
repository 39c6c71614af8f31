#include "client/http_body.hpp"

#include <algorithm>

namespace tpdp {

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
      std::size_t before = out.size();
      auto result = chunked_.feed(in, consumed, out);
      body_bytes_ += out.size() - before;
      if (result == http::ChunkedDecoder::Result::error) {
        error_ = "bad chunked body: " + chunked_.error();
        return false;
      }
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
