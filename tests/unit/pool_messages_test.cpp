#include "protocol/pool_messages.hpp"

#include <catch2/catch.hpp>

#include <string>

#include "protocol/identity.hpp"

using namespace tpdp;

namespace {

template <class Key>
Key patterned(std::uint8_t start) {
  Key k;
  for (std::size_t i = 0; i < Key::size(); ++i) k.bytes[i] = static_cast<std::uint8_t>(start + i);
  return k;
}

NodeDescriptor sample_node(std::uint8_t n = 0) {
  NodeDescriptor d;
  d.identity = patterned<IdentityPublicKey>(static_cast<std::uint8_t>(0x10 + n));
  d.onion_key = patterned<OnionPublicKey>(static_cast<std::uint8_t>(0x90 + n));
  d.host = "node" + std::to_string(n) + ".example.net";
  d.port = static_cast<std::uint16_t>(9000 + n);
  return d;
}

NodeList sample_list(std::size_t count) {
  NodeList l;
  l.nonce = patterned<Nonce32>(0x50);
  l.issued_at = 0x0102030405060708ULL;
  for (std::size_t i = 0; i < count; ++i)
    l.nodes.push_back(sample_node(static_cast<std::uint8_t>(i)));
  return l;
}

template <class T>
T value_of(const Decoded<T>& d) {
  INFO("decoded to " << (needs_more(d)     ? "NeedMore"
                         : is_malformed(d) ? std::get<Malformed>(d).reason
                                           : ""));
  REQUIRE(is_value(d));
  return std::get<T>(d);
}

template <class T>
std::string malformed_reason(const Decoded<T>& d) {
  REQUIRE(is_malformed(d));
  const auto& m = std::get<Malformed>(d);
  CHECK_FALSE(m.reason.empty());
  CHECK(m.code == Errc::protocol_error);
  return m.reason;
}

template <class T>
T stream_value(const Bytes& enc) {
  Reader r(enc);
  auto v = value_of(decode<T>(r));
  CHECK(r.remaining() == 0);
  CHECK(r.consumed() == enc.size());
  return v;
}

// Stream-read messages: every strict prefix is NeedMore; as a complete
// payload every strict prefix is Malformed and a trailing byte too.
template <class T>
void check_prefixes_and_trailing(Bytes enc) {
  for (std::size_t n = 0; n < enc.size(); ++n) {
    INFO("prefix length " << n);
    Reader r(ByteView(enc).first(n));
    CHECK(needs_more(decode<T>(r)));
    CHECK(is_malformed(decode_exact<T>(ByteView(enc).first(n))));
  }
  enc.push_back(0);
  CHECK(malformed_reason(decode_exact<T>(enc)) == "trailing bytes after message");
}

Bytes descriptor_bytes(const std::string& host, std::uint16_t port) {
  NodeDescriptor d = sample_node();
  d.host = host;
  d.port = port;
  return encode_to_bytes(d);
}

}  // namespace

TEST_CASE("PoolRequest round trip", "[pool_messages]") {
  Bytes hb = encode_to_bytes(PoolRequest{PoolCommand::heartbeat});
  CHECK(hb == Bytes{'T', 'P', 'P', '1', 1});
  Bytes list = encode_to_bytes(PoolRequest{PoolCommand::list});
  CHECK(list == Bytes{'T', 'P', 'P', '1', 2});
  CHECK(stream_value<PoolRequest>(hb).command == PoolCommand::heartbeat);
  CHECK(stream_value<PoolRequest>(list).command == PoolCommand::list);
  check_prefixes_and_trailing<PoolRequest>(hb);
}

