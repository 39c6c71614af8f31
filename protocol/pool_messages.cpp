#include "protocol/pool_messages.hpp"

#include <algorithm>

#include "protocol/host.hpp"

namespace tpdp {

void encode(Writer& w, const PoolRequest& m) {
  w.bytes(kPoolMagic);
  w.u8(static_cast<std::uint8_t>(m.command));
}

void encode(Writer& w, const NodeDescriptor& m) {
  w.bytes(m.identity.view());
  w.bytes(m.onion_key.view());
  w.u8(static_cast<std::uint8_t>(m.host.size()));
  w.text(m.host);
  w.u16(m.port);
}

void encode(Writer& w, const HeartbeatChallenge& m) {
  w.bytes(m.challenge.view());
}

void encode(Writer& w, const SignedHeartbeat& m) {
  encode(w, m.node);
  w.bytes(m.signature.view());
}

void encode(Writer& w, const HeartbeatReply& m) {
  w.u8(static_cast<std::uint8_t>(m.status));
  w.u16(m.next_heartbeat_s);
}

void encode(Writer& w, const ListRequest& m) {
  w.bytes(m.nonce.view());
}

void encode(Writer& w, const NodeList& m) {
  w.u8(1);  // document version
  w.bytes(m.nonce.view());
  w.u64(m.issued_at);
  w.u16(static_cast<std::uint16_t>(m.nodes.size()));
  for (const auto& n : m.nodes) encode(w, n);
}

void encode(Writer& w, const SignedNodeList& m) {
  w.bytes(m.pool_key.view());
  w.u32(static_cast<std::uint32_t>(m.document.size()));
  w.bytes(m.document);
  w.bytes(m.signature.view());
}

template <>
Decoded<PoolRequest> decode<PoolRequest>(Reader& r) {
  auto magic = r.bytes(4);
  std::uint8_t cmd = r.u8();
  if (!magic.empty() && !std::equal(magic.begin(), magic.end(), kPoolMagic)) {
    return Malformed{"bad pool request magic (not a TPDP/1 peer)"};
  }
  if (r.truncated()) return NeedMore{};
  if (cmd != 1 && cmd != 2) return Malformed{"unknown pool command"};
  return PoolRequest{static_cast<PoolCommand>(cmd)};
}

template <>
Decoded<NodeDescriptor> decode<NodeDescriptor>(Reader& r) {
  NodeDescriptor m;
  r.fill(m.identity.bytes);
  r.fill(m.onion_key.bytes);
  std::size_t len = r.u8();
  auto host = r.bytes(len);
  m.port = r.u16();
  if (r.truncated()) return NeedMore{};
  m.host.assign(host.begin(), host.end());
  if (!is_valid_host(m.host)) return Malformed{"invalid node host name"};
  if (m.port == 0) return Malformed{"node port 0"};
  return m;
}

template <>
Decoded<HeartbeatChallenge> decode<HeartbeatChallenge>(Reader& r) {
  HeartbeatChallenge m;
  r.fill(m.challenge.bytes);
  if (r.truncated()) return NeedMore{};
  return m;
}

template <>
Decoded<SignedHeartbeat> decode<SignedHeartbeat>(Reader& r) {
  auto node = decode<NodeDescriptor>(r);
  if (is_malformed(node)) return std::get<Malformed>(node);
  SignedHeartbeat m;
  r.fill(m.signature.bytes);
  if (r.truncated()) return NeedMore{};
  m.node = std::get<NodeDescriptor>(node);
  return m;
}

template <>
Decoded<HeartbeatReply> decode<HeartbeatReply>(Reader& r) {
  HeartbeatReply m;
  std::uint8_t status = r.u8();
  m.next_heartbeat_s = r.u16();
  if (r.truncated()) return NeedMore{};
  m.status = status == 0 ? Errc::ok : errc_from_wire(status);
  return m;
}

template <>
Decoded<ListRequest> decode<ListRequest>(Reader& r) {
  ListRequest m;
  r.fill(m.nonce.bytes);
  if (r.truncated()) return NeedMore{};
  return m;
}

template <>
Decoded<NodeList> decode<NodeList>(Reader& r) {
  NodeList m;
  std::uint8_t version = r.u8();
  r.fill(m.nonce.bytes);
  m.issued_at = r.u64();
  std::size_t count = r.u16();
  if (r.truncated()) return NeedMore{};
  if (version != 1) return Malformed{"unknown node list version"};
  if (count > kMaxListedNodes) return Malformed{"node list too long"};
  m.nodes.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    auto n = decode<NodeDescriptor>(r);
    if (needs_more(n)) return NeedMore{};
    if (is_malformed(n)) return std::get<Malformed>(n);
    m.nodes.push_back(std::get<NodeDescriptor>(n));
  }
  return m;
}

template <>
Decoded<SignedNodeList> decode<SignedNodeList>(Reader& r) {
  SignedNodeList m;
  r.fill(m.pool_key.bytes);
  std::size_t len = r.u32();
  if (r.truncated()) return NeedMore{};
  if (len > kMaxListDocument) return Malformed{"node list document too large"};
  auto doc = r.bytes(len);
  r.fill(m.signature.bytes);
  if (r.truncated()) return NeedMore{};
  m.document.assign(doc.begin(), doc.end());
  return m;
}

Bytes heartbeat_signed_bytes(const Nonce32& challenge, const NodeDescriptor& node) {
  Bytes out;
  Writer w(out);
  w.text(kHeartbeatContext);
  w.bytes(challenge.view());
  encode(w, node);
  return out;
}

Bytes node_list_signed_bytes(ByteView document) {
  Bytes out;
  Writer w(out);
  w.text(kNodeListContext);
  w.bytes(document);
  return out;
}

}  // namespace tpdp
