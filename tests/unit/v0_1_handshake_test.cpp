// TPDP/0.1 handshakes without sockets: the node's and the client's state
// machines, fed in every split, against byte vectors derived outside tpdp's
// code (tests/unit/v0_1_vectors.py: RFC 7748 keys, `openssl kdf` for HKDF,
// `openssl enc -aes-256-ctr` keystreams, XOR and the offsets of
// spec/tpdp-0.1.md computed by hand), and a simulated chain of nodes.
#include <catch2/catch.hpp>

#include <cstring>
#include <random>

#include "protocol/hex.hpp"
#include "protocol/v0_1/client_path.hpp"
#include "protocol/v0_1/node_handshake.hpp"

using namespace tpdp;
using namespace tpdp::v0_1;

namespace {

// RFC 7748 section 6.1: Alice is the client of every hop, Bob the node.
constexpr const char* kAliceSecret =
    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
constexpr const char* kBobSecret =
    "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
constexpr const char* kC1 = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
constexpr const char* kC2 = "ffffffffffffffffffffffffffffffff";  // wraps after one block
constexpr const char* kKey = "6b1b61ef6636e1d4a332dfc9eccf3b84cbb9ac2a824526ae1b342cd5fc6f040e";

// One hop to 127.0.0.1:8080 carrying the request, and the response back.
constexpr const char* kOneHopUp =
    "48656c6c6f20545044502f302e310d0a8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e"
    "6af0f1f2f3f4f5f6f7f8f9fafbfcfdfeff00095a351f9b9b871e235b43cf352f08858f6f8efc600c202c21bfe35031"
    "f2";
constexpr const char* kOneHopDown =
    "48656c6c6f20545044502f302e310d0ade9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b"
    "4f06060606171723537ce58498003d4a6e6f424a13eead45";
// Two hops (node 2 at 127.0.0.1:6002, then 127.0.0.1:8080), as on the first link.
constexpr const char* kTwoHopUp =
    "48656c6c6f20545044502f302e310d0a8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e"
    "6af0f1f2f3f4f5f6f7f8f9fafbfcfdfeff00095a351f9b9b871e235b4b2d3a0f30c9cf6f92f8700c202d21bee350b9"
    "d8ec31f4ae424e19a3dda93c870f99b3f155ba3b13b4dcfd7d372e1cf59628a6fed9b63f5f5c4868d98e5ad207895e"
    "afdae691fe4f4bb12e23e07ebb77cdf550f272dda40fb11131472716191a3c";
constexpr const char* kTwoHopDown =
    "48656c6c6f20545044502f302e310d0ade9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b"
    "4f060606061717236244d9c4897a5d2e0c7042446da8aa915873492772dcbb5cb53bfe14f80d4aa16659a573d812c5"
    "1404bdaa21e79c522da82e10ce89b5be87d6a6e862a0e124d9a0c9c0faee56";
constexpr std::string_view kRequest = "GET / HTTP/1.0\r\n\r\n";
constexpr std::string_view kResponse = "HTTP/1.0 200 OK\r\n";

Bytes hex(const char* h) {
  auto b = from_hex(h);
  REQUIRE(b);
  return *b;
}

Bytes text(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

OnionKeypair keypair(const char* secret_hex) {
  auto b = hex(secret_hex);
  OnionSecretKey s;
  std::memcpy(s.data(), b.data(), 32);
  return OnionKeypair::from_secret(std::move(s));
}

CounterBlock counter(const char* h) {
  auto b = hex(h);
  CounterBlock c{};
  std::copy(b.begin(), b.end(), c.begin());
  return c;
}

ClientHop alice_hop(const char* counter_hex) {
  return ClientHop(keypair(kAliceSecret), counter(counter_hex));
}

// A chain of simulated nodes (NodeHandshake, then relaying with its layers)
// in front of a destination that records what it receives. Routes bytes
// exactly as nodes do, and records both directions of the first link.
class Chain {
 public:
  explicit Chain(std::size_t nodes) {
    for (std::size_t i = 0; i < nodes; ++i) nodes_.emplace_back(keypair(kBobSecret));
  }
  // Whether node i's connection to its destination succeeds (default: yes).
  std::vector<bool> reachable = std::vector<bool>(8, true);

  void from_client(ByteView b) {
    first_link_up.insert(first_link_up.end(), b.begin(), b.end());
    forward(0, Bytes(b.begin(), b.end()));
  }
  // The destination answers.
  void from_destination(ByteView b) { backward(nodes_.size(), Bytes(b.begin(), b.end())); }
  // What the client has not read yet.
  Bytes take_for_client() {
    Bytes out;
    out.swap(to_client_);
    return out;
  }
  bool closed() const { return closed_; }

  Bytes first_link_up, first_link_down, at_destination;
  std::vector<HostPort> destinations;

 private:
  struct Node {
    explicit Node(OnionKeypair k) : hs(std::move(k)) {}
    NodeHandshake hs;
    std::optional<HopLayers> layers;
  };

  void forward(std::size_t i, Bytes b) {
    if (i == nodes_.size()) {
      at_destination.insert(at_destination.end(), b.begin(), b.end());
      return;
    }
    Node& n = nodes_[i];
    if (closed_ || b.empty()) return;
    if (!n.layers) {
      std::size_t used = n.hs.feed(b);
      b.erase(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(used));
      if (n.hs.step() == NodeHandshake::Step::connecting) {
        destinations.push_back(n.hs.destination());
        if (reachable[i]) {
          n.hs.connected();
        } else {
          n.hs.fail(ErrorByte::destination_error, "unreachable");
        }
      }
      backward(i, n.hs.take_output());
      if (n.hs.step() == NodeHandshake::Step::failed) {
        closed_ = true;  // the node closes after its error byte
        return;
      }
      if (n.hs.step() != NodeHandshake::Step::done) return;
      n.layers.emplace(n.hs.take_layers());
    }
    n.layers->forward.apply(b);
    forward(i + 1, std::move(b));
  }

  // Bytes sent towards the client by node `from` (in clear at `from`; the
  // destination when from == size()); each node upstream adds its layer.
  void backward(std::size_t from, Bytes b) {
    for (std::size_t j = from; j-- > 0;) nodes_[j].layers->backward.apply(b);
    first_link_down.insert(first_link_down.end(), b.begin(), b.end());
    to_client_.insert(to_client_.end(), b.begin(), b.end());
  }

  std::vector<Node> nodes_;
  Bytes to_client_;
  bool closed_ = false;
};

// Drives the builder against the chain until it stops waiting. chunk = 0:
// everything at once; else at most `chunk` bytes per feed.
void drive(ClientPathBuilder& b, Chain& chain, std::size_t chunk = 0) {
  for (int guard = 0; guard < 10000; ++guard) {
    Bytes out = b.take_output();
    if (!out.empty()) chain.from_client(out);
    if (b.status() != ClientPathBuilder::Status::waiting) return;
    Bytes in = chain.take_for_client();
    if (in.empty()) {
      if (chain.closed()) {
        b.end_of_stream();
        continue;
      }
      FAIL("the builder waits but nothing comes");
    }
    std::size_t step = chunk == 0 ? in.size() : chunk;
    for (std::size_t pos = 0; pos < in.size(); pos += step) {
      b.feed(ByteView(in).subspan(pos, std::min(step, in.size() - pos)));
    }
  }
  FAIL("drive did not finish");
}

}  // namespace

TEST_CASE("TPDP/0.1 node handshake: pipelined (all client steps in one write) matches the vector",
          "[v0_1]") {
  Bytes up = hex(kOneHopUp);
  NodeHandshake node(keypair(kBobSecret));
  std::size_t used = node.feed(up);
  REQUIRE(node.step() == NodeHandshake::Step::connecting);
  // It stops after the port: the pipelined request is left to the relay.
  CHECK(used == 16 + 32 + 16 + 2 + 9 + 2);
  CHECK(node.destination() == HostPort{"127.0.0.1", 8080});
  node.connected();
  Bytes down = node.take_output();
  auto layers = node.take_layers();
  Bytes request(up.begin() + static_cast<std::ptrdiff_t>(used), up.end());
  layers.forward.apply(request);
  CHECK(request == text(kRequest));
  Bytes response = text(kResponse);
  layers.backward.apply(response);
  down.insert(down.end(), response.begin(), response.end());
  CHECK(to_hex(down) == kOneHopDown);
}

TEST_CASE("TPDP/0.1 node handshake: fed one byte at a time", "[v0_1]") {
  Bytes up = hex(kOneHopUp);
  NodeHandshake node(keypair(kBobSecret));
  Bytes replies;
  std::size_t pos = 0;
  std::vector<std::size_t> reply_sizes;
  while (node.step() != NodeHandshake::Step::connecting) {
    REQUIRE(pos < up.size());
    CHECK(node.reading());
    REQUIRE(node.feed(ByteView(up).subspan(pos, 1)) == 1);
    ++pos;
    Bytes out = node.take_output();
    if (!out.empty()) reply_sizes.push_back(out.size());
    replies.insert(replies.end(), out.begin(), out.end());
  }
  // One reply per completed step: Hello, key, ACK (counter), ACK (host).
  CHECK(reply_sizes == std::vector<std::size_t>{16, 32, 2, 2});
  CHECK(pos == 77);
  // A byte after the port is not taken.
  CHECK(node.feed(ByteView(up).subspan(pos, 1)) == 0);
  node.connected();
  Bytes etb = node.take_output();
  replies.insert(replies.end(), etb.begin(), etb.end());
  CHECK(to_hex(replies) == std::string(kOneHopDown).substr(0, 2 * 54));
}

TEST_CASE("TPDP/0.1 client hop: lock-step messages match the vector in any split", "[v0_1]") {
  for (std::size_t chunk : {0, 1, 3, 17}) {
    INFO("chunk " << chunk);
    ClientPathBuilder b;
    Chain chain(1);
    b.add_hop(alice_hop(kC1));
    drive(b, chain, chunk);
    REQUIRE(b.status() == ClientPathBuilder::Status::awaiting_destination);
    b.set_destination("127.0.0.1", 8080);
    drive(b, chain, chunk);
    REQUIRE(b.status() == ClientPathBuilder::Status::idle);
    REQUIRE(b.built() == 1);
    auto layers = b.take_layers();
    Bytes request = text(kRequest);
    layers[0].forward.apply(request);
    chain.from_client(request);
    chain.from_destination(text(kResponse));
    Bytes got = chain.take_for_client();
    layers[0].backward.apply(got);
    CHECK(got == text(kResponse));
    CHECK(to_hex(chain.first_link_up) == kOneHopUp);
    CHECK(to_hex(chain.first_link_down) == kOneHopDown);
    CHECK(chain.at_destination == text(kRequest));
  }
}

TEST_CASE("TPDP/0.1 two hops: the second handshake travels inside the first hop's streams",
          "[v0_1]") {
  for (std::size_t chunk : {0, 1, 5}) {
    INFO("chunk " << chunk);
    ClientPathBuilder b;
    Chain chain(2);
    b.add_hop(alice_hop(kC1));
    drive(b, chain, chunk);
    b.set_destination("127.0.0.1", 6002);
    drive(b, chain, chunk);
    REQUIRE(b.status() == ClientPathBuilder::Status::idle);
    b.add_hop(alice_hop(kC2));
    drive(b, chain, chunk);
    b.set_destination("127.0.0.1", 8080);
    drive(b, chain, chunk);
    REQUIRE(b.status() == ClientPathBuilder::Status::idle);
    REQUIRE(b.built() == 2);
    CHECK(chain.destinations == std::vector<HostPort>{{"127.0.0.1", 6002}, {"127.0.0.1", 8080}});

    auto layers = b.take_layers();
    Bytes request = text(kRequest);
    for (auto it = layers.rbegin(); it != layers.rend(); ++it) it->forward.apply(request);
    chain.from_client(request);
    chain.from_destination(text(kResponse));
    Bytes got = chain.take_for_client();
    for (auto& l : layers) l.backward.apply(got);
    CHECK(got == text(kResponse));
    CHECK(chain.at_destination == text(kRequest));
    CHECK(to_hex(chain.first_link_up) == kTwoHopUp);
    CHECK(to_hex(chain.first_link_down) == kTwoHopDown);
  }
}

TEST_CASE("TPDP/0.1 three hops: each hop's streams sit at the offsets of the spec", "[v0_1]") {
  // Hosts of different lengths, so a wrong offset cannot cancel out.
  const std::vector<std::pair<std::string, std::uint16_t>> targets = {
      {"127.0.0.1", 6002}, {"localhost", 6003}, {"10.1.2.3", 8080}};
  const char* counters[] = {kC1, kC2, "000102030405060708090a0b0c0d0e0f"};
  ClientPathBuilder b;
  Chain chain(3);
  for (std::size_t i = 0; i < 3; ++i) {
    b.add_hop(alice_hop(counters[i]));
    drive(b, chain);
    b.set_destination(targets[i].first, targets[i].second);
    drive(b, chain);
    REQUIRE(b.status() == ClientPathBuilder::Status::idle);
  }
  auto layers = b.take_layers();
  Bytes data(1000);
  std::mt19937 rng(7);
  for (auto& x : data) x = static_cast<std::uint8_t>(rng());
  Bytes on_wire = data;
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) it->forward.apply(on_wire);
  Bytes reply = data;
  reply.resize(700);
  chain.from_client(on_wire);
  chain.from_destination(reply);
  CHECK(chain.at_destination == data);

