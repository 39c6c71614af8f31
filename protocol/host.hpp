// Host names and HOST:PORT addresses as they appear on the wire and on
// command lines. No resolution here (protocol/ has no sockets).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tpdp {

inline constexpr std::size_t kMaxHostLength = 255;

// True for an IPv4 literal, an IPv6 literal (no brackets, no zone) or a DNS
// name (labels of letters, digits, '-' and '_', 1-63 bytes, 253 in all).
bool is_valid_host(std::string_view host);
bool is_ipv6_literal(std::string_view host);

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
  bool operator==(const HostPort&) const = default;
};

// "host:port", "1.2.3.4:80" or "[::1]:80". Port 1-65535.
std::optional<HostPort> parse_host_port(std::string_view text, std::string* error = nullptr);
// The inverse: IPv6 literals get brackets.
std::string format_host_port(std::string_view host, std::uint16_t port);
inline std::string format_host_port(const HostPort& hp) {
  return format_host_port(hp.host, hp.port);
}

}  // namespace tpdp
