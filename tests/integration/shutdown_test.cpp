// Stopping and log rotation, as an operator or systemd does it: SIGTERM lets
// open circuits finish within --grace, SIGHUP reopens --log-file.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <regex>
#include <thread>

#include "harness.hpp"

using namespace tpdp::test;

namespace {

using Clock = std::chrono::steady_clock;

std::string port_s(std::uint16_t p) {
  return std::to_string(p);
}

fs::path proxy_bin() {
  return fs::path(TPDP_CLIENT_BIN).parent_path().parent_path() / "examples" / "tpdp-http-proxy";
}

// Sends `data` in 64 KiB pieces every 40 ms, then closes: a transfer that is
// still running when the signal comes, and ends by itself.
TcpServer::Handler paced_source(const std::string& data) {
  return [&data](int fd) {
    for (std::size_t off = 0; off < data.size(); off += 65536) {
      std::size_t n = std::min<std::size_t>(65536, data.size() - off);
      if (!send_all(fd, data.data() + off, n)) return;
      std::this_thread::sleep_for(40ms);
    }
  };
}

// True once connecting to the port is refused (bounded: 2 s).
bool refuses_connections(std::uint16_t port) {
  for (int i = 0; i < 200; ++i) {
    int fd = connect_local(port);
    if (fd < 0) return true;
    ::close(fd);
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

// True once `text` appears in the file (bounded: 5 s).
bool wait_for_text(const fs::path& file, const std::string& text) {
  for (int i = 0; i < 250; ++i) {
    if (read_file(file).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace

TEST_CASE("SIGTERM: a circuit moving data finishes intact, new connections are refused, exit 0") {
  TempDir dir;
  Network net(dir);
  for (int i = 0; i < 3; ++i) net.add_node({"--grace", "20"});
  REQUIRE(net.wait_for_nodes(3));
  const std::string data = random_bytes(2 * 1024 * 1024);  // ~1.3 s at the paced rate
  TcpServer source(paced_source(data));
  auto client = start_flowing_cat(net, dir, source, "during", 200000);

  auto signalled = Clock::now();
  net.node(1).signal(SIGTERM);
  CHECK(refuses_connections(net.node_port(1)));
  CHECK(net.node(1).running());  // still carrying the circuit

  auto status = client->wait_exit(20s);
  INFO(client->stderr_text());
  REQUIRE(status);
  CHECK(*status == 0);
  CHECK(client->stdout_text() == data);
  auto node_status = net.node(1).wait_exit(5s);
  REQUIRE(node_status);
  CHECK(*node_status == 0);
  double took = seconds_since(signalled);
  INFO("node exited " << took << " s after SIGTERM");
  CHECK(took < 10);  // with the circuit, well before the 20 s grace
  std::string log = net.node(1).stderr_text();
  INFO("node log:\n" << log);
  // At least the flowing circuit: a probe of refuses_connections that the
  // node accepted before it handled the signal counts too (seen under ASan).
  std::smatch waiting;
  REQUIRE(
      std::regex_search(log, waiting, std::regex("waiting up to 20 s for ([0-9]+) open circuit")));
  CHECK(std::stoi(waiting[1].str()) >= 1);
  CHECK(log.find("no circuit open: exiting") != std::string::npos);
  // The others were not disturbed.
  CHECK(net.node(0).running());
  CHECK(net.node(2).running());
}

TEST_CASE(
    "SIGTERM with a short grace: the pool drops the node, an endless circuit is cut at the "
    "deadline, exit 0") {
  TempDir dir;
  Network net(dir, {"--expiry", "2", "--heartbeat-interval", "1", "--sweep-interval", "1"});
  net.add_node();
  net.add_node({"--grace", "5"});
  net.add_node();
  REQUIRE(net.wait_for_nodes(3));
  TcpServer source(endless_source_handler);
  auto client = start_flowing_cat(net, dir, source, "endless", 100000);

  auto signalled = Clock::now();
  net.node(1).signal(SIGTERM);
  // No more heartbeats: the pool expires it while its circuit still runs.
  CHECK(net.wait_for_nodes(2, 4500ms));
  CHECK(net.node(1).running());
  auto node_status = net.node(1).wait_exit(10s);
  REQUIRE(node_status);
  CHECK(*node_status == 0);
  double took = seconds_since(signalled);
  INFO("node exited " << took << " s after SIGTERM");
  CHECK(took >= 4.9);
  CHECK(took < 7);
  auto status = client->wait_exit(5s);
  INFO(client->stderr_text());
  REQUIRE(status);
  CHECK(*status == 1);
  CHECK(client->stderr_text().find("truncated") != std::string::npos);
  CHECK(net.node(1).stderr_text().find("grace period over: closing 1 open circuit(s)") !=
        std::string::npos);
}

TEST_CASE("a second SIGTERM ends the open circuits at once, an idle node exits at once") {
  TempDir dir;
  Network net(dir);
  for (int i = 0; i < 3; ++i) net.add_node({"--grace", "60"});
  REQUIRE(net.wait_for_nodes(3));
  TcpServer source(endless_source_handler);
  auto client = start_flowing_cat(net, dir, source, "endless", 100000);
  net.node(1).signal(SIGTERM);
  REQUIRE(wait_for_text(dir / "node1.log", "open circuit(s) to finish"));
  auto again = Clock::now();
  net.node(1).signal(SIGTERM);
  auto node_status = net.node(1).wait_exit(5s);
  REQUIRE(node_status);
  CHECK(*node_status == 0);
  CHECK(seconds_since(again) < 1.5);
  CHECK(client->wait_exit(5s) == 1);

  // Nothing open: SIGTERM (or SIGINT) ends a node and the pool at once.
  client.reset();
  for (std::size_t i : {std::size_t{0}, std::size_t{2}}) {
    // Their part of the circuit ended when node 1 closed it.
    auto started = Clock::now();
    net.node(i).signal(i == 0 ? SIGTERM : SIGINT);
    auto s = net.node(i).wait_exit(5s);
    REQUIRE(s);
    CHECK(*s == 0);
    CHECK(seconds_since(started) < 2);
  }
  auto started = Clock::now();
  net.pool().signal(SIGTERM);
  auto pool_status = net.pool().wait_exit(5s);
  REQUIRE(pool_status);
  CHECK(*pool_status == 0);
  CHECK(seconds_since(started) < 2);
}

TEST_CASE("SIGHUP reopens --log-file after it was moved away (node, pool, HTTP proxy)") {
  TempDir dir;
  std::uint16_t pool_port = free_port(), node_port = free_port(), proxy_port = free_port();
  std::string pool = "127.0.0.1:" + port_s(pool_port);
  Process p({bin("pool"), "--listen", pool, "--data-dir", (dir / "pool").string(), "--lab",
             "--log-file", (dir / "pool.log").string()},
            dir / "pool.out", dir / "pool.err");
  REQUIRE(wait_for_text(dir / "pool.log", "pool listening"));
  Process n(
      {bin("node"), "--listen", "127.0.0.1:" + port_s(node_port), "--pool", pool, "--data-dir",
       (dir / "node").string(), "--lab", "--log-file", (dir / "node.log").string()},
      dir / "node.out", dir / "node.err");
  Process x({proxy_bin().string(), "--listen", "127.0.0.1:" + port_s(proxy_port), "--pool", pool,
             "--data-dir", (dir / "proxy").string(), "--log-file", (dir / "proxy.log").string()},
            dir / "proxy.out", dir / "proxy.err");
  REQUIRE(wait_for_text(dir / "node.log", "registered with pool"));
  REQUIRE(wait_for_text(dir / "proxy.log", "listening on"));
  struct {
    Process& process;
    std::string name;
  } programs[] = {{p, "pool"}, {n, "node"}, {x, "proxy"}};
  for (auto& program : programs) {
    fs::path log = dir / (program.name + ".log"), rotated = dir / (program.name + ".log.1");
    fs::rename(log, rotated);
    program.process.signal(SIGHUP);
    INFO(program.name);
    REQUIRE(wait_for_text(log, "SIGHUP: reopened log file " + log.string()));
    CHECK(program.process.running());
    CHECK(read_file(rotated).find("listening") != std::string::npos);
    CHECK(read_file(dir / (program.name + ".err")).empty());  // nothing went to stderr
    CHECK((fs::status(log).permissions() & fs::perms::others_all) == fs::perms::none);
  }
  // Later lines go to the new file.
  n.signal(SIGTERM);
  REQUIRE(n.wait_exit(5s) == 0);
  CHECK(read_file(dir / "node.log").find("no longer accepting") != std::string::npos);
  CHECK(read_file(dir / "node.log.1").find("no longer accepting") == std::string::npos);
}

TEST_CASE("SIGHUP without --log-file is logged and harmless") {
  TempDir dir;
  Network net(dir);
  net.add_node();
  REQUIRE(net.wait_for_nodes(1));
  net.node(0).signal(SIGHUP);
  REQUIRE(wait_for_text(dir / "node0.log", "SIGHUP: logging to stderr, no log file to reopen"));
  CHECK(net.node(0).running());
  CHECK(net.wait_for_nodes(1));
}
