// A small HTTP/1.x response head parser for `tpdp-client get`, fed bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tpdp {

struct HttpResponseHead {
  int status = 0;
  std::string reason;
  std::optional<std::uint64_t> content_length;
  bool chunked = false;
  std::size_t head_size = 0;  // bytes up to and including the blank line
};

// nullopt + empty error: need more bytes; nullopt + error: malformed.
std::optional<HttpResponseHead> parse_http_response_head(std::string_view data, std::string& error);

struct HttpUrl {
  std::string host;
  std::uint16_t port = 80;
  std::string path = "/";
};
std::optional<HttpUrl> parse_http_url(std::string_view url, std::string& error);

}  // namespace tpdp
