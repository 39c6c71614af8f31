#include "protocol/circuit_messages.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace tpdp;

namespace {

template <class Key>
Key patterned(std::uint8_t start) {
  Key k;
  for (std::size_t i = 0; i < Key::size(); ++i) k.bytes[i] = static_cast<std::uint8_t>(start + i);
  return k;
}

CreateMsg sample_create() {
  CreateMsg m;
  m.node_id = patterned<IdentityPublicKey>(0x10);
  m.client_public = patterned<OnionPublicKey>(0x80);
  return m;
}

CreatedMsg sample_created() {
  CreatedMsg m;
  m.status = Errc::ok;
  m.node_ephemeral = patterned<OnionPublicKey>(0x30);
  m.auth = patterned<AuthTag>(0xc0);
  return m;
}

// host_len | host | port, as the wire carries it.
Bytes host_port_bytes(const std::string& host, std::uint16_t port) {
  Bytes out;
  Writer w(out);
  w.u8(static_cast<std::uint8_t>(host.size()));
  w.text(host);
  w.u16(port);
  return out;
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

// Every strict prefix is NeedMore when read from a stream.
template <class T>
void check_stream_prefixes(const Bytes& enc) {
  for (std::size_t n = 0; n < enc.size(); ++n) {
    INFO("prefix length " << n);
    Reader r(ByteView(enc).first(n));
    CHECK(needs_more(decode<T>(r)));
  }
}

// Every strict prefix of a complete payload is Malformed.
template <class T>
void check_exact_prefixes(const Bytes& enc) {
  for (std::size_t n = 0; n < enc.size(); ++n) {
    INFO("prefix length " << n);
    malformed_reason(decode_exact<T>(ByteView(enc).first(n)));
  }
}

template <class T>
void check_trailing_rejected(Bytes enc) {
  enc.push_back(0x00);
  CHECK(malformed_reason(decode_exact<T>(enc)) == "trailing bytes after message");
}

}  // namespace

TEST_CASE("CREATE encodes magic, identity and X", "[circuit_messages]") {
  auto m = sample_create();
  Bytes enc = encode_to_bytes(m);
  REQUIRE(enc.size() == kCreateSize);
  CHECK(enc[0] == 'T');
  CHECK(enc[1] == 'P');
  CHECK(enc[2] == 'D');
  CHECK(enc[3] == '1');
  CHECK(enc[4] == 0x10);
  CHECK(enc[35] == 0x10 + 31);
  CHECK(enc[36] == 0x80);
  CHECK(enc[67] == 0x80 + 31);

  Reader r(enc);
  auto d = value_of(decode<CreateMsg>(r));
  CHECK(d.node_id == m.node_id);
  CHECK(d.client_public == m.client_public);
  CHECK(r.consumed() == kCreateSize);
  CHECK(r.remaining() == 0);

  check_stream_prefixes<CreateMsg>(enc);
  check_trailing_rejected<CreateMsg>(enc);
}

TEST_CASE("CREATE read from a stream leaves the following bytes", "[circuit_messages]") {
  Bytes enc = encode_to_bytes(sample_create());
  enc.push_back(0x42);
  Reader r(enc);
  CHECK(is_value(decode<CreateMsg>(r)));
  CHECK(r.remaining() == 1);
}

TEST_CASE("CREATE with a bad magic is malformed", "[circuit_messages]") {
  Bytes enc = encode_to_bytes(sample_create());
  for (std::size_t i = 0; i < 4; ++i) {
    Bytes bad = enc;
    bad[i] ^= 0x20;
    Reader r(bad);
    CHECK(malformed_reason(decode<CreateMsg>(r)) == "bad CREATE magic (not a TPDP/1 client)");
  }
  // Known as soon as the magic is there, before the rest arrives.
  Bytes old_client = {'G', 'E', 'T', ' '};
  Reader r(old_client);
  CHECK(is_malformed(decode<CreateMsg>(r)));
}

TEST_CASE("a client's CREATE read as an incoming CREATE has depth 1", "[circuit_messages]") {
  Bytes enc = encode_to_bytes(sample_create());
  enc.push_back(0x42);  // a pipelined byte stays for the next reader
  Reader r(enc);
  auto d = value_of(decode<IncomingCreate>(r));
  CHECK(d.depth == 1);
  CHECK_FALSE(d.previous.has_value());
  CHECK(d.create.node_id == sample_create().node_id);
  CHECK(d.create.client_public == sample_create().client_public);
  CHECK(r.consumed() == kCreateSize);
  enc.pop_back();
  CHECK(encode_to_bytes(d) == enc);
  check_stream_prefixes<IncomingCreate>(enc);
}

TEST_CASE("the node form of CREATE: magic TPDE, depth, previous node, node_id, X",
          "[circuit_messages]") {
  NodeCreateMsg m{3, patterned<PreviousNodeTag>(0x50), sample_create()};
  Bytes enc = encode_to_bytes(m);
  REQUIRE(enc.size() == kNodeCreateSize);
  REQUIRE(kNodeCreateSize == 101);
  CHECK(Bytes(enc.begin(), enc.begin() + 4) == Bytes{'T', 'P', 'D', 'E'});
  CHECK(enc[4] == 3);
  CHECK(enc[5] == 0x50);
  CHECK(enc[36] == 0x50 + 31);
  CHECK(enc[37] == 0x10);
  CHECK(enc[69] == 0x80);
  CHECK(enc[100] == 0x80 + 31);

  Reader r(enc);
  auto d = value_of(decode<IncomingCreate>(r));
  CHECK(d.depth == 3);
  REQUIRE(d.previous.has_value());
  CHECK(*d.previous == m.previous);
  CHECK(d.create.node_id == m.create.node_id);
  CHECK(d.create.client_public == m.create.client_public);
  CHECK(r.consumed() == kNodeCreateSize);
  CHECK(encode_to_bytes(d) == enc);
  // A stream reader needs every byte of the node form (more than a client's 68).
  check_stream_prefixes<IncomingCreate>(enc);
  check_trailing_rejected<IncomingCreate>(enc);
}

TEST_CASE("the node form of CREATE: depth 0, 1 or above the cap is malformed",
          "[circuit_messages]") {
  REQUIRE(kMaxCircuitHops == 8);
  for (int depth : {0, 1, 9, 255}) {
    INFO("depth " << depth);
    Bytes enc = encode_to_bytes(NodeCreateMsg{static_cast<std::uint8_t>(depth),
                                              patterned<PreviousNodeTag>(1), sample_create()});
    Reader r(enc);
    CHECK(malformed_reason(decode<IncomingCreate>(r)).find("depth " + std::to_string(depth)) !=
          std::string::npos);
  }
  for (int depth : {2, 8}) {
    Bytes enc = encode_to_bytes(NodeCreateMsg{static_cast<std::uint8_t>(depth),
                                              patterned<PreviousNodeTag>(1), sample_create()});
    Reader r(enc);
    CHECK(value_of(decode<IncomingCreate>(r)).depth == depth);
  }
}

TEST_CASE("an incoming CREATE with another magic is malformed at 4 bytes", "[circuit_messages]") {
  for (const char* magic : {"TPD2", "TPDe", "Hell", "\x00\x00\x00\x00"}) {
    Bytes enc(magic, magic + 4);
    Reader r(enc);
    CHECK(malformed_reason(decode<IncomingCreate>(r)) ==
          "bad CREATE magic (not a TPDP/1 client or node)");
  }
  // The client's EXTEND still carries a client's CREATE: the node form is refused there.
  Bytes payload = host_port_bytes("127.0.0.1", 7001);
  Bytes node_form =
      encode_to_bytes(NodeCreateMsg{2, patterned<PreviousNodeTag>(1), sample_create()});
  payload.insert(payload.end(), node_form.begin(), node_form.end());
  malformed_reason(decode_exact<ExtendMsg>(payload));
}

TEST_CASE("CREATED ok round trip", "[circuit_messages]") {
  auto m = sample_created();
  Bytes enc = encode_to_bytes(m);
  REQUIRE(enc.size() == kCreatedOkSize);
  CHECK(enc[0] == 0);
  CHECK(enc[1] == 0x30);
  CHECK(enc[33] == 0xc0);
  Reader r(enc);
  auto d = value_of(decode<CreatedMsg>(r));
  CHECK(d.status == Errc::ok);
  CHECK(d.node_ephemeral == m.node_ephemeral);
  CHECK(d.auth == m.auth);
  CHECK(r.remaining() == 0);
  check_stream_prefixes<CreatedMsg>(enc);
  check_trailing_rejected<CreatedMsg>(enc);
}

TEST_CASE("CREATED with an error status is a single byte", "[circuit_messages]") {
  CreatedMsg m;
  m.status = Errc::limit_reached;
  Bytes enc = encode_to_bytes(m);
  CHECK(enc == Bytes{6});
  auto d = value_of(decode_exact<CreatedMsg>(enc));
  CHECK(d.status == Errc::limit_reached);
  CHECK(d.node_ephemeral == OnionPublicKey{});
  check_stream_prefixes<CreatedMsg>(enc);
  check_trailing_rejected<CreatedMsg>(enc);

  // Unknown status codes from a peer decode as protocol_error.
  CHECK(value_of(decode_exact<CreatedMsg>(Bytes{200})).status == Errc::protocol_error);
  CHECK(value_of(decode_exact<CreatedMsg>(Bytes{14})).status == Errc::connection_refused);
}

TEST_CASE("EXTEND round trip", "[circuit_messages]") {
  ExtendMsg m;
  m.host = "node-2.example.org";
  m.port = 9001;
  m.create = sample_create();
  Bytes enc = encode_to_bytes(m);
  Bytes expected = host_port_bytes("node-2.example.org", 9001);
  Bytes create = encode_to_bytes(m.create);
  expected.insert(expected.end(), create.begin(), create.end());
  CHECK(enc == expected);
  REQUIRE(enc.size() == 1 + 18 + 2 + kCreateSize);

  auto d = value_of(decode_exact<ExtendMsg>(enc));
  CHECK(d.host == "node-2.example.org");
  CHECK(d.port == 9001);
  CHECK(d.create.node_id == m.create.node_id);
  CHECK(d.create.client_public == m.create.client_public);

  check_exact_prefixes<ExtendMsg>(enc);
  check_stream_prefixes<ExtendMsg>(enc);
  check_trailing_rejected<ExtendMsg>(enc);
}

TEST_CASE("EXTEND to IPv4 and IPv6 literals", "[circuit_messages]") {
  for (std::string host : {"127.0.0.1", "::1", "2001:db8::42", "::ffff:10.0.0.1"}) {
    ExtendMsg m;
    m.host = host;
    m.port = 65535;
    m.create = sample_create();
    auto d = value_of(decode_exact<ExtendMsg>(encode_to_bytes(m)));
    CHECK(d.host == host);
    CHECK(d.port == 65535);
  }
}

TEST_CASE("EXTEND with a bad CREATE magic is malformed", "[circuit_messages]") {
  ExtendMsg m;
  m.host = "a.example";
  m.port = 1;
  m.create = sample_create();
  Bytes enc = encode_to_bytes(m);
  enc[1 + 9 + 2] = 'X';
  CHECK(malformed_reason(decode_exact<ExtendMsg>(enc)) == "bad CREATE magic (not a TPDP/1 client)");
}

TEST_CASE("BEGIN round trip", "[circuit_messages]") {
  BeginMsg m{"www.example.com", 443};
  Bytes enc = encode_to_bytes(m);
  CHECK(enc == host_port_bytes("www.example.com", 443));
  auto d = value_of(decode_exact<BeginMsg>(enc));
  CHECK(d.host == "www.example.com");
  CHECK(d.port == 443);
  check_exact_prefixes<BeginMsg>(enc);
  check_stream_prefixes<BeginMsg>(enc);
  check_trailing_rejected<BeginMsg>(enc);
}

TEST_CASE("BEGIN accepts the longest valid DNS name", "[circuit_messages]") {
  // 4 labels of 63 + 3 dots = 255 > 253; 3 labels of 63 and one of 61 = 253.
  std::string host = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                     std::string(63, 'c') + "." + std::string(61, 'd');
  REQUIRE(host.size() == 253);
  auto d = value_of(decode_exact<BeginMsg>(host_port_bytes(host, 80)));
  CHECK(d.host == host);
}

TEST_CASE("bad host names in BEGIN and EXTEND are malformed", "[circuit_messages]") {
  std::string too_long_total = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                               std::string(63, 'c') + "." + std::string(62, 'd');  // 254
  std::string too_long_label = std::string(64, 'a') + ".com";
  struct Case {
    std::string host;
    const char* reason;
  } cases[] = {
      {"", "empty host name"},
      {too_long_total, "invalid host name"},
      {std::string(255, 'a'), "invalid host name"},
      {too_long_label, "invalid host name"},
      {"ex\xc3\xa4mple.com", "invalid host name"},  // non-ASCII
      {"\x80", "invalid host name"},
      {std::string("exa\0mple.com", 12), "invalid host name"},
      {std::string("example.com\0", 12), "invalid host name"},
      {"example..com", "invalid host name"},
      {".example.com", "invalid host name"},
      {"exa mple.com", "invalid host name"},
      {"[::1]", "invalid host name"},
      {"fe80::1%eth0", "invalid host name"},
      {"host:80", "invalid host name"},
  };
  for (const auto& c : cases) {
    INFO("host '" << c.host << "' (" << c.host.size() << " bytes)");
    Bytes begin = host_port_bytes(c.host, 80);
    CHECK(malformed_reason(decode_exact<BeginMsg>(begin)) == c.reason);
    Bytes extend = begin;
    Bytes create = encode_to_bytes(sample_create());
    extend.insert(extend.end(), create.begin(), create.end());
    CHECK(malformed_reason(decode_exact<ExtendMsg>(extend)) == c.reason);
  }
}

// An IP literal followed by a NUL must not pass: the host check must look at
// every byte, not stop at the first NUL like a C string.
TEST_CASE("IP literals with an embedded NUL are malformed", "[circuit_messages]") {
  for (std::string host : {std::string("1.2.3.4\0", 8), std::string("1.2.3.4\0evil.com", 16),
                           std::string("::1\0", 4)}) {
    INFO("host of " << host.size() << " bytes");
    CHECK(is_malformed(decode_exact<BeginMsg>(host_port_bytes(host, 80))));
  }
}

TEST_CASE("port 0 is malformed", "[circuit_messages]") {
  CHECK(malformed_reason(decode_exact<BeginMsg>(host_port_bytes("example.com", 0))) == "port 0");
  Bytes extend = host_port_bytes("10.1.2.3", 0);
  Bytes create = encode_to_bytes(sample_create());
  extend.insert(extend.end(), create.begin(), create.end());
  CHECK(malformed_reason(decode_exact<ExtendMsg>(extend)) == "port 0");
}

TEST_CASE("EXTENDED round trip", "[circuit_messages]") {
  ExtendedMsg m{sample_created()};
  Bytes enc = encode_to_bytes(m);
  CHECK(enc == encode_to_bytes(m.created));
  auto d = value_of(decode_exact<ExtendedMsg>(enc));
  CHECK(d.created.status == Errc::ok);
  CHECK(d.created.node_ephemeral == m.created.node_ephemeral);
  CHECK(d.created.auth == m.created.auth);
  check_exact_prefixes<ExtendedMsg>(enc);
  check_trailing_rejected<ExtendedMsg>(enc);

  ExtendedMsg failed;
  failed.created.status = Errc::authentication_failed;
  Bytes fenc = encode_to_bytes(failed);
  CHECK(fenc == Bytes{4});
  CHECK(value_of(decode_exact<ExtendedMsg>(fenc)).created.status == Errc::authentication_failed);
  check_trailing_rejected<ExtendedMsg>(fenc);
}

TEST_CASE("ERROR round trip", "[circuit_messages]") {
  ErrorMsg m{Errc::exit_policy_refused, "port 25 is not allowed"};
  Bytes enc = encode_to_bytes(m);
  REQUIRE(enc.size() == 1 + m.reason.size());
  CHECK(enc[0] == 5);
  CHECK(std::string(enc.begin() + 1, enc.end()) == m.reason);
  auto d = value_of(decode_exact<ErrorMsg>(enc));
  CHECK(d.code == Errc::exit_policy_refused);
  CHECK(d.reason == m.reason);

  // The reason runs to the end of the payload, so a prefix is a shorter
  // reason; only the empty payload is malformed.
  CHECK(malformed_reason(decode_exact<ErrorMsg>(ByteView{})) == "message truncated");
  auto shorter = value_of(decode_exact<ErrorMsg>(ByteView(enc).first(5)));
  CHECK(shorter.reason == "port");
  auto bare = value_of(decode_exact<ErrorMsg>(Bytes{13}));
  CHECK(bare.code == Errc::internal_error);
  CHECK(bare.reason.empty());
}

TEST_CASE("ERROR reason limits", "[circuit_messages]") {
  std::string longest(kMaxErrorReason, 'x');
  auto d = value_of(decode_exact<ErrorMsg>(encode_to_bytes(ErrorMsg{Errc::timeout, longest})));
  CHECK(d.reason == longest);

  Bytes too_long{1};
  too_long.insert(too_long.end(), kMaxErrorReason + 1, 'x');
  CHECK(malformed_reason(decode_exact<ErrorMsg>(too_long)) == "error reason too long");

  // The encoder cuts an over-long reason to the limit.
  Bytes cut = encode_to_bytes(ErrorMsg{Errc::timeout, std::string(500, 'y')});
  CHECK(cut.size() == 1 + kMaxErrorReason);
  CHECK(value_of(decode_exact<ErrorMsg>(cut)).reason == std::string(kMaxErrorReason, 'y'));

  for (std::string reason :
       {std::string("line\nbreak"), std::string("tab\t"), std::string("nul\0", 4),
        std::string("del\x7f"), std::string("caf\xc3\xa9")}) {
    Bytes enc{2};
    enc.insert(enc.end(), reason.begin(), reason.end());
    CHECK(malformed_reason(decode_exact<ErrorMsg>(enc)) == "error reason is not printable ASCII");
  }
  // The encoder keeps what it sends decodable: other bytes become '?'.
  Bytes sanitised = encode_to_bytes(ErrorMsg{Errc::timeout, std::string("a\nb\0c\x7f\xc3", 7)});
  CHECK(sanitised == Bytes{1, 'a', '?', 'b', '?', 'c', '?', '?'});
  CHECK(value_of(decode_exact<ErrorMsg>(sanitised)).reason == "a?b?c??");

  Bytes printable{2};
  std::string all_printable;
  for (char c = 0x20; c < 0x7f; ++c) all_printable.push_back(c);
  printable.insert(printable.end(), all_printable.begin(), all_printable.end());
  CHECK(value_of(decode_exact<ErrorMsg>(printable)).reason == all_printable);
}

TEST_CASE("ERROR codes from a peer", "[circuit_messages]") {
  CHECK(value_of(decode_exact<ErrorMsg>(Bytes{0})).code == Errc::protocol_error);
  CHECK(value_of(decode_exact<ErrorMsg>(Bytes{kMaxWireErrc})).code == Errc::connection_refused);
  CHECK(value_of(decode_exact<ErrorMsg>(Bytes{kMaxWireErrc + 1})).code == Errc::protocol_error);
  CHECK(value_of(decode_exact<ErrorMsg>(Bytes{0xff, 'a'})).code == Errc::protocol_error);
}