TEST_CASE("PoolRequest bad magic and unknown commands", "[pool_messages]") {
  CHECK(malformed_reason(decode_exact<PoolRequest>(Bytes{'T', 'P', 'D', '1', 1})) ==
        "bad pool request magic (not a TPDP/1 peer)");
  CHECK(malformed_reason(decode_exact<PoolRequest>(Bytes{'G', 'E', 'T', ' ', '/'})) ==
        "bad pool request magic (not a TPDP/1 peer)");
  // The magic is judged as soon as it has arrived.
  Bytes http = {'H', 'T', 'T', 'P'};
  Reader r(http);
  CHECK(is_malformed(decode<PoolRequest>(r)));
  for (std::uint8_t cmd : {0, 3, 255}) {
    CHECK(malformed_reason(decode_exact<PoolRequest>(Bytes{'T', 'P', 'P', '1', cmd})) ==
          "unknown pool command");
  }
}

TEST_CASE("NodeDescriptor round trip", "[pool_messages]") {
  auto d = sample_node(3);
  Bytes enc = encode_to_bytes(d);
  REQUIRE(enc.size() == 32 + 32 + 1 + d.host.size() + 2);
  CHECK(enc[0] == 0x13);
  CHECK(enc[32] == 0x93);
  CHECK(enc[64] == d.host.size());
  CHECK(std::string(enc.begin() + 65, enc.begin() + 65 + d.host.size()) == d.host);
  CHECK(enc[enc.size() - 2] == (9003 >> 8));
  CHECK(enc[enc.size() - 1] == (9003 & 0xff));
  CHECK(stream_value<NodeDescriptor>(enc) == d);
  check_prefixes_and_trailing<NodeDescriptor>(enc);

  for (std::string host : {"127.0.0.1", "::1", "2001:db8::1", "a"}) {
    auto dd = value_of(decode_exact<NodeDescriptor>(descriptor_bytes(host, 1)));
    CHECK(dd.host == host);
    CHECK(dd.port == 1);
  }
}

TEST_CASE("NodeDescriptor with a bad host or port 0 is malformed", "[pool_messages]") {
  for (std::string host : {std::string(), std::string(254, 'a'), std::string(64, 'a') + ".example",
                           std::string("h\xc3\xb6st.example"), std::string("exa\0mple.com", 12),
                           std::string("a b"), std::string("[::1]"), std::string("a..b")}) {
    INFO("host '" << host << "'");
    CHECK(malformed_reason(decode_exact<NodeDescriptor>(descriptor_bytes(host, 80))) ==
          "invalid node host name");
  }
  CHECK(malformed_reason(decode_exact<NodeDescriptor>(descriptor_bytes("example.net", 0))) ==
        "node port 0");
}

TEST_CASE("HeartbeatChallenge and ListRequest round trip", "[pool_messages]") {
  HeartbeatChallenge c{patterned<Nonce32>(7)};
  Bytes cenc = encode_to_bytes(c);
  CHECK(cenc.size() == 32);
  CHECK(cenc[0] == 7);
  CHECK(stream_value<HeartbeatChallenge>(cenc).challenge == c.challenge);
  check_prefixes_and_trailing<HeartbeatChallenge>(cenc);

  ListRequest l{patterned<Nonce32>(200)};
  Bytes lenc = encode_to_bytes(l);
  CHECK(lenc.size() == 32);
  CHECK(lenc[31] == static_cast<std::uint8_t>(200 + 31));
  CHECK(stream_value<ListRequest>(lenc).nonce == l.nonce);
  check_prefixes_and_trailing<ListRequest>(lenc);
}

