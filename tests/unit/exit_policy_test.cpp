#include "protocol/exit_policy.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace tpdp;

namespace {

IpAddress ip(const char* text) {
  auto a = IpAddress::parse(text);
  REQUIRE(a.has_value());
  return *a;
}

ExitPolicy policy(const char* text) {
  std::string error;
  auto p = ExitPolicy::parse(text, &error);
  INFO("policy: " << text << " error: " << error);
  REQUIRE(p.has_value());
  CHECK(error.empty());
  return *p;
}

ExitRule rule(const char* text) {
  auto p = policy(text);
  REQUIRE(p.rules().size() == 1);
  return p.rules()[0];
}

std::string parse_error(const std::string& text) {
  std::string error;
  auto p = ExitPolicy::parse(text, &error);
  INFO("policy: " << text);
  CHECK_FALSE(p.has_value());
  CHECK_FALSE(error.empty());
  return error;
}

}  // namespace

TEST_CASE("IpAddress parses IPv4 literals", "[exit_policy]") {
  auto a = IpAddress::parse("1.2.3.4");
  REQUIRE(a);
  CHECK(a->v4);
  CHECK(a->bytes[0] == 1);
  CHECK(a->bytes[1] == 2);
  CHECK(a->bytes[2] == 3);
  CHECK(a->bytes[3] == 4);
  for (int i = 4; i < 16; ++i) CHECK(a->bytes[i] == 0);
  CHECK(a->to_string() == "1.2.3.4");
  CHECK(ip("0.0.0.0").to_string() == "0.0.0.0");
  CHECK(ip("255.255.255.255").to_string() == "255.255.255.255");
}

TEST_CASE("IpAddress parses IPv6 literals", "[exit_policy]") {
  auto a = IpAddress::parse("::1");
  REQUIRE(a);
  CHECK_FALSE(a->v4);
  for (int i = 0; i < 15; ++i) CHECK(a->bytes[i] == 0);
  CHECK(a->bytes[15] == 1);
  CHECK(a->to_string() == "::1");
  CHECK(ip("::").to_string() == "::");
  CHECK(ip("2001:DB8:0:0:0:0:0:1").to_string() == "2001:db8::1");
  CHECK(ip("fe80::1").bytes[0] == 0xfe);
  CHECK(ip("fe80::1").bytes[1] == 0x80);
  CHECK(ip("1:2:3:4:5:6:7:8").to_string() == "1:2:3:4:5:6:7:8");
}

TEST_CASE("IpAddress normalises IPv4-mapped IPv6 to IPv4", "[exit_policy]") {
  auto a = IpAddress::parse("::ffff:127.0.0.1");
  REQUIRE(a);
  CHECK(a->v4);
  CHECK(*a == ip("127.0.0.1"));
  CHECK(a->to_string() == "127.0.0.1");
  CHECK(ip("::ffff:7f00:1") == ip("127.0.0.1"));
  CHECK(ip("::FFFF:10.1.2.3") == ip("10.1.2.3"));
  // Not mapped: IPv4-compatible and other prefixes stay IPv6.
  CHECK_FALSE(ip("::127.0.0.1").v4);
  CHECK_FALSE(ip("::fffe:127.0.0.1").v4);
  CHECK_FALSE(ip("1::ffff:127.0.0.1").v4);
}

TEST_CASE("IpAddress rejects malformed text", "[exit_policy]") {
  const char* bad[] = {"",           " 1.2.3.4",
                       "1.2.3.4 ",   "1.2.3",
                       "1.2.3.4.5",  "256.1.1.1",
                       "1.2.3.-4",   "a.b.c.d",
                       "1.2.3.4/8",  "[::1]",
                       "::1%eth0",   "fe80::1%1",
                       ":::",        "1:2:3:4:5:6:7:8:9",
                       "12345::",    "::g",
                       "localhost",  "*",
                       "1.2.3.4:80", "0000000000000000000000000000000000000000000000000000::1"};
  for (const char* text : bad) {
    INFO(text);
    CHECK_FALSE(IpAddress::parse(text).has_value());
  }
  // Embedded NUL must not be cut off by inet_pton.
  CHECK_FALSE(IpAddress::parse(std::string_view("1.2.3.4\0junk", 12)).has_value());
  CHECK_FALSE(IpAddress::parse(std::string_view("::1\0", 4)).has_value());
}

