// Faults with real processes: a node killed or hung mid-transfer, and every
// way a circuit can end early. The circuits are the client library's, built
// in-process over chosen paths, so a test knows which node each one crosses.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include <catch2/catch.hpp>

#include "circuit_driver.hpp"
#include "client/circuit.hpp"
#include "harness.hpp"

using namespace tpdp;
using namespace tpdp::test;
using Clock = std::chrono::steady_clock;

namespace {

struct Started {
  std::vector<EchoResult> results;
  std::vector<bool> done;
};

// Runs each (path, size) echo concurrently on `io`; bounded by `limit`.
std::vector<EchoResult> run_echoes(asio::io_context& io,
                                   const std::vector<std::vector<NodeDescriptor>>& paths,
                                   std::uint16_t port, std::size_t size,
                                   std::vector<Progress> progress, std::chrono::seconds limit) {
  auto state = std::make_shared<Started>();
  state->results.resize(paths.size());
  state->done.resize(paths.size());
  progress.resize(paths.size());
  for (std::size_t i = 0; i < paths.size(); ++i) {
    asio::co_spawn(io, echo_through(paths[i], port, size, 1000 + i, progress[i]),
                   [state, i](std::exception_ptr e, EchoResult r) {
                     if (e) r.error = "threw";
                     state->results[i] = std::move(r);
                     state->done[i] = true;
                   });
  }
  io.run_for(limit);
  io.restart();
  for (std::size_t i = 0; i < paths.size(); ++i) {
    INFO("circuit " << i);
    REQUIRE(state->done[i]);
  }
  return state->results;
}

// Each node's descriptor count once the network is idle.
std::vector<std::size_t> idle_fds(Network& net, std::size_t nodes) {
  std::vector<std::size_t> fds;
  for (std::size_t i = 0; i < nodes; ++i) fds.push_back(open_fds(net.node(i).pid()));
  return fds;
}

bool fds_back_to(Network& net, const std::vector<std::size_t>& baseline,
                 std::chrono::milliseconds timeout) {
  return eventually(
      [&] {
        for (std::size_t i = 0; i < baseline.size(); ++i) {
          if (open_fds(net.node(i).pid()) > baseline[i]) return false;
        }
        return true;
      },
      timeout);
}

}  // namespace

TEST_CASE("a middle node killed: its circuit fails within 2 s, circuits elsewhere stay intact") {
  TempDir dir;
  Network net(dir);
  for (int i = 0; i < 5; ++i) net.add_node();
  REQUIRE(net.wait_for_nodes(5));
  auto n = listed_nodes(net, {0, 1, 2, 3, 4});
  REQUIRE(n.size() == 5);
  EchoServer echo;
  asio::io_context io;
  // Circuit 0 crosses node 1 in the middle; 1 and 2 avoid it but share its neighbours.
  std::vector<std::vector<NodeDescriptor>> paths = {
      {n[0], n[1], n[2]}, {n[3], n[0], n[4]}, {n[4], n[2], n[3]}};
  std::optional<Clock::time_point> killed;
  std::vector<Progress> progress(3);
  progress[0] = [&](std::size_t echoed) {
    if (!killed && echoed >= 2 * 1024 * 1024) {
      net.node(1).signal(SIGKILL);
      killed = Clock::now();
    }
  };
  auto results = run_echoes(io, paths, echo.port(), 32 * 1024 * 1024, progress, 90s);
  REQUIRE(killed);
  INFO("circuit 0: " << results[0].error);
  CHECK_FALSE(results[0].intact);
  CHECK_FALSE(results[0].error.empty());
  CHECK(results[0].ended - *killed < 2s);
  for (std::size_t i = 1; i < 3; ++i) {
    INFO("circuit " << i << ": " << results[i].error);
    CHECK(results[i].intact);
  }
}

