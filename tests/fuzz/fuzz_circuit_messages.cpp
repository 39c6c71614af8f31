// Fuzzes the TPDP/1 circuit message decoders (CREATE, a node's incoming
// CREATE in either form, CREATED, EXTEND,
// EXTENDED, BEGIN, ERROR): every type is decoded from the same input, and any
// decoded value must re-encode to the input and decode again to itself.
#include <cstddef>
#include <cstdint>
#include <string>

#include "protocol/circuit_messages.hpp"
#include "protocol/host.hpp"
#include "tests/fuzz/message_check.hpp"

using namespace tpdp;
using namespace tpdp::fuzz;

namespace {

bool eq_create(const CreateMsg& a, const CreateMsg& b) {
  return a.node_id == b.node_id && a.client_public == b.client_public;
}
bool eq_incoming(const IncomingCreate& a, const IncomingCreate& b) {
  return a.depth == b.depth && a.previous == b.previous && eq_create(a.create, b.create);
}
bool eq_created(const CreatedMsg& a, const CreatedMsg& b) {
  return a.status == b.status && a.node_ephemeral == b.node_ephemeral && a.auth == b.auth;
}
bool eq_extend(const ExtendMsg& a, const ExtendMsg& b) {
  return a.host == b.host && a.port == b.port && eq_create(a.create, b.create);
}
bool eq_extended(const ExtendedMsg& a, const ExtendedMsg& b) {
  return eq_created(a.created, b.created);
}
bool eq_begin(const BeginMsg& a, const BeginMsg& b) {
  return a.host == b.host && a.port == b.port;
}
bool eq_error(const ErrorMsg& a, const ErrorMsg& b) {
  return a.code == b.code && a.reason == b.reason;
}

std::uint8_t status_byte(std::uint8_t b) {
  return b == 0 ? 0 : static_cast<std::uint8_t>(errc_from_wire(b));
}
std::uint8_t error_code_byte(std::uint8_t b) {
  return static_cast<std::uint8_t>(errc_from_wire(b));
}

void check_destination(const std::string& host, std::uint16_t port) {
  check(!host.empty() && host.size() <= kMaxHostLength);
  check(is_valid_host(host));
  check(host_charset_ok(host));
  check(port != 0);
}

void check_created(const CreatedMsg& m) {
  auto s = static_cast<std::uint8_t>(m.status);
  check(s <= kMaxWireErrc);
  if (m.status != Errc::ok) {
    // Only the status byte is sent with a failure.
    check(m.node_ephemeral == OnionPublicKey{} && m.auth == AuthTag{});
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteView in = view(data, size);

  {
    Decoded<CreateMsg> d;
    if (check_message<CreateMsg>(in, eq_create, Framing::stream, d)) {
      check(in.size() >= kCreateSize && std::equal(kCreateMagic, kCreateMagic + 4, in.begin()));
    }
  }
  {
    Decoded<IncomingCreate> d;
    if (auto* m = check_message<IncomingCreate>(in, eq_incoming, Framing::stream, d)) {
      if (m->previous) {
        check(m->depth >= 2 && m->depth <= kMaxCircuitHops);
        check(in.size() >= kNodeCreateSize &&
              std::equal(kNodeCreateMagic, kNodeCreateMagic + 4, in.begin()));
      } else {
        check(m->depth == 1);
        check(in.size() >= kCreateSize && std::equal(kCreateMagic, kCreateMagic + 4, in.begin()));
      }
    }
  }
  {
    Decoded<CreatedMsg> d;
    if (auto* m = check_message<CreatedMsg>(in, eq_created, Framing::stream, d, status_byte)) {
      check_created(*m);
    }
  }
  {
    Decoded<ExtendMsg> d;
    if (auto* m = check_message<ExtendMsg>(in, eq_extend, Framing::stream, d)) {
      check_destination(m->host, m->port);
    }
  }
  {
    Decoded<ExtendedMsg> d;
    if (auto* m = check_message<ExtendedMsg>(in, eq_extended, Framing::stream, d, status_byte)) {
      check_created(m->created);
    }
  }
  {
    Decoded<BeginMsg> d;
    if (auto* m = check_message<BeginMsg>(in, eq_begin, Framing::stream, d)) {
      check_destination(m->host, m->port);
    }
  }
  {
    Decoded<ErrorMsg> d;
    if (auto* m = check_message<ErrorMsg>(in, eq_error, Framing::to_end, d, error_code_byte)) {
      check(m->reason.size() <= kMaxErrorReason);
      for (char c : m->reason) check(c >= 0x20 && c < 0x7f);
      check(m->code != Errc::ok && static_cast<std::uint8_t>(m->code) <= kMaxWireErrc);
    }
  }

  // Values built from the input: the encoder and the decoder agree on what is valid.
  if (size >= 1) {
    std::string text(in.begin() + 1, in.end());
    ErrorMsg e{errc_from_wire(data[0]), text};
    auto back = decode_exact<ErrorMsg>(encode_to_bytes(e));
    check(is_value(back));  // the encoder always sends a decodable reason
    const auto& b = std::get<ErrorMsg>(back);
    check(b.code == e.code && b.reason.size() == std::min(text.size(), kMaxErrorReason));
    for (std::size_t i = 0; i < b.reason.size(); ++i) {
      char c = text[i];
      check(b.reason[i] == ((c >= 0x20 && c < 0x7f) ? c : '?'));
    }
  }
  if (size >= 2 && size - 2 <= 255) {
    std::uint16_t port = static_cast<std::uint16_t>((data[0] << 8) | data[1]);
    std::string host(in.begin() + 2, in.end());
    BeginMsg begin{host, port};
    auto back = decode_exact<BeginMsg>(encode_to_bytes(begin));
    bool valid = is_valid_host(host) && port != 0;
    check(is_value(back) == valid);
    if (valid)
      check(std::get<BeginMsg>(back).host == host && std::get<BeginMsg>(back).port == port);
  }
  return 0;
}