TEST_CASE("IpAddress round trips through to_string", "[exit_policy]") {
  for (const char* text :
       {"1.2.3.4", "10.0.0.0", "::", "::1", "fe80::", "2001:db8::abcd:1", "::127.0.0.1",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "1:0:0:2::", "64:ff9b::1.2.3.4"}) {
    auto a = ip(text);
    auto b = IpAddress::parse(a.to_string());
    INFO(text << " -> " << a.to_string());
    REQUIRE(b);
    CHECK(*b == a);
  }
}

TEST_CASE("Empty and blank text parse to an empty policy", "[exit_policy]") {
  for (const char* text : {"", " ", "\t\n  \r\n"}) {
    auto p = policy(text);
    CHECK(p.rules().empty());
    CHECK(p.to_string().empty());
    CHECK_FALSE(p.allows(ip("1.2.3.4"), 80));
  }
}

TEST_CASE("Parses each rule form", "[exit_policy]") {
  SECTION("accept *:*") {
    auto r = rule("accept *:*");
    CHECK(r.accept);
    CHECK(r.any_address);
    CHECK(r.port_low == 1);
    CHECK(r.port_high == 65535);
    CHECK(r.to_string() == "accept *:*");
  }
  SECTION("reject * with one port") {
    auto r = rule("reject *:25");
    CHECK_FALSE(r.accept);
    CHECK(r.any_address);
    CHECK(r.port_low == 25);
    CHECK(r.port_high == 25);
    CHECK(r.to_string() == "reject *:25");
  }
  SECTION("port range") {
    auto r = rule("accept *:80-443");
    CHECK(r.port_low == 80);
    CHECK(r.port_high == 443);
    CHECK(r.to_string() == "accept *:80-443");
  }
  SECTION("IPv4 host") {
    auto r = rule("reject 1.2.3.4:*");
    CHECK_FALSE(r.any_address);
    CHECK(r.network == ip("1.2.3.4"));
    CHECK(r.prefix_bits == 32);
    CHECK(r.to_string() == "reject 1.2.3.4:*");
  }
  SECTION("IPv4 network") {
    auto r = rule("reject 127.0.0.0/8:*");
    CHECK(r.network == ip("127.0.0.0"));
    CHECK(r.prefix_bits == 8);
    CHECK(r.to_string() == "reject 127.0.0.0/8:*");
  }
  SECTION("IPv4 network is masked") {
    auto r = rule("reject 10.1.2.3/8:*");
    CHECK(r.network == ip("10.0.0.0"));
    CHECK(r.to_string() == "reject 10.0.0.0/8:*");
    CHECK(rule("accept 192.168.77.200/20:22").to_string() == "accept 192.168.64.0/20:22");
    CHECK(rule("accept 1.2.3.4/0:*").to_string() == "accept 0.0.0.0/0:*");
    CHECK(rule("accept 1.2.3.5/31:*").to_string() == "accept 1.2.3.4/31:*");
  }
  SECTION("IPv4 /32 is written without a prefix") {
    CHECK(rule("accept 1.2.3.4/32:*").to_string() == "accept 1.2.3.4:*");
    CHECK(rule("accept 1.2.3.4/32:*").prefix_bits == 32);
  }
  SECTION("IPv6 host") {
    auto r = rule("accept [::1]:80-443");
    CHECK(r.accept);
    CHECK_FALSE(r.network.v4);
    CHECK(r.network == ip("::1"));
    CHECK(r.prefix_bits == 128);
    CHECK(r.to_string() == "accept [::1]:80-443");
  }
  SECTION("IPv6 network") {
    auto r = rule("reject [fe80::1234]/10:*");
    CHECK(r.network == ip("fe80::"));
    CHECK(r.prefix_bits == 10);
    CHECK(r.to_string() == "reject [fe80::]/10:*");
    CHECK(rule("reject [::1]/128:*").to_string() == "reject [::1]:*");
    CHECK(rule("reject [2001:db8::]/0:*").to_string() == "reject [::]/0:*");
    CHECK(rule("reject [2001:DB8:0::1]/32:443").to_string() == "reject [2001:db8::]/32:443");
  }
  SECTION("IPv4-mapped IPv6 becomes an IPv4 rule") {
    auto r = rule("reject [::ffff:127.0.0.1]:*");
    CHECK(r.network.v4);
    CHECK(r.prefix_bits == 32);
    CHECK(r.to_string() == "reject 127.0.0.1:*");
    auto n = rule("reject [::ffff:10.9.8.7]/104:*");
    CHECK(n.prefix_bits == 8);
    CHECK(n.to_string() == "reject 10.0.0.0/8:*");
    CHECK(rule("reject [::ffff:1.2.3.4]/96:*").to_string() == "reject 0.0.0.0/0:*");
  }
  SECTION("ports written in full and with leading zeros are canonicalised") {
    CHECK(rule("accept *:1-65535").to_string() == "accept *:*");
    CHECK(rule("accept *:7-7").to_string() == "accept *:7");
    CHECK(rule("accept *:080").to_string() == "accept *:80");
    CHECK(rule("accept *:1").port_low == 1);
    CHECK(rule("accept *:65535").port_high == 65535);
    CHECK(rule("accept *:65535-65535").to_string() == "accept *:65535");
    CHECK(rule("accept 1.2.3.4/08:*").prefix_bits == 8);
  }
}

