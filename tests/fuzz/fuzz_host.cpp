// Fuzzes host names and HOST:PORT parsing: what is accepted must be a valid
// host, format back to text that parses to the same thing, and the two
// entry points must agree. (parse_pool_address lives in common/: not here.)
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/host.hpp"
#include "tests/fuzz/fuzz_common.hpp"

using namespace tpdp;
using namespace tpdp::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  bool valid = is_valid_host(text);
  bool v6 = is_ipv6_literal(text);
  if (v6) check(valid);
  if (valid) {
    check(!text.empty() && text.size() <= kMaxHostLength);
    check(host_charset_ok(text));
    check(text.find('[') == std::string_view::npos && text.find('%') == std::string_view::npos);
    // A host with ':' is an IPv6 literal (DNS names and IPv4 have none).
    check(v6 == (text.find(':') != std::string_view::npos));
    std::uint16_t port = size >= 2 ? static_cast<std::uint16_t>((data[0] << 8) | data[1]) : 1;
    if (port == 0) port = 1;
    for (std::uint16_t p : {std::uint16_t{1}, port, std::uint16_t{65535}}) {
      std::string formatted = format_host_port(text, p);
      std::string error;
      auto hp = parse_host_port(formatted, &error);
      check(hp.has_value() && error.empty());
      check(hp->host == text && hp->port == p);
    }
  }

  std::string error;
  auto hp = parse_host_port(text, &error);
  auto quiet = parse_host_port(text);
  check(hp.has_value() == quiet.has_value());
  if (hp) {
    check(error.empty());
    check(*hp == *quiet);
    check(hp->port != 0);
    check(is_valid_host(hp->host));
    check(host_charset_ok(hp->host));
    std::string formatted = format_host_port(*hp);
    auto again = parse_host_port(formatted);
    check(again.has_value() && *again == *hp);
    check(format_host_port(*again) == formatted);
    // The text is the host, a colon and the port (brackets for IPv6).
    check(formatted.size() <= text.size());
  } else {
    check(!error.empty());
  }
  return 0;
}
