// tpdp-client socks: a real proxy process in front of a lab network, used by
// curl and by a raw SOCKS5 client for the reply codes curl does not show.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <thread>

#include "harness.hpp"

using namespace tpdp::test;

namespace {

std::string port_s(std::uint16_t p) {
  return std::to_string(p);
}

// A program on $PATH (posix_spawn does not search it), or "" if missing.
std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    fs::path p = fs::path(dirs.substr(start, end - start)) / name;
    if (::access(p.c_str(), X_OK) == 0) return p.string();
    start = end + 1;
  }
  return "";
}

int connect_v4(std::uint16_t port) {
  int fd = connect_local(port);
  if (fd < 0) return -1;
  timeval tv{20, 0};  // every read below is bounded
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

// Reads exactly n bytes (bounded by SO_RCVTIMEO); fewer on EOF or timeout.
std::string recv_exactly(int fd, std::size_t n) {
  std::string out;
  char buf[512];
  while (out.size() < n) {
    ssize_t r = ::recv(fd, buf, std::min(sizeof buf, n - out.size()), 0);
    if (r <= 0) break;
    out.append(buf, static_cast<std::size_t>(r));
  }
  return out;
}

std::string recv_to_eof(int fd) {
  std::string out;
  char buf[4096];
  for (int i = 0; i < 100000; ++i) {
    ssize_t r = ::recv(fd, buf, sizeof buf, 0);
    if (r <= 0) break;
    out.append(buf, static_cast<std::size_t>(r));
  }
  return out;
}

std::string ipv4_request(int cmd, std::uint16_t port) {
  return std::string{5, static_cast<char>(cmd), 0, 1, 127, 0, 0, 1} +
         std::string{static_cast<char>(port >> 8), static_cast<char>(port & 0xff)};
}

// One raw SOCKS5 exchange: no-auth greeting and the request in one write
// (plus `extra` stream bytes). Returns the reply code, or -1 if there was none.
// With keep_fd the connection stays open for the caller (who closes it).
int socks_request(std::uint16_t proxy, const std::string& request, const std::string& extra = "",
                  int* keep_fd = nullptr) {
  int fd = connect_v4(proxy);
  if (fd < 0) return -1;
  std::string hello = std::string{5, 1, 0} + request + extra;
  send_all(fd, hello.data(), hello.size());
  std::string method = recv_exactly(fd, 2);
  int code = -1;
  if (method == std::string{5, 0}) {
    std::string reply = recv_exactly(fd, 10);
    if (reply.size() == 10 && reply[0] == 5) code = static_cast<unsigned char>(reply[1]);
  }
  if (keep_fd && code == 0) {
    *keep_fd = fd;
  } else {
    ::close(fd);
  }
  return code;
}

// A small HTTP server on [::1] (the harness's TcpServer is IPv4 only).
class Ipv6HttpServer {
 public:
  explicit Ipv6HttpServer(std::string body) : handler_(http_handler(std::move(body))) {
    fd_ = ::socket(AF_INET6, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd_, 16) == 0;
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin6_port);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) continue;
        timeval tv{10, 0};
        ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        handler_(c);
        ::close(c);
      }
    });
  }
  ~Ipv6HttpServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  bool ok() const { return ok_; }
  std::uint16_t port() const { return port_; }

 private:
  TcpServer::Handler handler_;
  int fd_ = -1;
  bool ok_ = false;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Deterministic bytes of any length, generated in chunks (no 100 MiB string).
void fill_pattern(std::uint64_t offset, char* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t x = (offset + i) / 8 * 0x9E3779B97F4A7C15ull;
    x ^= x >> 29;
    out[i] = static_cast<char>(x >> (8 * ((offset + i) % 8)));
  }
}

// Serves `size` pattern bytes as an HTTP/1.0 response.
TcpServer::Handler pattern_handler(std::uint64_t size) {
  return [size](int fd) {
    std::string head;
    char c;
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536) {
      if (::recv(fd, &c, 1, 0) != 1) return;
      head.push_back(c);
    }
    std::string reply = "HTTP/1.0 200 OK\r\nContent-Length: " + std::to_string(size) + "\r\n\r\n";
    if (!send_all(fd, reply.data(), reply.size())) return;
    std::vector<char> chunk(1 << 16);
    for (std::uint64_t at = 0; at < size; at += chunk.size()) {
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), size - at));
      fill_pattern(at, chunk.data(), n);
      if (!send_all(fd, chunk.data(), n)) return;
    }
    ::shutdown(fd, SHUT_WR);
  };
}

