// Fuzzes the TPDP/1 pool message decoders (requests, heartbeats, node lists
// and their signed documents): every type is decoded from the same input, and
// any decoded value must re-encode to the input and decode again to itself.
#include <cstddef>
#include <cstdint>

#include "protocol/host.hpp"
#include "protocol/identity.hpp"
#include "protocol/pool_messages.hpp"
#include "tests/fuzz/message_check.hpp"

using namespace tpdp;
using namespace tpdp::fuzz;

namespace {

bool eq_request(const PoolRequest& a, const PoolRequest& b) {
  return a.command == b.command;
}
bool eq_node(const NodeDescriptor& a, const NodeDescriptor& b) {
  return a == b;
}
bool eq_challenge(const HeartbeatChallenge& a, const HeartbeatChallenge& b) {
  return a.challenge == b.challenge;
}
bool eq_heartbeat(const SignedHeartbeat& a, const SignedHeartbeat& b) {
  return a.node == b.node && a.signature == b.signature;
}
bool eq_reply(const HeartbeatReply& a, const HeartbeatReply& b) {
  return a.status == b.status && a.next_heartbeat_s == b.next_heartbeat_s;
}
bool eq_list_request(const ListRequest& a, const ListRequest& b) {
  return a.nonce == b.nonce;
}
bool eq_list(const NodeList& a, const NodeList& b) {
  return a.nonce == b.nonce && a.issued_at == b.issued_at && a.nodes == b.nodes;
}
bool eq_signed_list(const SignedNodeList& a, const SignedNodeList& b) {
  return a.pool_key == b.pool_key && a.document == b.document && a.signature == b.signature;
}

std::uint8_t status_byte(std::uint8_t b) {
  return b == 0 ? 0 : static_cast<std::uint8_t>(errc_from_wire(b));
}

void check_node(const NodeDescriptor& n) {
  check(!n.host.empty() && n.host.size() <= kMaxHostLength);
  check(is_valid_host(n.host));
  check(host_charset_ok(n.host));
  check(n.port != 0);
}

void check_list(const NodeList& l) {
  check(l.nodes.size() <= kMaxListedNodes);
  for (const auto& n : l.nodes) check_node(n);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  init_sodium();
  ByteView in = view(data, size);

  {
    Decoded<PoolRequest> d;
    if (auto* m = check_message<PoolRequest>(in, eq_request, Framing::stream, d)) {
      check(m->command == PoolCommand::heartbeat || m->command == PoolCommand::list);
    }
  }
  {
    Decoded<NodeDescriptor> d;
    if (auto* m = check_message<NodeDescriptor>(in, eq_node, Framing::stream, d)) check_node(*m);
  }
  {
    Decoded<HeartbeatChallenge> d;
    check_message<HeartbeatChallenge>(in, eq_challenge, Framing::stream, d);
  }
  {
    Decoded<SignedHeartbeat> d;
    if (auto* m = check_message<SignedHeartbeat>(in, eq_heartbeat, Framing::stream, d)) {
      check_node(m->node);
      // Verifying an arbitrary signature must not crash (and the signed
      // bytes embed the descriptor exactly as encoded).
      Nonce32 challenge{};
      Bytes signed_bytes = heartbeat_signed_bytes(challenge, m->node);
      check(signed_bytes.size() == 16 + 32 + encode_to_bytes(m->node).size());
      (void)verify_detached(m->node.identity, signed_bytes, m->signature);
    }
  }
  {
    Decoded<HeartbeatReply> d;
    if (auto* m = check_message<HeartbeatReply>(in, eq_reply, Framing::stream, d, status_byte)) {
      check(static_cast<std::uint8_t>(m->status) <= kMaxWireErrc);
    }
  }
  {
    Decoded<ListRequest> d;
    check_message<ListRequest>(in, eq_list_request, Framing::stream, d);
  }
  {
    Decoded<NodeList> d;
    if (auto* m = check_message<NodeList>(in, eq_list, Framing::stream, d)) check_list(*m);
  }
  {
    Decoded<SignedNodeList> d;
    if (auto* m = check_message<SignedNodeList>(in, eq_signed_list, Framing::stream, d)) {
      check(m->document.size() <= kMaxListDocument);
      Bytes signed_bytes = node_list_signed_bytes(m->document);
      check(signed_bytes.size() == 16 + m->document.size());
      (void)verify_detached(m->pool_key, signed_bytes, m->signature);
      // The document inside is a NodeList: the same invariants hold there.
      Decoded<NodeList> list;
      if (auto* l = check_message<NodeList>(m->document, eq_list, Framing::stream, list)) {
        check_list(*l);
      }
    }
  }
  return 0;
}