TEST_CASE("Whitespace around commas and between words", "[exit_policy]") {
  auto p = policy("  accept\t 1.2.3.4:80 ,reject   *:*  ,\n accept [::1]:* ");
  REQUIRE(p.rules().size() == 3);
  CHECK(p.to_string() == "accept 1.2.3.4:80, reject *:*, accept [::1]:*");
}

TEST_CASE("Canonical text round trips", "[exit_policy]") {
  const char* texts[] = {
      "accept *:*",
      "reject *:*",
      "reject 127.0.0.0/8:*, accept [::1]:80-443, accept *:*",
      "accept 0.0.0.0/0:*, reject [::]/0:*",
      ("reject 0.0.0.0/8:*, reject 127.0.0.0/8:*, reject [::]:*, reject [::1]:*, "
       "reject 169.254.0.0/16:*, reject [fe80::]/10:*, accept *:*"),
      "accept 10.0.0.0/8:22, accept 10.0.0.0/8:80-89, reject [2001:db8::]/32:1-1024",
  };
  for (const char* text : texts) {
    auto p = policy(text);
    CHECK(p.to_string() == text);
    auto again = ExitPolicy::parse(p.to_string());
    REQUIRE(again);
    CHECK(again->to_string() == p.to_string());
    for (std::size_t i = 0; i < p.rules().size(); ++i) {
      CHECK(rule(p.rules()[i].to_string().c_str()).to_string() == p.rules()[i].to_string());
    }
  }

  // Non-canonical input becomes canonical and then stays fixed.
  auto p = policy("accept 1.2.3.4/24:1-65535 ,  reject [::FFFF:1.2.3.4]:0080-80");
  CHECK(p.to_string() == "accept 1.2.3.0/24:*, reject 1.2.3.4:80");
  CHECK(policy(p.to_string().c_str()).to_string() == p.to_string());
}

TEST_CASE("First matching rule wins", "[exit_policy]") {
  auto p = policy("reject 1.2.3.4:*, accept 1.2.3.0/24:*, reject *:*");
  CHECK_FALSE(p.allows(ip("1.2.3.4"), 80));
  CHECK(p.allows(ip("1.2.3.5"), 80));
  CHECK_FALSE(p.allows(ip("1.2.4.5"), 80));

  auto q = policy("accept 1.2.3.0/24:*, reject 1.2.3.4:*");
  CHECK(q.allows(ip("1.2.3.4"), 80));

  auto ports = policy("accept *:80, reject *:1-1024, accept *:*");
  CHECK(ports.allows(ip("8.8.8.8"), 80));
  CHECK_FALSE(ports.allows(ip("8.8.8.8"), 25));
  CHECK_FALSE(ports.allows(ip("8.8.8.8"), 1024));
  CHECK(ports.allows(ip("8.8.8.8"), 1025));
  CHECK(ports.allows(ip("::1"), 8080));
}

