// The pool under attack from the LAN (issue 12, points 3-6): idle
// connections from many source addresses, Sybil registrations at addresses
// where nothing listens, a squatter on a node's address, and garbage meant
// to flood the log. Real pool, real nodes, real tpdp-client; the attackers
// bind 127.0.0.N before connecting.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <thread>

#include "client/pool_client.hpp"
#include "fake_nodes.hpp"
#include "harness.hpp"
#include "protocol/v0_1/pool_messages.hpp"

#include <signal.h>
#include <unistd.h>

using namespace tpdp;
using namespace tpdp::test;

namespace {

HeartbeatReply heartbeat(const std::string& source, const Network& net, const NodeKeys& keys,
                         const std::string& host, std::uint16_t port) {
  auto self = descriptor_at(keys, host, port);
  return run_io(30, [&] {
    return heartbeat_from(source, net.pool_port(), self, keys.identity.secret_key.clone());
  });
}

std::vector<NodeDescriptor> list_of(const Network& net) {
  std::string err;
  auto pool = *parse_pool_address(net.pool_address(), &err);
  return run_io(30, [&] { return fetch_node_list(pool, nullptr, std::chrono::seconds(5)); }).nodes;
}

bool listed(const std::vector<NodeDescriptor>& nodes, const IdentityPublicKey& id,
            std::uint16_t port) {
  for (const auto& n : nodes) {
    if (n.identity == id && n.port == port) return true;
  }
  return false;
}

// A tpdp-node of our own (fixed data dir and address), for restarts.
std::unique_ptr<Process> start_node(const TempDir& dir, const Network& net, const std::string& name,
                                    const std::string& listen) {
  return std::make_unique<Process>(
      std::vector<std::string>{bin("node"), "--listen", listen, "--pool", net.pool_address(),
                               "--data-dir", (dir / name).string(), "--lab"},
      dir / (name + ".out"), dir / (name + ".log"));
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return pred();
}

std::size_t count_lines_with(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

// Connections that send nothing, `per_source` from each of 127.0.0.first ..
// 127.0.0.last, each opened again half a second after the pool closes it.
class ConnectionHog {
 public:
  ConnectionHog(std::uint16_t port, int first, int last, int per_source) {
    for (int a = first; a <= last; ++a) {
      for (int i = 0; i < per_source; ++i) {
        asio::co_spawn(io_, hold("127.0.0." + std::to_string(a), port), asio::detached);
      }
    }
    thread_ = std::thread([this] { io_.run(); });
  }
  ~ConnectionHog() {
    stop_ = true;
    io_.stop();
    thread_.join();
  }
  int held() const { return held_.load(); }
  int peak() const { return peak_.load(); }
  long opened() const { return opened_.load(); }

 private:
  asio::awaitable<void> hold(std::string source, std::uint16_t port) {
    auto ex = co_await asio::this_coro::executor;
    while (!stop_) {
      tcp::socket s(ex);
      s.open(tcp::v4());
      s.bind(tcp::endpoint(asio::ip::make_address(source), 0));
      auto [ec] = co_await s.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                                           use_tuple);
      if (!ec) {
        ++opened_;
        int now = ++held_;
        int p = peak_.load();
        while (now > p && !peak_.compare_exchange_weak(p, now)) {
        }
        char byte;
        co_await s.async_read_some(asio::buffer(&byte, 1), use_tuple);  // until the pool closes
        --held_;
      }
      asio::steady_timer pause(ex, 500ms);
      co_await pause.async_wait(use_tuple);
    }
  }
  asio::io_context io_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> held_{0}, peak_{0};
  std::atomic<long> opened_{0};
};

}  // namespace

