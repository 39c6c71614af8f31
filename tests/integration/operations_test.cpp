// Operating a network: pools going away and coming back, several pools,
// IPv6, limits, key files.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <thread>

#include "harness.hpp"

using namespace tpdp::test;

TEST_CASE("nodes survive their pool going away and re-register when it returns") {
  TempDir dir;
  Network net(dir);
  net.add_node();
  net.add_node();
  REQUIRE(net.wait_for_nodes(2));
  net.pool().signal(SIGKILL);
  REQUIRE(net.pool().wait_exit(5s));
  std::this_thread::sleep_for(1500ms);  // a few failed heartbeats (lab retry: 1 s)
  CHECK(net.node(0).running());
  CHECK(net.node(1).running());
  net.restart_pool(dir / "pool");  // same key, same address, empty list
  REQUIRE(net.wait_for_nodes(2, 10s));
  CHECK(net.node(0).stderr_text().find("unreachable") != std::string::npos);
}

TEST_CASE("a node heartbeats to every pool and the client merges their lists") {
  TempDir dir;
  Network net(dir);
  TempDir dir2;
  Network other(dir2);
  net.add_node({"--pool", other.pool_address()});
  other.add_node();
  REQUIRE(net.wait_for_nodes(1));
  REQUIRE(other.wait_for_nodes(2));
  auto r = net.client({"--pool", other.pool_address(), "nodes"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 2);
}

TEST_CASE("IPv6: pool, nodes and client on ::1") {
  TempDir dir;
  std::uint16_t pool_port = free_port();
  std::string pool = "[::1]:" + std::to_string(pool_port);
  Process p({bin("pool"), "--listen", pool, "--data-dir", (dir / "pool").string(), "--lab"},
            dir / "pool.out", dir / "pool.log");
  std::vector<std::unique_ptr<Process>> nodes;
  for (int i = 0; i < 3; ++i) {
    std::string name = "node" + std::to_string(i);
    nodes.push_back(std::make_unique<Process>(
        std::vector<std::string>{bin("node"), "--listen", "[::1]:" + std::to_string(free_port()),
                                 "--pool", pool, "--data-dir", (dir / name).string(), "--lab"},
        dir / (name + ".out"), dir / (name + ".log")));
  }
  TcpServer echo(echo_handler);
  ClientResult r;
  // Bounded wait for the nodes to register, then a 3-hop circuit over IPv6 links.
  for (int i = 0; i < 50; ++i) {
    std::this_thread::sleep_for(200ms);
    Process c({bin("client"), "--pool", pool, "--data-dir", (dir / "client").string(), "nodes"},
              dir / "nodes.out", dir / "nodes.err");
    c.wait_exit(10s);
    std::string listed = c.stdout_text();
    if (std::count(listed.begin(), listed.end(), '\n') == 3) break;
  }
  CHECK(read_file(dir / "nodes.out").find("[::1]:") != std::string::npos);
  write_file(dir / "in", "over six");
  Process c({bin("client"), "--pool", pool, "--data-dir", (dir / "client").string(), "cat",
             "127.0.0.1", std::to_string(echo.port())},
            dir / "cat.out", dir / "cat.err", dir / "in");
  auto status = c.wait_exit(20s);
  INFO(c.stderr_text());
  REQUIRE(status);
  CHECK(*status == 0);
  CHECK(c.stdout_text() == "over six");
}

TEST_CASE("key files are created 0600 and a damaged one stops the node with its name") {
  TempDir dir;
  Process first({bin("node"), "--data-dir", (dir / "n").string(), "--print-fingerprint"},
                dir / "out", dir / "err");
  REQUIRE(first.wait_exit(10s) == 0);
  struct stat st {};
  REQUIRE(::stat((dir / "n" / "node.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  std::string fp = read_file(dir / "out");
  CHECK(fp.size() == 65);
  // Same identity on the next start.
  Process again({bin("node"), "--data-dir", (dir / "n").string(), "--print-fingerprint"},
                dir / "out2", dir / "err2");
  REQUIRE(again.wait_exit(10s) == 0);
  CHECK(read_file(dir / "out2") == fp);
  // One flipped byte: refuse to start, never a silent new identity.
  std::string key = read_file(dir / "n" / "node.key");
  key[40] ^= 1;
  write_file(dir / "n" / "node.key", key);
  ::chmod((dir / "n" / "node.key").c_str(), 0600);
  Process broken({bin("node"), "--listen", "127.0.0.1:" + std::to_string(free_port()), "--data-dir",
                  (dir / "n").string()},
                 dir / "out3", dir / "err3");
  REQUIRE(broken.wait_exit(10s) == 1);
  CHECK(broken.stderr_text().find((dir / "n" / "node.key").string()) != std::string::npos);
  CHECK(broken.stderr_text().find("corrupt") != std::string::npos);
  CHECK(read_file(dir / "n" / "node.key") == key);
}

TEST_CASE("handshakes in flight are limited per source address") {
  TempDir dir;
  Network net(dir);
  net.add_node({"--max-handshakes-per-source", "2", "--handshake-timeout", "30"});
  REQUIRE(net.wait_for_nodes(1));
  std::uint16_t port = net.node_port(0);
  // Two silent connections hold both slots; a third is refused with limit_reached (6).
  auto hold = [port](std::atomic<bool>& done) {
    raw_exchange(port, "", 3s);
    done = true;
  };
  std::atomic<bool> a{false}, b{false};
  std::thread t1(hold, std::ref(a)), t2(hold, std::ref(b));
  std::this_thread::sleep_for(500ms);
  bool closed = false;
  CHECK(raw_exchange(port, "", 3s, &closed) == "\x06");
  CHECK(closed);
  t1.join();
  t2.join();
  // Slots are given back when those connections end.
  TcpServer echo(echo_handler);
  auto r = net.client({"--hops", "1", "cat", "127.0.0.1", std::to_string(echo.port())}, "ok");
  CHECK(r.exit_code == 0);
}

TEST_CASE("a stalled handshake ends with the timeout status and an idle circuit is closed") {
  TempDir dir;
  Network net(dir);
  net.add_node({"--handshake-timeout", "1", "--idle-timeout", "1"});
  REQUIRE(net.wait_for_nodes(1));
  bool closed = false;
  auto started = std::chrono::steady_clock::now();
  // Half a CREATE, then silence: status byte 1 (timeout) after about 1 s.
  CHECK(raw_exchange(net.node_port(0), "TPD1 half a create", 5s, &closed) == "\x01");
  CHECK(closed);
  CHECK(std::chrono::steady_clock::now() - started < 3s);
  // A destination that never answers, and a client that sends nothing more.
  TcpServer silent([](int fd) {
    char sink[256];
    while (::recv(fd, sink, sizeof sink, 0) > 0) {
    }
  });
  write_file(dir / "silence", "");
  std::string fifo = (dir / "stdin").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  int keep_open = ::open(fifo.c_str(), O_RDWR);  // stdin stays open and silent
  auto client = net.start_client({"--hops", "1", "cat", "127.0.0.1", std::to_string(silent.port())},
                                 fifo, "idle");
  auto status = client->wait_exit(8s);
  ::close(keep_open);
  REQUIRE(status);
  CHECK(*status == 1);
  CHECK(net.node(0).stderr_text().find("timeout after") != std::string::npos);
}
