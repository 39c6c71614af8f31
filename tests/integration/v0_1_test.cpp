// TPDP/0.1 compatibility mode with real processes on loopback: a tpdp pool,
// tpdp nodes and tpdp-client, all with --protocol 0.1, plus raw sockets that
// speak the wire format byte by byte (spec/tpdp-0.1.md). Every wait is bounded.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <thread>

#include "harness.hpp"
#include "protocol/v0_1/hop_key.hpp"
#include "protocol/v0_1/pool_messages.hpp"
#include "protocol/v0_1/wire.hpp"

using namespace tpdp::test;
namespace v0_1 = tpdp::v0_1;

namespace {

std::string port_s(std::uint16_t p) {
  return std::to_string(p);
}

std::string loopback(std::uint16_t p) {
  return "127.0.0.1:" + port_s(p);
}

// A raw TCP connection with bounded reads.
class Raw {
 public:
  explicit Raw(std::uint16_t port) : fd_(connect_local(port)) { REQUIRE(fd_ >= 0); }
  ~Raw() { ::close(fd_); }
  void send(const std::string& s) { REQUIRE(send_all(fd_, s.data(), s.size())); }
  void send(const tpdp::Bytes& b) { REQUIRE(send_all(fd_, b.data(), b.size())); }
  // Exactly n bytes, or fewer if the peer closed or the time ran out.
  std::string read(std::size_t n, std::chrono::milliseconds timeout = 5s) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      ssize_t got = ::recv(fd_, buf, std::min(sizeof buf, n - out.size()), 0);
      if (got <= 0) {
        closed_ = true;
        break;
      }
      out.append(buf, static_cast<std::size_t>(got));
    }
    return out;
  }
  // Whether the peer closes (EOF or reset) within the timeout; any bytes are kept.
  bool closes(std::chrono::milliseconds timeout = 5s, std::string* rest = nullptr) {
    std::string more = read(1 << 20, timeout);
    if (rest) *rest = more;
    return closed_;
  }

 private:
  int fd_;
  bool closed_ = false;
};

std::string as_string(const tpdp::Bytes& b) {
  return std::string(b.begin(), b.end());
}

// What a TPDP/0.1 client sends and checks, up to the node's ACK of the
// counter block; returns the hop's streams for what follows.
v0_1::HopLayers open_hop(Raw& raw) {
  raw.send(std::string(v0_1::kHello));
  REQUIRE(raw.read(16) == v0_1::kHello);
  auto own = tpdp::OnionKeypair::generate();
  raw.send(tpdp::Bytes(own.public_key.bytes.begin(), own.public_key.bytes.end()));
  std::string node_key = raw.read(32);
  REQUIRE(node_key.size() == 32);
  tpdp::OnionPublicKey node;
  std::memcpy(node.data(), node_key.data(), 32);
  auto key = v0_1::agree_key(own, node);
  REQUIRE(key);
  auto counter = v0_1::random_counter_block();
  raw.send(tpdp::Bytes(counter.begin(), counter.end()));
  REQUIRE(raw.read(2) == "\x06\x06");
  return v0_1::make_hop_layers(*key, counter);
}

// The host length and the host name (any bytes) on the hop's forward stream.
void send_host(Raw& raw, v0_1::HopLayers& layers, const std::string& host) {
  tpdp::Bytes msg;
  tpdp::Writer(msg).u16(static_cast<std::uint16_t>(host.size()));
  tpdp::Bytes name(host.begin(), host.end());
  layers.forward.apply(name);
  msg.insert(msg.end(), name.begin(), name.end());
  raw.send(msg);
}

// Reads exactly `expect` bytes while echoing them, then closes: TPDP/0.1 has
// no half-close, so the destination must end the stream.
TcpServer::Handler echo_then_close(std::size_t expect) {
  return [expect](int fd) {
    std::vector<char> buf(65536);
    std::size_t total = 0;
    while (total < expect) {
      ssize_t n = ::recv(fd, buf.data(), std::min(buf.size(), expect - total), 0);
      if (n <= 0) return;
      total += static_cast<std::size_t>(n);
      if (!send_all(fd, buf.data(), static_cast<std::size_t>(n))) return;
    }
  };
}

