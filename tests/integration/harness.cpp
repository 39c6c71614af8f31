#include "harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asio.hpp>
#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "client/pool_client.hpp"
#include "common/pool_address.hpp"

extern char** environ;

namespace tpdp::test {

std::string bin(const char* which) {
  std::string w = which;
  if (w == "pool") return TPDP_POOL_BIN;
  if (w == "node") return TPDP_NODE_BIN;
  return TPDP_CLIENT_BIN;
}

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "tpdp-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  // TPDP_KEEP_TEST_DIRS=1 keeps every test's logs and data dirs for a post-mortem.
  const char* keep = std::getenv("TPDP_KEEP_TEST_DIRS");
  if (keep && *keep && std::string(keep) != "0") {
    std::fprintf(stderr, "kept test dir %s\n", path_.c_str());
    return;
  }
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

int connect_local(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

std::string random_bytes(std::size_t n) {
  std::mt19937_64 rng(n * 7919 + 17);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// ---- Process ----

Process::Process(std::vector<std::string> argv, const fs::path& stdout_file,
                 const fs::path& stderr_file, const fs::path& stdin_file)
    : stdout_file_(stdout_file), stderr_file_(stderr_file) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, stdin_file.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, stdout_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  // Nothing else of the test's (its echo servers' listening sockets, say)
  // may live on in a child: that would hold ports and hide descriptor leaks.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("posix_spawn " + argv[0] + ": " + std::strerror(rc));
}

Process::~Process() {
  if (!status_) {
    ::kill(pid_, SIGKILL);
    ::kill(pid_, SIGCONT);
    int st = 0;
    ::waitpid(pid_, &st, 0);
  }
  // In the sanitizer build a report aborts the process; whatever the test
  // saw, a report anywhere is a failure.
  std::string err = stderr_text();
  for (const char* mark : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"}) {
    auto at = err.find(mark);
    if (at != std::string::npos) {
      FAIL_CHECK("sanitizer report in " << stderr_file_.string() << ":\n"
                                        << err.substr(at > 200 ? at - 200 : 0, 4000));
      break;
    }
  }
}

void Process::signal(int sig) {
  if (!status_) ::kill(pid_, sig);
}

std::optional<int> Process::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!status_) {
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
  return status_;
}

bool Process::running() {
  return !wait_exit(0ms).has_value();
}

// ---- Network ----

Network::Network(const TempDir& dir, std::vector<std::string> pool_args)
    : dir_(dir), pool_args_(std::move(pool_args)), pool_port_(free_port()) {
  client_dir_ = dir_ / "client";
  restart_pool(dir_ / "pool");
}

void Network::restart_pool(const fs::path& data_dir) {
  if (pool_) {
    pool_->signal(SIGKILL);
    pool_->wait_exit(5s);
  }
  std::vector<std::string> argv = {
      bin("pool"),  "--listen",        "127.0.0.1:" + std::to_string(pool_port_),
      "--data-dir", data_dir.string(), "--lab"};
  argv.insert(argv.end(), pool_args_.begin(), pool_args_.end());
  pool_ = std::make_unique<Process>(argv, dir_ / "pool.out", dir_ / "pool.log");
  // Wait until it accepts connections (bounded).
  for (int i = 0; i < 300; ++i) {
    int fd = connect_local(pool_port_);
    if (fd >= 0) {
      ::close(fd);
      return;
    }
    std::this_thread::sleep_for(10ms);
  }
  throw std::runtime_error("pool did not start: " + read_file(dir_ / "pool.log"));
}

std::string Network::pool_address() const {
  return "127.0.0.1:" + std::to_string(pool_port_);
}

std::string Network::pool_fingerprint() const {
  TempDir scratch;
  Process p({bin("pool"), "--data-dir", (dir_ / "pool").string(), "--print-fingerprint"},
            scratch / "out", scratch / "err");
  p.wait_exit(10s);
  auto s = p.stdout_text();
  return s.substr(0, s.find('\n'));
}

std::string Network::node_fingerprint(std::size_t i) const {
  TempDir scratch;
  Process p({bin("node"), "--data-dir", (dir_ / ("node" + std::to_string(i))).string(),
             "--print-fingerprint"},
            scratch / "out", scratch / "err");
  p.wait_exit(10s);
  auto s = p.stdout_text();
  return s.substr(0, s.find('\n'));
}

std::size_t Network::add_node(std::vector<std::string> extra, std::optional<std::uint16_t> port) {
  std::size_t i = nodes_.size();
  std::uint16_t p = port.value_or(free_port());
  std::string name = "node" + std::to_string(i);
  std::vector<std::string> argv = {
      bin("node"),    "--listen",   "127.0.0.1:" + std::to_string(p), "--pool",
      pool_address(), "--data-dir", (dir_ / name).string(),           "--lab"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  nodes_.push_back(std::make_unique<Process>(argv, dir_ / (name + ".out"), dir_ / (name + ".log")));
  node_ports_.push_back(p);
  return i;
}

std::size_t Network::listed_nodes() {
  asio::io_context io;
  std::size_t count = 0;
  std::string err;
  auto pool = *parse_pool_address(pool_address(), &err);
  // Named: the coroutine refers to the closure until io.run() returns.
  auto fetch = [&]() -> asio::awaitable<void> {
    auto list = co_await fetch_node_list(pool, nullptr, std::chrono::seconds(5));
    count = list.nodes.size();
  };
  asio::co_spawn(io, fetch(), [](std::exception_ptr) {});
  io.run();
  return count;
}

bool Network::wait_for_nodes(std::size_t count, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (listed_nodes() == count) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

std::unique_ptr<Process> Network::start_client(std::vector<std::string> args,
                                               const fs::path& stdin_file,
                                               const std::string& name) {
  std::vector<std::string> argv = {bin("client"), "--pool", pool_address(), "--data-dir",
                                   client_dir_.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return std::make_unique<Process>(argv, dir_ / (name + ".out"), dir_ / (name + ".err"),
                                   stdin_file);
}

ClientResult Network::client(std::vector<std::string> args, const std::string& stdin_data,
                             std::chrono::milliseconds timeout) {
  std::string name = "client" + std::to_string(client_runs_++);
  fs::path in = dir_ / (name + ".in");
  write_file(in, stdin_data);
  auto p = start_client(std::move(args), in, name);
  ClientResult r;
  auto status = p->wait_exit(timeout);
  r.exit_code = status ? *status : -1;  // -1: did not finish in time (a hang is a failure)
  r.out = p->stdout_text();
  r.err = p->stderr_text();
  return r;
}

// ---- servers ----

bool send_all(int fd, const void* data, std::size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

TcpServer::TcpServer(Handler handler, std::uint16_t port) : handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    throw std::runtime_error("test server bind failed");
  }
  ::listen(listen_fd_, 128);
  socklen_t len = sizeof a;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { run(); });
}

TcpServer::~TcpServer() {
  stop_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  ::close(listen_fd_);
  thread_.join();
  for (auto& w : workers_) w.join();
}

void TcpServer::run() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    ++connections_;
    // Bounded: a handler whose peer vanished must not block forever.
    timeval tv{30, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    workers_.emplace_back([this, fd] {
      handler_(fd);
      ::close(fd);
    });
  }
}

void echo_handler(int fd) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    if (!send_all(fd, buf, static_cast<std::size_t>(n))) return;
  }
  ::shutdown(fd, SHUT_WR);
}

