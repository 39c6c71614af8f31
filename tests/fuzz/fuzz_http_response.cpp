// Fuzzes the HTTP response head parser and the http:// URL parser used by
// `tpdp-client get`: answers must be self-consistent and stable.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "client/http_response.hpp"
#include "protocol/host.hpp"
#include "tests/fuzz/fuzz_common.hpp"

using namespace tpdp;
using namespace tpdp::fuzz;

namespace {

bool same_head(const HttpResponseHead& a, const HttpResponseHead& b) {
  return a.status == b.status && a.reason == b.reason && a.content_length == b.content_length &&
         a.chunked == b.chunked && a.head_size == b.head_size;
}

void check_head(std::string_view text) {
  std::string error = "stale";
  auto head = parse_http_response_head(text, error);
  auto end = text.find("\r\n\r\n");
  if (head) {
    check(error.empty());
    check(end != std::string_view::npos && head->head_size == end + 4);
    check(head->status >= 100 && head->status <= 999);
    check(text.substr(0, 5) == "HTTP/");
    check(head->reason.find("\r\n") == std::string::npos);
    // Only the head decides: the same answer without what follows it, or
    // with more bytes after it.
    std::string again_error;
    auto alone = parse_http_response_head(text.substr(0, head->head_size), again_error);
    check(alone && same_head(*alone, *head));
    std::string longer(text);
    longer += "\r\n\r\nContent-Length: 1\r\n\r\n";
    auto more = parse_http_response_head(longer, again_error);
    check(more && same_head(*more, *head));
  } else if (error.empty()) {
    // Need more: only while there is no blank line yet and not too much.
    check(end == std::string_view::npos);
    check(text.size() <= 64 * 1024);
  } else {
    check(end != std::string_view::npos || text.size() > 64 * 1024);
  }
}

void check_url(std::string_view text) {
  std::string error;
  auto url = parse_http_url(text, error);
  if (!url) {
    check(!error.empty());
    return;
  }
  check(url->port != 0);
  check(is_valid_host(url->host));
  check(host_charset_ok(url->host));
  check(!url->path.empty() && url->path[0] == '/');
  // Rebuilt from its parts, the URL parses to the same parts.
  std::string rebuilt = "http://" + format_host_port(url->host, url->port) + url->path;
  std::string error2;
  auto again = parse_http_url(rebuilt, error2);
  check(again.has_value());
  check(again->host == url->host && again->port == url->port && again->path == url->path);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  check_head(text);
  check_url(text);
  // URLs are mostly found after the scheme; try the input there too.
  std::string with_scheme = "http://" + std::string(text);
  check_url(with_scheme);
  return 0;
}
