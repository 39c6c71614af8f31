// EXTEND at a real node (spec 6.6): only to a node its pools list, never to
// its own host without --lab or an explicit exit-policy accept, at most
// kMaxCircuitHops hops, never to itself or straight back; and a flood of
// garbage connections does not flood the node's log.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "circuit_driver.hpp"
#include "client/circuit.hpp"
#include "client/pool_client.hpp"
#include "common/pool_address.hpp"
#include "harness.hpp"
#include "protocol/circuit_messages.hpp"
#include "protocol/frame.hpp"
#include "protocol/identity.hpp"
#include "protocol/layer_cipher.hpp"
#include "protocol/ntor.hpp"

using namespace tpdp;
using namespace tpdp::test;

namespace {

std::string port_s(std::uint16_t p) {
  return std::to_string(p);
}

// The descriptor the pool lists at 127.0.0.1:port (bounded wait); fails the test if none.
NodeDescriptor listed_at(Network& net, std::uint16_t port) {
  std::string err;
  auto pool = *parse_pool_address(net.pool_address(), &err);
  auto deadline = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < deadline) {
    for (const auto& n : fetch_listed_once(pool)) {
      if (n.port == port) return n;
    }
    std::this_thread::sleep_for(100ms);
  }
  FAIL("no node listed at 127.0.0.1:" << port);
  return {};
}

struct BuildOutcome {
  bool built = false;
  Errc code = Errc::ok;
  int hop = 0;
  std::string message;
};

// Builds `path` and, when port is not 0, opens a stream to 127.0.0.1:port
// and echoes a few bytes through it.
BuildOutcome build(const std::vector<NodeDescriptor>& path, std::uint16_t port = 0,
                   CircuitOptions options = {}) {
  asio::io_context io;
  BuildOutcome out;
  auto run = [&]() -> asio::awaitable<void> {
    Circuit circuit(io.get_executor(), options);
    try {
      co_await circuit.connect(path[0]);
      for (std::size_t i = 1; i < path.size(); ++i) co_await circuit.extend(path[i]);
      if (port != 0) {
        co_await circuit.begin("127.0.0.1", port);
        std::string hello = "hello through the path";
        co_await asio::async_write(circuit, asio::buffer(hello), asio::use_awaitable);
        std::string back(hello.size(), '\0');
        co_await asio::async_read(circuit, asio::buffer(back), asio::use_awaitable);
        if (back != hello) throw std::runtime_error("echo differs");
      }
      out.built = true;
    } catch (const CircuitError& e) {
      out.code = e.errc();
      out.hop = e.hop();
      out.message = e.what();
    } catch (const std::exception& e) {
      out.code = Errc::internal_error;
      out.message = e.what();
    }
    circuit.close();
  };
  asio::co_spawn(io, run(), asio::detached);
  io.run_for(30s);
  return out;
}

bool read_exact(int fd, std::uint8_t* out, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return false;
    ssize_t r = ::recv(fd, out + got, n - got, 0);
    if (r <= 0) return false;
    got += static_cast<std::size_t>(r);
  }
  return true;
}

struct RawAnswer {
  Errc code = Errc::ok;  // ok: EXTENDED with status 00
  std::string reason;
};

