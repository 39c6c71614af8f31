// TPDP/0.1 pool index messages (plain TCP, one request per connection):
//   00                      list request; reply: entries until the pool closes
//   01 host 00 port(2)      heartbeat; reply: 1 byte, seconds to the next one
// An entry of the list is `host 00 port(2)`. Nothing is signed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/bytes.hpp"
#include "protocol/host.hpp"
#include "protocol/pool_messages.hpp"

namespace tpdp::v0_1 {

enum class PoolCommand : std::uint8_t { list = 0, heartbeat = 1 };

// `host 00 port`: the framing only; the host is not validated here (up to
// 255 bytes, no NUL by construction).
struct NodeEntry {
  std::string host;
  std::uint16_t port = 0;
  bool operator==(const NodeEntry&) const = default;
};

struct PoolRequest {
  PoolCommand command = PoolCommand::list;
  NodeEntry node;  // heartbeat: the address the node claims (validated)
};

struct HeartbeatReply {
  std::uint8_t next_heartbeat_s = 15;
};

// A whole list as received up to the pool's close: valid entries, unique by
// host:port, in order; entries whose host is not a valid name or address
// (or port 0) are skipped and counted.
struct NodeList {
  std::vector<HostPort> nodes;
  std::size_t skipped = 0;
};

void encode(Writer& w, const NodeEntry& m);
void encode(Writer& w, const PoolRequest& m);
void encode(Writer& w, const HeartbeatReply& m);
Bytes encode_node_list(const std::vector<HostPort>& nodes);

// Malformed: an entry cut short by the end of the list, a host longer than
// 255 bytes, or more than kMaxListedNodes entries.
Decoded<NodeList> decode_node_list(ByteView whole);
// Longest list reply a client reads: kMaxListedNodes entries of 255-byte names.
inline constexpr std::size_t kMaxListBytes = kMaxListedNodes * (255 + 3);

// TPDP/0.1 nodes have no keys. Their descriptors carry, in the identity
// field, a label derived from the address (BLAKE2b-256 of
// "tpdp-0.1 address label" and HOST:PORT) so that code keyed by identity
// treats one address as one node. It proves nothing.
NodeDescriptor descriptor_for(const HostPort& node);

}  // namespace tpdp::v0_1

namespace tpdp {
template <>
Decoded<v0_1::NodeEntry> decode<v0_1::NodeEntry>(Reader& r);
// Unknown commands, invalid heartbeat hosts and port 0 are Malformed.
template <>
Decoded<v0_1::PoolRequest> decode<v0_1::PoolRequest>(Reader& r);
template <>
Decoded<v0_1::HeartbeatReply> decode<v0_1::HeartbeatReply>(Reader& r);
}  // namespace tpdp
