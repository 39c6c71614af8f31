// Every option of every program is range-checked while parsing: a bad value,
// on the command line or in a --config file, is a usage error (exit 2) with
// one line naming the option, before the program reads a key or opens a
// socket. (Pool and node are run with --print-fingerprint where they can be:
// a value that slipped through would print a fingerprint and exit 0.)
#include <algorithm>
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace tpdp::test;

namespace {

fs::path proxy_bin() {
  return fs::path(TPDP_CLIENT_BIN).parent_path().parent_path() / "examples" / "tpdp-http-proxy";
}

struct Run {
  std::optional<int> status;
  std::string err;
};

Run run(const TempDir& dir, std::vector<std::string> argv, const std::string& name) {
  Process p(std::move(argv), dir / (name + ".out"), dir / (name + ".err"));
  auto status = p.wait_exit(10s);
  return {status, p.stderr_text()};
}

struct BadValue {
  std::vector<std::string> args;  // appended to the program's base command line
  std::string names;              // what the one-line message must name
};

struct Program {
  std::string name;
  std::vector<std::string> base;   // a command line that works without the bad value
  std::vector<std::string> after;  // appended after the bad value (a subcommand and its operands)
  std::vector<BadValue> bad;
};

std::vector<Program> programs(const TempDir& dir) {
  const std::string data = (dir / "data").string();
  const std::string pool = "127.0.0.1:1";
  return {
      {"tpdp-pool",
       {bin("pool"), "--data-dir", data, "--print-fingerprint"},
       {},
       {{{"--heartbeat-interval", "-5"}, "--heartbeat-interval"},
        {{"--heartbeat-interval", "0"}, "--heartbeat-interval"},
        {{"--heartbeat-interval", "65536"}, "--heartbeat-interval"},
        {{"--heartbeat-interval", "soon"}, "--heartbeat-interval"},
        {{"--expiry", "-1"}, "--expiry"},
        {{"--expiry", "0"}, "--expiry"},
        {{"--expiry", "5", "--heartbeat-interval", "10"}, "--expiry"},
        {{"--sweep-interval", "-3"}, "--sweep-interval"},
        {{"--sweep-interval", "0"}, "--sweep-interval"},
        {{"--max-nodes", "0"}, "--max-nodes"},
        {{"--max-nodes", "10001"}, "--max-nodes"},
        {{"--listen", "nowhere"}, "--listen"},
        {{"--listen", "127.0.0.1:0"}, "--listen"},
        {{"--listen", "127.0.0.1:65536"}, "--listen"},
        {{"--log-level", "loud"}, "--log-level"},
        {{"--protocol", "2"}, "--protocol"}}},
      {"tpdp-pool (TPDP/0.1)",
       {bin("pool"), "--protocol", "0.1", "--listen", "127.0.0.1:1"},
       {},
       {{{"--heartbeat-interval", "256"}, "--heartbeat-interval"}}},
      {"tpdp-node",
       {bin("node"), "--data-dir", data, "--print-fingerprint"},
       {},
       {{{"--max-circuits", "0"}, "--max-circuits"},
        {{"--max-circuits", "-1"}, "--max-circuits"},
        {{"--max-handshakes-per-source", "0"}, "--max-handshakes-per-source"},
        {{"--heartbeat-retry", "-1"}, "--heartbeat-retry"},
        {{"--heartbeat-retry", "0"}, "--heartbeat-retry"},
        {{"--handshake-timeout", "0"}, "--handshake-timeout"},
        {{"--connect-timeout", "-2"}, "--connect-timeout"},
        {{"--idle-timeout", "700000"}, "--idle-timeout"},
        {{"--idle-timeout", "nan"}, "--idle-timeout"},
        {{"--grace", "-1"}, "--grace"},
        {{"--grace", "90000"}, "--grace"},
        {{"--listen", "nowhere"}, "--listen"},
        {{"--advertise", "[::1]"}, "--advertise"},
        {{"--pool", "127.0.0.1"}, "--pool"},
        {{"--pool", "127.0.0.1:1@abcd"}, "--pool"},
        {{"--exit-policy", "allow *:*"}, "--exit-policy"},
        {{"--log-level", "loud"}, "--log-level"}}},
      {"tpdp-node (starting)",
       {bin("node"), "--data-dir", data},
       {},
       {{{}, "--listen"},
        {{"--listen", "0.0.0.0:6001"}, "--advertise"},
        {{"--listen", "127.0.0.1:6001", "--advertise", "0.0.0.0:6001"}, "--advertise"},
        {{"--listen", "[::1]:6001", "--advertise", "[::]:6001"}, "--advertise"},
        {{"--protocol", "0.1", "--listen", "127.0.0.1:1", "--pool",
          "127.0.0.1:2@" + std::string(64, '0')},
         "--pool"}}},
      {"tpdp-client",
       {bin("client"), "--pool", pool, "--data-dir", data},
       {"nodes"},
       {{{"--timeout", "0"}, "--timeout"},
        {{"--timeout", "-1"}, "--timeout"},
        {{"--timeout", "700000"}, "--timeout"},
        {{"--hops", "0"}, "--hops"},
        {{"--pool", "nowhere"}, "--pool"},
        {{"--path", "127.0.0.1:0"}, "--path"},
        {{"--protocol", "2"}, "--protocol"}}},
      {"tpdp-client get",
       {bin("client"), "--pool", pool, "--data-dir", data},
       {},
       {{{"get", "http://127.0.0.1:0/"}, "url"},
        {{"get", "ftp://127.0.0.1/"}, "url"},
        {{"--path", "127.0.0.1:6001,127.0.0.1:6002,127.0.0.1:6001", "get", "http://127.0.0.1:9/"},
         "--path"},
        {{"get", "--progress", "--no-progress", "http://127.0.0.1:9/"}, "--progress"}}},
      {"tpdp-client cat",
       {bin("client"), "--pool", pool, "--data-dir", data},
       {},
       {{{"cat", "127.0.0.1", "0"}, "port"},
        {{"cat", "127.0.0.1", "65536"}, "port"},
        {{"cat", "no such host!", "80"}, "host"},
        {{"--path", "127.0.0.1:6001,[::1]:6001,127.0.0.1:6001", "cat", "127.0.0.1", "9"},
         "--path"}}},
      {"tpdp-client socks",
       {bin("client"), "--pool", pool, "--data-dir", data},
       {},
       {{{"socks", "--listen", "nowhere"}, "--listen"},
        {{"socks", "--max-connections", "0"}, "--max-connections"},
        {{"--path", "127.0.0.1:6001", "socks"}, "--path"}}},
      {"tpdp-http-proxy",
       {proxy_bin().string(), "--pool", pool, "--data-dir", data},
       {},
       {{{"--timeout", "0"}, "--timeout"},
        {{"--idle-timeout", "-1"}, "--idle-timeout"},
        {{"--refresh", "0"}, "--refresh"},
        {{"--listen", "nowhere"}, "--listen"},
        {{"--pool", "127.0.0.1:1@00"}, "--pool"},
        {{"--hops", "0"}, "--hops"},
        {{"--hops", "9"}, "--hops"},
        {{"--max-connections", "0"}, "--max-connections"},
        {{"--log-level", "loud"}, "--log-level"},
        {{"--protocol", "0.1", "--pool", "127.0.0.1:2@" + std::string(64, '0')}, "--pool"}}},
  };
}

std::string program_of(const std::string& name) {
  return name.substr(0, name.find(' '));
}

}  // namespace