TEST_CASE("No matching rule refuses", "[exit_policy]") {
  auto p = policy("accept 10.0.0.0/8:*");
  CHECK(p.allows(ip("10.1.1.1"), 1));
  CHECK_FALSE(p.allows(ip("11.1.1.1"), 1));
  CHECK_FALSE(p.allows(ip("::1"), 1));
  CHECK_FALSE(ExitPolicy{}.allows(ip("1.1.1.1"), 443));
}

TEST_CASE("IPv4 prefix matching", "[exit_policy]") {
  SECTION("/0 matches every IPv4 address and no IPv6 address") {
    auto r = rule("accept 0.0.0.0/0:*");
    CHECK(r.matches(ip("0.0.0.0"), 80));
    CHECK(r.matches(ip("255.255.255.255"), 80));
    CHECK(r.matches(ip("::ffff:1.2.3.4"), 80));
    CHECK_FALSE(r.matches(ip("::"), 80));
    CHECK_FALSE(r.matches(ip("::1"), 80));
  }
  SECTION("/8") {
    auto r = rule("reject 127.0.0.0/8:*");
    CHECK(r.matches(ip("127.0.0.1"), 1));
    CHECK(r.matches(ip("127.255.255.255"), 65535));
    CHECK_FALSE(r.matches(ip("126.255.255.255"), 1));
    CHECK_FALSE(r.matches(ip("128.0.0.0"), 1));
  }
  SECTION("/31") {
    auto r = rule("accept 10.0.0.2/31:*");
    CHECK(r.matches(ip("10.0.0.2"), 1));
    CHECK(r.matches(ip("10.0.0.3"), 1));
    CHECK_FALSE(r.matches(ip("10.0.0.1"), 1));
    CHECK_FALSE(r.matches(ip("10.0.0.4"), 1));
  }
  SECTION("/32") {
    auto r = rule("accept 10.0.0.2/32:*");
    CHECK(r.matches(ip("10.0.0.2"), 1));
    CHECK_FALSE(r.matches(ip("10.0.0.3"), 1));
  }
  SECTION("odd prefix /20") {
    auto r = rule("accept 192.168.64.0/20:*");
    CHECK(r.matches(ip("192.168.64.0"), 1));
    CHECK(r.matches(ip("192.168.79.255"), 1));
    CHECK_FALSE(r.matches(ip("192.168.80.0"), 1));
    CHECK_FALSE(r.matches(ip("192.168.63.255"), 1));
  }
  SECTION("an IPv4 rule does not match the IPv4-compatible IPv6 form") {
    auto r = rule("reject 1.2.3.4:*");
    CHECK_FALSE(r.matches(ip("::1.2.3.4"), 1));
  }
}