// True if the file holds exactly `size` pattern bytes.
bool file_matches_pattern(const fs::path& file, std::uint64_t size) {
  std::error_code ec;
  if (fs::file_size(file, ec) != size || ec) return false;
  std::ifstream in(file, std::ios::binary);
  std::vector<char> got(1 << 16), want(1 << 16);
  for (std::uint64_t at = 0; at < size; at += got.size()) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(got.size(), size - at));
    in.read(got.data(), static_cast<std::streamsize>(n));
    fill_pattern(at, want.data(), n);
    if (!in || std::memcmp(got.data(), want.data(), n) != 0) return false;
  }
  return true;
}

struct Proxy {
  std::unique_ptr<Process> process;
  std::uint16_t port = 0;
};

// Starts `tpdp-client socks` and waits (bounded) until its port accepts.
Proxy start_proxy(Network& net, const TempDir& dir) {
  Proxy p;
  p.port = free_port();
  p.process =
      net.start_client({"socks", "--listen", "127.0.0.1:" + port_s(p.port)}, "/dev/null", "socks");
  for (int i = 0; i < 300; ++i) {
    int fd = connect_v4(p.port);
    if (fd >= 0) {
      ::close(fd);
      return p;
    }
    if (!p.process->running()) break;
    std::this_thread::sleep_for(50ms);
  }
  FAIL("the proxy did not start listening: " << read_file(dir / "socks.err"));
  return p;
}

struct CurlResult {
  int exit_code = -1;
  std::string err;
};

CurlResult run_curl(const TempDir& dir, std::vector<std::string> args) {
  static int runs = 0;
  std::string name = "curl" + std::to_string(runs++);
  std::vector<std::string> argv = {find_program("curl"), "-sS", "--max-time", "60"};
  argv.insert(argv.end(), args.begin(), args.end());
  Process p(argv, dir / (name + ".out"), dir / (name + ".err"));
  auto status = p.wait_exit(90s);
  return {status ? *status : -1, p.stderr_text()};
}

struct ConnectionLine {
  std::string key, method, path, fresh, retried, outcome;
};

// The proxy's per-connection info lines, in order.
std::vector<ConnectionLine> connection_lines(const std::string& log) {
  static const std::regex line(
      R"(connection \d+ from \S+: key ([0-9a-f]{8}) \(([a-z/ ]+)\), path ([0-9a-f>]+) \((new|reused)\)( \(retried [^)]*\))?: ([^\n]*))");
  std::vector<ConnectionLine> out;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), line); it != std::sregex_iterator();
       ++it) {
    out.push_back({(*it)[1], (*it)[2], (*it)[3], (*it)[4], (*it)[5], (*it)[6]});
  }
  return out;
}

// Waits (bounded) until the proxy has logged n connection lines.
std::vector<ConnectionLine> wait_lines(Proxy& proxy, std::size_t n) {
  std::vector<ConnectionLine> lines;
  for (int i = 0; i < 200; ++i) {
    lines = connection_lines(proxy.process->stderr_text());
    if (lines.size() >= n) break;
    std::this_thread::sleep_for(25ms);
  }
  return lines;
}

}  // namespace