TEST_CASE("SignedHeartbeat round trip and signature", "[pool_messages]") {
  auto id = IdentityKeypair::generate();
  Nonce32 challenge = patterned<Nonce32>(0xa0);
  SignedHeartbeat hb;
  hb.node = sample_node(1);
  hb.node.identity = id.public_key;
  hb.signature = sign_detached(id.secret_key, heartbeat_signed_bytes(challenge, hb.node));
  Bytes enc = encode_to_bytes(hb);
  Bytes expected = encode_to_bytes(hb.node);
  expected.insert(expected.end(), hb.signature.bytes.begin(), hb.signature.bytes.end());
  CHECK(enc == expected);

  auto d = stream_value<SignedHeartbeat>(enc);
  CHECK(d.node == hb.node);
  CHECK(d.signature == hb.signature);
  CHECK(verify_detached(d.node.identity, heartbeat_signed_bytes(challenge, d.node), d.signature));
  // A recorded heartbeat does not verify against another challenge.
  CHECK_FALSE(verify_detached(
      d.node.identity, heartbeat_signed_bytes(patterned<Nonce32>(0xa1), d.node), d.signature));
  check_prefixes_and_trailing<SignedHeartbeat>(enc);

  Bytes bad = descriptor_bytes("example.net", 0);
  bad.insert(bad.end(), 64, 0);
  CHECK(malformed_reason(decode_exact<SignedHeartbeat>(bad)) == "node port 0");
}

TEST_CASE("heartbeat_signed_bytes layout", "[pool_messages]") {
  REQUIRE(kHeartbeatContext.size() == 16);
  Nonce32 challenge = patterned<Nonce32>(1);
  auto node = sample_node(2);
  Bytes b = heartbeat_signed_bytes(challenge, node);
  Bytes expected(kHeartbeatContext.begin(), kHeartbeatContext.end());
  expected.insert(expected.end(), challenge.bytes.begin(), challenge.bytes.end());
  Bytes n = encode_to_bytes(node);
  expected.insert(expected.end(), n.begin(), n.end());
  CHECK(b == expected);
  CHECK(std::string(b.begin(), b.begin() + 16) == "tpdp-1 heartbeat");
}

TEST_CASE("HeartbeatReply round trip", "[pool_messages]") {
  HeartbeatReply ok;
  Bytes enc = encode_to_bytes(ok);
  CHECK(enc == Bytes{0, 0, 15});
  auto d = stream_value<HeartbeatReply>(enc);
  CHECK(d.status == Errc::ok);
  CHECK(d.next_heartbeat_s == 15);
  check_prefixes_and_trailing<HeartbeatReply>(enc);

  HeartbeatReply refused{Errc::address_in_use, 0x1234};
  Bytes renc = encode_to_bytes(refused);
  CHECK(renc == Bytes{12, 0x12, 0x34});
  auto r = stream_value<HeartbeatReply>(renc);
  CHECK(r.status == Errc::address_in_use);
  CHECK(r.next_heartbeat_s == 0x1234);

  CHECK(value_of(decode_exact<HeartbeatReply>(Bytes{99, 0, 1})).status == Errc::protocol_error);
}

TEST_CASE("NodeList round trip", "[pool_messages]") {
  for (std::size_t count : {0, 1, 5}) {
    INFO(count << " nodes");
    auto l = sample_list(count);
    Bytes enc = encode_to_bytes(l);
    std::size_t expected_size = 1 + 32 + 8 + 2;
    for (const auto& n : l.nodes) expected_size += encode_to_bytes(n).size();
    REQUIRE(enc.size() == expected_size);
    CHECK(enc[0] == 1);
    CHECK(enc[33] == 0x01);
    CHECK(enc[40] == 0x08);
    CHECK(enc[41] == 0);
    CHECK(enc[42] == count);
    auto d = stream_value<NodeList>(enc);
    CHECK(d.nonce == l.nonce);
    CHECK(d.issued_at == l.issued_at);
    CHECK(d.nodes == l.nodes);
    check_prefixes_and_trailing<NodeList>(enc);
  }
}