TEST_CASE(
    "idle connections from 39 source addresses cannot starve the pool's lists and "
    "heartbeats") {
  TempDir dir;
  Network net(dir);
  net.add_node();
  net.add_node();
  REQUIRE(net.wait_for_nodes(2));

  // 39 addresses x 64 connections: more than the pool's 1,024 in all.
  ConnectionHog hog(net.pool_port(), 2, 40, 64);
  REQUIRE(eventually([&] { return hog.peak() >= 1024; }, 10s));

  // A real client lists, again and again, under the attack (fresh data dir
  // each time: no cached list to fall back on). Nodes heartbeat every second.
  double slowest = 0;
  for (int i = 0; i < 6; ++i) {
    fs::path data = dir / ("client" + std::to_string(i));
    auto start = std::chrono::steady_clock::now();
    Process c({bin("client"), "--pool", net.pool_address(), "--data-dir", data.string(),
               "--timeout", "5", "nodes"},
              dir / ("list" + std::to_string(i) + ".out"),
              dir / ("list" + std::to_string(i) + ".err"));
    auto status = c.wait_exit(15s);
    double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    slowest = std::max(slowest, took);
    INFO("list " << i << " under attack: " << c.stderr_text());
    REQUIRE(status == 0);
    auto out = c.stdout_text();
    CHECK(std::count(out.begin(), out.end(), '\n') == 2);  // both nodes still listed
    std::this_thread::sleep_for(700ms);
  }
  std::fprintf(stderr,
               "pool under idle connections: peak %d held, %ld opened, slowest list %.3f s\n",
               hog.peak(), hog.opened(), slowest);
  CHECK(slowest < 5.0);
  auto log = read_file(dir / "pool.log");
  CHECK(log.find("closed the oldest connection still waiting for its request") !=
        std::string::npos);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(read_file(dir / ("node" + std::to_string(i) + ".log")).find("rejected the heartbeat") ==
          std::string::npos);
  }
}

TEST_CASE(
    "Sybil registrations: identities where nothing listens are not listed, two per "
    "address at most, and a real node still joins") {
  TempDir dir;
  Network net(dir, {"--max-nodes", "50", "--max-nodes-per-address", "2"});

  // Ports where nothing listens.
  std::vector<std::uint16_t> dead;
  for (int i = 0; i < 20; ++i) dead.push_back(free_port());

  // 600 fresh identities from 3 source addresses, 8 at a time from each.
  std::map<Errc, int> statuses;
  auto start = std::chrono::steady_clock::now();
  {
    asio::io_context io;
    int next = 0;
    auto worker = [&](std::string source) -> asio::awaitable<void> {
      while (next < 600) {
        int i = next++;
        auto keys = fresh_node_keys();
        auto self = descriptor_at(keys, "127.0.0.1", dead[i % dead.size()]);
        try {
          auto r = co_await heartbeat_from(source, net.pool_port(), self,
                                           keys.identity.secret_key.clone());
          ++statuses[r.status];
        } catch (const std::exception&) {
          ++statuses[Errc::internal_error];  // no reply at all
        }
      }
    };
    for (int s = 2; s <= 4; ++s) {
      for (int w = 0; w < 8; ++w) {
        asio::co_spawn(io, worker("127.0.0." + std::to_string(s)), asio::detached);
      }
    }
    io.run_for(60s);
  }
  double flood_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr,
               "Sybil flood: 600 heartbeats in %.2f s: %d ok, %d connect_failed, %d "
               "limit_reached, %d timeout, %d without reply\n",
               flood_s, statuses[Errc::ok], statuses[Errc::connect_failed],
               statuses[Errc::limit_reached], statuses[Errc::timeout],
               statuses[Errc::internal_error]);
  CHECK(statuses[Errc::ok] == 0);
  CHECK(statuses[Errc::connect_failed] > 0);
  CHECK(statuses[Errc::internal_error] == 0);
  CHECK(list_of(net).empty());

  // Identities that do answer, each on a port of its own, all on 127.0.0.1:
  // two are listed, the rest refused by the per-address cap.
  std::vector<NodeKeys> answering;
  for (int i = 0; i < 5; ++i) answering.push_back(fresh_node_keys());
  std::vector<std::unique_ptr<FakeNode>> servers;
  std::vector<Errc> answers;
  for (auto& k : answering) {
    servers.push_back(std::make_unique<FakeNode>(k));
    answers.push_back(heartbeat("127.0.0.2", net, k, "127.0.0.1", servers.back()->port()).status);
  }
  CHECK(std::count(answers.begin(), answers.end(), Errc::ok) == 2);
  CHECK(std::count(answers.begin(), answers.end(), Errc::limit_reached) == 3);

  // A real node on an address of its own joins.
  auto node = start_node(dir, net, "real", "127.0.0.9:" + std::to_string(free_port()));
  INFO(read_file(dir / "real.log"));
  CHECK(eventually([&] { return list_of(net).size() == 3; }, 10s));
  for (const auto& n : list_of(net)) {
    CHECK(std::find(dead.begin(), dead.end(), n.port) == dead.end());
  }
}

