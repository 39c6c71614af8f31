// Fuzzes the TPDP/0.1 parsers: the pool messages (request, heartbeat reply,
// list entry, whole list) as decoders with the usual invariants, and the two
// handshake state machines fed the input as a byte stream: the node's (as
// the client's bytes) and the client hop's (as the node's replies). The first
// byte picks the size of the pieces the stream is fed in; every split must
// give the same result as one piece.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "protocol/host.hpp"
#include "protocol/v0_1/client_hop.hpp"
#include "protocol/v0_1/node_handshake.hpp"
#include "protocol/v0_1/pool_messages.hpp"
#include "tests/fuzz/message_check.hpp"

using namespace tpdp;
using namespace tpdp::fuzz;

namespace {

// RFC 7748's Bob (node) and Alice (client), as in tests/unit/v0_1_*: the
// seeds from make_seeds complete a handshake with these keys.
OnionKeypair keypair(const char* secret_hex) {
  OnionSecretKey s;
  for (std::size_t i = 0; i < 32; ++i) {
    auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    s.data()[i] =
        static_cast<std::uint8_t>(nibble(secret_hex[2 * i]) << 4 | nibble(secret_hex[2 * i + 1]));
  }
  return OnionKeypair::from_secret(std::move(s));
}
constexpr const char* kBob = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
constexpr const char* kAlice = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";

struct NodeRun {
  v0_1::NodeHandshake::Step step;
  Bytes output;
  std::size_t consumed = 0;
  HostPort destination;
  bool operator==(const NodeRun&) const = default;
};

NodeRun run_node(ByteView body, std::size_t chunk) {
  v0_1::NodeHandshake hs(keypair(kBob));
  NodeRun run;
  for (std::size_t pos = 0; pos < body.size() && hs.reading(); pos += chunk) {
    ByteView piece = body.subspan(pos, std::min(chunk, body.size() - pos));
    std::size_t used = hs.feed(piece);
    check(used <= piece.size());
    if (used < piece.size()) check(!hs.reading());  // stops only at the end of the handshake
    run.consumed += used;
    Bytes out = hs.take_output();
    run.output.insert(run.output.end(), out.begin(), out.end());
  }
  run.step = hs.step();
  if (!hs.reading()) check(hs.feed(body) == 0);  // nothing is taken after the port
  if (hs.step() == v0_1::NodeHandshake::Step::connecting) {
    // Whatever the bytes, a destination is a valid host name or address.
    const HostPort& d = hs.destination();
    check(is_valid_host(d.host) && host_charset_ok(d.host) && d.host.size() <= 255);
    run.destination = d;
    hs.connected();
    Bytes etb = hs.take_output();
    check(etb == Bytes(v0_1::kEtb.begin(), v0_1::kEtb.end()));
    auto layers = hs.take_layers();
    Bytes probe(3, 0);
    layers.forward.apply(probe);
  }
  if (hs.step() == v0_1::NodeHandshake::Step::failed) {
    // Input alone only ever causes protocol errors, answered by one byte 1.
    check(hs.failure() == v0_1::ErrorByte::protocol_error);
    check(!run.output.empty() && run.output.back() == 1);
    check(!hs.failure_reason().empty());
  }
  // Replies are Hello, key, ACK, ACK in that order (and then maybe the error byte).
  std::size_t replies = run.output.size() - (hs.failure() ? 1 : 0);
  check(replies == 0 || replies == 16 || replies == 48 || replies == 50 || replies == 52);
  if (replies >= 16) {
    check(std::equal(v0_1::kHello.begin(), v0_1::kHello.end(), run.output.begin()));
  }
  return run;
}

struct ClientRun {
  v0_1::ClientHop::Step step;
  Bytes output;
  std::optional<std::uint8_t> error_byte;
  bool operator==(const ClientRun&) const = default;
};

ClientRun run_client(ByteView body, std::size_t chunk) {
  v0_1::CounterBlock counter{};
  for (std::size_t i = 0; i < counter.size(); ++i) counter[i] = static_cast<std::uint8_t>(0xf0 + i);
  v0_1::ClientHop hop(keypair(kAlice), counter);
  ClientRun run;
  run.output = hop.take_output();
  check(run.output.size() == 16);
  for (std::size_t pos = 0; pos < body.size() && hop.step() < v0_1::ClientHop::Step::done;
       pos += chunk) {
    ByteView piece = body.subspan(pos, std::min(chunk, body.size() - pos));
    std::size_t used = 0;
    while (used < piece.size() && hop.waiting()) {
      used += hop.feed(piece.subspan(used));
      if (hop.step() == v0_1::ClientHop::Step::awaiting_destination) {
        hop.set_destination("node-2.example", 6002);
      }
    }
    Bytes out = hop.take_output();
    run.output.insert(run.output.end(), out.begin(), out.end());
  }
  if (hop.step() == v0_1::ClientHop::Step::awaiting_destination) {
    hop.set_destination("node-2.example", 6002);
  }
  hop.end_of_stream();
  run.step = hop.step();
  run.error_byte = hop.error_byte();
  check(run.step == v0_1::ClientHop::Step::done || run.step == v0_1::ClientHop::Step::failed);
  if (run.error_byte) check(run.step == v0_1::ClientHop::Step::failed);
  if (run.step == v0_1::ClientHop::Step::done) (void)hop.take_layers();
  return run;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  init_sodium();
  ByteView in = view(data, size);

  {
    Decoded<v0_1::PoolRequest> d;
    auto eq = [](const v0_1::PoolRequest& a, const v0_1::PoolRequest& b) {
      return a.command == b.command && a.node == b.node;
    };
    if (auto* m = check_message<v0_1::PoolRequest>(in, eq, Framing::stream, d)) {
      if (m->command == v0_1::PoolCommand::heartbeat) {
        check(is_valid_host(m->node.host) && host_charset_ok(m->node.host));
        check(m->node.port != 0);
      }
    }
  }
  {
    Decoded<v0_1::NodeEntry> d;
    auto eq = [](const v0_1::NodeEntry& a, const v0_1::NodeEntry& b) { return a == b; };
    if (auto* m = check_message<v0_1::NodeEntry>(in, eq, Framing::stream, d)) {
      check(m->host.size() <= 255 && m->host.find('\0') == std::string::npos);
    }
  }
  {
    Decoded<v0_1::HeartbeatReply> d;
    auto eq = [](const v0_1::HeartbeatReply& a, const v0_1::HeartbeatReply& b) {
      return a.next_heartbeat_s == b.next_heartbeat_s;
    };
    check_message<v0_1::HeartbeatReply>(in, eq, Framing::stream, d);
  }
  {
    auto list = v0_1::decode_node_list(in);
    if (is_value(list)) {
      const auto& nodes = std::get<v0_1::NodeList>(list).nodes;
      check(nodes.size() <= kMaxListedNodes);
      for (const auto& n : nodes) check(is_valid_host(n.host) && n.port != 0);
      // Re-encoding the valid entries decodes to the same list.
      auto again = v0_1::decode_node_list(v0_1::encode_node_list(nodes));
      check(is_value(again) && std::get<v0_1::NodeList>(again).nodes == nodes);
    }
  }
  if (size >= 1) {
    std::size_t chunk = data[0] % 17 + 1;
    ByteView body = in.subspan(1);
    check(run_node(body, body.size() + 1) == run_node(body, chunk));
    check(run_client(body, body.size() + 1) == run_client(body, chunk));
  }
  return 0;
}