// A TPDP/0.1 pool and nodes, started with exactly the arguments given.
class V01Lab {
 public:
  explicit V01Lab(std::vector<std::string> pool_args = {}) : pool_port_(free_port()) {
    std::vector<std::string> argv = {bin("pool"), "--protocol", "0.1", "--listen",
                                     loopback(pool_port_)};
    argv.insert(argv.end(), pool_args.begin(), pool_args.end());
    pool_ = std::make_unique<Process>(argv, dir / "pool.out", dir / "pool.log");
    for (int i = 0; i < 300 && !accepting(pool_port_); ++i) std::this_thread::sleep_for(10ms);
    REQUIRE(accepting(pool_port_));
  }
  // `tpdp-node --protocol 0.1 --listen 127.0.0.1:P --pool 127.0.0.1:POOL` + extra.
  std::size_t add_node(std::vector<std::string> extra = {}) {
    std::uint16_t port = free_port();
    std::string name = "node" + std::to_string(nodes_.size());
    std::vector<std::string> argv = {bin("node"),    "--protocol", "0.1",         "--listen",
                                     loopback(port), "--pool",     pool_address()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    nodes_.push_back(std::make_unique<Process>(argv, dir / (name + ".out"), dir / (name + ".log")));
    node_ports_.push_back(port);
    return nodes_.size() - 1;
  }
  // The pool's list, fetched as a TPDP/0.1 client does (00, then until close).
  std::vector<tpdp::HostPort> listed() {
    Raw raw(pool_port_);
    raw.send(std::string(1, '\0'));
    std::string rest;
    raw.closes(5s, &rest);
    auto list = v0_1::decode_node_list(tpdp::as_bytes(rest));
    REQUIRE(tpdp::is_value(list));
    return std::get<v0_1::NodeList>(list).nodes;
  }
  bool wait_for_nodes(std::size_t n, std::chrono::milliseconds timeout = 15s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (listed().size() == n) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }
  // `tpdp-client --protocol 0.1 --pool 127.0.0.1:POOL` + args; bounded.
  ClientResult client(std::vector<std::string> args, const std::string& stdin_data = "",
                      std::chrono::milliseconds timeout = 60s) {
    std::string name = "client" + std::to_string(runs_++);
    write_file(dir / (name + ".in"), stdin_data);
    std::vector<std::string> argv = {bin("client"), "--protocol", "0.1", "--pool", pool_address()};
    argv.insert(argv.end(), args.begin(), args.end());
    Process p(argv, dir / (name + ".out"), dir / (name + ".err"), dir / (name + ".in"));
    ClientResult r;
    auto status = p.wait_exit(timeout);
    r.exit_code = status ? *status : -1;
    r.out = p.stdout_text();
    r.err = p.stderr_text();
    return r;
  }
  std::string pool_address() const { return loopback(pool_port_); }
  std::uint16_t pool_port() const { return pool_port_; }
  std::uint16_t node_port(std::size_t i) const { return node_ports_.at(i); }
  Process& node(std::size_t i) { return *nodes_.at(i); }
  std::string node_log(std::size_t i) const {
    return read_file(dir / ("node" + std::to_string(i) + ".log"));
  }
  std::string pool_log() const { return read_file(dir / "pool.log"); }

  TempDir dir;

 private:
  static bool accepting(std::uint16_t port) {
    int fd = connect_local(port);
    if (fd < 0) return false;
    ::close(fd);
    return true;
  }
  std::uint16_t pool_port_;
  std::unique_ptr<Process> pool_;
  std::vector<std::unique_ptr<Process>> nodes_;
  std::vector<std::uint16_t> node_ports_;
  int runs_ = 0;
};

// The node's answer to bad input: error byte 1, then it closes.
void check_error_byte_1_and_close(Raw& raw) {
  std::string rest;
  CHECK(raw.closes(5s, &rest));
  CHECK(rest == std::string(1, '\x01'));
}

}  // namespace

