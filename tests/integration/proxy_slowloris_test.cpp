// The proxies under connection exhaustion (issue 12, point 7): slowloris
// clients from many 127.0.0.x addresses against tpdp-http-proxy, its request
// head deadline and per-source cap, and tpdp-client socks over its limit.
// Real processes; every wait bounded.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <map>
#include <mutex>

#include "harness.hpp"

using namespace tpdp::test;

namespace {

using Clock = std::chrono::steady_clock;

fs::path http_proxy_bin() {
  return fs::path(TPDP_CLIENT_BIN).parent_path().parent_path() / "examples" / "tpdp-http-proxy";
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// A socket bound to 127.0.0.<host> connected to 127.0.0.1:port, or -1.
int connect_from(int host, std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = htonl((127u << 24) | static_cast<unsigned>(host));
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  remote.sin_port = htons(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_text(int fd, const std::string& s) {
  return ::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
}

// What came back on fd within `timeout`, and whether the peer closed it by then.
struct Received {
  std::string bytes;
  bool closed = false;
  double seconds = 0;  // until closed (or the timeout)
};
Received receive(int fd, std::chrono::milliseconds timeout) {
  Received r;
  auto start = Clock::now();
  char buf[4096];
  while (Clock::now() - start < timeout) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      r.closed = true;
      break;
    }
    r.bytes.append(buf, static_cast<std::size_t>(n));
  }
  r.seconds = seconds_since(start);
  return r;
}

// Slowloris: one thread per connection, each from its own 127.0.0.x address,
// sending one byte of a request head that never ends every `every`, and
// connecting again when the proxy closes it. Records what the proxy did.
class Slowloris {
 public:
  Slowloris(std::uint16_t port, int first_host, int count, std::string head,
            std::chrono::milliseconds every)
      : head_(std::move(head)) {
    for (int i = 0; i < count; ++i) {
      threads_.emplace_back(
          [this, port, host = first_host + i, every] { attack(port, host, every); });
    }
  }
  ~Slowloris() { stop(); }
  void stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  int connections() const { return connections_; }
  int open() const { return open_; }
  // The statuses the proxy answered closed connections with ("" when it just closed).
  std::map<std::string, int> endings() {
    std::lock_guard<std::mutex> lock(mutex_);
    return endings_;
  }
  double longest_life() {
    std::lock_guard<std::mutex> lock(mutex_);
    return longest_;
  }

 private:
  void attack(std::uint16_t port, int host, std::chrono::milliseconds every) {
    while (!stop_) {
      int fd = connect_from(host, port);
      if (fd < 0) {
        std::this_thread::sleep_for(50ms);
        continue;
      }
      ++connections_;
      ++open_;
      auto start = Clock::now();
      std::string answer;
      bool closed = false;
      for (std::size_t i = 0; !stop_ && !closed; ++i) {
        send_text(fd, head_.substr(i % head_.size(), 1));
        auto next = Clock::now() + every;
        while (!stop_ && !closed && Clock::now() < next) {
          pollfd p{fd, POLLIN, 0};
          if (::poll(&p, 1, 20) <= 0) continue;
          char buf[4096];
          ssize_t n = ::recv(fd, buf, sizeof buf, 0);
          if (n <= 0) {
            closed = true;
          } else {
            answer.append(buf, static_cast<std::size_t>(n));
          }
        }
      }
      --open_;
      ::close(fd);
      if (!closed) break;
      std::lock_guard<std::mutex> lock(mutex_);
      ++endings_[answer.substr(0, 12)];
      longest_ = std::max(longest_, seconds_since(start));
    }
  }

  std::string head_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0}, open_{0};
  std::mutex mutex_;
  std::map<std::string, int> endings_;
  double longest_ = 0;
  std::vector<std::thread> threads_;
};

// A running tpdp-http-proxy on a free port.
struct HttpProxy {
  std::uint16_t port = free_port();
  std::unique_ptr<Process> process;

