#include "client/http_response.hpp"

#include <algorithm>
#include <charconv>

#include "protocol/host.hpp"

namespace tpdp {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<HttpResponseHead> parse_http_response_head(std::string_view data,
                                                         std::string& error) {
  error.clear();
  constexpr std::size_t kMaxHead = 64 * 1024;
  auto end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (data.size() > kMaxHead) error = "response head longer than 64 KiB";
    return std::nullopt;
  }
  HttpResponseHead head;
  head.head_size = end + 4;
  std::string_view rest = data.substr(0, end);
  auto line_end = rest.find("\r\n");
  std::string_view status_line = rest.substr(0, line_end);
  if (status_line.substr(0, 5) != "HTTP/" || status_line.size() < 12 || status_line[8] != ' ') {
    error = "not an HTTP response";
    return std::nullopt;
  }
  auto code = status_line.substr(9, 3);
  auto [p, ec] = std::from_chars(code.data(), code.data() + 3, head.status);
  if (ec != std::errc() || p != code.data() + 3 || head.status < 100) {
    error = "bad HTTP status line";
    return std::nullopt;
  }
  head.reason = std::string(trim(status_line.substr(12)));
  rest = line_end == std::string_view::npos ? std::string_view() : rest.substr(line_end + 2);
  while (!rest.empty()) {
    auto e = rest.find("\r\n");
    std::string_view line = rest.substr(0, e);
    rest = e == std::string_view::npos ? std::string_view() : rest.substr(e + 2);
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name = lower(trim(line.substr(0, colon)));
    std::string_view value = trim(line.substr(colon + 1));
    if (name == "content-length") {
      std::uint64_t n = 0;
      auto [q, ec2] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec2 != std::errc() || q != value.data() + value.size()) {
        error = "bad Content-Length";
        return std::nullopt;
      }
      head.content_length = n;
    } else if (name == "transfer-encoding" && lower(value).find("chunked") != std::string::npos) {
      head.chunked = true;
    }
  }
  return head;
}

std::optional<HttpUrl> parse_http_url(std::string_view url, std::string& error) {
  constexpr std::string_view scheme = "http://";
  if (lower(url.substr(0, scheme.size())) != scheme) {
    error = "only http:// URLs are supported: '" + std::string(url) + "'";
    return std::nullopt;
  }
  url.remove_prefix(scheme.size());
  auto slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  HttpUrl out;
  out.path = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  std::string with_port(authority);
  bool has_port = !authority.empty() && authority.back() != ']' &&
                  authority.find(':', authority.front() == '[' ? authority.find(']') : 0) !=
                      std::string_view::npos;
  if (!has_port) with_port += ":80";
  auto hp = parse_host_port(with_port, &error);
  if (!hp) return std::nullopt;
  out.host = hp->host;
  out.port = hp->port;
  return out;
}

}  // namespace tpdp
