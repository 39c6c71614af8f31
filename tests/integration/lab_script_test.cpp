// scripts/lab against the built binaries: `up` starts a pool, nodes and the
// proxies it can find; `status` lists them; `down` stops exactly them (and
// not a process whose PID a record names but that runs something else).
#include <sys/types.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "harness.hpp"

using namespace tpdp::test;

namespace {

// The repository: the first ancestor holding scripts/lab, from the client
// binary (build/ inside the repository) or, for a build elsewhere, this file.
std::optional<fs::path> repo_root() {
  for (fs::path start : {fs::path(TPDP_CLIENT_BIN), fs::path(__FILE__)}) {
    for (auto p = start.parent_path(); !p.empty(); p = p.parent_path()) {
      if (fs::exists(p / "scripts" / "lab")) return p;
      if (p == p.root_path()) break;
    }
  }
  return std::nullopt;
}

// A live process (not a zombie waiting for its parent).
bool running(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return false;
  auto close = text.rfind(") ");
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] != 'Z';
}

std::string argv0(int pid) {
  std::string cmdline = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  return cmdline.substr(0, cmdline.find('\0'));
}

bool wait_gone(int pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running(pid)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

struct Run {
  int exit_code = -1;
  std::string out;
};

class LabScript {
 public:
  LabScript(fs::path root, fs::path build_dir, const TempDir& dir)
      : script_(root / "scripts" / "lab"), build_dir_(std::move(build_dir)), dir_(dir) {}
  ~LabScript() {
    if (up_) run({"down"});  // a failed check must not leave the lab running
  }
  Run run(std::vector<std::string> args, std::chrono::milliseconds timeout = 90s) {
    std::vector<std::string> argv{"/usr/bin/env", "BUILD_DIR=" + build_dir_.string(),
                                  script_.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--dir");
    argv.push_back(lab_dir().string());
    auto name = "lab" + std::to_string(runs_++);
    Process p(argv, dir_ / (name + ".out"), dir_ / (name + ".err"));
    auto status = p.wait_exit(timeout);
    if (!args.empty() && args[0] == "up") up_ = true;
    if (!args.empty() && args[0] == "down" && status == 0) up_ = false;
    return {status ? *status : -1, p.stdout_text() + p.stderr_text()};
  }
  fs::path lab_dir() const { return dir_ / "lab"; }

 private:
  fs::path script_, build_dir_;
  const TempDir& dir_;
  int runs_ = 0;
  bool up_ = false;
};

}  // namespace

TEST_CASE("scripts/lab: up, status, down stop exactly what was started") {
  auto root = repo_root();
  if (!root) {
    WARN("scripts/lab not found next to " << TPDP_CLIENT_BIN << ": skipped");
    return;
  }
  fs::path build_dir = fs::path(TPDP_CLIENT_BIN).parent_path().parent_path();
  TempDir dir;
  LabScript lab(*root, build_dir, dir);

  // What `up` should start with these binaries.
  std::map<std::string, fs::path> expected{{"pool", build_dir / "pool" / "tpdp-pool"},
                                           {"node1", build_dir / "node" / "tpdp-node"},
                                           {"node2", build_dir / "node" / "tpdp-node"},
                                           {"node3", build_dir / "node" / "tpdp-node"}};
  if (fs::exists(build_dir / "examples" / "tpdp-http-proxy"))
    expected["http-proxy"] = build_dir / "examples" / "tpdp-http-proxy";
  Process socks_help({bin("client"), "socks", "--help"}, dir / "socks.out", dir / "socks.err");
  if (socks_help.wait_exit(10s) == 0) expected["socks"] = bin("client");

  // Not ours: must survive `down`, even when a record names its PID.
  Process bystander({"/bin/sleep", "120"}, dir / "sleep.out", dir / "sleep.err");

  auto base_port = std::to_string(free_port());
  auto up = lab.run({"up", "--nodes", "3", "--hops", "2", "--base-port", base_port});
  INFO(up.out);
  REQUIRE(up.exit_code == 0);
  CHECK(up.out.find("3 nodes listed, 2 hops") != std::string::npos);
  CHECK(up.out.find("get --verbose http://127.0.0.1:") != std::string::npos);
  CHECK(up.out.find("Stop: scripts/lab down --dir " + lab.lab_dir().string()) != std::string::npos);

  // Every expected process runs the expected binary, recorded with its port.
  auto pids_dir = lab.lab_dir() / "pids";
  std::map<std::string, int> pids;
  for (const auto& [name, binary] : expected) {
    std::istringstream record(read_file(pids_dir / (name + ".pid")));
    int pid = 0, port = 0;
    record >> pid >> port;
    INFO(name);
    REQUIRE(pid > 0);
    CHECK(port >= std::stoi(base_port));
    CHECK(running(pid));
    CHECK(argv0(pid) == binary.string());
    pids[name] = pid;
  }
  std::istringstream order(read_file(pids_dir / "order"));
  std::vector<std::string> names;
  for (std::string n; order >> n;) names.push_back(n);
  CHECK(names.size() == expected.size());

  auto status = lab.run({"status"});
  INFO(status.out);
  CHECK(status.exit_code == 0);
  for (const auto& [name, pid] : pids) {
    CHECK(status.out.find(name) != std::string::npos);
    CHECK(status.out.find(std::to_string(pid)) != std::string::npos);
  }
  CHECK(status.out.find("lists 3 nodes") != std::string::npos);

  // Up again: says so, starts nothing.
  auto records = read_file(pids_dir / "order");
  auto again = lab.run({"up", "--nodes", "3", "--base-port", base_port});
  CHECK(again.exit_code == 0);
  CHECK(again.out.find("already up") != std::string::npos);
  CHECK(read_file(pids_dir / "order") == records);
  for (const auto& [name, pid] : pids) CHECK(running(pid));

  // A stale record whose PID now belongs to another program.
  write_file(pids_dir / "stale.pid", std::to_string(bystander.pid()) + " 1\n");
  std::string node_cmdline = bin("node") + std::string("\0--listen\0", 10);
  write_file(pids_dir / "stale.cmdline", node_cmdline);
  std::ofstream(pids_dir / "order", std::ios::app) << "stale\n";

  auto down = lab.run({"down"});
  INFO(down.out);
  CHECK(down.exit_code == 0);
  CHECK(down.out.find("stale: PID " + std::to_string(bystander.pid()) +
                      " now runs another program: left alone") != std::string::npos);
  for (const auto& [name, pid] : pids) {
    INFO(name);
    CHECK(wait_gone(pid, 5s));
  }
  CHECK(bystander.running());
  CHECK_FALSE(fs::exists(pids_dir));
  CHECK_FALSE(fs::exists(lab.lab_dir() / "lab.env"));
  // The logs stay for reading.
  CHECK(fs::exists(lab.lab_dir() / "logs" / "pool.log"));

  auto twice = lab.run({"down"});
  CHECK(twice.exit_code == 0);
  CHECK(twice.out.find("not running") != std::string::npos);
  auto gone = lab.run({"status"});
  CHECK(gone.exit_code == 3);
}

TEST_CASE("scripts/lab up --protocol 0.1: a TPDP/0.1 network without keys") {
  auto root = repo_root();
  if (!root) {
    WARN("scripts/lab not found next to " << TPDP_CLIENT_BIN << ": skipped");
    return;
  }
  fs::path build_dir = fs::path(TPDP_CLIENT_BIN).parent_path().parent_path();
  TempDir dir;
  LabScript lab(*root, build_dir, dir);
  auto base_port = free_port();
  auto up = lab.run({"up", "--protocol", "0.1", "--nodes", "3", "--hops", "3", "--base-port",
                     std::to_string(base_port)});
  INFO(up.out);
  REQUIRE(up.exit_code == 0);
  CHECK(up.out.find("TPDP/0.1 (INSECURE") != std::string::npos);
  CHECK(up.out.find("3 nodes listed, 3 hops") != std::string::npos);
  CHECK(up.out.find("--protocol 0.1 --pool 127.0.0.1:") != std::string::npos);
  CHECK_FALSE(fs::exists(lab.lab_dir() / "pool" / "pool.key"));
  CHECK(read_file(lab.lab_dir() / "lab.env").find("PROTOCOL=0.1") != std::string::npos);

  auto status = lab.run({"status"});
  INFO(status.out);
  CHECK(status.exit_code == 0);
  CHECK(status.out.find("lists 3 nodes") != std::string::npos);

  // The lab's pool is the first port it found free from the base port.
  std::string pool;
  std::istringstream env(read_file(lab.lab_dir() / "lab.env"));
  for (std::string line; std::getline(env, line);) {
    if (line.rfind("POOL='", 0) == 0) pool = line.substr(6, line.size() - 7);
  }
  REQUIRE(!pool.empty());
  std::string body = random_bytes(50000);
  TcpServer web(http_handler(body));
  Process get({bin("client"), "--protocol", "0.1", "--pool", pool, "get",
               "http://127.0.0.1:" + std::to_string(web.port()) + "/x"},
              dir / "get.out", dir / "get.err");
  CHECK(get.wait_exit(30s) == 0);
  INFO(get.stderr_text());
  CHECK(get.stdout_text() == body);

  auto down = lab.run({"down"});
  CHECK(down.exit_code == 0);
  CHECK(down.out.find("stopped 6 process(es)") != std::string::npos);
}
