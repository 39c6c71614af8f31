// --config FILE: every program takes its options from a file too, the
// command line wins, and a mistake in the file names the file (exit 2).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <thread>

#include "harness.hpp"

using namespace tpdp::test;

namespace {

std::string port_s(std::uint16_t p) {
  return std::to_string(p);
}

fs::path proxy_bin() {
  return fs::path(TPDP_CLIENT_BIN).parent_path().parent_path() / "examples" / "tpdp-http-proxy";
}

struct Run {
  std::optional<int> status;
  std::string out, err;
};

Run run(const TempDir& dir, std::vector<std::string> argv, const std::string& name) {
  Process p(std::move(argv), dir / (name + ".out"), dir / (name + ".err"));
  auto status = p.wait_exit(20s);
  return {status, p.stdout_text(), p.stderr_text()};
}

bool accepts_connections(std::uint16_t port) {
  for (int i = 0; i < 500; ++i) {  // up to 5 s
    int fd = connect_local(port);
    if (fd >= 0) {
      ::close(fd);
      return true;
    }
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

}  // namespace

TEST_CASE("pool, node, client and HTTP proxy read --config, and the command line wins") {
  TempDir dir;
  std::uint16_t pool_port = free_port(), file_port = free_port(), node_port = free_port(),
                proxy_port = free_port();
  std::string pool = "127.0.0.1:" + port_s(pool_port);
  write_file(dir / "pool.conf", "# the pool\nlisten = \"" + pool +
                                    "\"\ndata-dir = " + (dir / "pool").string() + "\nlab = true\n");
  Process p({bin("pool"), "--config", (dir / "pool.conf").string()}, dir / "pool.out",
            dir / "pool.log");
  REQUIRE(accepts_connections(pool_port));

  // The file says one port, the command line another: the command line wins.
  write_file(dir / "node.conf", "listen = 127.0.0.1:" + port_s(file_port) + "\npool = [\"" + pool +
                                    "\"]\ndata-dir = \"" + (dir / "node").string() +
                                    "\"\nlab = true\nidle-timeout = 30\n");
  Process n({bin("node"), "--config", (dir / "node.conf").string(), "--listen",
             "127.0.0.1:" + port_s(node_port)},
            dir / "node.out", dir / "node.log");

  write_file(dir / "client.conf", "pool = " + pool + "\ndata-dir = " + (dir / "client").string() +
                                      "\nhops = 1\ntimeout = 5\n");
  std::string listed;
  for (int i = 0; i < 50 && listed.empty(); ++i) {  // until the node is listed (bounded)
    std::this_thread::sleep_for(100ms);
    listed =
        run(dir, {bin("client"), "--config", (dir / "client.conf").string(), "nodes"}, "nodes").out;
  }
  INFO(read_file(dir / "node.log"));
  CHECK(listed.find("127.0.0.1:" + port_s(node_port) + " ") == 0);
  CHECK(std::count(listed.begin(), listed.end(), '\n') == 1);

  // hops = 1 from the file: a one-node path works.
  TcpServer web(http_handler("hello from the config test"));
  write_file(dir / "request", "GET / HTTP/1.0\r\n\r\n");
  Process cat({bin("client"), "--config", (dir / "client.conf").string(), "cat", "127.0.0.1",
               port_s(web.port())},
              dir / "cat.out", dir / "cat.err", dir / "request");
  REQUIRE(cat.wait_exit(20s) == 0);
  CHECK(cat.stdout_text().find("hello from the config test") != std::string::npos);

  write_file(dir / "proxy.conf", "listen = 127.0.0.1:" + port_s(proxy_port) + "\npool = " + pool +
                                     "\nhops = 1\ndata-dir = " + (dir / "client").string() +
                                     "\nlog-level = debug\n");
  Process x({proxy_bin().string(), "--config", (dir / "proxy.conf").string()}, dir / "proxy.out",
            dir / "proxy.log");
  REQUIRE(accepts_connections(proxy_port));
  std::string answer = raw_exchange(
      proxy_port, "GET http://127.0.0.1:" + port_s(web.port()) + "/ HTTP/1.0\r\n\r\n", 10s);
  INFO(read_file(dir / "proxy.log"));
  CHECK(answer.find("200") != std::string::npos);
  CHECK(answer.find("hello from the config test") != std::string::npos);
  CHECK(read_file(dir / "proxy.log").find("debug") != std::string::npos);  // log-level from file
}

TEST_CASE("a mistake in a config file names the file and exits 2") {
  TempDir dir;
  const std::vector<std::pair<std::string, std::string>> programs = {
      {"tpdp-pool", bin("pool")},
      {"tpdp-node", bin("node")},
      {"tpdp-client", bin("client")},
      {"tpdp-http-proxy", proxy_bin().string()}};
  fs::path unknown = dir / "unknown.conf";
  write_file(unknown,
             "# fine so far\ndata-dir = " + (dir / "d").string() + "\nlisten-on = 127.0.0.1:1\n");
  for (const auto& [name, path] : programs) {
    INFO(name);
    std::vector<std::string> argv = {path, "--config", unknown.string()};
    if (name == "tpdp-client") argv.push_back("nodes");
    auto r = run(dir, argv, name + "-unknown");
    REQUIRE(r.status);
    CHECK(*r.status == 2);
    CHECK(r.err == name + ": error: in config file " + unknown.string() +
                       ": unknown option 'listen-on' (see " + name + " --help)\n");

    auto missing = run(dir, {path, "--config", (dir / "nothere.conf").string()}, name + "-missing");
    REQUIRE(missing.status);
    CHECK(*missing.status == 2);
    CHECK(missing.err.find("cannot read config file: " + (dir / "nothere.conf").string()) !=
          std::string::npos);
  }

  SECTION("a bad value") {
    fs::path bad = dir / "bad.conf";
    write_file(bad, "data-dir = " + (dir / "n").string() + "\nmax-circuits = many\n");
    auto r = run(dir, {bin("node"), "--config", bad.string()}, "bad");
    REQUIRE(r.status);
    CHECK(*r.status == 2);
    CHECK(r.err.find("in config file " + bad.string() + ":") != std::string::npos);
    CHECK(r.err.find("max-circuits") != std::string::npos);
    CHECK(r.err.find("many") != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "n"));  // stopped before doing anything
  }
  SECTION("a value out of range") {
    fs::path bad = dir / "hops.conf";
    write_file(bad, "hops = 40\n");
    auto r = run(dir, {bin("client"), "--config", bad.string(), "--pool", "127.0.0.1:1", "nodes"},
                 "hops");
    REQUIRE(r.status);
    CHECK(*r.status == 2);
    CHECK(r.err.find("in config file " + bad.string() + ": --hops") != std::string::npos);
  }
  SECTION("a bad value on the command line is not blamed on a good file") {
    fs::path good = dir / "good.conf";
    write_file(good, "data-dir = " + (dir / "n").string() + "\n");
    auto r = run(dir, {bin("node"), "--config", good.string(), "--max-circuits", "lots"}, "cli");
    REQUIRE(r.status);
    CHECK(*r.status == 2);
    CHECK(r.err.find("config file") == std::string::npos);
    CHECK(r.err.find("lots") != std::string::npos);
  }
  SECTION("a FIFO, a directory, a device or a huge file as the config file") {
    // CLI11 reads the file whole with a blocking open: before the check a FIFO
    // hung every program and /dev/zero grew it by 100 MB a second.
    fs::path fifo = dir / "config.fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    fs::path huge = dir / "huge.conf";
    write_file(huge, std::string(2 << 20, '#'));
    const std::vector<std::pair<std::string, std::string>> bad_files = {
        {fifo.string(), "is a FIFO, not a regular file"},
        {dir.path().string(), "is a directory, not a regular file"},
        {"/dev/zero", "is a device, not a regular file"},
        {huge.string(), "is larger than 1 MiB"}};
    for (const auto& [name, path] : programs) {
      for (const auto& [file, why] : bad_files) {
        INFO(name << " --config " << file);
        auto started = std::chrono::steady_clock::now();
        auto r = run(dir, {path, "--config=" + file}, name + "-special");
        REQUIRE(r.status);
        CHECK(*r.status == 2);
        CHECK(std::chrono::steady_clock::now() - started < 5s);
        CHECK(r.err == name + ": error: cannot read config file: " + file + " " + why + " (see " +
                           name + " --help)\n");
      }
    }
  }
  SECTION("a file naming another config file") {
    fs::path nested = dir / "nested.conf";
    write_file(nested, "config = " + unknown.string() + "\n");
    auto r = run(dir, {bin("pool"), "--config", nested.string()}, "nested");
    REQUIRE(r.status);
    CHECK(*r.status == 2);
    CHECK(r.err.find("in config file " + nested.string()) != std::string::npos);
  }
}