TEST_CASE("address squatting: the identity that answers at an address holds it") {
  TempDir dir;
  Network net(dir);
  std::uint16_t port = free_port();
  std::string address = "127.0.0.1:" + std::to_string(port);
  auto real = start_node(dir, net, "real", address);
  REQUIRE(net.wait_for_nodes(1));
  auto real_id = list_of(net).at(0).identity;

  // The real node goes down past expiry.
  real->signal(SIGKILL);
  REQUIRE(real->wait_exit(5s));
  REQUIRE(net.wait_for_nodes(0, 10s));

  // A squatter claims its address: nothing answers there, refused.
  auto squatter = fresh_node_keys();
  CHECK(heartbeat("127.0.0.3", net, squatter, "127.0.0.1", port).status == Errc::connect_failed);
  CHECK(list_of(net).empty());

  // The squatter holds the port for a moment and registers, then lets it go
  // and keeps heartbeating.
  {
    FakeNode holding(squatter, port);
    std::this_thread::sleep_for(2100ms);  // past the memory of its failed proof (lab: 2 s)
    CHECK(heartbeat("127.0.0.3", net, squatter, "127.0.0.1", port).status == Errc::ok);
  }
  CHECK(listed(list_of(net), squatter.identity.public_key, port));
  CHECK(heartbeat("127.0.0.3", net, squatter, "127.0.0.1", port).status == Errc::ok);

  // The real node comes back: its proof passes, it takes the address.
  real = start_node(dir, net, "real", address);
  INFO(read_file(dir / "real.log"));
  REQUIRE(eventually([&] { return listed(list_of(net), real_id, port); }, 10s));
  CHECK(list_of(net).size() == 1);
  CHECK(read_file(dir / "pool.log").find("answers at " + address) != std::string::npos);
  // The squatter's next heartbeat meets the real node's 07.
  CHECK(heartbeat("127.0.0.3", net, squatter, "127.0.0.1", port).status == Errc::unknown_identity);
  CHECK(list_of(net).size() == 1);
  CHECK(read_file(dir / "real.log").find("rejected the heartbeat") == std::string::npos);
}

TEST_CASE(
    "a full list: identities that answered their proof once and went silent give their places to a "
    "real node") {
  TempDir dir;
  // lab: proved again after 10 s on their own heartbeats; a full list proves
  // the node proved longest ago again once that proof is 2 s old.
  Network net(dir, {"--max-nodes", "3"});
  std::vector<NodeKeys> fakes;
  std::vector<std::uint16_t> ports;
  for (int i = 0; i < 3; ++i) {
    fakes.push_back(fresh_node_keys());
    FakeNode answering(fakes.back());  // answers this one proof, then is gone
    ports.push_back(answering.port());
    REQUIRE(heartbeat("127.0.0.2", net, fakes.back(), "127.0.0.1", ports.back()).status ==
            Errc::ok);
  }
  REQUIRE(list_of(net).size() == 3);

  // The fakes keep heartbeating (every 500 ms, at most 40 s): they stay listed
  // until something proves them again.
  std::atomic<bool> stop{false};
  std::thread heartbeats([&] {
    asio::io_context io;
    auto loop = [&]() -> asio::awaitable<void> {
      asio::steady_timer pause(co_await asio::this_coro::executor);
      for (int round = 0; round < 80 && !stop; ++round) {
        for (std::size_t i = 0; i < fakes.size(); ++i) {
          try {
            co_await heartbeat_from("127.0.0.2", net.pool_port(),
                                    descriptor_at(fakes[i], "127.0.0.1", ports[i]),
                                    fakes[i].identity.secret_key.clone());
          } catch (const std::exception&) {
          }
        }
        pause.expires_after(500ms);
        co_await pause.async_wait(asio::use_awaitable);
      }
    };
    asio::co_spawn(io, loop(), asio::detached);
    io.run_for(45s);
  });

  // A real node arrives: before the fakes' own re-check (10 s) comes round,
  // its heartbeats make the pool prove them again, and they give way.
  auto start = std::chrono::steady_clock::now();
  auto node = start_node(dir, net, "real", "127.0.0.9:" + std::to_string(free_port()));
  bool joined = eventually(
      [&] {
        auto nodes = list_of(net);
        return std::any_of(nodes.begin(), nodes.end(),
                           [](const NodeDescriptor& n) { return n.host == "127.0.0.9"; });
      },
      7s);
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  stop = true;
  heartbeats.join();
  INFO(read_file(dir / "real.log"));
  INFO(read_file(dir / "pool.log"));
  std::fprintf(stderr, "full list: the real node was listed after %.2f s\n", took);
  CHECK(joined);
}