TEST_CASE("NodeList malformed cases", "[pool_messages]") {
  Bytes enc = encode_to_bytes(sample_list(2));
  Bytes version = enc;
  version[0] = 2;
  CHECK(malformed_reason(decode_exact<NodeList>(version)) == "unknown node list version");

  // A count over the limit is refused from the header alone.
  Bytes header = encode_to_bytes(sample_list(0));
  header[41] = static_cast<std::uint8_t>((kMaxListedNodes + 1) >> 8);
  header[42] = static_cast<std::uint8_t>(kMaxListedNodes + 1);
  Reader r(header);
  CHECK(malformed_reason(decode<NodeList>(r)) == "node list too long");
  header[41] = 0xff;
  header[42] = 0xff;
  CHECK(malformed_reason(decode_exact<NodeList>(header)) == "node list too long");
  // Exactly the limit is fine (and then needs the nodes).
  header[41] = static_cast<std::uint8_t>(kMaxListedNodes >> 8);
  header[42] = static_cast<std::uint8_t>(kMaxListedNodes);
  Reader r2(header);
  CHECK(needs_more(decode<NodeList>(r2)));

  // A bad node inside the list.
  auto l = sample_list(2);
  l.nodes[1].port = 0;
  CHECK(malformed_reason(decode_exact<NodeList>(encode_to_bytes(l))) == "node port 0");
  l.nodes[1].port = 1;
  l.nodes[0].host = "bad host";
  CHECK(malformed_reason(decode_exact<NodeList>(encode_to_bytes(l))) == "invalid node host name");

  // Count says fewer nodes than are there: trailing bytes.
  Bytes fewer = enc;
  fewer[42] = 1;
  CHECK(malformed_reason(decode_exact<NodeList>(fewer)) == "trailing bytes after message");
}

TEST_CASE("SignedNodeList round trip and signature", "[pool_messages]") {
  auto pool = IdentityKeypair::generate();
  SignedNodeList s;
  s.pool_key = pool.public_key;
  s.document = encode_to_bytes(sample_list(3));
  s.signature = sign_detached(pool.secret_key, node_list_signed_bytes(s.document));
  Bytes enc = encode_to_bytes(s);
  REQUIRE(enc.size() == 32 + 4 + s.document.size() + 64);
  CHECK(enc[32] == 0);
  CHECK(enc[33] == 0);
  CHECK(enc[34] == static_cast<std::uint8_t>(s.document.size() >> 8));
  CHECK(enc[35] == static_cast<std::uint8_t>(s.document.size()));

  auto d = stream_value<SignedNodeList>(enc);
  CHECK(d.pool_key == s.pool_key);
  CHECK(d.document == s.document);
  CHECK(d.signature == s.signature);
  CHECK(verify_detached(d.pool_key, node_list_signed_bytes(d.document), d.signature));
  CHECK_FALSE(verify_detached(d.pool_key, d.document, d.signature));  // context is required
  auto list = value_of(decode_exact<NodeList>(d.document));
  CHECK(list.nodes == sample_list(3).nodes);
  check_prefixes_and_trailing<SignedNodeList>(enc);

  Bytes signed_bytes = node_list_signed_bytes(s.document);
  CHECK(std::string(signed_bytes.begin(), signed_bytes.begin() + 16) == "tpdp-1 node-list");
  CHECK(Bytes(signed_bytes.begin() + 16, signed_bytes.end()) == s.document);
}

TEST_CASE("SignedNodeList document size limit", "[pool_messages]") {
  Bytes header(32, 0xaa);
  Writer w(header);
  w.u32(static_cast<std::uint32_t>(kMaxListDocument + 1));
  // Refused from the length alone, without waiting for the document.
  Reader r(header);
  CHECK(malformed_reason(decode<SignedNodeList>(r)) == "node list document too large");
  Bytes huge(32, 0);
  Writer hw(huge);
  hw.u32(0xffffffffU);
  CHECK(malformed_reason(decode_exact<SignedNodeList>(huge)) == "node list document too large");

  // Exactly the maximum is accepted.
  SignedNodeList s;
  s.document.assign(kMaxListDocument, 0x5a);
  auto d = value_of(decode_exact<SignedNodeList>(encode_to_bytes(s)));
  CHECK(d.document.size() == kMaxListDocument);
  CHECK(d.document.back() == 0x5a);
}