TEST_CASE("TPDP/0.1: 3 MiB both ways through 3 hops, bytes compared") {
  V01Lab lab({"--lab"});
  for (int i = 0; i < 3; ++i) lab.add_node({"--lab"});
  REQUIRE(lab.wait_for_nodes(3));
  std::string data = random_bytes(3 * 1024 * 1024 + 4321);
  TcpServer dest(echo_then_close(data.size()));
  auto r = lab.client({"--hops", "3", "-v", "cat", "127.0.0.1", port_s(dest.port())}, data);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.out.size() == data.size());
  CHECK(r.out == data);
  CHECK(r.err.find("TPDP/0.1 compatibility mode is INSECURE") != std::string::npos);
  CHECK(r.err.find("hop 3: 127.0.0.1:") != std::string::npos);
  for (std::size_t i = 0; i < 3; ++i) {
    INFO(lab.node_log(i));
    CHECK(lab.node_log(i).find("TPDP/0.1 compatibility mode is INSECURE") != std::string::npos);
    CHECK(lab.node_log(i).find("circuit 1 from 127.0.0.1: open to") != std::string::npos);
  }
  CHECK(lab.pool_log().find("TPDP/0.1 compatibility mode is INSECURE") != std::string::npos);
}

TEST_CASE("TPDP/0.1: the documented command lines, nodes reach each other as listed nodes") {
  // Exactly: tpdp-pool --protocol 0.1 --listen H:P, tpdp-node --protocol 0.1
  // --listen H:P --pool H:P, tpdp-client --protocol 0.1 --pool H:P --hops N cat HOST PORT.
  V01Lab lab;
  for (int i = 0; i < 3; ++i) lab.add_node();
  REQUIRE(lab.wait_for_nodes(3));
  TcpServer dest(echo_then_close(5));
  // The default exit policy refuses the node's own host: the exit reports
  // error byte 2, decrypted through hops 1 and 2.
  auto refused = lab.client({"--hops", "3", "cat", "127.0.0.1", port_s(dest.port())}, "hello");
  INFO(refused.err);
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("hop 3 (127.0.0.1:") != std::string::npos);
  CHECK(refused.err.find("sent error byte 2 (destination connection error)") != std::string::npos);
  CHECK(dest.connections() == 0);
  // The other hops were nodes on loopback, which the policy refuses too:
  // they were reached because the pool lists them.
  std::string logs = lab.node_log(0) + lab.node_log(1) + lab.node_log(2);
  CHECK(logs.find("(a listed TPDP/0.1 node)") != std::string::npos);
  CHECK(logs.find("refused with error byte 2 (destination connection error)") != std::string::npos);
}

TEST_CASE("TPDP/0.1: an exit policy admitting the destination, listed nodes between") {
  V01Lab lab;
  std::string data = random_bytes(200000);
  TcpServer dest(echo_then_close(data.size()));
  for (int i = 0; i < 3; ++i) {
    lab.add_node({"--exit-policy", "accept 127.0.0.1:" + port_s(dest.port())});
  }
  REQUIRE(lab.wait_for_nodes(3));
  auto r = lab.client({"--hops", "3", "cat", "127.0.0.1", port_s(dest.port())}, data);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == data);
}

TEST_CASE("TPDP/0.1: a listed address that does not answer the Hello gets nothing relayed") {
  V01Lab lab;
  lab.add_node();
  REQUIRE(lab.wait_for_nodes(1));
  // Anyone may register any address (nothing is signed): list a plain server.
  auto received = std::make_shared<std::atomic<std::size_t>>(0);
  TcpServer plain([received](int fd) {
    const char banner[] = "SSH-2.0-not-a-node\r\n";
    send_all(fd, banner, sizeof banner - 1);
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      *received += static_cast<std::size_t>(n);
    }
  });
  {
    Raw hb(lab.pool_port());
    hb.send(as_string(tpdp::encode_to_bytes(
        v0_1::PoolRequest{v0_1::PoolCommand::heartbeat, {"127.0.0.1", plain.port()}})));
    REQUIRE(hb.read(1).size() == 1);
  }
  REQUIRE(lab.wait_for_nodes(2));
  // One hop to the listed address, then data that is not a Hello.
  Raw raw(lab.node_port(0));
  auto layers = open_hop(raw);
  send_host(raw, layers, "127.0.0.1");
  REQUIRE(raw.read(2) == "\x06\x06");
  tpdp::Bytes port;
  tpdp::Writer(port).u16(plain.port());
  layers.forward.apply(port);
  raw.send(port);
  REQUIRE(raw.read(2) == "\x17\x17");  // connected: it is a listed node
  std::string get = "GET / HTTP/1.0\r\n\r\n";
  tpdp::Bytes request(get.begin(), get.end());
  layers.forward.apply(request);
  raw.send(request);
  std::string rest;
  CHECK(raw.closes(5s, &rest));
  CHECK(rest.empty());
  std::this_thread::sleep_for(200ms);
  CHECK(*received == 0);
  // The node logs the circuit's end once both sockets are closed (bounded).
  bool logged = false;
  for (int i = 0; i < 100 && !logged; ++i) {
    logged = lab.node_log(0).find("did not start with the TPDP/0.1 Hello") != std::string::npos;
    if (!logged) std::this_thread::sleep_for(50ms);
  }
  CHECK(logged);
}