// A hand-made one-hop circuit to `node` whose CREATE is in the node form
// (depth >= 2, as if `previous` extended to it) or the client's form
// (depth 1), then one EXTEND to `next`: what does the node answer?
RawAnswer raw_extend(const NodeDescriptor& node, int depth, const IdentityPublicKey& previous,
                     const NodeDescriptor& next) {
  int fd = connect_local(node.port);
  REQUIRE(fd >= 0);
  NtorClient ntor(node.identity, node.onion_key);
  CreateMsg create{node.identity, ntor.client_public()};
  Bytes hello = depth == 1 ? encode_to_bytes(create)
                           : encode_to_bytes(NodeCreateMsg{
                                 static_cast<std::uint8_t>(depth),
                                 previous_node_tag(previous, create.client_public), create});
  REQUIRE(send_all(fd, hello.data(), hello.size()));
  Bytes created(kCreatedOkSize);
  RawAnswer answer;
  if (!read_exact(fd, created.data(), 1)) {
    ::close(fd);
    return {Errc::connect_failed, "no CREATED"};
  }
  if (created[0] != 0) {
    ::close(fd);
    return {errc_from_wire(created[0]), "status byte"};
  }
  REQUIRE(read_exact(fd, created.data() + 1, kCreatedOkSize - 1));
  auto reply = std::get<CreatedMsg>(decode_exact<CreatedMsg>(created));
  auto keys = ntor.finish(reply.node_ephemeral, reply.auth);
  REQUIRE(keys);
  LayerCipher forward(keys->forward_layer_key, keys->forward_layer_iv);
  LayerCipher backward(keys->backward_layer_key, keys->backward_layer_iv);
  FrameSealer sealer(std::move(keys->forward_frame_key));
  FrameOpener opener(std::move(keys->backward_frame_key));
  NtorClient next_ntor(next.identity, next.onion_key);
  Bytes payload = encode_to_bytes(
      ExtendMsg{next.host, next.port, CreateMsg{next.identity, next_ntor.client_public()}});
  Bytes out;
  sealer.seal_append(FrameType::extend, payload, out);
  forward.apply(out);
  REQUIRE(send_all(fd, out.data(), out.size()));
  Bytes in;
  for (;;) {
    auto d = opener.open(in);
    if (is_value(d)) {
      auto f = std::get<OpenedFrame>(d);
      if (f.type == FrameType::extended) {
        auto m = decode_exact<ExtendedMsg>(f.payload);
        REQUIRE(is_value(m));
        answer.code = std::get<ExtendedMsg>(m).created.status;
      } else {
        REQUIRE(f.type == FrameType::error);
        auto m = decode_exact<ErrorMsg>(f.payload);
        REQUIRE(is_value(m));
        answer.code = std::get<ErrorMsg>(m).code;
        answer.reason = std::get<ErrorMsg>(m).reason;
      }
      break;
    }
    REQUIRE(needs_more(d));
    std::uint8_t buf[4096];
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 15000) <= 0) FAIL("no answer to EXTEND");
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) FAIL("the node closed without answering EXTEND");
    backward.apply(buf, static_cast<std::size_t>(n));
    in.insert(in.end(), buf, buf + n);
  }
  ::close(fd);
  return answer;
}

// A server that counts connections and the bytes they bring.
struct CountingServer {
  std::shared_ptr<std::atomic<std::size_t>> bytes = std::make_shared<std::atomic<std::size_t>>(0);
  TcpServer server{[b = bytes](int fd) {
    char buf[4096];
    for (;;) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 3000) <= 0) break;
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      *b += static_cast<std::size_t>(n);
    }
  }};
};

