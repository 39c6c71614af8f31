#include "protocol/host.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace tpdp {
namespace {

bool is_ipv4_literal(std::string_view host) {
  std::string s(host);
  in_addr a{};
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool is_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

bool is_dns_name(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i < host.size(); ++i) {
    char c = host[i];
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (!is_label_char(c)) return false;
    if (++label > 63) return false;
  }
  return label > 0;
}

}  // namespace

bool is_ipv6_literal(std::string_view host) {
  if (host.empty() || host.size() > 45 || host.find('\0') != std::string_view::npos) return false;
  std::string s(host);
  in6_addr a{};
  return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

bool is_valid_host(std::string_view host) {
  if (host.empty() || host.size() > kMaxHostLength) return false;
  // inet_pton sees a C string: "1.2.3.4\0junk" must not pass as "1.2.3.4".
  if (host.find('\0') != std::string_view::npos) return false;
  return is_ipv4_literal(host) || is_ipv6_literal(host) || is_dns_name(host);
}

std::optional<HostPort> parse_host_port(std::string_view text, std::string* error) {
  auto fail = [&](const char* why) -> std::optional<HostPort> {
    if (error) *error = std::string(why) + " in '" + std::string(text) + "' (expected HOST:PORT)";
    return std::nullopt;
  };
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return fail("missing ']'");
    host = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':') return fail("missing port");
    port = text.substr(close + 2);
    if (!is_ipv6_literal(host)) return fail("bad IPv6 address");
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return fail("missing port");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return fail("IPv6 addresses need brackets");
  }
  if (!is_valid_host(host)) return fail("bad host name");
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 ||
      value > 65535) {
    return fail("bad port");
  }
  return HostPort{std::string(host), static_cast<std::uint16_t>(value)};
}

std::string format_host_port(std::string_view host, std::uint16_t port) {
  if (host.find(':') != std::string_view::npos) {
    return "[" + std::string(host) + "]:" + std::to_string(port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

}  // namespace tpdp