TEST_CASE("IPv6 prefix matching", "[exit_policy]") {
  SECTION("/0 matches every IPv6 address and no IPv4 address") {
    auto r = rule("accept [::]/0:*");
    CHECK(r.matches(ip("::"), 1));
    CHECK(r.matches(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 1));
    CHECK_FALSE(r.matches(ip("1.2.3.4"), 1));
    CHECK_FALSE(r.matches(ip("::ffff:1.2.3.4"), 1));
  }
  SECTION("/10") {
    auto r = rule("reject [fe80::]/10:*");
    CHECK(r.matches(ip("fe80::1"), 1));
    CHECK(r.matches(ip("febf:ffff::1"), 1));
    CHECK_FALSE(r.matches(ip("fec0::1"), 1));
    CHECK_FALSE(r.matches(ip("fe7f::1"), 1));
    CHECK_FALSE(r.matches(ip("::1"), 1));
  }
  SECTION("/64") {
    auto r = rule("accept [2001:db8:1:2::]/64:*");
    CHECK(r.matches(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"), 1));
    CHECK_FALSE(r.matches(ip("2001:db8:1:3::"), 1));
  }
  SECTION("/127") {
    auto r = rule("accept [2001:db8::2]/127:*");
    CHECK(r.matches(ip("2001:db8::2"), 1));
    CHECK(r.matches(ip("2001:db8::3"), 1));
    CHECK_FALSE(r.matches(ip("2001:db8::4"), 1));
  }
  SECTION("/128") {
    auto r = rule("reject [::1]/128:*");
    CHECK(r.matches(ip("::1"), 1));
    CHECK_FALSE(r.matches(ip("::"), 1));
    CHECK_FALSE(r.matches(ip("::2"), 1));
    CHECK_FALSE(r.matches(ip("127.0.0.1"), 1));
  }
}

TEST_CASE("* matches both families", "[exit_policy]") {
  auto r = rule("reject *:22");
  CHECK(r.matches(ip("1.2.3.4"), 22));
  CHECK(r.matches(ip("::1"), 22));
  CHECK(r.matches(ip("2001:db8::1"), 22));
  CHECK_FALSE(r.matches(ip("1.2.3.4"), 23));
}

TEST_CASE("Port ranges", "[exit_policy]") {
  auto r = rule("accept *:80-443");
  CHECK_FALSE(r.matches(ip("1.1.1.1"), 79));
  CHECK(r.matches(ip("1.1.1.1"), 80));
  CHECK(r.matches(ip("1.1.1.1"), 200));
  CHECK(r.matches(ip("1.1.1.1"), 443));
  CHECK_FALSE(r.matches(ip("1.1.1.1"), 444));

  auto one = rule("accept *:1");
  CHECK(one.matches(ip("1.1.1.1"), 1));
  CHECK_FALSE(one.matches(ip("1.1.1.1"), 2));

  auto all = rule("accept *:*");
  CHECK(all.matches(ip("1.1.1.1"), 1));
  CHECK(all.matches(ip("1.1.1.1"), 65535));
  CHECK_FALSE(all.matches(ip("1.1.1.1"), 0));  // port 0 is never a destination
}

TEST_CASE("IPv4-mapped destinations are matched as IPv4", "[exit_policy]") {
  // A mapped address built by hand (not via parse) must not slip past IPv4 rules.
  IpAddress mapped;
  mapped.v4 = false;
  mapped.bytes[10] = 0xff;
  mapped.bytes[11] = 0xff;
  mapped.bytes[12] = 127;
  mapped.bytes[15] = 1;
  auto p = policy("reject 127.0.0.0/8:*, accept *:*");
  CHECK_FALSE(p.allows(mapped, 80));
  CHECK_FALSE(p.allows(ip("::ffff:127.0.0.1"), 80));
  CHECK(p.allows(ip("::ffff:128.0.0.1"), 80));
  auto v6only = policy("reject [::]/0:*, accept *:*");
  CHECK(v6only.allows(mapped, 80));
}

TEST_CASE("append", "[exit_policy]") {
  auto p = policy("reject *:25");
  p.append(rule("accept 1.2.3.4:*"));
  CHECK(p.to_string() == "reject *:25, accept 1.2.3.4:*");
  p.append(policy("reject [::1]:*, accept *:*"));
  CHECK(p.to_string() == "reject *:25, accept 1.2.3.4:*, reject [::1]:*, accept *:*");
  p.append(p);
  CHECK(p.rules().size() == 8);
  CHECK(p.to_string() ==
        "reject *:25, accept 1.2.3.4:*, reject [::1]:*, accept *:*, "
        "reject *:25, accept 1.2.3.4:*, reject [::1]:*, accept *:*");
  ExitPolicy empty;
  empty.append(ExitPolicy{});
  CHECK(empty.rules().empty());
}

TEST_CASE("Default exit policy", "[exit_policy]") {
  SECTION("rules and order") {
    auto p = default_exit_policy({ip("192.0.2.7"), ip("2001:db8::7")}, false);
    CHECK(p.to_string() ==
          "reject 0.0.0.0/8:*, reject 127.0.0.0/8:*, reject [::]:*, reject [::1]:*, "
          "reject 169.254.0.0/16:*, reject [fe80::]/10:*, reject 192.0.2.7:*, "
          "reject [2001:db8::7]:*, accept *:*");
    auto lab = default_exit_policy({}, true);
    CHECK(lab.to_string() ==
          "accept 127.0.0.0/8:*, accept [::1]:*, reject 0.0.0.0/8:*, reject 127.0.0.0/8:*, "
          "reject [::]:*, reject [::1]:*, reject 169.254.0.0/16:*, reject [fe80::]/10:*, "
          "accept *:*");
    // The default policy text itself parses back to the same rules.
    auto again = ExitPolicy::parse(lab.to_string());
    REQUIRE(again);
    CHECK(again->to_string() == lab.to_string());
  }
  SECTION("loopback and the node's own host are refused") {
    auto p = default_exit_policy({ip("192.0.2.7"), ip("2001:db8::7")}, false);
    for (const char* a :
         {"127.0.0.1", "127.1.2.3", "0.0.0.0", "0.1.2.3", "::", "::1", "169.254.169.254", "fe80::1",
          "febf::1", "192.0.2.7", "2001:db8::7", "::ffff:127.0.0.1", "::ffff:192.0.2.7"}) {
      INFO(a);
      CHECK_FALSE(p.allows(ip(a), 80));
      CHECK_FALSE(p.allows(ip(a), 443));
    }
  }
  SECTION("everything else is accepted") {
    auto p = default_exit_policy({ip("192.0.2.7"), ip("2001:db8::7")}, false);
    for (const char* a :
         {"1.1.1.1", "8.8.8.8", "192.0.2.8", "192.0.2.6", "128.0.0.1", "126.255.255.255", "1.0.0.0",
          "169.253.0.1", "2001:db8::8", "2606:4700::1111", "fec0::1", "::2", "::ffff:8.8.8.8"}) {
      INFO(a);
      CHECK(p.allows(ip(a), 80));
      CHECK(p.allows(ip(a), 65535));
    }
    CHECK_FALSE(p.allows(ip("8.8.8.8"), 0));
  }
  SECTION("lab mode exits to loopback but still refuses the rest of the host") {
    auto p = default_exit_policy({ip("192.0.2.7")}, true);
    CHECK(p.allows(ip("127.0.0.1"), 9000));
    CHECK(p.allows(ip("127.0.0.2"), 9000));
    CHECK(p.allows(ip("::1"), 9000));
    CHECK(p.allows(ip("::ffff:127.0.0.1"), 9000));
    CHECK_FALSE(p.allows(ip("0.0.0.0"), 9000));
    CHECK_FALSE(p.allows(ip("::"), 9000));
    CHECK_FALSE(p.allows(ip("169.254.1.1"), 9000));
    CHECK_FALSE(p.allows(ip("fe80::1"), 9000));
    CHECK_FALSE(p.allows(ip("192.0.2.7"), 9000));
    CHECK(p.allows(ip("1.1.1.1"), 9000));
  }
  SECTION("operator rules come first") {
    auto p = policy("reject *:25, accept 127.0.0.1:8080");
    p.append(default_exit_policy({}, false));
    CHECK_FALSE(p.allows(ip("1.2.3.4"), 25));
    CHECK(p.allows(ip("1.2.3.4"), 26));
    CHECK(p.allows(ip("127.0.0.1"), 8080));
    CHECK_FALSE(p.allows(ip("127.0.0.1"), 8081));
  }
  SECTION("own addresses given as mapped IPv6 are refused as IPv4") {
    IpAddress mapped;
    mapped.v4 = false;
    mapped.bytes[10] = 0xff;
    mapped.bytes[11] = 0xff;
    mapped.bytes[12] = 192;
    mapped.bytes[13] = 0;
    mapped.bytes[14] = 2;
    mapped.bytes[15] = 9;
    auto p = default_exit_policy({mapped}, false);
    CHECK_FALSE(p.allows(ip("192.0.2.9"), 80));
    CHECK(p.allows(ip("192.0.2.10"), 80));
  }
}

TEST_CASE("The error names the rule and the reason", "[exit_policy]") {
  auto e = parse_error("accept *:*, acept *:80");
  CHECK(e == "exit policy rule 2 'acept *:80': expected 'accept' or 'reject'");
  e = parse_error("accept *:0");
  CHECK(e.find("exit policy rule 1 'accept *:0'") == 0);
  CHECK(e.find("port") != std::string::npos);
  e = parse_error("accept *:*, reject 1.2.3.4/33:*");
  CHECK(e.find("exit policy rule 2 'reject 1.2.3.4/33:*'") == 0);
  CHECK(e.find("prefix") != std::string::npos);
  e = parse_error("reject 1.2.3.4");
  CHECK(e.find("':PORT'") != std::string::npos);
  e = parse_error("accept *:443-80");
  CHECK(e.find("reversed") != std::string::npos);
  e = parse_error("accept ::1:80");
  CHECK(e.find("brackets") != std::string::npos);
  e = parse_error("accept example.com:80");
  CHECK(e.find("bad address 'example.com'") != std::string::npos);
  e = parse_error("accept *:");
  CHECK(e.find("missing port") != std::string::npos);
  e = parse_error("accept 1.2.3:80");
  CHECK(e.find("bad IPv4 address '1.2.3'") != std::string::npos);
  e = parse_error("accept [::g]:80");
  CHECK(e.find("bad IPv6 address '::g'") != std::string::npos);
  e = parse_error("accept */8:*");
  CHECK(e.find("'*' cannot take a prefix length") != std::string::npos);
  e = parse_error("accept *:80 junk");
  CHECK(e.find("unexpected text 'junk'") != std::string::npos);
  e = parse_error("accept *:*,,reject *:*");
  CHECK(e.find("exit policy rule 2 ''") == 0);
}

TEST_CASE("Malformed rules are rejected with a message naming the rule", "[exit_policy]") {
  struct Bad {
    const char* text;
    const char* rule;  // the rule text expected in the message, with its number
  };
  const Bad bad[] = {
      {"acept *:80", "rule 1 'acept *:80'"},
      {"Accept *:80", "rule 1 'Accept *:80'"},
      {"accept6 *:80", "rule 1 'accept6 *:80'"},
      {"accept", "rule 1 'accept'"},
      {"reject   ", "rule 1 'reject'"},
      {"accept*:*", "rule 1 'accept*:*'"},
      {"accept *", "rule 1 'accept *'"},
      {"accept *:", "rule 1 'accept *:'"},
      {"accept :80", "rule 1 'accept :80'"},
      {"accept *:0", "rule 1 'accept *:0'"},
      {"accept *:65536", "rule 1 'accept *:65536'"},
      {"accept *:99999", "rule 1 'accept *:99999'"},
      {"accept *:123456", "rule 1 'accept *:123456'"},
      {"accept *:-80", "rule 1 'accept *:-80'"},
      {"accept *:80-", "rule 1 'accept *:80-'"},
      {"accept *:0-80", "rule 1 'accept *:0-80'"},
      {"accept *:80-0", "rule 1 'accept *:80-0'"},
      {"accept *:80-443-500", "rule 1 'accept *:80-443-500'"},
      {"accept *:443-80", "rule 1 'accept *:443-80'"},
      {"accept *:+80", "rule 1 'accept *:+80'"},
      {"accept *:80a", "rule 1 'accept *:80a'"},
      {"accept *:**", "rule 1 'accept *:**'"},
      {"accept *:*-80", "rule 1 'accept *:*-80'"},
      {"accept *:80:90", "rule 1 'accept *:80:90'"},
      {"accept 1.2.3.4:80:90", "rule 1 'accept 1.2.3.4:80:90'"},
      {"accept * :80", "rule 1 'accept * :80'"},
      {"accept *: 80", "rule 1 'accept *: 80'"},
      {"accept *:80 extra", "rule 1 'accept *:80 extra'"},
      {"accept */8:*", "rule 1 'accept */8:*'"},
      {"accept **:*", "rule 1 'accept **:*'"},
      {"accept 1.2.3:*", "rule 1 'accept 1.2.3:*'"},
      {"accept 256.0.0.1:*", "rule 1 'accept 256.0.0.1:*'"},
      {"accept 1.2.3.4/33:*", "rule 1 'accept 1.2.3.4/33:*'"},
      {"accept 1.2.3.4/-1:*", "rule 1 'accept 1.2.3.4/-1:*'"},
      {"accept 1.2.3.4/:*", "rule 1 'accept 1.2.3.4/:*'"},
      {"accept 1.2.3.4/8/8:*", "rule 1 'accept 1.2.3.4/8/8:*'"},
      {"accept 1.2.3.4/255.0.0.0:*", "rule 1 'accept 1.2.3.4/255.0.0.0:*'"},
      {"accept 1.2.3.4/0008:*", "rule 1 'accept 1.2.3.4/0008:*'"},
      {"accept 1.2.3.4/4294967304:*", "rule 1 'accept 1.2.3.4/4294967304:*'"},
      {"accept example.com:80", "rule 1 'accept example.com:80'"},
      {"accept ::1:80", "rule 1 'accept ::1:80'"},
      {"accept fe80::1:80", "rule 1 'accept fe80::1:80'"},
      {"accept [::1]", "rule 1 'accept [::1]'"},
      {"accept [::1:80", "rule 1 'accept [::1:80'"},
      {"accept [::1]80", "rule 1 'accept [::1]80'"},
      {"accept [::1]]:80", "rule 1 'accept [::1]]:80'"},
      {"accept [[::1]]:80", "rule 1 'accept [[::1]]:80'"},
      {"accept []:80", "rule 1 'accept []:80'"},
      {"accept [*]:80", "rule 1 'accept [*]:80'"},
      {"accept [1.2.3.4]:80", "rule 1 'accept [1.2.3.4]:80'"},
      {"accept [::g]:80", "rule 1 'accept [::g]:80'"},
      {"accept [::1%eth0]:80", "rule 1 'accept [::1%eth0]:80'"},
      {"accept [::1]/129:80", "rule 1 'accept [::1]/129:80'"},
      {"accept [::1]/1000:80", "rule 1 'accept [::1]/1000:80'"},
      {"accept [::1]/64", "rule 1 'accept [::1]/64'"},
      {"accept [::ffff:1.2.3.4]/95:*", "rule 1 'accept [::ffff:1.2.3.4]/95:*'"},
      {"accept 1.2.3.4:*,", "rule 2 ''"},
      {",accept 1.2.3.4:*", "rule 1 ''"},
      {"accept *:*, , reject *:*", "rule 2 ''"},
      {"accept *:*, reject *:*, accept *:*, bogus", "rule 4 'bogus'"},
      {"accept *:* reject *:*", "rule 1 'accept *:* reject *:*'"},
      {"accept *:*; reject *:*", "rule 1 'accept *:*; reject *:*'"},
  };
  for (const auto& b : bad) {
    auto e = parse_error(b.text);
    INFO("policy: " << b.text << " error: " << e);
    std::string prefix = std::string("exit policy ") + b.rule + ": ";
    CHECK(e.find(prefix) == 0);
    CHECK(e.size() > prefix.size());  // a reason follows the rule
  }
}

TEST_CASE("Parse failures without an error pointer", "[exit_policy]") {
  CHECK_FALSE(ExitPolicy::parse("accept *:0").has_value());
  CHECK_FALSE(ExitPolicy::parse("nope").has_value());
  CHECK(ExitPolicy::parse("accept *:1").has_value());
}

TEST_CASE("Hostile input is bounded and echoed safely", "[exit_policy]") {
  SECTION("a huge bad rule is truncated in the message") {
    std::string text = "accept " + std::string(100000, '1') + ":80";
    auto e = parse_error(text);
    CHECK(e.size() < 400);
    CHECK(e.find("exit policy rule 1 '") == 0);
  }
  SECTION("control bytes and quotes are escaped") {
    const char raw[] = "accept \x01\x7f'\xff\n:80";
    std::string text(raw, sizeof raw - 1);
    auto e = parse_error(text);
    for (char c : e) {
      CHECK(static_cast<unsigned char>(c) >= 0x20);
      CHECK(static_cast<unsigned char>(c) < 0x7f);
    }
  }
  SECTION("embedded NUL is not a terminator") {
    auto e = parse_error(std::string("accept 1.2.3.4\0:80", 18));
    CHECK(e.find("\\x00") != std::string::npos);
    parse_error(std::string("accept *:80\0", 12));
    parse_error(std::string("accept [::1\0]:80", 16));
  }
  SECTION("a huge port or prefix does not overflow") {
    parse_error("accept *:" + std::string(1000, '9'));
    parse_error("accept 1.2.3.4/" + std::string(1000, '9') + ":*");
    parse_error("accept *:" + std::string(1000, '0') + "80");
  }
  SECTION("many commas") {
    parse_error(std::string(100000, ','));
  }
  SECTION("many valid rules up to the limit, then too many") {
    std::string text;
    for (int i = 0; i < 4096; ++i) {
      if (i) text += ",";
      text += "reject *:" + std::to_string(i % 65535 + 1);
    }
    auto p = ExitPolicy::parse(text);
    REQUIRE(p);
    CHECK(p->rules().size() == 4096);
    auto e = parse_error(text + ",accept *:*");
    CHECK(e.find("exit policy rule 4097") == 0);
    CHECK(e.find("too many") != std::string::npos);
  }
}