std::size_t count_lines(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("EXTEND: a node without --lab never connects to its own host", "[extend]") {
  TempDir dir;
  Network net(dir);
  std::size_t b = net.add_node();  // a lab node, listed at 127.0.0.1
  // The node under test: default exit policy, no --lab, so 127.0.0.1 is its own host.
  std::uint16_t a_port = free_port();
  Process a({bin("node"), "--listen", "127.0.0.1:" + port_s(a_port), "--data-dir",
             (dir / "strict").string(), "--pool", net.pool_address()},
            dir / "strict.out", dir / "strict.log");
  REQUIRE(net.wait_for_nodes(2));
  NodeDescriptor strict = listed_at(net, a_port);
  NodeDescriptor lab_node = listed_at(net, net.node_port(b));
  CountingServer service;

  // A local service, named with a listed identity or with a made-up one:
  // the node never connects there (today's attack: 68 bytes to 127.0.0.1:PORT).
  NodeDescriptor at_service = lab_node;
  at_service.host = "127.0.0.1";
  at_service.port = service.server.port();
  NodeDescriptor made_up{random_public<IdentityPublicKey>(), random_public<OnionPublicKey>(),
                         "127.0.0.1", service.server.port()};
  for (const auto& target : {at_service, made_up}) {
    auto r = build({strict, target});
    INFO(r.message);
    CHECK_FALSE(r.built);
    CHECK(r.code == Errc::unknown_identity);
    CHECK(r.hop == 2);
    CHECK(r.message.find("hop 2 (127.0.0.1:" + port_s(service.server.port())) != std::string::npos);
    CHECK(r.message.find("not a node this node's pools list") != std::string::npos);
  }
  std::this_thread::sleep_for(300ms);
  CHECK(service.server.connections() == 0);
  CHECK(*service.bytes == 0);

  // A listed node on this node's own host: refused too, and the reason says what allows it.
  auto r = build({strict, lab_node});
  INFO(r.message);
  CHECK_FALSE(r.built);
  CHECK(r.code == Errc::exit_policy_refused);
  CHECK(r.hop == 2);
  CHECK(r.message.find("own host") != std::string::npos);
  CHECK(r.message.find("--lab") != std::string::npos);
}

TEST_CASE("EXTEND: an explicit exit-policy accept lets a node reach a listed node on its host",
          "[extend]") {
  TempDir dir;
  Network net(dir);
  std::size_t b = net.add_node();
  std::uint16_t a_port = free_port();
  Process a({bin("node"), "--listen", "127.0.0.1:" + port_s(a_port), "--data-dir",
             (dir / "open").string(), "--pool", net.pool_address(), "--exit-policy",
             "accept 127.0.0.1:" + port_s(net.node_port(b))},
            dir / "open.out", dir / "open.log");
  REQUIRE(net.wait_for_nodes(2));
  EchoServer echo;
  auto r = build({listed_at(net, a_port), listed_at(net, net.node_port(b))}, echo.port());
  INFO(r.message << "\n" << read_file(dir / "open.log"));
  CHECK(r.built);
}

TEST_CASE("EXTEND: only to a node the pools list, at exactly its listed address", "[extend]") {
  TempDir dir;
  Network net(dir);
  std::size_t a = net.add_node();
  std::size_t b = net.add_node();
  REQUIRE(net.wait_for_nodes(2));
  auto path = listed_nodes(net, {a, b});
  REQUIRE(path.size() == 2);
  EchoServer echo;

  // An identity no pool lists, at a real node's address: refused by the
  // extending node itself (an ERROR from hop 1), the real node sees nothing.
  NodeDescriptor unlisted = path[1];
  unlisted.identity = random_public<IdentityPublicKey>();
  auto r = build({path[0], unlisted}, echo.port());
  INFO(r.message);
  CHECK_FALSE(r.built);
  CHECK(r.code == Errc::unknown_identity);
  CHECK(r.message.find("hop 1 (") != std::string::npos);  // "... (hop 1 (...) reports: ..."
  CHECK(r.message.find("not a node this node's pools list") != std::string::npos);
  CHECK(read_file(dir / "node1.log").find("refused") == std::string::npos);

  // The listed node at its listed address: built, bytes echoed.
  auto ok = build(path, echo.port());
  INFO(ok.message);
  CHECK(ok.built);

  // A node that joins now is reachable at once: the extending node
  // refreshes its list on a miss (its periodic refresh is 15 s away).
  std::size_t c = net.add_node();
  REQUIRE(net.wait_for_nodes(3));
  auto late = listed_nodes(net, {a, c});
  REQUIRE(late.size() == 2);
  auto joined = build(late, echo.port());
  INFO(joined.message);
  CHECK(joined.built);
}

TEST_CASE("circuits: at most 8 hops, never back to the same node or the previous one", "[extend]") {
  REQUIRE(kMaxCircuitHops == 8);
  TempDir dir;
  Network net(dir);
  for (int i = 0; i < 3; ++i) net.add_node();
  REQUIRE(net.wait_for_nodes(3));
  auto abc = listed_nodes(net, {0, 1, 2});
  REQUIRE(abc.size() == 3);
  const auto &a = abc[0], &b = abc[1], &c = abc[2];
  EchoServer echo;

  // Eight hops cycling through three nodes: the most there may be.
  std::vector<NodeDescriptor> eight = {a, b, c, a, b, c, a, b};
  auto r8 = build(eight, echo.port());
  INFO(r8.message);
  CHECK(r8.built);

  // A ninth: the node at hop 8 refuses to extend (the library's own check lifted).
  std::vector<NodeDescriptor> nine = eight;
  nine.push_back(c);
  CircuitOptions lifted;
  lifted.max_hops = 64;
  auto r9 = build(nine, echo.port(), lifted);
  INFO(r9.message);
  CHECK_FALSE(r9.built);
  CHECK(r9.code == Errc::limit_reached);
  CHECK(r9.hop == 9);
  CHECK(r9.message.find("hop 8 (") != std::string::npos);
  CHECK(r9.message.find("at most 8 hops") != std::string::npos);
  // And the library refuses by itself, before asking.
  auto lib = build(nine, echo.port());
  CHECK(lib.code == Errc::limit_reached);
  CHECK(lib.hop == 9);

  // Straight back to the previous node, and to the node itself.
  auto back = build({a, b, a}, echo.port());
  INFO(back.message);
  CHECK(back.code == Errc::protocol_error);
  CHECK(back.hop == 3);
  CHECK(back.message.find("back to the previous node") != std::string::npos);
  auto self = build({a, a}, echo.port());
  INFO(self.message);
  CHECK(self.code == Errc::protocol_error);
  CHECK(self.hop == 2);
  CHECK(self.message.find("this node itself") != std::string::npos);

  // The depth travels node to node in the CREATE's node form: told it is
  // hop 8, a node refuses to extend; hop 7 may; the previous node is never next.
  CHECK(raw_extend(a, 8, c.identity, b).code == Errc::limit_reached);
  CHECK(raw_extend(a, 7, c.identity, b).code == Errc::ok);
  auto to_previous = raw_extend(a, 2, b.identity, b);
  CHECK(to_previous.code == Errc::protocol_error);
  CHECK(to_previous.reason.find("previous") != std::string::npos);
  CHECK(raw_extend(a, 1, c.identity, b).code == Errc::ok);  // a client's CREATE: depth 1
  // The node's own identity at another node's address is simply not listed.
  NodeDescriptor own_elsewhere{a.identity, a.onion_key, b.host, b.port};
  auto elsewhere = raw_extend(a, 1, c.identity, own_elsewhere);
  INFO(elsewhere.reason);
  CHECK(elsewhere.code == Errc::unknown_identity);
  // A node form claiming depth 1 (or above 8) is malformed: status byte 02.
  CHECK(raw_extend(a, 9, c.identity, b).code == Errc::protocol_error);
}

TEST_CASE("tpdp-client --hops above 8 is a usage error", "[extend]") {
  TempDir dir;
  for (const char* hops : {"9", "16"}) {
    Process p({bin("client"), "--pool", "127.0.0.1:9", "--data-dir", (dir / "c").string(), "--hops",
               hops, "cat", "127.0.0.1", "9"},
              dir / "out", dir / "err");
    auto status = p.wait_exit(10s);
    REQUIRE(status);
    CHECK(*status == 2);
    CHECK(p.stderr_text().find("--hops") != std::string::npos);
  }
}

TEST_CASE("node log: a flood of garbage connections is logged throttled, with a count",
          "[extend]") {
  TempDir dir;
  std::uint16_t port = free_port();
  auto log = dir / "node.log";
  Process node({bin("node"), "--listen", "127.0.0.1:" + port_s(port), "--data-dir",
                (dir / "n").string(), "--log-file", log.string()},
               dir / "out", dir / "err");
  REQUIRE(eventually([&] { return read_file(log).find("listening") != std::string::npos; }, 10s));
  std::string start_text = read_file(log);
  std::size_t before = std::count(start_text.begin(), start_text.end(), '\n');
  constexpr int kGarbage = 300;
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < kGarbage; ++i) {
    bool closed = false;
    std::string answer = raw_exchange(port, "GET / HTTP/1.0\r\n\r\n", 5s, &closed);
    REQUIRE(closed);
    REQUIRE(answer == std::string(1, '\x02'));  // each one still gets its status byte
  }
  std::this_thread::sleep_for(1100ms);
  raw_exchange(port, "GET / HTTP/1.0\r\n\r\n", 5s);  // logged, with the count of the others
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::string text;
  REQUIRE(eventually(
      [&] {
        text = read_file(log);
        return text.find("more like it not logged") != std::string::npos;
      },
      5s));
  std::size_t after = std::count(text.begin(), text.end(), '\n');
  INFO(text.substr(0, 4000));
  // At most one line per second of flood for this kind, plus the last one.
  CHECK(after - before <= static_cast<std::size_t>(seconds) + 3);
  CHECK(count_lines(text, "bad CREATE magic") <= static_cast<std::size_t>(seconds) + 3);
}
