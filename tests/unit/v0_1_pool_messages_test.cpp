// TPDP/0.1 pool messages: byte layouts written out by hand from
// spec/tpdp-0.1.md (command byte, host, 00, big-endian port), reassembly of
// split writes (torpydo's node sends a heartbeat in four writes), and the
// list read until the pool closes.
#include <catch2/catch.hpp>

#include "protocol/hex.hpp"
#include "protocol/v0_1/pool_messages.hpp"

using namespace tpdp::v0_1;
using tpdp::Bytes;
using tpdp::decode;
using tpdp::Decoded;
using tpdp::encode_to_bytes;
using tpdp::HostPort;
using tpdp::is_malformed;
using tpdp::is_value;
using tpdp::needs_more;
using tpdp::OnionPublicKey;
using tpdp::Reader;
using tpdp::to_hex;

namespace {

// Feeds `parts` one after the other into a growing buffer, decoding after
// each, like read_message does with a socket.
template <class T>
std::vector<bool> need_more_after_each(const std::vector<Bytes>& parts, Decoded<T>& last) {
  Bytes buffer;
  std::vector<bool> needs;
  for (const auto& p : parts) {
    buffer.insert(buffer.end(), p.begin(), p.end());
    Reader r(buffer);
    last = decode<T>(r);
    needs.push_back(needs_more(last));
  }
  return needs;
}

Bytes text(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

}  // namespace

TEST_CASE("TPDP/0.1 heartbeat: 01 host 00 port, big-endian", "[v0_1]") {
  PoolRequest hb{PoolCommand::heartbeat, {"127.0.2.3", 6000}};
  CHECK(to_hex(encode_to_bytes(hb)) ==
        "01"
        "3132372e302e322e33"
        "00"
        "1770");
  CHECK(to_hex(encode_to_bytes(PoolRequest{})) == "00");
  CHECK(to_hex(encode_to_bytes(HeartbeatReply{})) == "0f");  // 15 s by default
  CHECK(to_hex(encode_to_bytes(HeartbeatReply{200})) == "c8");
}

TEST_CASE("TPDP/0.1 heartbeat split over four writes is reassembled", "[v0_1]") {
  // Exactly torpydo's node: 01, the host, 00, the port, each written alone.
  std::vector<Bytes> parts = {{0x01}, text("node-1.lab"), {0x00}, {0x17, 0x70}};
  Decoded<PoolRequest> d;
  CHECK(need_more_after_each(parts, d) == std::vector<bool>{true, true, true, false});
  REQUIRE(is_value(d));
  auto& m = std::get<PoolRequest>(d);
  CHECK(m.command == PoolCommand::heartbeat);
  CHECK(m.node == NodeEntry{"node-1.lab", 6000});

  // And one byte at a time.
  Bytes whole = encode_to_bytes(m);
  std::vector<Bytes> bytes;
  for (auto b : whole) bytes.push_back({b});
  std::vector<bool> expected(whole.size(), true);
  expected.back() = false;
  CHECK(need_more_after_each(bytes, d) == expected);
  CHECK(is_value(d));
}

TEST_CASE("TPDP/0.1 pool requests that are refused", "[v0_1]") {
  auto decoded = [](const Bytes& b) {
    Reader r(b);
    return decode<PoolRequest>(r);
  };
  CHECK(is_malformed(decoded({0x02})));  // unknown command: closed without reply
  CHECK(is_malformed(decoded({0xff, 0x00})));
  Bytes zero_port = {0x01, 'a', 0x00, 0x00, 0x00};
  CHECK(is_malformed(decoded(zero_port)));
  Bytes bad_host = {0x01, 0xff, 0xfe, 0x00, 0x17, 0x70};  // not UTF-8
  CHECK(is_malformed(decoded(bad_host)));
  Bytes empty_host = {0x01, 0x00, 0x17, 0x70};
  CHECK(is_malformed(decoded(empty_host)));
  Bytes long_host = {0x01};
  long_host.insert(long_host.end(), 256, 'a');
  CHECK(is_malformed(decoded(long_host)));  // no NUL within 255 bytes: not buffered further
  Bytes list = {0x00, 0x55};
  auto d = decoded(list);  // torpydo reads one byte; the rest is ignored
  REQUIRE(is_value(d));
  CHECK(std::get<PoolRequest>(d).command == PoolCommand::list);
}

TEST_CASE("TPDP/0.1 node list: entries until the pool closes", "[v0_1]") {
  std::vector<HostPort> nodes = {{"127.0.2.3", 6000}, {"::1", 6001}, {"node.lab", 65535}};
  Bytes wire = encode_node_list(nodes);
  CHECK(to_hex(wire) ==
        "3132372e302e322e33"
        "00"
        "1770"
        "3a3a31"
        "00"
        "1771"
        "6e6f64652e6c6162"
        "00"
        "ffff");
  auto d = decode_node_list(wire);
  REQUIRE(is_value(d));
  CHECK(std::get<NodeList>(d).nodes == nodes);

  auto empty = decode_node_list({});
  REQUIRE(is_value(empty));
  CHECK(std::get<NodeList>(empty).nodes.empty());

  // Duplicates are listed once; entries with bad hosts are skipped and counted.
  Bytes mixed = encode_node_list({{"127.0.0.1", 1}, {"127.0.0.1", 1}, {"127.0.0.1", 2}});
  Bytes bad = {0xc3, 0x28, 0x00, 0x00, 0x50, 'x', 0x00, 0x00, 0x00};
  mixed.insert(mixed.end(), bad.begin(), bad.end());
  auto m = decode_node_list(mixed);
  REQUIRE(is_value(m));
  CHECK(std::get<NodeList>(m).nodes == std::vector<HostPort>{{"127.0.0.1", 1}, {"127.0.0.1", 2}});
  CHECK(std::get<NodeList>(m).skipped == 2);

  // A list cut inside an entry is refused.
  wire.pop_back();
  CHECK(is_malformed(decode_node_list(wire)));
  CHECK(is_malformed(decode_node_list(text("no-terminator"))));
}

TEST_CASE("TPDP/0.1 descriptors: one label per address, no keys", "[v0_1]") {
  auto a = descriptor_for({"127.0.0.1", 6001});
  auto b = descriptor_for({"127.0.0.1", 6002});
  CHECK(a.host == "127.0.0.1");
  CHECK(a.port == 6001);
  CHECK_FALSE(a.identity == b.identity);
  CHECK(a.identity == descriptor_for({"127.0.0.1", 6001}).identity);
  CHECK(a.onion_key == OnionPublicKey{});
}
