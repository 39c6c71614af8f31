// Attacks and faults: each ends in its documented error within a bounded time.
#include <signal.h>

#include <catch2/catch.hpp>
#include <thread>

#include "harness.hpp"

using namespace tpdp::test;

namespace {
std::string port_s(std::uint16_t p) {
  return std::to_string(p);
}

}  // namespace

TEST_CASE("a byte flipped on a link is detected end to end") {
  TcpServer echo(echo_handler);
  for (bool forward : {true, false}) {
    DYNAMIC_SECTION((forward ? "towards the exit" : "towards the client")) {
      TempDir dir;
      Network net(dir);
      // One node sits behind a tap that flips a byte well into the stream.
      std::uint16_t real = free_port();
      Tap tap(real, {TapAction::flip, forward, 200000});
      net.add_node({"--advertise", "127.0.0.1:" + port_s(tap.port())}, real);
      net.add_node();
      net.add_node();
      REQUIRE(net.wait_for_nodes(3));
      std::string data = random_bytes(2 * 1024 * 1024);
      auto r = net.client({"--hops", "3", "cat", "127.0.0.1", port_s(echo.port())}, data, 30s);
      INFO(r.err);
      REQUIRE(tap.triggered());
      CHECK(r.exit_code == 1);
      CHECK(r.out != data);
      CHECK(r.err.find("integrity") != std::string::npos);
    }
  }
}

TEST_CASE("a circuit cut mid-stream is reported as truncated, not as a clean end") {
  TempDir dir;
  Network net(dir);
  std::uint16_t real = free_port();
  Tap tap(real, {TapAction::cut, false, 100000});
  net.add_node({"--advertise", "127.0.0.1:" + port_s(tap.port())}, real);
  REQUIRE(net.wait_for_nodes(1));
  std::string body = random_bytes(1024 * 1024);
  TcpServer web(http_handler(body));
  auto r = net.client({"--hops", "1", "cat", "127.0.0.1", port_s(web.port())},
                      "GET / HTTP/1.0\r\n\r\n", 30s);
  REQUIRE(tap.triggered());
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("truncated") != std::string::npos);
}

TEST_CASE("an impersonated node fails the build with an error naming the hop") {
  TempDir dir;
  Network net(dir, {"--expiry", "60", "--heartbeat-interval", "1"});
  net.add_node();
  REQUIRE(net.wait_for_nodes(1));
  std::uint16_t port = net.node_port(0);
  // The real node dies; another process with another key takes its address
  // while the pool still lists the original identity.
  net.node(0).signal(SIGKILL);
  REQUIRE(net.node(0).wait_exit(5s));
  TempDir other;
  Process impostor({bin("node"), "--listen", "127.0.0.1:" + port_s(port), "--data-dir",
                    (other / "key").string(), "--lab"},
                   other / "out", other / "log");
  std::this_thread::sleep_for(300ms);
  auto r = net.client({"--hops", "1", "cat", "127.0.0.1", "9"}, "", 20s);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("hop 1 (127.0.0.1:" + port_s(port)) != std::string::npos);
  CHECK(r.err.find("does not hold the requested identity") != std::string::npos);
}

TEST_CASE("a node killed mid-transfer gives the client a clear error quickly") {
  TempDir dir;
  Network net(dir);
  for (int i = 0; i < 3; ++i) net.add_node();
  REQUIRE(net.wait_for_nodes(3));
  TcpServer source(endless_source_handler);
  auto client = start_flowing_cat(net, dir, source, "killed", 100000);
  // Bytes flow: kill the middle of the node list.
  net.node(1).signal(SIGKILL);
  auto started = std::chrono::steady_clock::now();
  auto status = client->wait_exit(5s);
  REQUIRE(status);
  CHECK(std::chrono::steady_clock::now() - started < 2s);
  CHECK(*status == 1);
  CHECK(client->stderr_text().find("truncated") != std::string::npos);
}

TEST_CASE("a node that stops heartbeating expires from the list") {
  TempDir dir;
  Network net(dir, {"--expiry", "2", "--heartbeat-interval", "1", "--sweep-interval", "1"});
  net.add_node();
  net.add_node();
  REQUIRE(net.wait_for_nodes(2));
  net.node(0).signal(SIGSTOP);
  REQUIRE(net.wait_for_nodes(1, 10s));
  net.node(0).signal(SIGCONT);
  // It comes back with its next heartbeat.
  REQUIRE(net.wait_for_nodes(2, 10s));
}

TEST_CASE("a pinned pool key that does not match is refused") {
  TempDir dir;
  Network net(dir);
  net.add_node();
  REQUIRE(net.wait_for_nodes(1));
  std::string wrong(64, 'a');
  auto r = net.client({"--pool", net.pool_address() + "@" + wrong, "nodes"});
  // The harness's own --pool comes first; both are checked, a mismatch is never skipped.
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("pins " + wrong) != std::string::npos);
  auto ok = net.client({"--pool", net.pool_address() + "@" + net.pool_fingerprint(), "nodes"});
  CHECK(ok.exit_code == 0);
}

TEST_CASE("a pool whose key changed after first use is refused") {
  TempDir dir;
  Network net(dir);
  auto first = net.client({"nodes"});
  REQUIRE(first.exit_code == 0);
  REQUIRE(first.err.find("trusting pool") != std::string::npos);
  net.restart_pool(dir / "other-pool");  // same address, new key
  auto r = net.client({"nodes"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("Refusing: the pool may be impersonated") != std::string::npos);
}

TEST_CASE("garbage sent to a node does not disturb its running circuits") {
  TempDir dir;
  Network net(dir);
  for (int i = 0; i < 3; ++i) net.add_node();
  REQUIRE(net.wait_for_nodes(3));
  TcpServer source(endless_source_handler);
  auto client = start_flowing_cat(net, dir, source, "steady", 50000);
  // Wrong magic, a short CREATE, an oversize burst: each node refuses each one.
  for (int i = 0; i < 3; ++i) {
    CHECK(raw_exchange(net.node_port(i), "GET / HTTP/1.0\r\n\r\n") == "\x02");
    CHECK(raw_exchange(net.node_port(i), std::string(100000, 'T')) == "\x02");
  }
  auto before = fs::file_size(dir / "steady.out");
  std::this_thread::sleep_for(300ms);
  CHECK(fs::file_size(dir / "steady.out") > before);
  CHECK(client->running());
}