void count_then_reply_handler(int fd) {
  char buf[65536];
  std::size_t total = 0;
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0) return;
    if (n == 0) break;
    total += static_cast<std::size_t>(n);
  }
  std::string reply = "got " + std::to_string(total) + " bytes\n";
  send_all(fd, reply.data(), reply.size());
  ::shutdown(fd, SHUT_WR);
}

TcpServer::Handler http_handler(std::string body, int status) {
  return [body = std::move(body), status](int fd) {
    std::string head;
    char c;
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536) {
      if (::recv(fd, &c, 1, 0) != 1) return;
      head.push_back(c);
    }
    std::string reply = "HTTP/1.0 " + std::to_string(status) +
                        (status == 200 ? " OK" : " Not Found") +
                        "\r\nContent-Length: " + std::to_string(body.size()) +
                        "\r\nContent-Type: application/octet-stream\r\n\r\n" + body;
    send_all(fd, reply.data(), reply.size());
    ::shutdown(fd, SHUT_WR);
  };
}

std::unique_ptr<Process> start_flowing_cat(Network& net, const TempDir& dir,
                                           const TcpServer& source, const std::string& name,
                                           std::uintmax_t min_bytes) {
  write_file(dir / "empty", "");
  auto client = net.start_client({"--hops", "3", "cat", "127.0.0.1", std::to_string(source.port())},
                                 dir / "empty", name);
  fs::path out = dir / (name + ".out");
  for (int i = 0; i < 250 && fs::file_size(out) < min_bytes; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  REQUIRE(fs::file_size(out) >= min_bytes);
  return client;
}

void endless_source_handler(int fd) {
  std::string chunk(16384, 'x');
  for (int i = 0; i < 100000; ++i) {  // bounded: at most ~1.6 GB / ~100 s
    if (!send_all(fd, chunk.data(), chunk.size())) return;
    std::this_thread::sleep_for(1ms);
  }
}

// ---- Tap ----

Tap::Tap(std::uint16_t target_port, TapAction action, std::uint16_t listen_port)
    : triggered_(std::make_shared<std::atomic<bool>>(false)) {
  auto triggered = triggered_;
  server_ = std::make_unique<TcpServer>(
      [target_port, action, triggered](int client) {
        int target = connect_local(target_port);
        if (target < 0) return;
        std::size_t offsets[2] = {0, 0};  // [0] forward, [1] backward
        bool open[2] = {true, true};
        char buf[65536];
        while (open[0] || open[1]) {
          pollfd p[2] = {{client, static_cast<short>(open[0] ? POLLIN : 0), 0},
                         {target, static_cast<short>(open[1] ? POLLIN : 0), 0}};
          if (::poll(p, 2, 30000) <= 0) break;
          for (int dir = 0; dir < 2; ++dir) {
            if (!open[dir] || !(p[dir].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            int from = dir == 0 ? client : target, to = dir == 0 ? target : client;
            ssize_t n = ::recv(from, buf, sizeof buf, 0);
            if (n <= 0) {
              ::shutdown(to, SHUT_WR);
              open[dir] = false;
              continue;
            }
            bool ours = action.kind != TapAction::none && (action.forward == (dir == 0));
            std::size_t start = offsets[dir], end = start + static_cast<std::size_t>(n);
            if (ours && !*triggered && action.offset >= start && action.offset < end) {
              *triggered = true;
              if (action.kind == TapAction::flip) {
                buf[action.offset - start] ^= 0x01;
              } else {
                send_all(to, buf, action.offset - start);
                ::close(target);
                return;  // the client side is closed by TcpServer
              }
            }
            offsets[dir] = end;
            if (!send_all(to, buf, static_cast<std::size_t>(n))) {
              open[0] = open[1] = false;
            }
          }
        }
        ::close(target);
      },
      listen_port);
}

Tap::~Tap() = default;

}  // namespace tpdp::test

namespace tpdp::test {

std::string raw_exchange(std::uint16_t port, const std::string& data,
                         std::chrono::milliseconds timeout, bool* closed) {
  int fd = connect_local(port);
  if (fd < 0) return {};
  send_all(fd, data.data(), data.size());
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  if (closed) *closed = false;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      if (closed) *closed = true;
      break;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace tpdp::test