  // Independently: hop i's forward stream starts data at L_i + 2 plus
  // 68 + L_j for each later hop j; its backward stream at 54 per later hop.
  LayerKey key;
  auto k = hex(kKey);
  std::memcpy(key.data(), k.data(), 32);
  Bytes expected_up = data, expected_down = reply;
  for (std::size_t i = 0; i < 3; ++i) {
    std::size_t fwd = targets[i].first.size() + 2, back = 0;
    for (std::size_t j = i + 1; j < 3; ++j) {
      fwd += forward_handshake_bytes(targets[j].first.size());
      back += kBackwardHandshakeBytes;
    }
    auto hop = make_hop_layers(key, counter(counters[i]));
    Bytes skip_f(fwd), skip_b(back);
    hop.forward.apply(skip_f);
    hop.backward.apply(skip_b);
    hop.forward.apply(expected_up);
    hop.backward.apply(expected_down);
  }
  CHECK(forward_handshake_bytes(9) == 77);
  CHECK(kBackwardHandshakeBytes == 54);
  REQUIRE(chain.first_link_up.size() >= on_wire.size());
  CHECK(Bytes(chain.first_link_up.end() - static_cast<std::ptrdiff_t>(on_wire.size()),
              chain.first_link_up.end()) == expected_up);
  Bytes down = chain.take_for_client();
  REQUIRE(down.size() >= reply.size());
  CHECK(Bytes(down.end() - static_cast<std::ptrdiff_t>(reply.size()), down.end()) == expected_down);
}

