// Operating a network: pools going away and coming back, several pools,
// IPv6, limits, key files, start-up errors (data dir, full disk, log file).
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

namespace {

struct Started {
  std::optional<int> status;
  std::string out, err;
};

Started start(const TempDir& dir, std::vector<std::string> argv, const std::string& name) {
  Process p(std::move(argv), dir / (name + ".out"), dir / (name + ".err"));
  auto status = p.wait_exit(10s);
  return {status, p.stdout_text(), p.stderr_text()};
}

// Runs a program in a mount namespace of its own (unshare: root only) in
// which `setup` first mounts a tmpfs on MOUNTPOINT ($1); then "mounted" is
// printed, the program runs (@MNT@ in argv is the mount point), and what it
// left on the tmpfs is listed in MOUNTPOINT.after. The mount ends with the
// process. nullopt when the namespace or the mount is not possible here.
std::optional<Started> start_on_tmpfs(const TempDir& dir, const std::string& setup,
                                      std::vector<std::string> argv, const std::string& name) {
  fs::path mountpoint = dir / (name + ".mnt");
  fs::create_directories(mountpoint);
  std::vector<std::string> full = {"/usr/bin/unshare",
                                   "--mount",
                                   "--propagation",
                                   "private",
                                   "/bin/sh",
                                   "-c",
                                   setup +
                                       "\necho mounted\nm=$1; shift\n\"$@\"; s=$?\n"
                                       "ls -AR \"$m\" > \"$m.after\"\nexit $s\n",
                                   "sh",
                                   mountpoint.string()};
  for (auto& a : argv) {
    std::string::size_type at;
    while ((at = a.find("@MNT@")) != std::string::npos) a.replace(at, 5, mountpoint.string());
    full.push_back(a);
  }
  if (!fs::exists(full[0]) || ::geteuid() != 0) return std::nullopt;
  auto r = start(dir, full, name);
  if (r.out.rfind("mounted", 0) != 0) {
    WARN("skipped: cannot mount a tmpfs in a new mount namespace here: " << r.err);
    return std::nullopt;
  }
  return r;
}

}  // namespace

TEST_CASE("an unusable data dir stops the node and the pool with a clear error") {
  TempDir dir;
  std::string listen = "127.0.0.1:" + std::to_string(free_port());
  write_file(dir / "a-file", "not a directory");
  for (const char* program : {"node", "pool"}) {
    INFO(program);
    auto not_dir =
        start(dir, {bin(program), "--listen", listen, "--data-dir", (dir / "a-file").string()},
              std::string(program) + "-file");
    REQUIRE(not_dir.status);
    CHECK(*not_dir.status == 1);
    CHECK(not_dir.err.find("data directory " + (dir / "a-file").string() + " is not a directory") !=
          std::string::npos);

    // Under /proc nothing can be created, even by root.
    auto cannot_create =
        start(dir, {bin(program), "--listen", listen, "--data-dir", "/proc/tpdp-test/data"},
              std::string(program) + "-proc");
    REQUIRE(cannot_create.status);
    CHECK(*cannot_create.status == 1);
    CHECK(cannot_create.err.find("cannot create data directory /proc/tpdp-test/data") !=
          std::string::npos);
  }

  // Not writable: a read-only file system (root is refused too), else a mode.
  auto read_only = start_on_tmpfs(dir, "mount -t tmpfs -o ro,size=16k tmpfs \"$1\" || exit 77",
                                  {bin("node"), "--listen", listen, "--data-dir", "@MNT@"}, "ro");
  if (read_only) {
    REQUIRE(read_only->status);
    CHECK(*read_only->status == 1);
    CHECK(read_only->err.find("data directory " + (dir / "ro.mnt").string() +
                              " is not writable: Read-only file system") != std::string::npos);
  } else if (::geteuid() != 0) {
    fs::create_directories(dir / "locked");
    ::chmod((dir / "locked").c_str(), 0500);
    auto locked = start(
        dir, {bin("node"), "--listen", listen, "--data-dir", (dir / "locked").string()}, "locked");
    REQUIRE(locked.status);
    CHECK(*locked.status == 1);
    CHECK(locked.err.find("data directory " + (dir / "locked").string() + " is not writable") !=
          std::string::npos);
  }
}

TEST_CASE("a full disk at first start: a clear error and no key file left behind") {
  TempDir dir;
  // A 4 KiB tmpfs, filled up before the node starts; data/ costs no blocks.
  auto full =
      start_on_tmpfs(dir,
                     "mount -t tmpfs -o size=4k tmpfs \"$1\" || exit 77\n"
                     "mkdir \"$1/data\"\n"
                     "cat /dev/zero > \"$1/filler\" 2>/dev/null",
                     {bin("node"), "--data-dir", "@MNT@/data", "--print-fingerprint"}, "full");
  if (!full) return;  // skipped (reported)
  REQUIRE(full->status);
  CHECK(*full->status == 1);
  fs::path key = dir / "full.mnt" / "data" / "node.key";
  CHECK(full->err ==
        "tpdp-node: error: cannot write " + key.string() + ": No space left on device\n");
  std::string left = read_file(dir / "full.mnt.after");
  INFO(left);
  CHECK(left.find("filler") != std::string::npos);
  CHECK(left.find("node.key") == std::string::npos);  // no key, no temporary file
}

TEST_CASE("a damaged pool key or an empty node key: refuse to start, name the file, keep it") {
  TempDir dir;
  auto created = start(
      dir, {bin("pool"), "--data-dir", (dir / "p").string(), "--print-fingerprint"}, "create");
  REQUIRE(created.status == 0);
  fs::path pool_key = dir / "p" / "pool.key";
  std::string key = read_file(pool_key);
  key[key.size() / 2] ^= 0x20;
  write_file(pool_key, key);
  ::chmod(pool_key.c_str(), 0600);
  auto pool = start(dir,
                    {bin("pool"), "--listen", "127.0.0.1:" + std::to_string(free_port()),
                     "--data-dir", (dir / "p").string()},
                    "pool");
  REQUIRE(pool.status);
  CHECK(*pool.status == 1);
  CHECK(pool.err.find("refusing to start: key file " + pool_key.string() + " is unusable") !=
        std::string::npos);
  CHECK(read_file(pool_key) == key);

  // What a crash while writing on a full disk could leave: an empty file.
  fs::create_directories(dir / "n");
  fs::path node_key = dir / "n" / "node.key";
  write_file(node_key, "");
  ::chmod(node_key.c_str(), 0600);
  auto node = start(dir,
                    {bin("node"), "--listen", "127.0.0.1:" + std::to_string(free_port()),
                     "--data-dir", (dir / "n").string()},
                    "node");
  REQUIRE(node.status);
  CHECK(*node.status == 1);
  CHECK(node.err.find("refusing to start: key file " + node_key.string() + " is unusable") !=
        std::string::npos);
  CHECK(fs::file_size(node_key) == 0);
}

TEST_CASE("a log file that cannot be opened stops the program naming it") {
  TempDir dir;
  for (const char* program : {"node", "pool"}) {
    INFO(program);
    auto r = start(dir,
                   {bin(program), "--listen", "127.0.0.1:" + std::to_string(free_port()),
                    "--data-dir", (dir / program).string(), "--log-file", "/proc/tpdp-test/log"},
                   program);
    REQUIRE(r.status);
    CHECK(*r.status == 1);
    CHECK(r.err.find("cannot open log file /proc/tpdp-test/log: No such file or directory") !=
          std::string::npos);
  }
}