TEST_CASE("a bad option value on the command line is a usage error naming the option (exit 2)") {
  TempDir dir;
  int runs = 0;
  for (const auto& program : programs(dir)) {
    for (const auto& bad : program.bad) {
      std::vector<std::string> argv = program.base;
      argv.insert(argv.end(), bad.args.begin(), bad.args.end());
      argv.insert(argv.end(), program.after.begin(), program.after.end());
      std::string shown;
      for (std::size_t i = 1; i < argv.size(); ++i) shown += " " + argv[i];
      INFO(program.name << ":" << shown);
      auto r = run(dir, argv, "run" + std::to_string(runs++));
      INFO(r.err);
      REQUIRE(r.status);
      CHECK(*r.status == 2);
      const std::string prefix = program_of(program.name) + ": error: ";
      CHECK(r.err.rfind(prefix, 0) == 0);
      CHECK(r.err.find(bad.names) != std::string::npos);
      CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    }
  }
  // Stopped before doing anything: no data dir was created.
  CHECK_FALSE(fs::exists(dir / "data"));
}

TEST_CASE("a bad option value in a config file is a usage error naming the file and the option") {
  TempDir dir;
  const std::string data = (dir / "data").string();
  struct Case {
    std::vector<std::string> argv;  // --config FILE is inserted after argv[0]
    std::string line, option;
  };
  const std::vector<Case> cases = {
      {{bin("pool"), "--data-dir", data, "--print-fingerprint"},
       "heartbeat-interval = -5",
       "--heartbeat-interval"},
      {{bin("pool"), "--data-dir", data, "--print-fingerprint"}, "expiry = -1", "--expiry"},
      {{bin("pool"), "--data-dir", data, "--print-fingerprint"},
       "sweep-interval = -3",
       "--sweep-interval"},
      {{bin("node"), "--data-dir", data, "--print-fingerprint"},
       "max-circuits = 0",
       "--max-circuits"},
      {{bin("node"), "--data-dir", data, "--print-fingerprint"},
       "max-handshakes-per-source = 0",
       "--max-handshakes-per-source"},
      {{bin("node"), "--data-dir", data, "--print-fingerprint"},
       "heartbeat-retry = -1",
       "--heartbeat-retry"},
      {{bin("node"), "--data-dir", data, "--print-fingerprint"},
       "exit-policy = \"allow *:*\"",
       "--exit-policy"},
      {{bin("client"), "--pool", "127.0.0.1:1", "nodes"}, "timeout = 0", "--timeout"},
      {{bin("client"), "nodes"}, "pool = [\"127.0.0.1\"]", "--pool"},
      {{proxy_bin().string(), "--pool", "127.0.0.1:1", "--data-dir", data},
       "refresh = 0",
       "--refresh"},
      {{proxy_bin().string(), "--pool", "127.0.0.1:1", "--data-dir", data},
       "idle-timeout = -1",
       "--idle-timeout"},
  };
  int runs = 0;
  for (const auto& c : cases) {
    std::string name = "conf" + std::to_string(runs++);
    fs::path conf = dir / (name + ".conf");
    write_file(conf, "# " + c.option + "\n" + c.line + "\n");
    std::vector<std::string> argv = c.argv;
    argv.insert(argv.begin() + 1, {"--config", conf.string()});
    INFO(argv[0] << " with " << c.line);
    auto r = run(dir, argv, name);
    INFO(r.err);
    REQUIRE(r.status);
    CHECK(*r.status == 2);
    CHECK(r.err.find(": error: in config file " + conf.string() + ": " + c.option) !=
          std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
  CHECK_FALSE(fs::exists(dir / "data"));
}

TEST_CASE("tpdp-http-proxy with a data dir that is not a directory stops at once (exit 1)") {
  TempDir dir;
  write_file(dir / "a-file", "not a directory");
  for (const std::string& data : {(dir / "a-file").string(), std::string("/etc/passwd")}) {
    INFO(data);
    auto r = run(dir,
                 {proxy_bin().string(), "--listen", "127.0.0.1:" + std::to_string(free_port()),
                  "--pool", "127.0.0.1:1", "--data-dir", data},
                 "proxy");
    REQUIRE(r.status);  // not listening, answering 502 forever
    CHECK(*r.status == 1);
    CHECK(r.err == "tpdp-http-proxy: error: data directory " + data + " is not a directory\n");
  }
}