TEST_CASE("TPDP/0.1 error byte: decrypted through the upstream layers, naming the hop", "[v0_1]") {
  ClientPathBuilder b;
  Chain chain(3);
  chain.reachable[2] = false;  // the exit cannot connect to its destination
  const char* counters[] = {kC1, kC2, kC1};
  const std::pair<const char*, std::uint16_t> targets[] = {
      {"127.0.0.1", 6002}, {"127.0.0.1", 6003}, {"127.0.0.1", 8080}};
  for (std::size_t i = 0; i < 3; ++i) {
    b.add_hop(alice_hop(counters[i]));
    drive(b, chain);
    REQUIRE(b.status() == ClientPathBuilder::Status::awaiting_destination);
    b.set_destination(targets[i].first, targets[i].second);
    drive(b, chain);
  }
  REQUIRE(b.status() == ClientPathBuilder::Status::failed);
  CHECK(b.failed_hop() == 3);
  CHECK(b.current().failed_step() == ClientHop::Step::etb);
  REQUIRE(b.current().error_byte());
  CHECK(*b.current().error_byte() == 2);
  CHECK(b.current().failure_reason() == "sent error byte 2 (destination connection error)");
  // On the first link the byte is under hop 2's backward stream at 52 and
  // hop 1's at 54 + 52 (tests/unit/v0_1_vectors.py: 2 ^ KS1[106] ^ KS2[52]).
  REQUIRE(!chain.first_link_down.empty());
  CHECK(chain.first_link_down.back() == 0xc2);
}

