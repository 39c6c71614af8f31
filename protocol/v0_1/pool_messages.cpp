#include "protocol/v0_1/pool_messages.hpp"

#include <sodium.h>

#include <set>

#include "protocol/v0_1/wire.hpp"

namespace tpdp::v0_1 {

void encode(Writer& w, const NodeEntry& m) {
  w.text(m.host);
  w.u8(0);
  w.u16(m.port);
}

void encode(Writer& w, const PoolRequest& m) {
  w.u8(static_cast<std::uint8_t>(m.command));
  if (m.command == PoolCommand::heartbeat) encode(w, m.node);
}

void encode(Writer& w, const HeartbeatReply& m) {
  w.u8(m.next_heartbeat_s);
}

Bytes encode_node_list(const std::vector<HostPort>& nodes) {
  Bytes out;
  Writer w(out);
  for (const auto& n : nodes) encode(w, NodeEntry{n.host, n.port});
  return out;
}

Decoded<NodeList> decode_node_list(ByteView whole) {
  NodeList list;
  std::set<std::pair<std::string, std::uint16_t>> seen;
  Reader r(whole);
  while (r.remaining() > 0) {
    auto d = decode<NodeEntry>(r);
    if (needs_more(d)) return Malformed{"the node list ends inside an entry"};
    if (is_malformed(d)) return std::get<Malformed>(d);
    auto& e = std::get<NodeEntry>(d);
    if (!is_valid_host(e.host) || e.port == 0) {
      ++list.skipped;
      continue;
    }
    if (!seen.emplace(e.host, e.port).second) continue;
    if (list.nodes.size() == kMaxListedNodes) return Malformed{"node list too long"};
    list.nodes.push_back(HostPort{std::move(e.host), e.port});
  }
  return list;
}

NodeDescriptor descriptor_for(const HostPort& node) {
  static constexpr std::string_view kContext = "tpdp-0.1 address label";
  std::string text = std::string(kContext) + '\0' + format_host_port(node);
  NodeDescriptor d;
  crypto_generichash(d.identity.data(), d.identity.size(),
                     reinterpret_cast<const unsigned char*>(text.data()), text.size(), nullptr, 0);
  d.host = node.host;
  d.port = node.port;
  return d;
}

}  // namespace tpdp::v0_1

namespace tpdp {

template <>
Decoded<v0_1::NodeEntry> decode<v0_1::NodeEntry>(Reader& r) {
  v0_1::NodeEntry m;
  for (;;) {
    if (r.remaining() == 0) return NeedMore{};
    std::uint8_t c = r.u8();
    if (c == 0) break;
    if (m.host.size() == v0_1::kMaxHostLength) {
      return Malformed{"host name longer than " + std::to_string(v0_1::kMaxHostLength) + " bytes"};
    }
    m.host.push_back(static_cast<char>(c));
  }
  m.port = r.u16();
  if (r.truncated()) return NeedMore{};
  return m;
}

template <>
Decoded<v0_1::PoolRequest> decode<v0_1::PoolRequest>(Reader& r) {
  v0_1::PoolRequest m;
  std::uint8_t command = r.u8();
  if (r.truncated()) return NeedMore{};
  if (command == static_cast<std::uint8_t>(v0_1::PoolCommand::list)) return m;
  if (command != static_cast<std::uint8_t>(v0_1::PoolCommand::heartbeat)) {
    return Malformed{"unknown pool command " + std::to_string(command)};
  }
  m.command = v0_1::PoolCommand::heartbeat;
  auto node = decode<v0_1::NodeEntry>(r);
  if (needs_more(node)) return NeedMore{};
  if (is_malformed(node)) return std::get<Malformed>(node);
  m.node = std::move(std::get<v0_1::NodeEntry>(node));
  if (!is_valid_host(m.node.host)) return Malformed{"heartbeat for an invalid host name"};
  if (m.node.port == 0) return Malformed{"heartbeat for port 0"};
  return m;
}

template <>
Decoded<v0_1::HeartbeatReply> decode<v0_1::HeartbeatReply>(Reader& r) {
  v0_1::HeartbeatReply m;
  m.next_heartbeat_s = r.u8();
  if (r.truncated()) return NeedMore{};
  return m;
}

}  // namespace tpdp