TEST_CASE("a hung node (SIGSTOP) is timed out by its neighbours and serves again when resumed") {
  TempDir dir;
  Network net(dir);
  for (int i = 0; i < 3; ++i) net.add_node({"--idle-timeout", "2"});
  REQUIRE(net.wait_for_nodes(3));
  auto n = listed_nodes(net, {0, 1, 2});
  REQUIRE(n.size() == 3);
  auto baseline = idle_fds(net, 3);
  EchoServer echo;
  asio::io_context io;
  std::optional<Clock::time_point> stopped;
  std::vector<Progress> progress(1);
  progress[0] = [&](std::size_t echoed) {
    if (!stopped && echoed >= 1024 * 1024) {
      net.node(1).signal(SIGSTOP);
      stopped = Clock::now();
    }
  };
  auto hung = run_echoes(io, {{n[0], n[1], n[2]}}, echo.port(), 256 * 1024 * 1024, progress, 30s);
  REQUIRE(stopped);
  INFO("hung circuit: " << hung[0].error);
  CHECK_FALSE(hung[0].intact);
  CHECK_FALSE(hung[0].error.empty());
  // Node 0's idle timeout (2 s, checked every 0.5 s) ends it, with some slack.
  CHECK(hung[0].ended - *stopped < 5s);

  net.node(1).signal(SIGCONT);
  CHECK(fds_back_to(net, baseline, 10s));
  auto again = run_echoes(io, {{n[0], n[1], n[2]}, {n[1], n[2], n[0]}}, echo.port(),
                          4 * 1024 * 1024, {}, 60s);
  for (auto& r : again) {
    INFO(r.error);
    CHECK(r.intact);
  }
  CHECK(fds_back_to(net, baseline, 10s));
}

TEST_CASE("a client that stops reading for 25 s keeps its circuit: dead-link detection spares it") {
  // Every circuit link has keep-alive probes (common/net.hpp: a dead link
  // ends after about 20 s). A live client that does not read for longer (a
  // paused pager, a stopped process) leaves zero windows and full buffers
  // along the path, but answers every probe: nothing may be cut.
  TempDir dir;
  Network net(dir);
  for (int i = 0; i < 3; ++i) net.add_node();
  REQUIRE(net.wait_for_nodes(3));
  auto n = listed_nodes(net, {0, 1, 2});
  REQUIRE(n.size() == 3);
  EchoServer echo;
  asio::io_context io;
  bool paused = false;
  std::vector<Progress> progress(1);
  progress[0] = [&](std::size_t echoed) {
    if (!paused && echoed >= 1024 * 1024) {
      paused = true;
      std::this_thread::sleep_for(25s);  // the whole client stops: no read, no write
    }
  };
  auto r = run_echoes(io, {{n[0], n[1], n[2]}}, echo.port(), 32 * 1024 * 1024, progress, 90s);
  REQUIRE(paused);
  INFO(r[0].error);
  CHECK(r[0].intact);
}