TEST_CASE("TPDP/0.1 node handshake: bad input gets error byte 1 and nothing else", "[v0_1]") {
  auto run_until_host_length = [](NodeHandshake& node) {
    Bytes up = hex(kOneHopUp);
    node.feed(ByteView(up).subspan(0, 64));
    Bytes replies = node.take_output();
    CHECK(replies.size() == 16 + 32 + 2);
    REQUIRE(node.step() == NodeHandshake::Step::host_length);
  };
  SECTION("wrong Hello (all 16 bytes are read, then compared)") {
    NodeHandshake node(keypair(kBobSecret));
    Bytes get = text("GET / HTTP/1.1\r\n");
    CHECK(node.feed(ByteView(get).subspan(0, 15)) == 15);
    CHECK(node.take_output().empty());
    node.feed(ByteView(get).subspan(15));
    CHECK(node.step() == NodeHandshake::Step::failed);
    CHECK(node.take_output() == Bytes{1});
    CHECK(node.failure() == ErrorByte::protocol_error);
  }
  SECTION("all-zero shared secret: error 1 instead of the node's key") {
    NodeHandshake node(keypair(kBobSecret));
    Bytes up = text(kHello);
    up.resize(16 + 32, 0);
    node.feed(up);
    Bytes expected = text(kHello);
    expected.push_back(1);
    CHECK(node.take_output() == expected);
    CHECK(node.step() == NodeHandshake::Step::failed);
  }
  SECTION("zero-length host") {
    NodeHandshake node(keypair(kBobSecret));
    run_until_host_length(node);
    Bytes zero{0, 0};
    node.feed(zero);
    CHECK(node.step() == NodeHandshake::Step::failed);
    CHECK(node.take_output() == Bytes{1});
    CHECK(node.failure_reason() == "zero-length host name");
  }
  SECTION("host length over 255") {
    NodeHandshake node(keypair(kBobSecret));
    run_until_host_length(node);
    Bytes len{1, 0};
    node.feed(len);
    CHECK(node.take_output() == Bytes{1});
  }
  for (std::string bad : {std::string("\xff\xfe\xfd", 3), std::string("bad host"),
                          std::string("1.2.3.4\0x", 9), std::string("caf\xc3\xa9.example", 13)}) {
    SECTION("invalid host " + to_hex(as_bytes(bad))) {
      NodeHandshake node(keypair(kBobSecret));
      run_until_host_length(node);
      Bytes msg;
      Writer(msg).u16(static_cast<std::uint16_t>(bad.size()));
      // The client encrypts the name with the hop's forward stream at 0.
      LayerKey key;
      auto k = hex(kKey);
      std::memcpy(key.data(), k.data(), 32);
      auto layers = make_hop_layers(key, counter(kC1));
      Bytes name(bad.begin(), bad.end());
      layers.forward.apply(name);
      msg.insert(msg.end(), name.begin(), name.end());
      node.feed(msg);
      CHECK(node.step() == NodeHandshake::Step::failed);
      CHECK(node.take_output() == Bytes{1});
    }
  }
}