TEST_CASE("TPDP/0.1: bad input gets error byte 1 and a close, the node keeps serving") {
  V01Lab lab({"--lab"});
  lab.add_node({"--lab"});
  REQUIRE(lab.wait_for_nodes(1));
  std::uint16_t node = lab.node_port(0);
  SECTION("wrong Hello") {
    Raw raw(node);
    raw.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    check_error_byte_1_and_close(raw);
  }
  SECTION("all-zero X25519 shared secret") {
    Raw raw(node);
    raw.send(std::string(v0_1::kHello));
    REQUIRE(raw.read(16) == v0_1::kHello);
    raw.send(std::string(32, '\0'));
    check_error_byte_1_and_close(raw);
  }
  SECTION("zero-length host") {
    Raw raw(node);
    auto layers = open_hop(raw);
    send_host(raw, layers, "");
    check_error_byte_1_and_close(raw);
  }
  SECTION("host that is not UTF-8") {
    Raw raw(node);
    auto layers = open_hop(raw);
    send_host(raw, layers, "\xff\xfe\x80.example");
    check_error_byte_1_and_close(raw);
  }
  SECTION("host with a NUL") {
    Raw raw(node);
    auto layers = open_hop(raw);
    send_host(raw, layers, std::string("127.0.0.1\0evil", 14));
    check_error_byte_1_and_close(raw);
  }
  // Whatever happened above, the node still builds circuits.
  std::string data = random_bytes(1000);
  TcpServer dest(echo_then_close(data.size()));
  auto r = lab.client({"--hops", "1", "cat", "127.0.0.1", port_s(dest.port())}, data);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == data);
  CHECK(lab.node(0).running());
}

TEST_CASE("TPDP/0.1: each handshake read step has its own timer, error byte 0 when it runs out") {
  V01Lab lab({"--lab"});
  lab.add_node({"--lab", "--handshake-timeout", "1"});
  REQUIRE(lab.wait_for_nodes(1));
  SECTION("a client that stops mid-step gets error byte 0") {
    Raw raw(lab.node_port(0));
    raw.send(std::string(v0_1::kHello));
    REQUIRE(raw.read(16) == v0_1::kHello);
    raw.send(std::string(10, 'k'));  // 10 of the key's 32 bytes
    auto started = std::chrono::steady_clock::now();
    std::string rest;
    CHECK(raw.closes(5s, &rest));
    auto waited = std::chrono::steady_clock::now() - started;
    CHECK(rest == std::string(1, '\0'));
    CHECK(waited >= 900ms);
    CHECK(waited < 4s);
  }
  SECTION("steps slower than one second in all, each within it, succeed") {
    Raw raw(lab.node_port(0));
    raw.send(std::string(v0_1::kHello));
    REQUIRE(raw.read(16) == v0_1::kHello);
    std::this_thread::sleep_for(600ms);
    auto own = tpdp::OnionKeypair::generate();
    raw.send(tpdp::Bytes(own.public_key.bytes.begin(), own.public_key.bytes.end()));
    REQUIRE(raw.read(32).size() == 32);
    std::this_thread::sleep_for(600ms);
    auto counter = v0_1::random_counter_block();
    raw.send(tpdp::Bytes(counter.begin(), counter.end()));
    CHECK(raw.read(2) == "\x06\x06");
  }
}

