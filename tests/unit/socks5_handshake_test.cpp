// The SOCKS5 handshake state machine (client/socks5_handshake.hpp), and the
// per-key path choice of the proxy (client/socks_server.hpp).
#include "client/socks5_handshake.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "client/socks_server.hpp"

using namespace tpdp;
using namespace tpdp::socks5;

namespace {

Bytes b(std::initializer_list<int> v) {
  Bytes out;
  for (int x : v) out.push_back(static_cast<std::uint8_t>(x));
  return out;
}

Bytes cat(Bytes a, const Bytes& more) {
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

Bytes text(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

// A request: VER CMD RSV ATYP ADDR PORT.
Bytes request(int cmd, int atyp, const Bytes& addr, int port) {
  return cat(cat(b({5, cmd, 0, atyp}), addr), b({port >> 8, port & 0xff}));
}

Bytes domain_request(const std::string& name, int port, int cmd = 1) {
  return request(cmd, 3, cat(b({static_cast<int>(name.size())}), text(name)), port);
}

Bytes auth(const std::string& user, const std::string& pass) {
  return cat(cat(cat(b({1, static_cast<int>(user.size())}), text(user)),
                 b({static_cast<int>(pass.size())})),
             text(pass));
}

const Bytes kNoAuthGreeting = b({5, 1, 0});
const Bytes kUserPassGreeting = b({5, 1, 2});

struct Fed {
  Handshake::Status status;
  Bytes output;
  std::size_t used = 0;
};

Fed feed_all(Handshake& hs, const Bytes& data) {
  Fed f;
  f.used = hs.feed(data);
  f.output = hs.take_output();
  f.status = hs.status();
  return f;
}

// Feeds one byte at a time, as a slow client would.
Fed feed_bytewise(Handshake& hs, const Bytes& data) {
  Fed f;
  for (std::size_t i = 0; i < data.size(); ++i) {
    std::size_t n = hs.feed(ByteView(data.data() + i, 1));
    f.used += n;
    if (n == 0) break;
    auto out = hs.take_output();
    f.output.insert(f.output.end(), out.begin(), out.end());
  }
  f.status = hs.status();
  return f;
}

Handshake::Status ready = Handshake::Status::request_ready;
Handshake::Status failed = Handshake::Status::failed;
Handshake::Status need_more = Handshake::Status::need_more;

}  // namespace

TEST_CASE("socks5: a greeting with several methods picks username/password, else no-auth") {
  {
    Handshake hs;
    auto f = feed_all(hs, b({5, 3, 0x00, 0x01, 0x02}));
    CHECK(f.status == need_more);
    CHECK(f.output == b({5, 2}));
    CHECK(hs.method() == Method::user_pass);
  }
  {
    Handshake hs;
    auto f = feed_all(hs, b({5, 3, 0x01, 0x80, 0x00}));
    CHECK(f.output == b({5, 0}));
    CHECK(hs.method() == Method::no_auth);
  }
}

TEST_CASE("socks5: no acceptable method or a wrong version gets 0xFF and fails") {
  {
    Handshake hs;
    auto f = feed_all(hs, b({5, 2, 0x01, 0x03}));
    CHECK(f.status == failed);
    CHECK(f.output == b({5, 0xFF}));
    CHECK_FALSE(hs.error().empty());
  }
  {
    Handshake hs;  // no methods at all
    auto f = feed_all(hs, b({5, 0}));
    CHECK(f.status == failed);
    CHECK(f.output == b({5, 0xFF}));
  }
  {
    Handshake hs;  // a SOCKS4 client: rejected at its first byte, without waiting for more
    auto f = feed_all(hs, b({4, 1, 0, 80, 127, 0, 0, 1, 0}));
    CHECK(f.status == failed);
    CHECK(f.used == 1);
    CHECK(f.output == b({5, 0xFF}));
  }
  {
    Handshake hs;  // HTTP sent to the SOCKS port
    auto f = feed_all(hs, text("GET / HTTP/1.1\r\n\r\n"));
    CHECK(f.status == failed);
    CHECK(f.output == b({5, 0xFF}));
  }
}

TEST_CASE("socks5: username/password sub-negotiation") {
  SECTION("accepted, and the credentials are the isolation key") {
    Handshake hs;
    auto f = feed_all(
        hs, cat(cat(kUserPassGreeting, auth("bob", "pw")), domain_request("example.org", 80)));
    CHECK(f.status == ready);
    CHECK(f.output == b({5, 2, 1, 0}));
    CHECK(hs.request().host == "example.org");
    Handshake same, other_split, no_auth;
    feed_all(same, cat(cat(kUserPassGreeting, auth("bob", "pw")), domain_request("x.org", 1)));
    feed_all(other_split,
             cat(cat(kUserPassGreeting, auth("bo", "bpw")), domain_request("x.org", 1)));
    feed_all(no_auth, cat(kNoAuthGreeting, domain_request("x.org", 1)));
    CHECK(hs.isolation_key() == same.isolation_key());
    CHECK(hs.isolation_key() != other_split.isolation_key());
    CHECK(hs.isolation_key() != no_auth.isolation_key());
    CHECK(hs.error().find("pw") == std::string::npos);
  }
  SECTION("empty user name and password are accepted (only an isolation key)") {
    Handshake hs;
    auto f = feed_all(hs, cat(cat(kUserPassGreeting, auth("", "")), domain_request("a.b", 80)));
    CHECK(f.status == ready);
    CHECK(f.output == b({5, 2, 1, 0}));
  }
  SECTION("longest user name and password") {
    Handshake hs;
    std::string u(255, 'u'), p(255, 'p');
    auto f = feed_bytewise(hs, cat(cat(kUserPassGreeting, auth(u, p)), domain_request("a.b", 80)));
    CHECK(f.status == ready);
    CHECK(hs.isolation_key().size() == 1 + 1 + 255 + 1 + 255);
  }
  SECTION("a wrong sub-negotiation version fails with status 1") {
    Handshake hs;
    // Decided at the version byte: the rest is not consumed.
    auto f = feed_all(hs, cat(kUserPassGreeting, b({5, 1, 'a', 1, 'b'})));
    CHECK(f.status == failed);
    CHECK(f.output == b({5, 2, 1, 1}));
    CHECK(f.used == kUserPassGreeting.size() + 1);
  }
  SECTION("a truncated sub-negotiation waits for more") {
    Handshake hs;
    auto f = feed_all(hs, cat(kUserPassGreeting, b({1, 5, 'a', 'b'})));
    CHECK(f.status == need_more);
    CHECK(f.output == b({5, 2}));
  }
}

TEST_CASE("socks5: CONNECT with each address type") {
  SECTION("IPv4") {
    Handshake hs;
    auto f = feed_all(hs, cat(kNoAuthGreeting, request(1, 1, b({127, 0, 0, 1}), 8080)));
    CHECK(f.status == ready);
    CHECK(hs.request().address_type == AddressType::ipv4);
    CHECK(hs.request().host == "127.0.0.1");
    CHECK(hs.request().port == 8080);
  }
  SECTION("IPv6") {
    Handshake hs;
    Bytes addr(16, 0);
    addr[15] = 1;
    auto f = feed_all(hs, cat(kNoAuthGreeting, request(1, 4, addr, 443)));
    CHECK(f.status == ready);
    CHECK(hs.request().address_type == AddressType::ipv6);
    CHECK(hs.request().host == "::1");
    CHECK(hs.request().port == 443);
    Handshake full;
    Bytes a2 = b({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34});
    feed_all(full, cat(kNoAuthGreeting, request(1, 4, a2, 80)));
    CHECK(full.request().host == "2001:db8::1234");
  }
  SECTION("domain name: passed on as text, not resolved") {
    Handshake hs;
    auto f = feed_all(hs, cat(kNoAuthGreeting, domain_request("localhost", 80)));
    CHECK(f.status == ready);
    CHECK(hs.request().address_type == AddressType::domain);
    CHECK(hs.request().host == "localhost");
    CHECK(hs.request().port == 80);
  }
  SECTION("a bracketed IPv6 literal given as a name") {
    Handshake hs;
    feed_all(hs, cat(kNoAuthGreeting, domain_request("[::1]", 80)));
    CHECK(hs.status() == ready);
    CHECK(hs.request().host == "::1");
  }
  SECTION("an unknown address type gets 0x08 as soon as its byte arrives") {
    Handshake hs;
    auto f = feed_all(hs, cat(kNoAuthGreeting, b({5, 1, 0, 9, 1, 2, 3})));
    CHECK(f.status == failed);
    CHECK(f.output == cat(b({5, 0}), make_reply(Reply::address_type_not_supported)));
    CHECK(f.used == kNoAuthGreeting.size() + 4);
  }
}

TEST_CASE("socks5: malformed domain names get 0x01 (general failure)") {
  for (std::string name :
       {std::string(), std::string("a\0b", 3), std::string("a b"), std::string("exa mple.org"),
        std::string("a..b"), std::string(64, 'x') + ".org", std::string("[::1"),
        std::string("[example.org]")}) {
    INFO("name of " << name.size() << " bytes");
    Handshake hs;
    auto f = feed_all(hs, cat(kNoAuthGreeting, domain_request(name, 80)));
    CHECK(f.status == failed);
    CHECK(f.output == cat(b({5, 0}), make_reply(Reply::general_failure)));
  }
  Handshake longest;  // 253 bytes in labels of 63: valid
  std::string name = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                     std::string(63, 'c') + "." + std::string(61, 'd');
  REQUIRE(name.size() == 253);
  feed_all(longest, cat(kNoAuthGreeting, domain_request(name, 80)));
  CHECK(longest.status() == ready);
}

TEST_CASE("socks5: unsupported commands, port 0 and a wrong request version") {
  for (int cmd : {2, 3, 9}) {
    INFO("command " << cmd);
    Handshake hs;
    auto f = feed_all(hs, cat(kNoAuthGreeting, domain_request("example.org", 80, cmd)));
    CHECK(f.status == failed);
    CHECK(f.output == cat(b({5, 0}), make_reply(Reply::command_not_supported)));
  }
  {
    Handshake hs;
    auto f = feed_all(hs, cat(kNoAuthGreeting, domain_request("example.org", 0)));
    CHECK(f.status == failed);
    CHECK(f.output == cat(b({5, 0}), make_reply(Reply::general_failure)));
  }
  {
    Handshake hs;
    auto f = feed_all(hs, cat(kNoAuthGreeting, b({4, 1, 0, 1, 127, 0, 0, 1, 0, 80})));
    CHECK(f.status == failed);
    CHECK(f.output == cat(b({5, 0}), make_reply(Reply::general_failure)));
  }
}

TEST_CASE("socks5: pipelined, byte by byte, and trailing bytes") {
  Bytes whole =
      cat(cat(kUserPassGreeting, auth("alice", "secret")), domain_request("example.org", 443));
  Bytes stream = text("GET / HTTP/1.0\r\n\r\n");
  Bytes all = cat(whole, stream);

  Handshake at_once;
  auto f = feed_all(at_once, all);
  CHECK(f.status == ready);
  CHECK(f.used == whole.size());  // the rest belongs to the stream
  CHECK(Bytes(all.begin() + static_cast<long>(f.used), all.end()) == stream);
  CHECK(f.output == b({5, 2, 1, 0}));
  CHECK(at_once.feed(stream) == 0);  // nothing more is consumed after the request

  Handshake slow;
  auto g = feed_bytewise(slow, all);
  CHECK(g.status == ready);
  CHECK(g.used == whole.size());
  CHECK(g.output == f.output);
  CHECK(slow.request().host == at_once.request().host);
  CHECK(slow.request().port == 443);
  CHECK(slow.isolation_key() == at_once.isolation_key());

  Handshake no_auth;  // greeting + request in one feed
  Bytes both = cat(kNoAuthGreeting, request(1, 1, b({10, 0, 0, 1}), 80));
  auto h = feed_all(no_auth, both);
  CHECK(h.status == ready);
  CHECK(h.used == both.size());
  CHECK(h.output == b({5, 0}));

  Handshake after_failure;
  auto k = feed_all(after_failure, b({5, 1, 7}));
  CHECK(k.status == failed);
  CHECK(after_failure.feed(kNoAuthGreeting) == 0);
  CHECK(after_failure.take_output().empty());
}

TEST_CASE("socks5: replies and the mapping of exit errors") {
  CHECK(make_reply(Reply::succeeded) == b({5, 0, 0, 1, 0, 0, 0, 0, 0, 0}));
  CHECK(make_reply(Reply::ttl_expired)[1] == 0x06);
  CHECK(reply_for(Errc::exit_policy_refused) == Reply::not_allowed);
  CHECK(reply_for(Errc::resolve_failed) == Reply::host_unreachable);
  CHECK(reply_for(Errc::connect_failed) == Reply::host_unreachable);
  CHECK(reply_for(Errc::connection_refused) == Reply::connection_refused);
  CHECK(reply_for(Errc::timeout) == Reply::ttl_expired);
  CHECK(reply_for(Errc::circuit_truncated) == Reply::general_failure);
  CHECK(std::string(reply_text(Reply::command_not_supported)) == "command not supported");
}

// ---- path isolation (client/socks_server.hpp) ----

namespace {

std::vector<NodeDescriptor> make_nodes(int n) {
  std::vector<NodeDescriptor> nodes(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    nodes[static_cast<std::size_t>(i)].identity.bytes[0] = static_cast<std::uint8_t>(i + 1);
    nodes[static_cast<std::size_t>(i)].host = "127.0.0.1";
    nodes[static_cast<std::size_t>(i)].port = static_cast<std::uint16_t>(6000 + i);
  }
  return nodes;
}

std::vector<IdentityPublicKey> ids(const std::vector<NodeDescriptor>& path) {
  std::vector<IdentityPublicKey> out;
  for (const auto& n : path) out.push_back(n.identity);
  return out;
}

}  // namespace

TEST_CASE("socks paths: a key keeps its path while its nodes are listed") {
  auto nodes = make_nodes(5);
  socks::PathPlanner planner(3);
  auto first = planner.path_for("k1", nodes);
  CHECK_FALSE(first.reused);
  CHECK(first.nodes.size() == 3);
  auto first_ids = ids(first.nodes);
  CHECK(std::set<IdentityPublicKey>(first_ids.begin(), first_ids.end()).size() == 3);
  for (int i = 0; i < 5; ++i) {
    auto again = planner.path_for("k1", nodes);
    CHECK(again.reused);
    CHECK(ids(again.nodes) == ids(first.nodes));
  }
  // One of its nodes leaves the list: a new path without it.
  auto gone = first.nodes[1].identity;
  std::vector<NodeDescriptor> fewer;
  for (const auto& n : nodes)
    if (!(n.identity == gone)) fewer.push_back(n);
  auto next = planner.path_for("k1", fewer);
  CHECK_FALSE(next.reused);
  for (const auto& id : ids(next.nodes)) CHECK_FALSE(id == gone);
  planner.forget("k1");
  CHECK(planner.remembered() == 0);
}

TEST_CASE("socks paths: different keys get different paths, disjoint when nodes allow") {
  SECTION("6 nodes, 3 hops: two keys share no node") {
    for (int round = 0; round < 20; ++round) {
      auto nodes = make_nodes(6);
      socks::PathPlanner planner(3);
      auto a = ids(planner.path_for("a", nodes).nodes);
      auto b = ids(planner.path_for("b", nodes).nodes);
      for (const auto& id : a) CHECK(std::find(b.begin(), b.end(), id) == b.end());
    }
  }
  SECTION("3 nodes, 3 hops: the six orders are handed out before any repeats") {
    auto nodes = make_nodes(3);
    socks::PathPlanner planner(3);
    std::set<std::vector<IdentityPublicKey>> seen;
    auto first = ids(planner.path_for("k0", nodes).nodes);
    seen.insert(first);
    auto second = ids(planner.path_for("k1", nodes).nodes);
    // Another exit and another entry than the first key when possible.
    CHECK_FALSE(second.back() == first.back());
    CHECK_FALSE(second.front() == first.front());
    seen.insert(second);
    for (int k = 2; k < 6; ++k) {
      auto p = planner.path_for("k" + std::to_string(k), nodes);
      CHECK_FALSE(p.shared);
      seen.insert(ids(p.nodes));
    }
    CHECK(seen.size() == 6);
    auto seventh = planner.path_for("k6", nodes);  // no unused order is left
    CHECK(seventh.shared);
    CHECK(seventh.nodes.size() == 3);
  }
  SECTION("many nodes: sampling still finds unused paths") {
    auto nodes = make_nodes(40);
    socks::PathPlanner planner(3);
    std::set<std::vector<IdentityPublicKey>> seen;
    for (int k = 0; k < 50; ++k) {
      auto p = planner.path_for("k" + std::to_string(k), nodes);
      CHECK_FALSE(p.shared);
      seen.insert(ids(p.nodes));
    }
    CHECK(seen.size() == 50);
  }
}

TEST_CASE("socks paths: avoid, too few nodes, and the key limit") {
  auto nodes = make_nodes(4);
  socks::PathPlanner planner(3, 2);
  auto avoid = std::vector<IdentityPublicKey>{nodes[0].identity};
  for (int i = 0; i < 10; ++i) {
    planner.forget("k");
    auto p = ids(planner.path_for("k", nodes, avoid).nodes);
    CHECK(std::find(p.begin(), p.end(), nodes[0].identity) == p.end());
  }
  // Avoiding would leave too few: the avoided nodes are used after all.
  auto two = std::vector<IdentityPublicKey>{nodes[0].identity, nodes[1].identity};
  planner.forget("k");
  CHECK(planner.path_for("k", nodes, two).nodes.size() == 3);
  CHECK_THROWS_WITH(planner.path_for("z", make_nodes(2)),
                    "a 3-hop path needs 3 distinct nodes, but only 2 are known");
  planner.path_for("a", nodes);
  planner.path_for("b", nodes);
  CHECK(planner.remembered() == 2);  // the least recently used key was forgotten
  CHECK(planner.path_for("b", nodes).reused);
}
