// Test harness for integration tests: real tpdp processes on loopback,
// small destination servers, a tampering TCP tap. Every wait is bounded.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace tpdp::test {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// A fresh directory under /tmp, removed at the end of the test.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

// A free TCP port on 127.0.0.1 (bound once to 0 and released).
std::uint16_t free_port();
// A connected socket to 127.0.0.1:port, or -1.
int connect_local(std::uint16_t port);

std::string read_file(const fs::path& p);
void write_file(const fs::path& p, const std::string& data);
std::string random_bytes(std::size_t n);

// A child process; killed (SIGKILL) and reaped on destruction if still running.
class Process {
 public:
  Process(std::vector<std::string> argv, const fs::path& stdout_file, const fs::path& stderr_file,
          const fs::path& stdin_file = "/dev/null");
  ~Process();
  Process(const Process&) = delete;
  int pid() const { return pid_; }
  void signal(int sig);
  // Exit status (or 128+signal) if it ended within the timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  bool running();
  std::string stdout_text() const { return read_file(stdout_file_); }
  std::string stderr_text() const { return read_file(stderr_file_); }

 private:
  int pid_ = -1;
  std::optional<int> status_;
  fs::path stdout_file_, stderr_file_;
};

struct ClientResult {
  int exit_code = -1;
  std::string out, err;
};

// A lab network: one pool and some nodes, each with its own data dir and log.
class Network {
 public:
  explicit Network(const TempDir& dir, std::vector<std::string> pool_args = {});
  // Starts a node; extra args are appended (e.g. --exit-policy). Returns its index.
  std::size_t add_node(std::vector<std::string> extra = {}, std::optional<std::uint16_t> port = {});
  // Waits until the pool lists exactly `count` nodes (bounded); false on timeout.
  bool wait_for_nodes(std::size_t count, std::chrono::milliseconds timeout = 15s);
  std::size_t listed_nodes();
  std::string pool_address() const;
  std::string pool_fingerprint() const;
  std::uint16_t pool_port() const { return pool_port_; }
  std::uint16_t node_port(std::size_t i) const { return node_ports_.at(i); }
  std::string node_fingerprint(std::size_t i) const;
  Process& node(std::size_t i) { return *nodes_.at(i); }
  Process& pool() { return *pool_; }
  void restart_pool(const fs::path& data_dir);

  // Runs tpdp-client with --pool/--data-dir set; stdin from data; bounded.
  ClientResult client(std::vector<std::string> args, const std::string& stdin_data = "",
                      std::chrono::milliseconds timeout = 60s);
  // Starts tpdp-client without waiting.
  std::unique_ptr<Process> start_client(std::vector<std::string> args, const fs::path& stdin_file,
                                        const std::string& name);
  const fs::path& client_dir() const { return client_dir_; }

 private:
  const TempDir& dir_;
  std::vector<std::string> pool_args_;
  std::uint16_t pool_port_;
  std::unique_ptr<Process> pool_;
  std::vector<std::unique_ptr<Process>> nodes_;
  std::vector<std::uint16_t> node_ports_;
  fs::path client_dir_;
  int client_runs_ = 0;
};

// A TCP server on 127.0.0.1 running handler(fd) per connection on its own thread.
class TcpServer {
 public:
  using Handler = std::function<void(int fd)>;
  explicit TcpServer(Handler handler, std::uint16_t port = 0);
  ~TcpServer();
  std::uint16_t port() const { return port_; }
  int connections() const { return connections_.load(); }

 private:
  void run();
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  Handler handler_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
  std::vector<std::thread> workers_;
};

// Handlers: echo everything back, then close after EOF (half-close aware).
void echo_handler(int fd);
// Reads until EOF, then replies "got N bytes\n" (proves half-close is carried).
void count_then_reply_handler(int fd);
// Sends `body` as an HTTP/1.0 200 response after reading the request head.
TcpServer::Handler http_handler(std::string body, int status = 200);
// Sends bytes slowly forever (until the peer goes away): a long transfer to interrupt.
void endless_source_handler(int fd);

bool send_all(int fd, const void* data, std::size_t n);

// A TCP tap in front of a target port: forwards both ways and may flip one
// byte or cut the connection at a given offset of a direction.
struct TapAction {
  enum Kind { none, flip, cut } kind = none;
  bool forward = true;     // client->target (true) or target->client
  std::size_t offset = 0;  // byte offset in that direction
};
class Tap {
 public:
  Tap(std::uint16_t target_port, TapAction action, std::uint16_t listen_port = 0);
  ~Tap();
  std::uint16_t port() const { return server_->port(); }
  bool triggered() const { return *triggered_; }

 private:
  std::shared_ptr<std::atomic<bool>> triggered_;
  std::unique_ptr<TcpServer> server_;
};

std::string bin(const char* which);

// A 3-hop `tpdp-client cat` from `source` with empty stdin, returned once at
// least min_bytes have arrived in DIR/NAME.out (bounded: 5 s).
std::unique_ptr<Process> start_flowing_cat(
    Network& net, const TempDir& dir, const TcpServer& source, const std::string& name,
    std::uintmax_t min_bytes);  // path of tpdp-pool / tpdp-node / tpdp-client

}  // namespace tpdp::test

namespace tpdp::test {
// Connects to 127.0.0.1:port, sends data, reads until EOF or timeout; returns what came back.
std::string raw_exchange(std::uint16_t port, const std::string& data,
                         std::chrono::milliseconds timeout = 5s, bool* closed = nullptr);
}  // namespace tpdp::test