  HttpProxy(const TempDir& dir, const std::string& pool, std::vector<std::string> extra) {
    std::string name = "proxy" + std::to_string(port);
    std::vector<std::string> argv = {http_proxy_bin().string(),
                                     "--listen",
                                     "127.0.0.1:" + std::to_string(port),
                                     "--pool",
                                     pool,
                                     "--data-dir",
                                     (dir / name).string(),
                                     "--log-level",
                                     "debug"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process = std::make_unique<Process>(argv, dir / (name + ".out"), dir / (name + ".log"));
    bool up = false;
    for (int i = 0; i < 250 && !up; ++i) {
      int fd = connect_local(port);
      up = fd >= 0;
      if (fd >= 0) ::close(fd);
      if (!up) std::this_thread::sleep_for(20ms);
    }
    REQUIRE(up);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  std::string log() const { return process->stderr_text(); }
};

struct Timed {
  int exit_code = -1;
  std::string out, err;
  double seconds = 0;
};

// A bounded program run, timed.
Timed run_timed(const TempDir& dir, std::vector<std::string> argv,
                std::chrono::milliseconds limit) {
  static int runs = 0;
  std::string name = "timed" + std::to_string(runs++);
  auto start = Clock::now();
  Process p(std::move(argv), dir / (name + ".out"), dir / (name + ".err"));
  auto status = p.wait_exit(limit);
  return {status ? *status : -1, p.stdout_text(), p.stderr_text(), seconds_since(start)};
}

// Answers each request head with "ok" (Content-Length framing, so a client
// connection may stay open), then closes.
void ok_handler(int fd) {
  std::string buf;
  char chunk[4096];
  while (buf.find("\r\n\r\n") == std::string::npos && buf.size() < 65536) {
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return;
    buf.append(chunk, static_cast<std::size_t>(n));
  }
  std::string reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  send_all(fd, reply.data(), reply.size());
  ::shutdown(fd, SHUT_WR);
}

std::string get_head(std::uint16_t port) {
  return "GET http://127.0.0.1:" + std::to_string(port) + "/ HTTP/1.1\r\nHost: 127.0.0.1\r\n";
}

}  // namespace

TEST_CASE("http proxy: 20 slowloris clients from 20 addresses do not keep curl out") {
  TempDir dir;
  Network net(dir);
  for (int i = 0; i < 3; ++i) net.add_node();
  REQUIRE(net.wait_for_nodes(3));
  std::string pool = net.pool_address() + "@" + net.pool_fingerprint();
  TcpServer web(http_handler("fine"));
  HttpProxy proxy(dir, pool, {"--max-connections", "20", "--head-timeout", "3"});

  // 20 connections, each from its own address, one header byte a second,
  // connecting again as soon as the proxy closes one: all 20 slots stay busy.
  Slowloris loris(proxy.port, 2, 20, get_head(web.port()) + "X-Slow: " + std::string(200, 'a'),
                  1000ms);
  auto start = Clock::now();
  while (loris.open() < 20 && Clock::now() - start < 5s) std::this_thread::sleep_for(20ms);
  REQUIRE(loris.open() == 20);
  std::this_thread::sleep_for(1s);

  // A real client gets its page, every time, promptly.
  double slowest = 0;
  for (int i = 0; i < 4; ++i) {
    auto r = run_timed(dir,
                       {"/usr/bin/curl", "-sS", "--max-time", "15", "-x", proxy.url(), "-w",
                        " %{http_code}", "http://127.0.0.1:" + std::to_string(web.port()) + "/"},
                       20s);
    INFO("curl " << i << ": " << r.err << "\nproxy log:\n" << proxy.log());
    CHECK(r.exit_code == 0);
    CHECK(r.out == "fine 200");
    slowest = std::max(slowest, r.seconds);
    std::this_thread::sleep_for(700ms);
  }
  CHECK(slowest < 3.0);
  // Let the head deadline close every connection of the first round at least.
  while (seconds_since(start) < 6.5) std::this_thread::sleep_for(50ms);
  loris.stop();
  auto endings = loris.endings();
  std::string summary;
  for (const auto& [status, n] : endings) summary += "'" + status + "' x" + std::to_string(n) + " ";
  WARN("under 20 slowloris connections (--max-connections 20): slowest curl "
       << slowest << " s; slowloris connections: " << loris.connections() << ", longest held "
       << loris.longest_life() << " s; endings: " << summary);
  CHECK(endings["HTTP/1.1 408"] >= 10);  // the head deadline (3 s)
  CHECK(endings["HTTP/1.1 503"] >= 1);   // shed to make room for curl
  CHECK(loris.longest_life() < 3.0 + 1.5);
  auto log = proxy.log();
  CHECK(log.find("--head-timeout") != std::string::npos);
  CHECK(log.find("more like it not logged") != std::string::npos);  // rate-limited warnings
}

TEST_CASE(
    "http proxy: --head-timeout bounds each request head, keep-alive waits get --idle-timeout") {
  TempDir dir;
  Network net(dir);
  for (int i = 0; i < 3; ++i) net.add_node();
  REQUIRE(net.wait_for_nodes(3));
  std::string pool = net.pool_address() + "@" + net.pool_fingerprint();
  TcpServer web(ok_handler);
  HttpProxy proxy(dir, pool, {"--head-timeout", "2", "--idle-timeout", "8"});

  // Nothing sent: closed without a word after 2 s.
  int silent = connect_from(2, proxy.port);
  // Half a head: 408 after 2 s.
  int half = connect_from(3, proxy.port);
  REQUIRE((silent >= 0 && half >= 0));
  REQUIRE(send_text(half, get_head(web.port())));
  auto half_got = receive(half, 6s);
  auto silent_got = receive(silent, 1s);
  ::close(half);
  ::close(silent);
  CHECK(half_got.closed);
  CHECK(half_got.bytes.rfind("HTTP/1.1 408 Request Timeout\r\n", 0) == 0);
  CHECK(half_got.bytes.find("within 2 s (--head-timeout)") != std::string::npos);
  CHECK(half_got.seconds > 1.5);
  CHECK(half_got.seconds < 3.5);
  CHECK(silent_got.closed);
  CHECK(silent_got.bytes.empty());

  // Keep-alive: a request, then 3 s idle (more than --head-timeout, less
  // than --idle-timeout): still open; then half a head: 408 2 s later.
  int ka = connect_from(4, proxy.port);
  REQUIRE(ka >= 0);
  REQUIRE(send_text(ka, get_head(web.port()) + "\r\n"));
  std::string first;
  auto until = Clock::now() + 10s;
  while (first.find("\r\n\r\nok") == std::string::npos && Clock::now() < until) {
    auto got = receive(ka, 200ms);
    first += got.bytes;
    if (got.closed) break;
  }
  INFO("proxy log:\n" << proxy.log());
  CHECK(first.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  auto idle = receive(ka, 3s);
  CHECK_FALSE(idle.closed);
  REQUIRE(send_text(ka, get_head(web.port())));
  auto second = receive(ka, 6s);
  ::close(ka);
  CHECK(second.closed);
  CHECK(second.bytes.rfind("HTTP/1.1 408", 0) == 0);
  CHECK(second.seconds > 1.5);
  CHECK(second.seconds < 3.5);

  // Out of range: a usage error.
  for (auto bad : {"0", "-1", "3601", "x"}) {
    auto r =
        run_timed(dir, {http_proxy_bin().string(), "--pool", pool, "--head-timeout", bad}, 10s);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--head-timeout") != std::string::npos);
  }
  auto zero = run_timed(
      dir, {http_proxy_bin().string(), "--pool", pool, "--max-connections-per-source", "0"}, 10s);
  CHECK(zero.exit_code == 2);
}

TEST_CASE("http proxy: --max-connections-per-source refuses only that address's excess") {
  TempDir dir;
  Network net(dir);
  for (int i = 0; i < 3; ++i) net.add_node();
  REQUIRE(net.wait_for_nodes(3));
  std::string pool = net.pool_address() + "@" + net.pool_fingerprint();
  TcpServer web(ok_handler);
  HttpProxy proxy(dir, pool, {"--max-connections", "20", "--max-connections-per-source", "3"});

  // 127.0.0.2 holds 3 connections; its 4th is refused at once.
  std::vector<int> held;
  for (int i = 0; i < 3; ++i) held.push_back(connect_from(2, proxy.port));
  int excess = connect_from(2, proxy.port);
  REQUIRE(excess >= 0);
  auto refused = receive(excess, 3s);
  ::close(excess);
  CHECK(refused.closed);
  CHECK(refused.bytes.rfind("HTTP/1.1 503", 0) == 0);
  CHECK(
      refused.bytes.find("too many connections from 127.0.0.2 (--max-connections-per-source 3)") !=
      std::string::npos);

  // 127.0.0.3 gets its 3 (none answered), and 127.0.0.4 is served.
  for (int i = 0; i < 3; ++i) held.push_back(connect_from(3, proxy.port));
  for (int fd : held) REQUIRE(fd >= 0);
  auto other = receive(held.back(), 300ms);
  CHECK_FALSE(other.closed);
  CHECK(other.bytes.empty());
  int served = connect_from(4, proxy.port);
  REQUIRE(served >= 0);
  REQUIRE(send_text(served, get_head(web.port()) + "Connection: close\r\n\r\n"));
  auto page = receive(served, 10s);
  ::close(served);
  INFO("proxy log:\n" << proxy.log());
  CHECK(page.bytes.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  // The held connections are still open: the cap refused, it did not shed.
  for (int fd : held) {
    auto still = receive(fd, 10ms);
    CHECK_FALSE(still.closed);
    ::close(fd);
  }
}

namespace {

// A raw SOCKS5 CONNECT to 127.0.0.1:port (no auth) from 127.0.0.<host>.
// Returns the reply code (-1: none within 5 s); the connection stays open in *fd.
int socks_connect(std::uint16_t proxy, int host, std::uint16_t port, int* fd) {
  *fd = connect_from(host, proxy);
  if (*fd < 0) return -1;
  std::string hello = std::string{5, 1, 0} + std::string{5, 1, 0, 1, 127, 0, 0, 1} +
                      std::string{static_cast<char>(port >> 8), static_cast<char>(port & 0xff)};
  if (!send_text(*fd, hello)) return -1;
  std::string got;
  auto until = Clock::now() + 5s;
  while (got.size() < 12 && Clock::now() < until) {
    auto r = receive(*fd, 50ms);
    got += r.bytes;
    if (r.closed) break;
  }
  if (got.size() < 4 || got.substr(0, 2) != std::string{5, 0} || got[2] != 5) return -1;
  return static_cast<unsigned char>(got[3]);
}

}  // namespace

TEST_CASE(
    "socks: over --max-connections a handshake is shed, else the newcomer is refused at once") {
  TempDir dir;
  Network net(dir);
  for (int i = 0; i < 3; ++i) net.add_node();
  REQUIRE(net.wait_for_nodes(3));
  TcpServer web(http_handler("fine"));
  TcpServer echo(echo_handler);
  std::uint16_t port = free_port();
  auto proxy = net.start_client(
      {"socks", "--listen", "127.0.0.1:" + std::to_string(port), "--max-connections", "3"},
      "/dev/null", "socks");
  bool up = false;
  for (int i = 0; i < 300 && !up; ++i) {
    int fd = connect_local(port);
    up = fd >= 0;
    if (fd >= 0) ::close(fd);
    if (!up) std::this_thread::sleep_for(50ms);
  }
  REQUIRE(up);
  std::this_thread::sleep_for(200ms);  // the probe connection has ended
  std::string proxy_arg = "127.0.0.1:" + std::to_string(port);
  std::string page = "http://127.0.0.1:" + std::to_string(web.port()) + "/";
  auto log = [&] { return read_file(dir / "socks.err"); };

  // Three connections that never start their handshake hold every slot: curl
  // still gets through at once, and the oldest of them is reset.
  std::vector<int> silent;
  for (int i = 0; i < 3; ++i) {
    silent.push_back(connect_from(2 + i, port));
    REQUIRE(silent.back() >= 0);
    std::this_thread::sleep_for(50ms);
  }
  std::this_thread::sleep_for(1200ms);  // silent for over a second: may be shed
  auto shed = run_timed(
      dir, {"/usr/bin/curl", "-sS", "--max-time", "15", "--socks5", proxy_arg, page}, 20s);
  INFO("curl: " << shed.err << "\nproxy log:\n" << log());
  CHECK(shed.exit_code == 0);
  CHECK(shed.out == "fine");
  CHECK(shed.seconds < 3.0);
  CHECK(receive(silent[0], 2s).closed);
  CHECK_FALSE(receive(silent[2], 10ms).closed);
  for (int fd : silent) ::close(fd);
  std::this_thread::sleep_for(300ms);

  // Three relaying connections hold every slot: nothing to shed, so a newcomer
  // gets a SOCKS refusal (0x01 general failure) at once, not a wait.
  std::vector<int> relays(3, -1);
  for (int i = 0; i < 3; ++i) {
    CHECK(socks_connect(port, 10 + i, echo.port(), &relays[static_cast<std::size_t>(i)]) == 0);
  }
  auto refused = run_timed(
      dir, {"/usr/bin/curl", "-sS", "--max-time", "15", "--socks5", proxy_arg, page}, 20s);
  WARN("tpdp-client socks --max-connections 3, 3 silent connections: curl served in "
       << shed.seconds << " s; 3 relaying: curl refused in " << refused.seconds << " s, exit "
       << refused.exit_code << ": " << refused.err);
  CHECK(refused.exit_code == 97);  // CURLE_PROXY
  CHECK(refused.err.find("SOCKS5") != std::string::npos);
  CHECK(refused.seconds < 3.0);
  int raw = -1;
  auto started = Clock::now();
  CHECK(socks_connect(port, 20, echo.port(), &raw) == 1);
  CHECK(seconds_since(started) < 3.0);
  if (raw >= 0) ::close(raw);
  // The relays were not disturbed.
  for (int fd : relays) {
    REQUIRE(fd >= 0);
    CHECK(send_text(fd, "ping"));
    std::string back;
    auto until = Clock::now() + 5s;
    while (back.size() < 4 && Clock::now() < until) back += receive(fd, 50ms).bytes;
    CHECK(back == "ping");
    ::close(fd);
  }
  CHECK(log().find("refused (SOCKS reply 0x01)") != std::string::npos);
  CHECK(log().find("to make room for a new connection") != std::string::npos);
}

TEST_CASE("http proxy: with the defaults, 646 slowloris connections from 10 addresses") {
  TempDir dir;
  Network net(dir);
  for (int i = 0; i < 3; ++i) net.add_node();
  REQUIRE(net.wait_for_nodes(3));
  std::string pool = net.pool_address() + "@" + net.pool_fingerprint();
  TcpServer web(http_handler("fine"));
  HttpProxy proxy(dir, pool, {});  // 512 slots, 64 per source, 30 s

  // 64 connections from each of 127.0.0.2-11 (70 from 127.0.0.2), each
  // sending a byte a second of a head that never ends (one thread).
  std::string head = get_head(web.port()) + "X-Slow: " + std::string(100, 'a');
  struct Loris {
    int fd;
    bool closed = false;
    std::string answer;
  };
  std::vector<Loris> lorises;
  for (int host = 2; host < 12; ++host) {
    for (int i = 0; i < (host == 2 ? 70 : 64); ++i) {
      int fd = connect_from(host, proxy.port);
      REQUIRE(fd >= 0);
      ::fcntl(fd, F_SETFL, O_NONBLOCK);
      lorises.push_back({fd});
    }
  }
  auto pump = [&](std::chrono::milliseconds for_how_long, std::size_t& byte) {
    auto until = Clock::now() + for_how_long;
    while (Clock::now() < until) {
      for (auto& l : lorises) {
        if (l.closed) continue;
        ::send(l.fd, head.data() + byte % head.size(), 1, MSG_NOSIGNAL);
        char buf[4096];
        ssize_t n;
        while ((n = ::recv(l.fd, buf, sizeof buf, 0)) > 0) l.answer.append(buf, n);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) l.closed = true;
      }
      ++byte;
      std::this_thread::sleep_for(1s);
    }
  };
  std::size_t byte = 0;
  pump(2500ms, byte);
  std::size_t open_before = 0;
  for (auto& l : lorises) open_before += l.closed ? 0 : 1;

  auto r = run_timed(dir,
                     {"/usr/bin/curl", "-sS", "--max-time", "15", "-x", proxy.url(), "-w",
                      " %{http_code}", "http://127.0.0.1:" + std::to_string(web.port()) + "/"},
                     20s);
  pump(1500ms, byte);
  std::size_t open_after = 0, shed = 0, over_cap = 0;
  const std::string cap_text = "from 127.0.0.2 (--max-connections-per-source 64)";
  for (auto& l : lorises) {
    open_after += l.closed ? 0 : 1;
    shed += l.answer.find("closed to make room") != std::string::npos ? 1 : 0;
    over_cap += l.answer.find(cap_text) != std::string::npos ? 1 : 0;
    ::close(l.fd);
  }
  INFO("curl: " << r.err << "\nproxy log:\n" << proxy.log());
  WARN("defaults, 646 slowloris connections from 10 addresses: "
       << over_cap << " over the per-source cap, " << open_before << " held a slot; curl got '"
       << r.out << "' in " << r.seconds << " s; " << shed << " shed, " << open_after
       << " still open");
  CHECK(r.exit_code == 0);
  CHECK(r.out == "fine 200");
  CHECK(r.seconds < 3.0);
  CHECK(over_cap == 6);       // 127.0.0.2's connections past its 64th
  CHECK(open_before == 512);  // all slots taken (the newest replace the oldest)
  CHECK(shed >= 1);           // one for curl at least
  CHECK(open_after <= 512);
}