TEST_CASE("a listed node is proved again: one that stops answering is refused and expires") {
  TempDir dir;
  Network net(dir);  // lab: proved again after 10 s
  auto keys = fresh_node_keys();
  std::uint16_t port = 0;
  {
    FakeNode answering(keys);
    port = answering.port();
    REQUIRE(heartbeat("127.0.0.2", net, keys, "127.0.0.1", port).status == Errc::ok);
  }
  REQUIRE(list_of(net).size() == 1);
  // It keeps heartbeating, but nothing answers at its address any more.
  Errc last = Errc::ok;
  auto start = std::chrono::steady_clock::now();
  while (last == Errc::ok && std::chrono::steady_clock::now() - start < 20s) {
    std::this_thread::sleep_for(1s);
    last = heartbeat("127.0.0.2", net, keys, "127.0.0.1", port).status;
  }
  CHECK(last == Errc::connect_failed);
  // Not refreshed: it expires (lab: 4 s) unless a later proof succeeds.
  CHECK(eventually([&] { return list_of(net).empty(); }, 8s));
}

TEST_CASE("3,000 garbage connections to the pool: a few log lines that count the rest") {
  TempDir dir;
  Network net(dir);
  auto before = read_file(dir / "pool.log").size();
  int sent = 0;
  for (int i = 0; i < 3000; ++i) {
    int fd = connect_local(net.pool_port());
    if (fd < 0) continue;
    sent += send_all(fd, "GET / HTTP/1.0\r\n\r\n", 18) ? 1 : 0;
    ::close(fd);
  }
  REQUIRE(sent == 3000);
  std::this_thread::sleep_for(1200ms);
  // One more after the second: its line reports the ones not logged.
  bool closed = false;
  CHECK(raw_exchange(net.pool_port(), "GET / HTTP/1.0\r\n\r\n", 5s, &closed).empty());
  std::this_thread::sleep_for(300ms);
  auto log = read_file(dir / "pool.log").substr(before);
  std::fprintf(stderr, "3,000 garbage connections: %zu bytes, %zu lines of pool log\n", log.size(),
               count_lines_with(log, "\n"));
  CHECK(count_lines_with(log, "\n") <= 10);
  CHECK(log.size() < 4000);
  CHECK(log.find("more like it not logged") != std::string::npos);
  CHECK(net.listed_nodes() == 0);  // and the pool still answers
}

TEST_CASE("a TPDP/0.1 pool stays as open as torpydo: no proof, no cap per address") {
  TempDir dir;
  std::uint16_t pool_port = free_port();
  Process pool(
      {bin("pool"), "--protocol", "0.1", "--listen", "127.0.0.1:" + std::to_string(pool_port)},
      dir / "pool.out", dir / "pool.log");
  REQUIRE(eventually(
      [&] {
        int fd = connect_local(pool_port);
        if (fd >= 0) ::close(fd);
        return fd >= 0;
      },
      5s));
  // Three addresses on one IP where nothing listens: each heartbeat is
  // answered with the one-byte delay and listed, as torpydo does.
  std::vector<std::uint16_t> dead = {free_port(), free_port(), free_port()};
  for (auto port : dead) {
    Bytes hb = encode_to_bytes(
        v0_1::PoolRequest{v0_1::PoolCommand::heartbeat, v0_1::NodeEntry{"127.0.0.1", port}});
    auto reply = raw_exchange(pool_port, std::string(hb.begin(), hb.end()), 5s);
    CHECK(reply == std::string(1, '\x0f'));  // next heartbeat in 15 s
  }
  auto listed = raw_exchange(pool_port, std::string(1, '\0'), 5s);
  auto list = v0_1::decode_node_list(tpdp::as_bytes(listed));
  REQUIRE(is_value(list));
  CHECK(std::get<v0_1::NodeList>(list).nodes.size() == 3);
}