TEST_CASE("TPDP/0.1 node handshake: timeout and destination errors come from the caller",
          "[v0_1]") {
  NodeHandshake slow(keypair(kBobSecret));
  slow.feed(text("Hello"));
  slow.fail(ErrorByte::timeout, "handshake step timed out");
  CHECK(slow.take_output() == Bytes{0});
  CHECK(slow.feed(text(" TPDP/0.1\r\n")) == 0);  // nothing more is read

  NodeHandshake refused(keypair(kBobSecret));
  refused.feed(hex(kOneHopUp));
  refused.take_output();
  REQUIRE(refused.step() == NodeHandshake::Step::connecting);
  refused.fail(ErrorByte::destination_error, "refused by the exit policy");
  CHECK(refused.take_output() == Bytes{2});
}

TEST_CASE("TPDP/0.1 client hop: the last byte before EOF is the error byte", "[v0_1]") {
  SECTION("one byte, then EOF") {
    ClientHop hop = alice_hop(kC1);
    hop.take_output();
    CHECK(hop.feed(Bytes{1}) == 1);
    CHECK(hop.step() == ClientHop::Step::hello);
    hop.end_of_stream();
    CHECK(hop.step() == ClientHop::Step::failed);
    CHECK(hop.error_byte() == std::optional<std::uint8_t>(1));
    CHECK(hop.failure_reason() == "sent error byte 1 (protocol error)");
  }
  SECTION("EOF with nothing") {
    ClientHop hop = alice_hop(kC1);
    hop.end_of_stream();
    CHECK_FALSE(hop.error_byte().has_value());
    CHECK(hop.failure_reason() == "closed the connection without an error byte");
  }
  SECTION("a node that answers something else") {
    ClientHop hop = alice_hop(kC1);
    hop.feed(text("HTTP/1.1 400 Bad"));
    CHECK(hop.step() == ClientHop::Step::failed);
    CHECK(hop.failed_step() == ClientHop::Step::hello);
    CHECK_FALSE(hop.error_byte().has_value());
  }
  SECTION("a node key of low order") {
    ClientHop hop = alice_hop(kC1);
    hop.feed(text(kHello));
    hop.feed(Bytes(32, 0));
    CHECK(hop.step() == ClientHop::Step::failed);
    CHECK(hop.failed_step() == ClientHop::Step::node_key);
  }
}
