#include "protocol/host.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace tpdp;

namespace {

HostPort parsed(std::string_view text) {
  std::string error;
  auto hp = parse_host_port(text, &error);
  INFO("'" << text << "' error: " << error);
  REQUIRE(hp);
  CHECK(error.empty());
  return *hp;
}

std::string parse_error(std::string_view text) {
  std::string error;
  auto hp = parse_host_port(text, &error);
  INFO("'" << text << "'");
  CHECK_FALSE(hp);
  CHECK_FALSE(error.empty());
  CHECK_FALSE(parse_host_port(text));  // no error pointer: same answer
  return error;
}

}  // namespace

TEST_CASE("is_valid_host accepts IP literals and DNS names", "[host]") {
  for (std::string h :
       {"1.2.3.4", "0.0.0.0", "255.255.255.255", "::", "::1", "2001:db8::1", "fe80::1:2:3:4",
        "::ffff:192.0.2.1", "localhost", "example.com", "a-b_c.example.org", "EXAMPLE.COM", "x",
        "1.2.3.4.5", "999.1.1.1", "a.b.c.d.e.f"}) {
    INFO(h);
    CHECK(is_valid_host(h));
  }
  std::string max_label = std::string(63, 'a') + ".com";
  CHECK(is_valid_host(max_label));
  std::string max_name = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                         std::string(63, 'c') + "." + std::string(61, 'd');
  REQUIRE(max_name.size() == 253);
  CHECK(is_valid_host(max_name));
}

TEST_CASE("is_valid_host refuses everything else", "[host]") {
  for (std::string h : {std::string(),
                        std::string("."),
                        std::string(".example"),
                        std::string("a..b"),
                        std::string("exa mple"),
                        std::string("example.com/"),
                        std::string("user@example.com"),
                        std::string("[::1]"),
                        std::string("fe80::1%eth0"),
                        std::string("example.com."),
                        std::string("host:80"),
                        std::string("ex\xc3\xa4mple"),
                        std::string("\xff"),
                        std::string("a\tb"),
                        std::string("exa\0mple", 8),
                        std::string("\0", 1),
                        std::string(64, 'a') + ".com",
                        std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                            std::string(63, 'c') + "." + std::string(62, 'd'),
                        std::string(256, 'a'),
                        std::string("1:2:3:4:5:6:7:8:9")}) {
    INFO("'" << h << "' (" << h.size() << " bytes)");
    CHECK_FALSE(is_valid_host(h));
  }
}

TEST_CASE("is_ipv6_literal", "[host]") {
  CHECK(is_ipv6_literal("::1"));
  CHECK(is_ipv6_literal("2001:0db8:0000:0000:0000:ff00:0042:8329"));
  CHECK(is_ipv6_literal("0000:0000:0000:0000:0000:ffff:255.255.255.255"));  // 45 bytes
  CHECK_FALSE(is_ipv6_literal("1.2.3.4"));
  CHECK_FALSE(is_ipv6_literal("example.com"));
  CHECK_FALSE(is_ipv6_literal(""));
  CHECK_FALSE(is_ipv6_literal("[::1]"));
  CHECK_FALSE(is_ipv6_literal("00000:0000:0000:0000:0000:ffff:255.255.255.255"));
}

// inet_pton stops at a NUL; the host check must not.
TEST_CASE("IP literals with an embedded NUL are not valid hosts", "[host]") {
  CHECK_FALSE(is_valid_host(std::string("1.2.3.4\0", 8)));
  CHECK_FALSE(is_valid_host(std::string("127.0.0.1\0.evil.example", 23)));
  CHECK_FALSE(is_valid_host(std::string("::1\0", 4)));
  CHECK_FALSE(is_ipv6_literal(std::string("::1\0junk", 8)));
  CHECK_FALSE(parse_host_port(std::string("1.2.3.4\0:80", 11)));
}

TEST_CASE("parse_host_port accepts HOST:PORT", "[host]") {
  CHECK(parsed("example.com:80") == HostPort{"example.com", 80});
  CHECK(parsed("127.0.0.1:9001") == HostPort{"127.0.0.1", 9001});
  CHECK(parsed("localhost:1") == HostPort{"localhost", 1});
  CHECK(parsed("a:65535") == HostPort{"a", 65535});
  CHECK(parsed("[::1]:443") == HostPort{"::1", 443});
  CHECK(parsed("[2001:db8::7]:8080") == HostPort{"2001:db8::7", 8080});
  CHECK(parsed("[::ffff:1.2.3.4]:5") == HostPort{"::ffff:1.2.3.4", 5});
  CHECK(parsed("example.com:0080") == HostPort{"example.com", 80});
}

TEST_CASE("parse_host_port refuses bad input with a reason", "[host]") {
  CHECK(parse_error("example.com") == "missing port in 'example.com' (expected HOST:PORT)");
  CHECK(parse_error("") == "missing port in '' (expected HOST:PORT)");
  CHECK(parse_error("example.com:0") == "bad port in 'example.com:0' (expected HOST:PORT)");
  CHECK(parse_error("example.com:65536").find("bad port") == 0);
  CHECK(parse_error("example.com:").find("bad port") == 0);
  CHECK(parse_error("example.com:-1").find("bad port") == 0);
  CHECK(parse_error("example.com:+80").find("bad port") == 0);
  CHECK(parse_error("example.com:80a").find("bad port") == 0);
  CHECK(parse_error("example.com: 80").find("bad port") == 0);
  CHECK(parse_error("example.com:99999999999999999999").find("bad port") == 0);
  CHECK(parse_error(":80").find("bad host name") == 0);
  CHECK(parse_error("bad host:80").find("bad host name") == 0);
  CHECK(parse_error("::1:80").find("IPv6 addresses need brackets") == 0);
  CHECK(parse_error("[::1]").find("missing port") == 0);
  CHECK(parse_error("[::1]80").find("missing port") == 0);
  CHECK(parse_error("[::1:80").find("missing ']'") == 0);
  CHECK(parse_error("[]:80").find("bad IPv6 address") == 0);
  CHECK(parse_error("[1.2.3.4]:80").find("bad IPv6 address") == 0);
  CHECK(parse_error("[example.com]:80").find("bad IPv6 address") == 0);
  CHECK(parse_error("[::1]:0").find("bad port") == 0);
  CHECK(parse_error("[::1]:").find("bad port") == 0);
}

TEST_CASE("format_host_port is the inverse of parse_host_port", "[host]") {
  CHECK(format_host_port("example.com", 80) == "example.com:80");
  CHECK(format_host_port("1.2.3.4", 65535) == "1.2.3.4:65535");
  CHECK(format_host_port("::1", 9001) == "[::1]:9001");
  CHECK(format_host_port(HostPort{"2001:db8::1", 1}) == "[2001:db8::1]:1");
  for (auto text : {"example.com:80", "1.2.3.4:65535", "[::1]:9001", "[2001:db8::1]:1",
                    "a-b.c_d.example:443"}) {
    INFO(text);
    auto hp = parsed(text);
    CHECK(format_host_port(hp) == text);
    CHECK(parsed(format_host_port(hp)) == hp);
  }
}
