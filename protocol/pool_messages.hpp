// TPDP/1 pool index messages: signed heartbeats (challenge-response, so a
// recorded heartbeat cannot be replayed) and the signed node list.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/bytes.hpp"
#include "protocol/crypto_types.hpp"
#include "protocol/errors.hpp"

namespace tpdp {

inline constexpr std::uint8_t kPoolMagic[4] = {'T', 'P', 'P', '1'};
inline constexpr std::size_t kMaxListDocument = 4 << 20;  // 10000 nodes with 255-byte names fit
inline constexpr std::size_t kMaxListedNodes = 10000;
inline constexpr std::string_view kHeartbeatContext = "tpdp-1 heartbeat";  // 16 bytes
inline constexpr std::string_view kNodeListContext = "tpdp-1 node-list";   // 16 bytes

enum class PoolCommand : std::uint8_t { heartbeat = 1, list = 2 };

struct PoolRequest {
  PoolCommand command = PoolCommand::list;
};

// What a node publishes and what the list carries for each node.
struct NodeDescriptor {
  IdentityPublicKey identity;
  OnionPublicKey onion_key;
  std::string host;
  std::uint16_t port = 0;
  bool operator==(const NodeDescriptor&) const = default;
};

struct HeartbeatChallenge {
  Nonce32 challenge;
};

struct SignedHeartbeat {
  NodeDescriptor node;
  Signature signature;
};

struct HeartbeatReply {
  Errc status = Errc::ok;
  std::uint16_t next_heartbeat_s = 15;
};

struct ListRequest {
  Nonce32 nonce;
};

struct NodeList {
  Nonce32 nonce;                // the client's, echoed: the list is fresh
  std::uint64_t issued_at = 0;  // unix seconds, informative
  std::vector<NodeDescriptor> nodes;
};

struct SignedNodeList {
  IdentityPublicKey pool_key;
  Bytes document;  // encoded NodeList
  Signature signature;
};

void encode(Writer& w, const PoolRequest& m);
void encode(Writer& w, const NodeDescriptor& m);
void encode(Writer& w, const HeartbeatChallenge& m);
void encode(Writer& w, const SignedHeartbeat& m);
void encode(Writer& w, const HeartbeatReply& m);
void encode(Writer& w, const ListRequest& m);
void encode(Writer& w, const NodeList& m);
void encode(Writer& w, const SignedNodeList& m);

template <>
Decoded<PoolRequest> decode<PoolRequest>(Reader& r);
template <>
Decoded<NodeDescriptor> decode<NodeDescriptor>(Reader& r);
template <>
Decoded<HeartbeatChallenge> decode<HeartbeatChallenge>(Reader& r);
template <>
Decoded<SignedHeartbeat> decode<SignedHeartbeat>(Reader& r);
template <>
Decoded<HeartbeatReply> decode<HeartbeatReply>(Reader& r);
template <>
Decoded<ListRequest> decode<ListRequest>(Reader& r);
template <>
Decoded<NodeList> decode<NodeList>(Reader& r);
template <>
Decoded<SignedNodeList> decode<SignedNodeList>(Reader& r);

// The exact bytes each signature covers.
Bytes heartbeat_signed_bytes(const Nonce32& challenge, const NodeDescriptor& node);
Bytes node_list_signed_bytes(ByteView document);

}  // namespace tpdp
