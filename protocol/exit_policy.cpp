#include "protocol/exit_policy.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstddef>

namespace tpdp {
namespace {

// Hostile input is bounded: no rule list grows without limit, and every token
// handed to inet_pton or a number parser is short.
constexpr std::size_t kMaxRules = 4096;
constexpr std::size_t kMaxAddressText = 45;  // INET6_ADDRSTRLEN - 1
constexpr std::size_t kMaxQuoted = 64;       // rule text echoed in error messages

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex_digit(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Echoes (part of) untrusted text safely: truncated, control and non-ASCII
// bytes escaped as \xNN.
std::string quote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  std::size_t n = std::min(s.size(), kMaxQuoted);
  for (std::size_t i = 0; i < n; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7f || c == '\\' || c == '\'') {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > n) out += "...";
  return out;
}

// Parses 1..max_digits decimal digits (leading zeros allowed) into *out.
bool parse_decimal(std::string_view s, std::size_t max_digits, unsigned* out) {
  if (s.empty() || s.size() > max_digits) return false;
  unsigned v = 0;
  for (char c : s) {
    if (!is_digit(c)) return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  *out = v;
  return true;
}

int max_bits(const IpAddress& a) {
  return a.v4 ? 32 : 128;
}

// IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes v4; anything else is unchanged.
IpAddress normalise(const IpAddress& a) {
  if (a.v4) return a;
  for (int i = 0; i < 10; ++i) {
    if (a.bytes[i] != 0) return a;
  }
  if (a.bytes[10] != 0xff || a.bytes[11] != 0xff) return a;
  IpAddress v4;
  v4.v4 = true;
  for (int i = 0; i < 4; ++i) v4.bytes[i] = a.bytes[12 + i];
  return v4;
}

// Zeroes every bit after the first `bits` (and the unused bytes of a v4 address).
IpAddress mask(const IpAddress& a, int bits) {
  IpAddress out = a;
  int total = max_bits(a);
  bits = std::clamp(bits, 0, total);
  for (int i = 0; i < 16; ++i) {
    int keep = std::clamp(bits - i * 8, 0, 8);  // bits of byte i inside the prefix
    if (i * 8 >= total) keep = 0;
    out.bytes[i] &= static_cast<std::uint8_t>(0xff00u >> keep);
  }
  return out;
}

bool prefix_equal(const IpAddress& a, const IpAddress& b, int bits) {
  bits = std::clamp(bits, 0, max_bits(a));
  int full = bits / 8;
  for (int i = 0; i < full; ++i) {
    if (a.bytes[i] != b.bytes[i]) return false;
  }
  int rest = bits % 8;
  if (rest == 0) return true;
  auto m = static_cast<std::uint8_t>(0xff00u >> rest);
  return (a.bytes[full] & m) == (b.bytes[full] & m);
}

// Parses one rule's text (already trimmed, non-empty). On error returns the reason.
std::optional<ExitRule> parse_rule(std::string_view text, std::string* why) {
  auto fail = [&](std::string reason) -> std::optional<ExitRule> {
    *why = std::move(reason);
    return std::nullopt;
  };

  ExitRule rule;
  std::size_t space = 0;
  while (space < text.size() && !is_space(text[space])) ++space;
  std::string_view word = text.substr(0, space);
  if (word == "accept") {
    rule.accept = true;
  } else if (word == "reject") {
    rule.accept = false;
  } else {
    return fail("expected 'accept' or 'reject'");
  }
  std::string_view rest = trim(text.substr(space));
  if (rest.empty()) return fail("missing address pattern after '" + std::string(word) + "'");
  std::size_t end = 0;
  while (end < rest.size() && !is_space(rest[end])) ++end;
  std::string_view pattern = rest.substr(0, end);
  std::string_view extra = trim(rest.substr(end));
  if (!extra.empty()) {
    return fail("unexpected text '" + quote(extra) + "' after the address pattern");
  }

  // Split the pattern into address, optional prefix and port.
  std::string_view addr, bits, port;
  bool have_bits = false;
  bool bracketed = false;
  if (pattern.front() == '[') {
    bracketed = true;
    auto close = pattern.find(']');
    if (close == std::string_view::npos) return fail("missing ']' after IPv6 address");
    addr = pattern.substr(1, close - 1);
    std::string_view after = pattern.substr(close + 1);
    if (!after.empty() && after.front() == '/') {
      auto colon = after.find(':');
      if (colon == std::string_view::npos) return fail("missing ':PORT' after the address");
      have_bits = true;
      bits = after.substr(1, colon - 1);
      port = after.substr(colon + 1);
    } else if (!after.empty() && after.front() == ':') {
      port = after.substr(1);
    } else if (after.empty()) {
      return fail("missing ':PORT' after the address");
    } else {
      return fail("unexpected '" + quote(after.substr(0, 1)) + "' after ']'");
    }
  } else {
    auto colon = pattern.find(':');
    if (colon == std::string_view::npos) return fail("missing ':PORT' after the address");
    std::string_view head = pattern.substr(0, colon);
    port = pattern.substr(colon + 1);
    auto slash = head.find('/');
    addr = head.substr(0, slash);
    if (slash != std::string_view::npos) {
      have_bits = true;
      bits = head.substr(slash + 1);
    }
    if (port.find(':') != std::string_view::npos && addr != "*" &&
        !(IpAddress::parse(addr) && addr.find(':') == std::string_view::npos)) {
      return fail("IPv6 addresses need brackets, e.g. '[::1]:80'");
    }
  }

  // Address and prefix.
  if (addr.empty()) return fail("missing address before ':'");
  if (!bracketed && addr == "*") {
    if (have_bits) return fail("'*' cannot take a prefix length");
    rule.any_address = true;
  } else {
    if (addr.find(']') != std::string_view::npos || addr.find('[') != std::string_view::npos) {
      return fail("bad address '" + quote(addr) + "'");
    }
    bool looks_v6 = addr.find(':') != std::string_view::npos;
    if (bracketed && !looks_v6) return fail("brackets are only for IPv6 addresses");
    if (!bracketed && looks_v6) return fail("IPv6 addresses need brackets, e.g. '[::1]:80'");
    auto ip = IpAddress::parse(addr);
    if (!ip) {
      if (looks_v6) return fail("bad IPv6 address '" + quote(addr) + "'");
      bool dotted =
          std::all_of(addr.begin(), addr.end(), [](char c) { return is_digit(c) || c == '.'; });
      if (dotted) return fail("bad IPv4 address '" + quote(addr) + "'");
      return fail("bad address '" + quote(addr) +
                  "' (expected '*', an IPv4 address or an IPv6 address in brackets)");
    }
    // Prefix lengths are read in the family the text was written in; an
    // IPv4-mapped v6 network becomes the v4 network it maps.
    int written_bits = looks_v6 ? 128 : 32;
    int prefix = written_bits;
    if (have_bits) {
      unsigned value = 0;
      if (!parse_decimal(bits, 3, &value) || value > static_cast<unsigned>(written_bits)) {
        return fail("bad prefix length '" + quote(bits) + "' (" + (looks_v6 ? "IPv6" : "IPv4") +
                    " allows 0-" + std::to_string(written_bits) + ")");
      }
      prefix = static_cast<int>(value);
    }
    if (looks_v6 && ip->v4) {
      if (prefix < 96) {
        return fail("prefix length " + std::to_string(prefix) +
                    " is too short for an IPv4-mapped address (needs 96-128)");
      }
      prefix -= 96;
    }
    rule.prefix_bits = prefix;
    rule.network = mask(*ip, prefix);
  }

  // Ports.
  if (port.empty()) return fail("missing port after ':'");
  if (port == "*") {
    rule.port_low = 1;
    rule.port_high = 65535;
  } else {
    auto bad_port = [&] {
      return fail("bad port '" + quote(port) +
                  "' (expected *, N or N-M with 1 <= N <= M <= 65535)");
    };
    auto dash = port.find('-');
    std::string_view low = port.substr(0, dash);
    std::string_view high = dash == std::string_view::npos ? low : port.substr(dash + 1);
    unsigned lo = 0, hi = 0;
    if (!parse_decimal(low, 5, &lo) || !parse_decimal(high, 5, &hi)) return bad_port();
    if (lo == 0 || hi == 0 || lo > 65535 || hi > 65535) return bad_port();
    if (lo > hi) {
      return fail("port range " + std::to_string(lo) + "-" + std::to_string(hi) + " is reversed");
    }
    rule.port_low = static_cast<std::uint16_t>(lo);
    rule.port_high = static_cast<std::uint16_t>(hi);
  }
  return rule;
}

ExitRule make_rule(bool accept, std::string_view address, int bits) {
  ExitRule r;
  r.accept = accept;
  auto ip = IpAddress::parse(address);  // constant, always valid
  if (ip) {
    r.network = mask(*ip, bits);
    r.prefix_bits = std::clamp(bits, 0, max_bits(*ip));
  }
  return r;
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.empty() || text.size() > kMaxAddressText) return std::nullopt;
  bool colon = false;
  for (char c : text) {
    if (c == ':') {
      colon = true;
    } else if (!is_hex_digit(c) && c != '.') {
      return std::nullopt;  // also keeps NULs and zone ids away from inet_pton
    }
  }
  std::string s(text);
  IpAddress a;
  if (!colon) {
    in_addr v4{};
    if (inet_pton(AF_INET, s.c_str(), &v4) != 1) return std::nullopt;
    a.v4 = true;
    const auto* p = reinterpret_cast<const std::uint8_t*>(&v4);
    std::copy(p, p + 4, a.bytes.begin());
    return a;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) != 1) return std::nullopt;
  a.v4 = false;
  const auto* p = reinterpret_cast<const std::uint8_t*>(&v6);
  std::copy(p, p + 16, a.bytes.begin());
  return normalise(a);
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (v4) {
    in_addr a{};
    std::copy(bytes.begin(), bytes.begin() + 4, reinterpret_cast<std::uint8_t*>(&a));
    if (!inet_ntop(AF_INET, &a, buf, sizeof buf)) return {};
  } else {
    in6_addr a{};
    std::copy(bytes.begin(), bytes.end(), reinterpret_cast<std::uint8_t*>(&a));
    if (!inet_ntop(AF_INET6, &a, buf, sizeof buf)) return {};
  }
  return buf;
}

bool ExitRule::matches(const IpAddress& a, std::uint16_t port) const {
  if (port < port_low || port > port_high) return false;
  if (any_address) return true;
  IpAddress target = normalise(a);
  if (target.v4 != network.v4) return false;
  return prefix_equal(target, network, prefix_bits);
}

std::string ExitRule::to_string() const {
  std::string out = accept ? "accept " : "reject ";
  if (any_address) {
    out += "*";
  } else {
    int bits = std::clamp(prefix_bits, 0, max_bits(network));
    if (network.v4) {
      out += network.to_string();
    } else {
      out += "[" + network.to_string() + "]";
    }
    if (bits != max_bits(network)) out += "/" + std::to_string(bits);
  }
  out += ":";
  if (port_low == 1 && port_high == 65535) {
    out += "*";
  } else if (port_low == port_high) {
    out += std::to_string(port_low);
  } else {
    out += std::to_string(port_low) + "-" + std::to_string(port_high);
  }
  return out;
}

std::optional<ExitPolicy> ExitPolicy::parse(std::string_view text, std::string* error) {
  ExitPolicy policy;
  if (trim(text).empty()) return policy;
  std::size_t index = 0;
  std::size_t start = 0;
  while (true) {
    ++index;
    auto comma = text.find(',', start);
    std::string_view raw = text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    std::string_view rule_text = trim(raw);
    auto fail = [&](const std::string& why) -> std::optional<ExitPolicy> {
      if (error) {
        *error =
            "exit policy rule " + std::to_string(index) + " '" + quote(rule_text) + "': " + why;
      }
      return std::nullopt;
    };
    if (index > kMaxRules) {
      return fail("too many rules (at most " + std::to_string(kMaxRules) + ")");
    }
    if (rule_text.empty()) return fail("empty rule (stray ',')");
    std::string why;
    auto rule = parse_rule(rule_text, &why);
    if (!rule) return fail(why);
    policy.rules_.push_back(*rule);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return policy;
}

void ExitPolicy::append(const ExitRule& rule) {
  rules_.push_back(rule);
}

void ExitPolicy::append(const ExitPolicy& other) {
  if (&other == this) {
    std::vector<ExitRule> copy = other.rules_;
    rules_.insert(rules_.end(), copy.begin(), copy.end());
    return;
  }
  rules_.insert(rules_.end(), other.rules_.begin(), other.rules_.end());
}

bool ExitPolicy::allows(const IpAddress& address, std::uint16_t port) const {
  for (const auto& rule : rules_) {
    if (rule.matches(address, port)) return rule.accept;
  }
  return false;
}

std::string ExitPolicy::to_string() const {
  std::string out;
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    if (i != 0) out += ", ";
    out += rules_[i].to_string();
  }
  return out;
}

ExitPolicy default_exit_policy(const std::vector<IpAddress>& own_addresses, bool lab) {
  ExitPolicy p;
  if (lab) {
    p.append(make_rule(true, "127.0.0.0", 8));
    p.append(make_rule(true, "::1", 128));
  }
  p.append(make_rule(false, "0.0.0.0", 8));
  p.append(make_rule(false, "127.0.0.0", 8));
  p.append(make_rule(false, "::", 128));
  p.append(make_rule(false, "::1", 128));
  p.append(make_rule(false, "169.254.0.0", 16));
  p.append(make_rule(false, "fe80::", 10));
  for (const auto& own : own_addresses) {
    ExitRule r;
    r.accept = false;
    r.network = mask(normalise(own), 128);
    r.prefix_bits = max_bits(r.network);
    p.append(r);
  }
  ExitRule all;
  all.accept = true;
  all.any_address = true;
  p.append(all);
  return p;
}

}  // namespace tpdp
