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
  std::optional<std::string> location;  // the Location header, as sent
  std::size_t head_size = 0;            // bytes up to and including the blank line
};

// nullopt + empty error: need more bytes; nullopt + error: malformed.
std::optional<HttpResponseHead> parse_http_response_head(std::string_view data, std::string& error);

struct HttpUrl {
  std::string host;
  std::uint16_t port = 80;
  std::string path = "/";  // with the query; never the fragment; no spaces or controls
};
// http://HOST[:PORT][/PATH][?QUERY][#FRAGMENT]. The fragment is dropped, spaces
// and non-ASCII bytes in the path are percent-encoded, control bytes refused.
std::optional<HttpUrl> parse_http_url(std::string_view url, std::string& error);
// The URL as text (port left out when 80).
std::string format_http_url(const HttpUrl& url);

// 301, 302, 303, 307 and 308: the ones followed with -L.
bool is_redirect_status(int status);
// Resolves a Location against the URL that answered it (RFC 3986 section 5):
// absolute, scheme-relative (//host/p), absolute-path, relative (with . and ..)
// or query-only references. Only http:// targets are accepted.
std::optional<HttpUrl> resolve_location(const HttpUrl& base, std::string_view location,
                                        std::string& error);

}  // namespace tpdp
