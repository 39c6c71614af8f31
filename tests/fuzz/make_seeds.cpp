// Writes a seed corpus of valid inputs for each fuzz target:
//   make_seeds OUT_DIR   ->   OUT_DIR/<target>/<name>
// Built and run by scripts/fuzz before fuzzing.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>

#include "protocol/circuit_messages.hpp"
#include "protocol/frame.hpp"
#include "protocol/hex.hpp"
#include "protocol/identity.hpp"
#include "protocol/pool_messages.hpp"
#include "protocol/v0_1/pool_messages.hpp"
#include "tests/fuzz/fuzz_common.hpp"

using namespace tpdp;
namespace fs = std::filesystem;

namespace {

fs::path g_out;

void write(const std::string& target, const std::string& name, ByteView bytes) {
  fs::path dir = g_out / target;
  fs::create_directories(dir);
  std::ofstream f(dir / name, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f) {
    std::cerr << "make_seeds: cannot write " << (dir / name) << "\n";
    std::exit(1);
  }
}

void write_text(const std::string& target, const std::string& name, std::string_view text) {
  write(target, name, as_bytes(text));
}

template <class T>
void write_msg(const std::string& target, const std::string& name, const T& m) {
  write(target, name, encode_to_bytes(m));
}

template <class Key>
Key patterned(std::uint8_t start) {
  Key k;
  for (std::size_t i = 0; i < Key::size(); ++i)
    k.bytes[i] = static_cast<std::uint8_t>(start + i * 3);
  return k;
}

IdentityKeypair identity_from(std::uint8_t fill) {
  SecretBytes<32, SeedTag> seed;
  std::memset(seed.data(), fill, seed.size());
  return IdentityKeypair::from_seed(seed);
}

OnionKeypair onion_from(std::uint8_t fill) {
  OnionSecretKey s;
  std::memset(s.data(), fill, s.size());
  return OnionKeypair::from_secret(std::move(s));
}

NodeDescriptor node(std::uint8_t n, const std::string& host, std::uint16_t port) {
  return NodeDescriptor{patterned<IdentityPublicKey>(n), patterned<OnionPublicKey>(n + 100U), host,
                        port};
}

void circuit_seeds() {
  const std::string t = "circuit_messages";
  CreateMsg create{patterned<IdentityPublicKey>(1), patterned<OnionPublicKey>(2)};
  write_msg(t, "create", create);
  write_msg(t, "create_from_node", NodeCreateMsg{2, patterned<PreviousNodeTag>(5), create});
  write_msg(t, "create_from_node_last",
            NodeCreateMsg{static_cast<std::uint8_t>(kMaxCircuitHops), patterned<PreviousNodeTag>(6),
                          create});
  CreatedMsg created{Errc::ok, patterned<OnionPublicKey>(3), patterned<AuthTag>(4)};
  write_msg(t, "created_ok", created);
  write_msg(t, "created_error", CreatedMsg{Errc::limit_reached, {}, {}});
  write_msg(t, "extend_dns", ExtendMsg{"node-1.example.org", 9001, create});
  write_msg(t, "extend_v4", ExtendMsg{"127.0.0.1", 7001, create});
  write_msg(t, "extend_v6", ExtendMsg{"2001:db8::1", 443, create});
  write_msg(t, "extended", ExtendedMsg{created});
  write_msg(t, "begin", BeginMsg{"www.example.com", 80});
  write_msg(t, "begin_v6", BeginMsg{"::1", 8080});
  write_msg(t, "error", ErrorMsg{Errc::exit_policy_refused, "port 25 refused by exit policy"});
  write_msg(t, "error_empty", ErrorMsg{Errc::timeout, ""});
}

void pool_seeds() {
  const std::string t = "pool_messages";
  write_msg(t, "request_heartbeat", PoolRequest{PoolCommand::heartbeat});
  write_msg(t, "request_list", PoolRequest{PoolCommand::list});
  auto id = identity_from(7);
  NodeDescriptor self = node(1, "node-1.example.org", 9001);
  self.identity = id.public_key;
  write_msg(t, "descriptor", self);
  write_msg(t, "descriptor_v6", node(2, "2001:db8::2", 9002));
  Nonce32 challenge = patterned<Nonce32>(9);
  write_msg(t, "challenge", HeartbeatChallenge{challenge});
  SignedHeartbeat hb{self, sign_detached(id.secret_key, heartbeat_signed_bytes(challenge, self))};
  write_msg(t, "heartbeat", hb);
  write_msg(t, "heartbeat_reply", HeartbeatReply{});
  write_msg(t, "heartbeat_reply_refused", HeartbeatReply{Errc::address_in_use, 60});
  write_msg(t, "list_request", ListRequest{patterned<Nonce32>(11)});
  NodeList list{patterned<Nonce32>(11), 1700000000, {}};
  write_msg(t, "node_list_empty", list);
  list.nodes = {self, node(2, "10.0.0.2", 9002), node(3, "::1", 9003)};
  write_msg(t, "node_list", list);
  auto pool = identity_from(8);
  SignedNodeList signed_list;
  signed_list.pool_key = pool.public_key;
  signed_list.document = encode_to_bytes(list);
  signed_list.signature =
      sign_detached(pool.secret_key, node_list_signed_bytes(signed_list.document));
  write_msg(t, "signed_node_list", signed_list);
}

void frame_seeds() {
  const std::string t = "frame";
  FrameSealer sealer(fuzz::fixed_frame_key());
  Bytes stream;
  sealer.seal_append(FrameType::begin, encode_to_bytes(BeginMsg{"example.com", 80}), stream);
  write("frame", "one_frame", stream);
  sealer.seal_append(FrameType::data, as_bytes("GET / HTTP/1.0\r\n\r\n"), stream);
  sealer.seal_append(FrameType::end, ByteView{}, stream);
  write(t, "three_frames", stream);
  Bytes big(2000, 0x61);
  FrameSealer big_sealer(fuzz::fixed_frame_key());
  Bytes big_frame;
  big_sealer.seal_append(FrameType::data, big, big_frame);
  write(t, "big_frame", big_frame);
  write_text(t, "payload_text", "\x06hello, world");
  write(t, "header_only", Bytes{6, 0, 5});
}

void key_file_seeds() {
  const std::string t = "key_file";
  NodeKeys keys{identity_from(1), onion_from(2)};
  write(t, "node_key", encode_node_key_file(keys));
  write(t, "pool_key", encode_pool_key_file(identity_from(3)));
}

void host_seeds() {
  const std::string t = "host";
  for (auto [name, text] : {std::pair{"dns", "example.com:80"},
                            {"v4", "127.0.0.1:9001"},
                            {"v6", "[::1]:443"},
                            {"v6_long", "[2001:db8::ffff:1.2.3.4]:65535"},
                            {"bare_dns", "node-1.example_lab.org"},
                            {"bare_v4", "10.1.2.3"},
                            {"bare_v6", "fe80::1"},
                            {"bad_port", "example.com:0"}}) {
    write_text(t, name, text);
  }
}

void http_seeds() {
  const std::string t = "http_response";
  write_text(t, "head_length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\n\r\nhello");
  write_text(t, "head_chunked",
             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  write_text(t, "head_404", "HTTP/1.0 404 Not Found\r\n\r\n");
  write_text(t, "head_partial", "HTTP/1.1 301 Moved\r\nLocation: /");
  write_text(t, "url", "http://example.com/index.html");
  write_text(t, "url_port", "http://127.0.0.1:8080/a?b=c");
  write_text(t, "url_v6", "http://[::1]:8080/");
  write_text(t, "url_bare", "example.com/path");
}

void exit_policy_seeds() {
  const std::string t = "exit_policy";
  write_text(t, "accept_all", "accept *:*");
  write_text(t, "web_only", "accept *:80, accept *:443, reject *:*");
  write_text(t, "networks", "reject 127.0.0.0/8:*, reject [::1]:*, accept 10.0.0.0/8:1-1024");
  write_text(t, "v6", "accept [2001:db8::]/32:8000-9000, reject [fe80::]/10:*");
  write_text(t, "address", "192.168.1.1");
  write_text(t, "mapped", "::ffff:8.8.8.8");
}

// TPDP/0.1: the first byte picks the split of the handshake streams
// (fuzz_v0_1.cpp); the streams are the one-hop vectors of
// tests/unit/v0_1_handshake_test.cpp, which complete with the target's keys.
void v0_1_seeds() {
  const std::string t = "v0_1";
  const char* up =
      "48656c6c6f20545044502f302e310d0a8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa"
      "9b4e6af0f1f2f3f4f5f6f7f8f9fafbfcfdfeff00095a351f9b9b871e235b43cf352f08858f6f8efc600c202c21"
      "bfe35031f2";
  const char* down =
      "48656c6c6f20545044502f302e310d0ade9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f"
      "882b4f06060606171723537ce58498003d4a6e6f424a13eead45";
  for (auto [name, hex, split] : {std::tuple{"node_pipelined", up, 16},
                                  {"node_bytewise", up, 0},
                                  {"client_replies", down, 16},
                                  {"client_bytewise", down, 0},
                                  {"client_error_byte", "48656c6c6f20545044502f302e310d0a02", 3}}) {
    Bytes b{static_cast<std::uint8_t>(split)};
    auto body = from_hex(hex);
    b.insert(b.end(), body->begin(), body->end());
    write(t, name, b);
  }
  write_msg(t, "heartbeat", v0_1::PoolRequest{v0_1::PoolCommand::heartbeat, {"127.0.2.3", 6000}});
  write_msg(t, "list_request", v0_1::PoolRequest{});
  write_msg(t, "heartbeat_reply", v0_1::HeartbeatReply{});
  write(t, "node_list",
        v0_1::encode_node_list({{"127.0.2.3", 6000}, {"::1", 6001}, {"node.lab", 1}}));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_seeds OUT_DIR\n";
    return 2;
  }
  if (sodium_init() < 0) return 1;
  g_out = argv[1];
  circuit_seeds();
  pool_seeds();
  frame_seeds();
  key_file_seeds();
  host_seeds();
  http_seeds();
  exit_policy_seeds();
  v0_1_seeds();
  return 0;
}