TEST_CASE("TPDP/0.1: heartbeats in four writes are reassembled, entries expire") {
  V01Lab lab({"--lab"});  // heartbeat 1 s, expiry 4 s, sweep 1 s
  {
    // As torpydo's node sends it: 01, the host, 00, the port, each alone.
    Raw raw(lab.pool_port());
    for (std::string part : {std::string("\x01"), std::string("127.0.9.9"), std::string(1, '\0'),
                             std::string("\x17\x70")}) {
      raw.send(part);
      std::this_thread::sleep_for(50ms);
    }
    CHECK(raw.read(1) == "\x01");  // the delay to the next heartbeat, in seconds
    CHECK(raw.closes(2s));
  }
  auto listed = lab.listed();
  REQUIRE(listed.size() == 1);
  CHECK(listed[0] == tpdp::HostPort{"127.0.9.9", 6000});
  // An unknown command gets no reply.
  {
    Raw raw(lab.pool_port());
    raw.send("\x07");
    std::string rest;
    CHECK(raw.closes(2s, &rest));
    CHECK(rest.empty());
  }
  // No more heartbeats: gone after the expiry (4 s) and a sweep (1 s).
  bool expired = false;
  for (int i = 0; i < 100 && !expired; ++i) {
    std::this_thread::sleep_for(100ms);
    expired = lab.listed().empty();
  }
  CHECK(expired);
  CHECK(lab.pool_log().find("node 127.0.9.9:6000 expired") != std::string::npos);
}

TEST_CASE("TPDP/0.1: a node heartbeats at start and expires once stopped") {
  V01Lab lab({"--lab"});
  lab.add_node({"--lab"});
  REQUIRE(lab.wait_for_nodes(1, 5s));
  CHECK(lab.listed()[0] == tpdp::HostPort{"127.0.0.1", lab.node_port(0)});
  lab.node(0).signal(SIGKILL);
  REQUIRE(lab.node(0).wait_exit(5s));
  CHECK(lab.wait_for_nodes(0, 10s));
}

TEST_CASE("TPDP/0.1: a pipelining client and a byte-at-a-time client are both served") {
  V01Lab lab({"--lab"});
  lab.add_node({"--lab"});
  REQUIRE(lab.wait_for_nodes(1));
  std::string request = "ping through one hop";
  TcpServer dest(echo_then_close(request.size()));
  auto own = tpdp::OnionKeypair::generate();
  auto counter = v0_1::random_counter_block();
  // Hello, key, counter block and host length need no reply first.
  std::string host = "127.0.0.1";
  std::string first = std::string(v0_1::kHello) +
                      std::string(own.public_key.bytes.begin(), own.public_key.bytes.end()) +
                      std::string(counter.begin(), counter.end()) + std::string(1, '\0') +
                      std::string(1, static_cast<char>(host.size()));
  auto finish = [&](Raw& raw, bool bytewise) {
    std::string replies = raw.read(16 + 32 + 2);
    REQUIRE(replies.size() == 50);
    CHECK(replies.substr(0, 16) == v0_1::kHello);
    CHECK(replies.substr(48) == "\x06\x06");
    tpdp::OnionPublicKey node;
    std::memcpy(node.data(), replies.data() + 16, 32);
    auto key = v0_1::agree_key(own, node);
    REQUIRE(key);
    auto layers = v0_1::make_hop_layers(*key, counter);
    // Host, port and the data right behind them, all on the forward stream.
    tpdp::Bytes rest(host.begin(), host.end());
    tpdp::Writer(rest).u16(dest.port());
    rest.insert(rest.end(), request.begin(), request.end());
    layers.forward.apply(rest);
    if (bytewise) {
      for (auto b : rest) {
        raw.send(tpdp::Bytes{b});
        std::this_thread::sleep_for(2ms);
      }
    } else {
      raw.send(rest);
    }
    CHECK(raw.read(4) == "\x06\x06\x17\x17");
    std::string echoed = raw.read(request.size());
    tpdp::Bytes plain(echoed.begin(), echoed.end());
    layers.backward.apply(plain);
    CHECK(as_string(plain) == request);
    CHECK(raw.closes(5s));  // the destination closed: so does the node
  };
  SECTION("everything it can send at once, in one write each time") {
    Raw raw(lab.node_port(0));
    raw.send(first);
    finish(raw, false);
  }
  SECTION("one byte per write") {
    Raw raw(lab.node_port(0));
    for (char c : first) {
      raw.send(std::string(1, c));
      std::this_thread::sleep_for(2ms);
    }
    finish(raw, true);
  }
}