TEST_CASE("every node frees the circuit however it ends: descriptors back to the baseline") {
  TempDir dir;
  Network net(dir);
  for (int i = 0; i < 3; ++i) net.add_node({"--connect-timeout", "1"});
  REQUIRE(net.wait_for_nodes(3));
  auto n = listed_nodes(net, {0, 1, 2});
  REQUIRE(n.size() == 3);
  std::vector<NodeDescriptor> path = {n[0], n[1], n[2]};
  auto baseline = idle_fds(net, 3);
  asio::io_context io;

  SECTION("the destination closes at once") {
    TcpServer closes([](int) {});
    auto r = run_echoes(io, {path}, closes.port(), 1024 * 1024, {}, 30s);
    CHECK_FALSE(r[0].intact);
  }
  SECTION("the destination refuses") {
    auto r = run_echoes(io, {path}, free_port(), 1024, {}, 30s);
    CHECK(r[0].error.find("refused") != std::string::npos);
  }
  SECTION("the destination never answers the connection") {
    // A listener whose queue is full drops further SYNs: connect hangs.
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd, 0) == 0);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    std::uint16_t port = ntohs(a.sin_port);
    std::vector<int> fillers;
    for (int i = 0; i < 3; ++i) {
      int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      ::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
      fillers.push_back(c);
    }
    auto r = run_echoes(io, {path}, port, 1024, {}, 30s);
    INFO(r[0].error);
    CHECK(r[0].error.find("timed out") != std::string::npos);
    for (int c : fillers) ::close(c);
    ::close(fd);
  }
  SECTION("the destination stays silent and the client vanishes without END") {
    TcpServer silent([](int fd) {
      char buf[4096];
      while (::recv(fd, buf, sizeof buf, 0) > 0) {
      }  // never answers; ends when the exit closes (or after SO_RCVTIMEO)
    });
    bool finished = false;
    auto vanish = [&]() -> asio::awaitable<void> {
      auto ex = co_await asio::this_coro::executor;
      auto built = std::make_shared<Circuit>(ex);
      std::string failure = co_await build_circuit(built, path, silent.port());
      if (!failure.empty()) throw std::runtime_error(failure);
      Circuit& circuit = *built;
      std::string request(1024, 'q');
      co_await asio::async_write(circuit, asio::buffer(request), asio::use_awaitable);
      asio::steady_timer pause(ex, 300ms);
      co_await pause.async_wait(asio::use_awaitable);
      circuit.close();
      finished = true;
    };
    asio::co_spawn(io, vanish(), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
    io.run_for(30s);
    io.restart();
    CHECK(finished);
  }
  SECTION("the client vanishes mid-stream") {
    TcpServer source(endless_source_handler);
    auto vanish = [&]() -> asio::awaitable<void> {
      auto ex = co_await asio::this_coro::executor;
      auto built = std::make_shared<Circuit>(ex);
      std::string failure = co_await build_circuit(built, path, source.port());
      if (!failure.empty()) throw std::runtime_error(failure);
      Circuit& circuit = *built;
      std::vector<char> buf(65536);
      std::size_t got = 0;
      while (got < 200000)
        got += co_await circuit.async_read_some(asio::buffer(buf), asio::use_awaitable);
      circuit.close();  // abrupt: no END
    };
    bool finished = false;
    asio::co_spawn(io, vanish(), [&](std::exception_ptr e) {
      finished = true;
      if (e) std::rethrow_exception(e);
    });
    io.run_for(30s);
    io.restart();
    CHECK(finished);
  }
  // Whatever happened, every node is back to its idle descriptor count.
  CHECK(fds_back_to(net, baseline, 10s));
  for (std::size_t i = 0; i < 3; ++i) {
    INFO("node " << i << " fds " << open_fds(net.node(i).pid()) << " baseline " << baseline[i]);
    CHECK(open_fds(net.node(i).pid()) <= baseline[i]);
    CHECK(net.node(i).running());
  }
}

TEST_CASE(
    "the pool killed and restarted: clients use their last verified list while nodes re-register") {
  TempDir dir;
  Network net(dir, {"--heartbeat-interval", "2"});
  for (int i = 0; i < 3; ++i) net.add_node();
  REQUIRE(net.wait_for_nodes(3));
  TcpServer echo_server(echo_handler);
  std::string port = std::to_string(echo_server.port());
  // A first run verifies the list (trusting the pool on first use) and keeps it.
  auto first = net.client({"--hops", "3", "cat", "127.0.0.1", port}, "before");
  REQUIRE(first.exit_code == 0);
  CHECK(first.out == "before");
  CHECK(fs::exists(net.client_dir() / "last_lists.json"));
  // Nodes extend only to nodes their own last verified lists hold (spec
  // 6.6), refreshed every heartbeat period (2 s here): after one, every node
  // knows the others, also while the pool is away.
  std::this_thread::sleep_for(2500ms);

  net.pool().signal(SIGKILL);
  REQUIRE(net.pool().wait_exit(5s));
  auto during = net.client({"--hops", "3", "cat", "127.0.0.1", port}, "during");
  INFO("stderr: " << during.err);
  CHECK(during.exit_code == 0);
  CHECK(during.out == "during");
  CHECK(during.err.find("using its last verified list from") != std::string::npos);
  CHECK(during.err.find("(3 nodes)") != std::string::npos);

  // Back with the same key: every node is listed again within one heartbeat interval.
  auto restarted = std::chrono::steady_clock::now();
  net.restart_pool(dir / "pool");
  REQUIRE(net.wait_for_nodes(3, 10s));
  auto took = std::chrono::steady_clock::now() - restarted;
  CHECK(took < 2s + 1s);  // the interval plus the lab's 1 s retry granularity
  auto after = net.client({"--hops", "3", "cat", "127.0.0.1", port}, "after");
  CHECK(after.exit_code == 0);
  CHECK(after.out == "after");
  CHECK(after.err.find("last verified list") == std::string::npos);
}