TEST_CASE("socks: curl through the proxy, reply codes, half-close and isolation") {
  REQUIRE_FALSE(find_program("curl").empty());
  TempDir dir;
  Network net(dir);
  std::uint16_t refused_port = free_port();  // every exit refuses it by policy
  for (int i = 0; i < 3; ++i) {
    net.add_node({"--exit-policy", "reject 127.0.0.1:" + port_s(refused_port)});
  }
  REQUIRE(net.wait_for_nodes(3));
  std::string body = random_bytes(300000);
  TcpServer web(http_handler(body));
  auto proxy = start_proxy(net, dir);
  std::size_t lines = 0;

  {
    // Host name resolved by the exit (ATYP 3): "localhost" is never looked up here.
    auto r = run_curl(
        dir, {"--socks5-hostname", "127.0.0.1:" + port_s(proxy.port),
              "http://localhost:" + port_s(web.port()) + "/file", "-o", (dir / "out1").string()});
    INFO(r.err << read_file(dir / "socks.err"));
    REQUIRE(r.exit_code == 0);
    CHECK(read_file(dir / "out1") == body);
    lines += 1;

    // IPv4 address (ATYP 1).
    r = run_curl(dir,
                 {"--socks5", "127.0.0.1:" + port_s(proxy.port),
                  "http://127.0.0.1:" + port_s(web.port()) + "/", "-o", (dir / "out2").string()});
    REQUIRE(r.exit_code == 0);
    CHECK(read_file(dir / "out2") == body);
    lines += 1;

    // Username/password (RFC 1929), twice with one key, once with another.
    for (const char* user : {"a:b", "c:d", "a:b"}) {
      r = run_curl(dir,
                   {"--socks5-hostname", "127.0.0.1:" + port_s(proxy.port), "--proxy-user", user,
                    "http://localhost:" + port_s(web.port()) + "/", "-o", (dir / "out3").string()});
      INFO(user << ": " << r.err);
      REQUIRE(r.exit_code == 0);
      CHECK(read_file(dir / "out3") == body);
      lines += 1;
    }

    // IPv6 address (ATYP 4): curl --socks5 sends the literal as 16 bytes.
    Ipv6HttpServer web6("over six\n");
    if (web6.ok()) {
      r = run_curl(dir,
                   {"--socks5", "127.0.0.1:" + port_s(proxy.port),
                    "http://[::1]:" + port_s(web6.port()) + "/", "-o", (dir / "out6").string()});
      INFO(r.err);
      CHECK(r.exit_code == 0);
      CHECK(read_file(dir / "out6") == "over six\n");
      lines += 1;
    } else {
      WARN("no IPv6 loopback here: the ATYP 4 check is skipped");
    }

    auto log = wait_lines(proxy, lines);
    REQUIRE(log.size() == lines);
    for (const auto& l : log) CHECK(l.outcome.rfind("closed cleanly", 0) == 0);
    // The destination is only logged at debug; the password never.
    std::string text = proxy.process->stderr_text();
    CHECK(text.find("localhost") == std::string::npos);
    CHECK(text.find("127.0.0.1:" + port_s(web.port())) == std::string::npos);

    // Isolation: one path per key, reused by that key, not used by any other.
    const auto& no_auth = log[0];
    const auto& ab = log[2];
    const auto& cd = log[3];
    const auto& ab_again = log[4];
    CHECK(no_auth.method == "no auth");
    CHECK(log[1].key == no_auth.key);
    CHECK(log[1].path == no_auth.path);
    CHECK(log[1].fresh == "reused");
    CHECK(ab.method == "user/pass");
    CHECK(ab.key != cd.key);
    CHECK(ab.key != no_auth.key);
    CHECK(ab.path != cd.path);
    CHECK(ab.path != no_auth.path);
    CHECK(cd.path != no_auth.path);
    CHECK(ab_again.key == ab.key);
    CHECK(ab_again.path == ab.path);
    CHECK(ab_again.fresh == "reused");
    // With 3 nodes, three keys can even have three different exits.
    auto exit_of = [](const std::string& p) { return p.substr(p.rfind('>') + 1); };
    CHECK(exit_of(ab.path) != exit_of(cd.path));
    CHECK(exit_of(ab.path) != exit_of(no_auth.path));
    CHECK(exit_of(cd.path) != exit_of(no_auth.path));
  }

  // Reply codes curl does not show, from a raw client.
  CHECK(socks_request(proxy.port, ipv4_request(1, refused_port)) == 0x02);  // exit policy
  std::uint16_t closed = free_port();
  CHECK(socks_request(proxy.port, ipv4_request(1, closed)) == 0x05);        // refused
  CHECK(socks_request(proxy.port, ipv4_request(2, web.port())) == 0x07);    // BIND
  CHECK(socks_request(proxy.port, ipv4_request(3, web.port())) == 0x07);    // UDP ASSOCIATE
  CHECK(socks_request(proxy.port, std::string{5, 1, 0, 7, 1, 2}) == 0x08);  // address type
  {
    int fd = connect_v4(proxy.port);  // no acceptable method
    REQUIRE(fd >= 0);
    std::string hello{5, 1, 1};
    send_all(fd, hello.data(), hello.size());
    CHECK(recv_to_eof(fd) == std::string{5, '\xff'});
    ::close(fd);
  }

  // Half-close both ways, and stream bytes sent together with the request:
  // the server replies only after our EOF reached it.
  TcpServer counter(count_then_reply_handler);
  int fd = -1;
  std::string payload(100000, 'p');
  REQUIRE(socks_request(proxy.port, ipv4_request(1, counter.port()), "early bytes ", &fd) == 0);
  send_all(fd, payload.data(), payload.size());
  ::shutdown(fd, SHUT_WR);
  CHECK(recv_to_eof(fd) == "got " + std::to_string(12 + payload.size()) + " bytes\n");
  ::close(fd);

  // The proxy is still serving.
  CHECK(proxy.process->running());
  auto log = connection_lines(proxy.process->stderr_text());
  bool saw_policy = false;
  for (const auto& l : log) {
    if (l.outcome.find("reply 0x02") != std::string::npos) saw_policy = true;
  }
  CHECK(saw_policy);

  // A stream cut inside the network reaches the client as a reset, never as a clean end.
  TcpServer source(endless_source_handler);
  REQUIRE(socks_request(proxy.port, ipv4_request(1, source.port()), "", &fd) == 0);
  std::string some = recv_exactly(fd, 100000);
  REQUIRE(some.size() == 100000);
  net.node(1).signal(SIGKILL);
  char buf[65536];
  ssize_t r = 1;
  for (int i = 0; i < 100000 && r > 0; ++i) r = ::recv(fd, buf, sizeof buf, 0);
  int err = errno;
  ::close(fd);
  CHECK(r < 0);
  CHECK(err == ECONNRESET);
  // (Lines come in the order connections end: look for it, bounded.)
  bool saw_cut = false;
  for (int i = 0; i < 200 && !saw_cut; ++i) {
    for (const auto& l : connection_lines(proxy.process->stderr_text())) {
      if (l.outcome.rfind("failed: stream", 0) == 0) saw_cut = true;
    }
    if (!saw_cut) std::this_thread::sleep_for(25ms);
  }
  INFO(proxy.process->stderr_text());
  CHECK(saw_cut);
}

