// Load and soak with real node processes: 1,000 concurrent circuits moving
// 1 MiB each way, churn (circuits and nodes coming and going) with no lost
// byte and no growth, and a handshake flood plus slowloris against a node
// while legitimate circuits keep building.
//
// Sizes come from the environment so CI (and the sanitizer build) can run
// them smaller: TPDP_LOAD_CIRCUITS (default 1000), TPDP_LOAD_BYTES (default
// 1048576), TPDP_SOAK_SECONDS (default 20; the issue's full soak is 600).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>

#include "circuit_driver.hpp"
#include "client/pool_client.hpp"
#include "common/pool_address.hpp"
#include "harness.hpp"
#include "protocol/circuit_messages.hpp"

using namespace tpdp;
using namespace tpdp::test;
using Clock = std::chrono::steady_clock;

namespace {

std::size_t env_size(const char* name, std::size_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  return static_cast<std::size_t>(std::stoull(v));
}

std::vector<NodeDescriptor> random_path(const std::vector<NodeDescriptor>& nodes, std::size_t hops,
                                        std::mt19937& rng) {
  std::vector<NodeDescriptor> shuffled = nodes;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  shuffled.resize(hops);
  return shuffled;
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

TEST_CASE("load: 1,000 concurrent circuits through 3 hops, 1 MiB each way, every byte checked") {
  std::size_t circuits = env_size("TPDP_LOAD_CIRCUITS", 1000);
  std::size_t bytes = env_size("TPDP_LOAD_BYTES", 1024 * 1024);
  // The client and the echo server each hold one descriptor per circuit;
  // the nodes (which inherit the limit) two per circuit through them.
  std::size_t limit = raise_fd_limit(3 * circuits + 512);
  if (limit < 3 * circuits + 512) {
    circuits = (limit - 512) / 3;
    WARN("descriptor limit " << limit << ": running " << circuits << " circuits");
  }
  TempDir dir;
  Network net(dir);
  for (int i = 0; i < 5; ++i) net.add_node();
  REQUIRE(net.wait_for_nodes(5));
  auto nodes = listed_nodes(net, {0, 1, 2, 3, 4});
  REQUIRE(nodes.size() == 5);
  EchoServer echo;
  asio::io_context io;
  std::mt19937 rng(42);

  // Build them all first (at most 32 handshakes at a time, under the nodes'
  // per-source limit), so that all of them are open at once when data flows.
  std::vector<std::shared_ptr<Circuit>> built(circuits);
  std::vector<std::string> build_errors(circuits);
  std::vector<std::vector<NodeDescriptor>> paths;
  for (std::size_t i = 0; i < circuits; ++i) paths.push_back(random_path(nodes, 3, rng));
  std::size_t next = 0, builders_done = 0;
  auto builder = [&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    while (next < circuits) {
      std::size_t i = next++;
      built[i] = std::make_shared<Circuit>(ex, CircuitOptions{std::chrono::seconds(30)});
      build_errors[i] = co_await build_circuit(built[i], paths[i], echo.port());
    }
    ++builders_done;
  };
  auto build_started = Clock::now();
  for (int b = 0; b < 32; ++b) asio::co_spawn(io, builder(), asio::detached);
  io.run_for(std::chrono::seconds(120));
  io.restart();
  REQUIRE(builders_done == 32);
  double build_s = std::chrono::duration<double>(Clock::now() - build_started).count();
  std::size_t build_failures = 0;
  for (std::size_t i = 0; i < circuits; ++i) {
    if (!build_errors[i].empty()) {
      ++build_failures;
      UNSCOPED_INFO("circuit " << i << ": " << build_errors[i]);
    }
  }
  REQUIRE(build_failures == 0);
  for (std::size_t i = 0; i < 5; ++i) {
    WARN("node " << i << " with " << circuits << " circuits open: " << open_fds(net.node(i).pid())
                 << " descriptors, RSS " << rss_kib(net.node(i).pid()) / 1024 << " MiB");
  }

  std::vector<EchoResult> results(circuits);
  std::size_t finished = 0;
  auto flow_started = Clock::now();
  for (std::size_t i = 0; i < circuits; ++i) {
    auto flow = [&, i]() -> asio::awaitable<void> {
      results[i] = co_await echo_stream(built[i], bytes, 7000 + i);
      ++finished;
    };
    asio::co_spawn(io, flow, asio::detached);
  }
  io.run_for(std::chrono::seconds(240));
  io.restart();
  double flow_s = std::chrono::duration<double>(Clock::now() - flow_started).count();
  REQUIRE(finished == circuits);
  std::size_t intact = 0;
  for (std::size_t i = 0; i < circuits; ++i) {
    if (results[i].intact) {
      ++intact;
    } else {
      UNSCOPED_INFO("circuit " << i << ": " << results[i].error);
    }
  }
  CHECK(intact == circuits);
  double mib = static_cast<double>(circuits * bytes) / (1024 * 1024);
  WARN(circuits << " circuits built in " << build_s << " s; " << mib << " MiB each way in "
                << flow_s << " s (" << mib / flow_s
                << " MiB/s each way, all intact: " << (intact == circuits ? "yes" : "no") << ")");
}

TEST_CASE(
    "soak: circuits and nodes come and go, with no lost byte and no descriptor or memory growth") {
  auto soak = std::chrono::seconds(env_size("TPDP_SOAK_SECONDS", 20));
  raise_fd_limit(4096);
  TempDir dir;
  Network net(dir, {"--expiry", "3", "--heartbeat-interval", "1", "--sweep-interval", "1"});
  // Nodes 0-2 stay for the whole run and are measured; the others churn.
  // When a neighbour is killed, its closed links must end the circuit at
  // every other node: the idle timeout is far longer than the test waits
  // (120 s), so a circuit left open only because nothing ended it shows up
  // in the descriptor check below instead of being quietly reaped.
  for (int i = 0; i < 6; ++i) net.add_node({"--idle-timeout", "120"});
  REQUIRE(net.wait_for_nodes(6));
  std::string err;
  auto pool = *parse_pool_address(net.pool_address() + "@" + net.pool_fingerprint(), &err);
  auto stable_ports =
      std::vector<std::uint16_t>{net.node_port(0), net.node_port(1), net.node_port(2)};
  auto is_stable = [&](const NodeDescriptor& n) {
    return std::find(stable_ports.begin(), stable_ports.end(), n.port) != stable_ports.end();
  };
  EchoServer echo;
  asio::io_context io;
  std::mt19937 rng(7);

  struct Tally {
    std::size_t intact = 0, failed = 0, stable_only = 0, lost = 0;
    std::vector<std::string> violations;
  } tally;
  std::vector<NodeDescriptor> listed;
  bool traffic = true;
  std::size_t in_flight = 0;
  std::uint64_t seed = 1;

  auto one_circuit = [&](std::vector<NodeDescriptor> path, std::size_t size,
                         std::uint64_t s) -> asio::awaitable<void> {
    bool only_stable = std::all_of(path.begin(), path.end(), is_stable);
    auto r = co_await echo_through(path, echo.port(), size, s);
    if (r.intact) {
      ++tally.intact;
      if (only_stable) ++tally.stable_only;
    } else {
      ++tally.failed;
      // A clean end must mean every byte arrived; a circuit through stable
      // nodes only has no excuse to fail at all.
      if (r.clean_end) {
        ++tally.lost;
        tally.violations.push_back("clean end but: " + r.error);
      } else if (only_stable) {
        tally.violations.push_back("stable-only circuit failed: " + r.error);
      }
    }
    --in_flight;
  };
  auto traffic_loop = [&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer pause(ex);
    auto last_fetch = Clock::time_point{};
    while (traffic) {
      if (Clock::now() - last_fetch > std::chrono::seconds(1)) {
        try {
          auto list = co_await fetch_node_list(pool, nullptr, std::chrono::seconds(3));
          listed = list.nodes;
        } catch (const std::exception&) {
        }
        last_fetch = Clock::now();
      }
      while (traffic && in_flight < 16 && listed.size() >= 3) {
        ++in_flight;
        std::size_t size = 16 * 1024 + rng() % (512 * 1024);
        asio::co_spawn(ex, one_circuit(random_path(listed, 3, rng), size, seed++), asio::detached);
      }
      pause.expires_after(std::chrono::milliseconds(20));
      co_await pause.async_wait(asio::use_awaitable);
    }
  };
  auto run_slice = [&](std::chrono::milliseconds d) {
    io.run_for(d);
    io.restart();
  };

  // Warm-up, then the baseline of the stable nodes.
  asio::co_spawn(io, traffic_loop(), asio::detached);
  for (int i = 0; i < 15; ++i) run_slice(std::chrono::milliseconds(200));
  traffic = false;
  for (int i = 0; i < 300 && in_flight > 0; ++i) run_slice(std::chrono::milliseconds(100));
  REQUIRE(in_flight == 0);
  std::vector<std::size_t> fds0, rss0;
  for (std::size_t i = 0; i < 3; ++i) {
    fds0.push_back(open_fds(net.node(i).pid()));
    rss0.push_back(rss_kib(net.node(i).pid()));
  }

  // Churn: every 2 s a churning node is killed and a new one joins.
  traffic = true;
  asio::co_spawn(io, traffic_loop(), asio::detached);
  std::vector<std::size_t> churners = {3, 4, 5};
  auto end = Clock::now() + soak;
  auto next_churn = Clock::now() + std::chrono::seconds(2);
  std::size_t nodes_killed = 0;
  while (Clock::now() < end) {
    run_slice(std::chrono::milliseconds(100));
    if (Clock::now() >= next_churn) {
      std::size_t pick = rng() % churners.size();
      net.node(churners[pick]).signal(SIGKILL);
      net.node(churners[pick]).wait_exit(5s);
      ++nodes_killed;
      churners[pick] = net.add_node();
      next_churn = Clock::now() + std::chrono::seconds(2);
    }
  }
  traffic = false;
  for (int i = 0; i < 600 && in_flight > 0; ++i) run_slice(std::chrono::milliseconds(100));
  REQUIRE(in_flight == 0);

  for (const auto& v : tally.violations) UNSCOPED_INFO(v);
  CHECK(tally.violations.empty());
  CHECK(tally.lost == 0);
  CHECK(tally.intact >= 20);
  CHECK(tally.stable_only > 0);
  for (std::size_t i = 0; i < 3; ++i) {
    INFO("stable node " << i);
    CHECK(net.node(i).running());
    bool freed = eventually([&] { return open_fds(net.node(i).pid()) <= fds0[i]; }, 15s);
    INFO("fds " << fds0[i] << " after warm-up, " << open_fds(net.node(i).pid())
                << " now; sockets:\n"
                << tcp_sockets(net.node(i).pid()));
    CHECK(freed);
    std::size_t rss = rss_kib(net.node(i).pid());
    INFO("RSS " << rss0[i] << " KiB after warm-up, " << rss << " KiB after the churn");
#if defined(__SANITIZE_ADDRESS__)
    // AddressSanitizer keeps freed memory in quarantine (up to 256 MiB), so
    // RSS says nothing here; LeakSanitizer checks every node at exit instead.
    (void)rss;
#else
    CHECK(rss <= rss0[i] + 16 * 1024);
#endif
  }
  WARN("soak " << soak.count() << " s: " << tally.intact << " circuits intact ("
               << tally.stable_only << " through stable nodes only), " << tally.failed
               << " failed (through killed nodes), " << nodes_killed
               << " nodes killed and replaced; stable node RSS " << rss0[0] << " -> "
               << rss_kib(net.node(0).pid()) << " KiB, fds " << fds0[0] << " -> "
               << open_fds(net.node(0).pid()));
}

namespace {

// A TCP connection to 127.0.0.1:port from another loopback source address.
int connect_from(const char* source, std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in src{};
  src.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &src.sin_addr);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  dst.sin_port = htons(port);
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Whether the node turned the connection away within the timeout: the
// limit_reached status byte, or a close.
bool turned_away(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  std::uint8_t status = 0;
  ssize_t n = ::recv(fd, &status, 1, MSG_DONTWAIT);
  return n <= 0 || status == static_cast<std::uint8_t>(Errc::limit_reached);
}

}  // namespace

TEST_CASE(
    "a handshake flood and slowloris clients are held by the limits while circuits still build") {
  raise_fd_limit(4096);
  TempDir dir;
  Network net(dir);
  for (int i = 0; i < 3; ++i) {
    net.add_node({"--handshake-timeout", "3", "--max-handshakes-per-source", "100"});
  }
  REQUIRE(net.wait_for_nodes(3));
  auto n = listed_nodes(net, {0, 1, 2});
  REQUIRE(n.size() == 3);
  std::uint16_t target = net.node_port(0);
  std::size_t fds_before = open_fds(net.node(0).pid());

  // Slowloris from 127.0.0.9: 150 connections that send one byte and stall.
  std::vector<int> stalled;
  for (int i = 0; i < 150; ++i) {
    int fd = connect_from("127.0.0.9", target);
    if (fd >= 0) {
      ::send(fd, "T", 1, MSG_NOSIGNAL);
      stalled.push_back(fd);
    }
  }
  REQUIRE(stalled.size() == 150);
  // Over the per-source limit (100), the node turns the rest away at once.
  std::size_t refused = 0;
  for (int fd : stalled) refused += turned_away(fd, 200ms) ? 1 : 0;
  CHECK(refused == 50);
  CHECK(open_fds(net.node(0).pid()) <= fds_before + 110);

  // A flood from 127.0.0.10: CREATEs for node 0's real identity with random
  // keys, as fast as one thread can send them, each costing the node an X25519.
  std::atomic<bool> flooding{true};
  std::atomic<std::size_t> flood_sent{0};
  std::thread flooder([&] {
    CreateMsg create;
    create.node_id = n[0].identity;
    auto deadline = Clock::now() + 60s;  // bounded even if the test stalls
    while (flooding && Clock::now() < deadline) {
      randombytes_buf(create.client_public.bytes.data(), create.client_public.bytes.size());
      Bytes wire = encode_to_bytes(create);
      int fd = connect_from("127.0.0.10", target);
      if (fd < 0) continue;
      ::send(fd, wire.data(), wire.size(), MSG_NOSIGNAL);
      ::close(fd);
      ++flood_sent;
    }
  });

  // Meanwhile: 50 legitimate 3-hop circuits, one after another, from 127.0.0.1.
  EchoServer echo;
  asio::io_context io;
  std::vector<double> build_ms;
  std::size_t intact = 0;
  auto legit = [&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    const std::vector<NodeDescriptor> path = {n[0], n[1], n[2]};
    for (int i = 0; i < 50; ++i) {
      auto circuit = std::make_shared<Circuit>(ex, CircuitOptions{std::chrono::seconds(10)});
      auto started = Clock::now();
      std::string failure = co_await build_circuit(circuit, path, echo.port());
      build_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - started).count());
      if (!failure.empty()) continue;
      auto r = co_await echo_stream(circuit, 64 * 1024, 500 + i);
      if (r.intact) ++intact;
    }
  };
  asio::co_spawn(io, legit(), asio::detached);
  io.run_for(120s);
  flooding = false;
  flooder.join();
  CHECK(intact == 50);
  CHECK(net.node(0).running());
  std::vector<double> sorted = build_ms;
  std::sort(sorted.begin(), sorted.end());
  WARN("under a flood of " << flood_sent << " CREATEs and 150 stalled connections: 50 builds, "
                           << "median " << median_of(build_ms) << " ms, max "
                           << (sorted.empty() ? 0 : sorted.back()) << " ms; " << intact
                           << " intact");

  // The stalled connections time out (3 s) and the node is back to its baseline.
  CHECK(eventually([&] { return open_fds(net.node(0).pid()) <= fds_before; }, 10s));
  for (int fd : stalled) ::close(fd);
}
