#include "client/http_response.hpp"

#include <algorithm>
#include <cctype>
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

// Checks a path (with its query) and percent-encodes spaces and non-ASCII
// bytes, as browsers do; control bytes would let a URL inject header lines.
bool clean_path(const std::string& in, std::string& out, std::string& error) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out.clear();
  for (unsigned char c : in) {
    if (c < 0x20 || c == 0x7f) {
      error = "bad character in URL path (control byte)";
      return false;
    }
    if (c == ' ' || c >= 0x80) {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (out.empty()) out = "/";
  return true;
}

// RFC 3986 section 5.2.4.
std::string remove_dot_segments(std::string_view in) {
  std::string out;
  auto drop_last_segment = [&out] {
    auto slash = out.rfind('/');
    out.erase(slash == std::string::npos ? 0 : slash);
  };
  while (!in.empty()) {
    if (in.substr(0, 3) == "../") {
      in.remove_prefix(3);
    } else if (in.substr(0, 2) == "./") {
      in.remove_prefix(2);
    } else if (in.substr(0, 3) == "/./") {
      in.remove_prefix(2);
    } else if (in == "/.") {
      in = "/";
    } else if (in.substr(0, 4) == "/../") {
      in.remove_prefix(3);
      drop_last_segment();
    } else if (in == "/..") {
      in = "/";
      drop_last_segment();
    } else if (in == "." || in == "..") {
      in = {};
    } else {
      auto end = in.find('/', 1);
      out += in.substr(0, end);
      in = end == std::string_view::npos ? std::string_view() : in.substr(end);
    }
  }
  return out;
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
    } else if (name == "location") {
      head.location = std::string(value);
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
  url = url.substr(0, url.find('#'));
  auto authority_end = url.find_first_of("/?");
  std::string_view authority = url.substr(0, authority_end);
  HttpUrl out;
  if (authority_end != std::string_view::npos) {
    std::string_view rest = url.substr(authority_end);
    if (!clean_path(rest.front() == '?' ? "/" + std::string(rest) : std::string(rest), out.path,
                    error))
      return std::nullopt;
  }
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

std::string format_http_url(const HttpUrl& url) {
  std::string authority = url.port == 80 ? url.host : format_host_port(url.host, url.port);
  if (url.port == 80 && url.host.find(':') != std::string::npos) authority = "[" + url.host + "]";
  return "http://" + authority + url.path;
}

bool is_redirect_status(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

std::optional<HttpUrl> resolve_location(const HttpUrl& base, std::string_view location,
                                        std::string& error) {
  location = trim(location);
  if (location.empty()) {
    error = "empty Location";
    return std::nullopt;
  }
  // A scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" before any '/', '?' or '#'.
  auto colon = location.find(':');
  if (colon != std::string_view::npos && colon < location.find_first_of("/?#") &&
      std::isalpha(static_cast<unsigned char>(location.front())) &&
      std::all_of(location.begin(), location.begin() + colon, [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
      })) {
    if (lower(location.substr(0, colon)) != "http") {
      error = "refusing to follow a redirect to a non-http URL: " + std::string(location);
      return std::nullopt;
    }
    return parse_http_url(location, error);
  }
  if (location.substr(0, 2) == "//") return parse_http_url("http:" + std::string(location), error);

  location = location.substr(0, location.find('#'));
  auto split = [](std::string_view p) {
    auto q = p.find('?');
    return std::pair{p.substr(0, q), q == std::string_view::npos ? std::optional<std::string_view>()
                                                                 : p.substr(q + 1)};
  };
  auto [base_path, base_query] = split(base.path);
  auto [ref_path, ref_query] = split(location);
  std::string path;
  std::optional<std::string_view> query = ref_query;
  if (ref_path.empty()) {
    path = std::string(base_path);
    if (!query) query = base_query;
  } else if (ref_path.front() == '/') {
    path = remove_dot_segments(ref_path);
  } else {
    auto slash = base_path.rfind('/');
    std::string merged(base_path.substr(0, slash == std::string_view::npos ? 0 : slash + 1));
    merged += ref_path;
    path = remove_dot_segments(merged);
  }
  if (path.empty() || path.front() != '/') path.insert(path.begin(), '/');
  if (query) path += "?" + std::string(*query);
  HttpUrl out = base;
  if (!clean_path(path, out.path, error)) return std::nullopt;
  return out;
}

}  // namespace tpdp