TEST_CASE("socks: a build that fails is retried once on a fresh path") {
  REQUIRE_FALSE(find_program("curl").empty());
  TempDir dir;
  Network net(dir);
  for (int i = 0; i < 4; ++i) net.add_node();
  REQUIRE(net.wait_for_nodes(4));
  TcpServer web(http_handler("hello\n"));
  auto proxy = start_proxy(net, dir);
  std::vector<std::string> get = {"--socks5-hostname", "127.0.0.1:" + port_s(proxy.port),
                                  "--proxy-user", "r:1",
                                  "http://127.0.0.1:" + port_s(web.port()) + "/"};
  REQUIRE(run_curl(dir, get).exit_code == 0);
  auto lines = wait_lines(proxy, 1);
  REQUIRE(lines.size() == 1);
  std::string first = lines[0].path;
  // Kill the middle node of the key's path; the pool still lists it for a while.
  std::string middle = first.substr(9, 8);
  std::optional<std::size_t> victim;
  for (std::size_t i = 0; i < 4; ++i) {
    if (net.node_fingerprint(i).rfind(middle, 0) == 0) victim = i;
  }
  REQUIRE(victim);
  net.node(*victim).signal(SIGKILL);
  REQUIRE(net.node(*victim).wait_exit(5s));
  auto r = run_curl(dir, get);
  INFO(r.err << read_file(dir / "socks.err"));
  CHECK(r.exit_code == 0);
  lines = wait_lines(proxy, 2);
  REQUIRE(lines.size() == 2);
  CHECK(lines[1].key == lines[0].key);
  CHECK(lines[1].retried.find("retried after " + first + " failed at hop 2") != std::string::npos);
  CHECK(lines[1].path.find(middle) == std::string::npos);
  CHECK(lines[1].fresh == "new");
  CHECK(lines[1].outcome.rfind("closed cleanly", 0) == 0);
}

TEST_CASE("socks: 100 MiB through the proxy arrive intact") {
  REQUIRE_FALSE(find_program("curl").empty());
  TempDir dir;
  Network net(dir);
  for (int i = 0; i < 3; ++i) net.add_node();
  REQUIRE(net.wait_for_nodes(3));
  const std::uint64_t size = 100ull << 20;
  TcpServer web(pattern_handler(size));
  auto proxy = start_proxy(net, dir);
  auto started = std::chrono::steady_clock::now();
  auto r = run_curl(
      dir, {"--socks5-hostname", "127.0.0.1:" + port_s(proxy.port),
            "http://127.0.0.1:" + port_s(web.port()) + "/big", "-o", (dir / "big").string()});
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  INFO(r.err << read_file(dir / "socks.err"));
  REQUIRE(r.exit_code == 0);
  CHECK(file_matches_pattern(dir / "big", size));
  WARN("100 MiB through the SOCKS proxy and 3 hops in " << seconds << " s");
  auto lines = wait_lines(proxy, 1);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].outcome.rfind("closed cleanly", 0) == 0);
}
