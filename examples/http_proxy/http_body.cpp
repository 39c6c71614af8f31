#include "examples/http_proxy/http_body.hpp"

#include <algorithm>

namespace tpdp::http {

BodyDecoder::BodyDecoder(BodyFraming framing)
    : framing_(framing),
      remaining_(framing.kind == BodyFraming::length ? framing.content_length : 0) {}

bool BodyDecoder::done() const {
  switch (framing_.kind) {
    case BodyFraming::none:
      return true;
    case BodyFraming::length:
      return remaining_ == 0;
    case BodyFraming::chunked:
      return chunked_.done();
    case BodyFraming::until_close:
      return false;
  }
  return false;
}

BodyDecoder::Result BodyDecoder::feed(std::string_view in, std::size_t& consumed,
                                      std::string& data) {
  consumed = 0;
  std::size_t before = data.size();
  Result result = Result::need_more;
  switch (framing_.kind) {
    case BodyFraming::none:
      return Result::done;
    case BodyFraming::length: {
      auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size()));
      data.append(in.substr(0, n));
      consumed = n;
      remaining_ -= n;
      result = remaining_ == 0 ? Result::done : Result::need_more;
      break;
    }
    case BodyFraming::chunked:
      result = chunked_.feed(in, consumed, data);
      break;
    case BodyFraming::until_close:
      data.append(in);
      consumed = in.size();
      break;
  }
  content_bytes_ += data.size() - before;
  return result;
}

}  // namespace tpdp::http
