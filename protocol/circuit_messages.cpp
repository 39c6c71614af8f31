#include "protocol/circuit_messages.hpp"

#include <sodium.h>

#include <algorithm>

#include "protocol/host.hpp"

namespace tpdp {
namespace {

void encode_host_port(Writer& w, const std::string& host, std::uint16_t port) {
  w.u8(static_cast<std::uint8_t>(host.size()));
  w.text(host);
  w.u16(port);
}

// host_len(1) | host | port(2), validated.
std::optional<Malformed> decode_host_port(Reader& r, std::string& host, std::uint16_t& port) {
  std::size_t len = r.u8();
  auto bytes = r.bytes(len);
  port = r.u16();
  if (r.truncated()) return std::nullopt;
  host.assign(bytes.begin(), bytes.end());
  if (len == 0) return Malformed{"empty host name"};
  if (!is_valid_host(host)) return Malformed{"invalid host name"};
  if (port == 0) return Malformed{"port 0"};
  return std::nullopt;
}

bool printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

}  // namespace

void encode(Writer& w, const CreateMsg& m) {
  w.bytes(kCreateMagic);
  w.bytes(m.node_id.view());
  w.bytes(m.client_public.view());
}

PreviousNodeTag previous_node_tag(const IdentityPublicKey& previous, const OnionPublicKey& x) {
  static constexpr std::string_view kLabel = "tpdp-1 prev-node";  // 16 bytes
  Bytes in(kLabel.begin(), kLabel.end());
  in.insert(in.end(), x.bytes.begin(), x.bytes.end());
  in.insert(in.end(), previous.bytes.begin(), previous.bytes.end());
  PreviousNodeTag tag;
  crypto_generichash(tag.bytes.data(), tag.bytes.size(), in.data(), in.size(), nullptr, 0);
  return tag;
}

void encode(Writer& w, const NodeCreateMsg& m) {
  w.bytes(kNodeCreateMagic);
  w.u8(m.depth);
  w.bytes(m.previous.view());
  w.bytes(m.create.node_id.view());
  w.bytes(m.create.client_public.view());
}

void encode(Writer& w, const IncomingCreate& m) {
  if (!m.previous) return encode(w, m.create);
  encode(w, NodeCreateMsg{m.depth, *m.previous, m.create});
}

void encode(Writer& w, const CreatedMsg& m) {
  w.u8(static_cast<std::uint8_t>(m.status));
  if (m.status != Errc::ok) return;
  w.bytes(m.node_ephemeral.view());
  w.bytes(m.auth.view());
}

void encode(Writer& w, const ExtendMsg& m) {
  encode_host_port(w, m.host, m.port);
  encode(w, m.create);
}

void encode(Writer& w, const ExtendedMsg& m) {
  encode(w, m.created);
}

void encode(Writer& w, const BeginMsg& m) {
  encode_host_port(w, m.host, m.port);
}

void encode(Writer& w, const ErrorMsg& m) {
  w.u8(static_cast<std::uint8_t>(m.code));
  // The reason must stay decodable: printable ASCII only, bounded.
  std::string reason(std::string_view(m.reason).substr(0, kMaxErrorReason));
  for (char& c : reason) {
    if (c < 0x20 || c >= 0x7f) c = '?';
  }
  w.text(reason);
}

template <>
Decoded<CreateMsg> decode<CreateMsg>(Reader& r) {
  auto magic = r.bytes(4);
  CreateMsg m;
  r.fill(m.node_id.bytes);
  r.fill(m.client_public.bytes);
  if (!magic.empty() && !std::equal(magic.begin(), magic.end(), kCreateMagic)) {
    return Malformed{"bad CREATE magic (not a TPDP/1 client)"};
  }
  if (r.truncated()) return NeedMore{};
  return m;
}

template <>
Decoded<IncomingCreate> decode<IncomingCreate>(Reader& r) {
  auto magic = r.bytes(4);
  if (r.truncated()) return NeedMore{};
  IncomingCreate m;
  if (std::equal(magic.begin(), magic.end(), kCreateMagic)) {
    r.fill(m.create.node_id.bytes);
    r.fill(m.create.client_public.bytes);
    if (r.truncated()) return NeedMore{};
    return m;
  }
  if (!std::equal(magic.begin(), magic.end(), kNodeCreateMagic)) {
    return Malformed{"bad CREATE magic (not a TPDP/1 client or node)"};
  }
  m.depth = r.u8();
  PreviousNodeTag previous;
  r.fill(previous.bytes);
  r.fill(m.create.node_id.bytes);
  r.fill(m.create.client_public.bytes);
  if (r.truncated()) return NeedMore{};
  if (m.depth < 2 || m.depth > kMaxCircuitHops) {
    return Malformed{"node CREATE with depth " + std::to_string(m.depth) + " (must be 2 to " +
                     std::to_string(kMaxCircuitHops) + ")"};
  }
  m.previous = previous;
  return m;
}

template <>
Decoded<CreatedMsg> decode<CreatedMsg>(Reader& r) {
  CreatedMsg m;
  std::uint8_t status = r.u8();
  if (r.truncated()) return NeedMore{};
  if (status != 0) {
    m.status = errc_from_wire(status);
    return m;
  }
  r.fill(m.node_ephemeral.bytes);
  r.fill(m.auth.bytes);
  if (r.truncated()) return NeedMore{};
  return m;
}

template <>
Decoded<ExtendMsg> decode<ExtendMsg>(Reader& r) {
  ExtendMsg m;
  if (auto bad = decode_host_port(r, m.host, m.port)) return *bad;
  if (r.truncated()) return NeedMore{};
  auto create = decode<CreateMsg>(r);
  if (!is_value(create)) {
    if (needs_more(create)) return NeedMore{};
    return std::get<Malformed>(create);
  }
  m.create = std::get<CreateMsg>(create);
  return m;
}

template <>
Decoded<ExtendedMsg> decode<ExtendedMsg>(Reader& r) {
  auto created = decode<CreatedMsg>(r);
  if (needs_more(created)) return NeedMore{};
  if (is_malformed(created)) return std::get<Malformed>(created);
  return ExtendedMsg{std::get<CreatedMsg>(created)};
}

template <>
Decoded<BeginMsg> decode<BeginMsg>(Reader& r) {
  BeginMsg m;
  if (auto bad = decode_host_port(r, m.host, m.port)) return *bad;
  if (r.truncated()) return NeedMore{};
  return m;
}

template <>
Decoded<ErrorMsg> decode<ErrorMsg>(Reader& r) {
  ErrorMsg m;
  std::uint8_t code = r.u8();
  if (r.truncated()) return NeedMore{};
  if (r.remaining() > kMaxErrorReason) return Malformed{"error reason too long"};
  auto reason = r.bytes(r.remaining());
  m.code = errc_from_wire(code);
  m.reason.assign(reason.begin(), reason.end());
  if (!printable(m.reason)) return Malformed{"error reason is not printable ASCII"};
  return m;
}

}  // namespace tpdp
