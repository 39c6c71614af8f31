// Exit policies: which destination addresses and ports an exit node will
// connect to. Tor-style rule text, first match wins. No sockets here: IP
// addresses are parsed and printed with inet_pton/inet_ntop only.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tpdp {

// An IP address in either family, as bytes (network order).
struct IpAddress {
  bool v4 = true;
  std::array<std::uint8_t, 16> bytes{};  // v4 uses the first 4 bytes

  // "1.2.3.4" or "::1" (no brackets, no zone). An IPv4-mapped IPv6 address
  // (::ffff:a.b.c.d) is normalised to v4.
  static std::optional<IpAddress> parse(std::string_view text);
  std::string to_string() const;
  bool operator==(const IpAddress&) const = default;
};

struct ExitRule {
  bool accept = false;
  bool any_address = false;  // "*" matches both families
  IpAddress network;         // masked to prefix_bits
  int prefix_bits = 0;       // 0..32 for v4, 0..128 for v6
  std::uint16_t port_low = 1, port_high = 65535;

  // An IPv4-mapped v6 address is matched as the IPv4 address it maps.
  bool matches(const IpAddress& a, std::uint16_t port) const;
  // Canonical form, e.g. "reject 127.0.0.0/8:*", "accept [::1]:80-443", "accept *:*".
  std::string to_string() const;
};

class ExitPolicy {
 public:
  // Tor-style comma-separated rules: `accept|reject ADDR[/BITS]:PORT[-PORT]`, ADDR is `*`, an IPv4
  // address, or an IPv6 address in brackets `[::1]`; PORT is `*`, N or N-M (1..65535, N<=M).
  // Whitespace around commas and between words is allowed. Empty text = empty policy.
  // On error returns nullopt and sets *error to a clear message naming the bad rule and why,
  // e.g. "exit policy rule 2 'acept *:80': expected 'accept' or 'reject'".
  static std::optional<ExitPolicy> parse(std::string_view text, std::string* error = nullptr);

  void append(const ExitRule& rule);
  void append(const ExitPolicy& other);

  // First matching rule wins; if no rule matches, the address is refused.
  bool allows(const IpAddress& address, std::uint16_t port) const;

  const std::vector<ExitRule>& rules() const { return rules_; }
  std::string to_string() const;  // rules joined by ", "

 private:
  std::vector<ExitRule> rules_;
};

// The default rules a node appends after the operator's own rules: refuse the node's own host
// (0.0.0.0/8, 127.0.0.0/8, ::/128, ::1/128, 169.254.0.0/16, fe80::/10, and each address in
// own_addresses as a /32 or /128), then "accept *:*". With lab = true, "accept 127.0.0.0/8:*" and
// "accept [::1]:*" come first (a one-machine lab network exits to loopback).
ExitPolicy default_exit_policy(const std::vector<IpAddress>& own_addresses, bool lab);

}  // namespace tpdp
